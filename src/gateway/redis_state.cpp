#include "gateway/redis_state.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace tessera::gateway {
namespace {

// KEYS[1] the bucket; ARGV quota, window_ms, capacity. Returns {allowed, tokens left, credits
// missing to be full, credits missing to the next token when refused}.
constexpr std::string_view kTakeScript = R"lua(
if redis.replicate_commands then redis.replicate_commands() end
local quota = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tokens, credit, last = cap, 0, now
local s = redis.call('HMGET', KEYS[1], 't', 'c', 'l')
if s[1] and s[2] and s[3] then
  tokens = tonumber(s[1])
  credit = tonumber(s[2])
  last = tonumber(s[3])
  -- the plan changed under the same name: keep what still fits
  if tokens > cap then tokens = cap end
  if credit >= window then credit = window - 1 end
end
if now > last then
  local earned = (now - last) * quota
  local missing = (cap - tokens) * window - credit
  if earned >= missing then
    tokens = cap
    credit = 0
  else
    local credits = earned + credit
    local whole = math.floor(credits / window)
    tokens = tokens + whole
    credit = credits - whole * window
  end
  last = now
end
local allowed = 0
local retry = 0
if tokens > 0 then
  tokens = tokens - 1
  allowed = 1
else
  retry = window - credit
end
local missing = (cap - tokens) * window - credit
redis.call('HSET', KEYS[1], 't', tokens, 'c', credit, 'l', last)
local behind = 0
if last > now then behind = last - now end
redis.call('PEXPIRE', KEYS[1], math.ceil(missing / quota) + behind + 1000)
return {allowed, tokens, missing, retry}
)lua";

constexpr int64_t kMaxExact = int64_t{1} << 53;

int64_t window_ms(const RatePlan& plan) { return plan.window_seconds * 1000; }

// Whole seconds, rounded up, for `credits` at `quota` credits per millisecond.
int64_t seconds_for(int64_t credits, int64_t quota) {
  const int64_t per_second = quota * 1000;
  return (credits + per_second - 1) / per_second;
}

}  // namespace

resource::SharedReplay redis_dpop_replay(std::shared_ptr<store::RedisPool> pool) {
  std::shared_ptr<store::ReplayCache> cache =
      store::make_redis_replay_cache(std::move(pool), SystemClock::instance());
  return [cache](std::string_view key, int64_t ttl_seconds) {
    // The cache takes an expiry and turns it back into a TTL with the same clock; the second
    // that may tick in between only lengthens it.
    auto first = cache->remember_once("dpop", key, SystemClock::instance().now() + ttl_seconds);
    if (!first) return resource::SharedReplayAnswer::kUnavailable;
    return *first ? resource::SharedReplayAnswer::kFirst : resource::SharedReplayAnswer::kReplayed;
  };
}

void RedisBuckets::check(const RatePlan& plan) const {
  // validate() bounds capacity and window; the product must also stay exact in Lua's doubles.
  if ((static_cast<__int128>(plan.capacity()) + 1) * window_ms(plan) > kMaxExact) {
    throw std::invalid_argument("rate plan \"" + plan.name +
                                "\": too large for the shared (Redis) buckets: (burst + 1) * "
                                "window_seconds * 1000 must not exceed 2^53");
  }
}

std::optional<RateDecision> RedisBuckets::take(const RatePlan& plan, std::string_view caller_key) {
  const std::string key =
      pool_->key("rl:" + plan.name + ":" + std::string(caller_key));  // binary-safe in Redis
  const std::string quota = std::to_string(plan.quota);
  const std::string window = std::to_string(window_ms(plan));
  const std::string capacity = std::to_string(plan.capacity());
  static const store::RedisPool::Script script(kTakeScript);
  auto reply = pool_->eval(script, {key}, {quota, window, capacity});
  if (!reply || reply->type != store::RedisReply::Type::kArray || reply->elements.size() != 4) {
    return std::nullopt;
  }
  for (const auto& e : reply->elements) {
    if (e.type != store::RedisReply::Type::kInteger) return std::nullopt;
  }
  RateDecision d;
  d.allowed = reply->elements[0].integer == 1;
  d.limit = plan.quota;
  d.remaining = reply->elements[1].integer;
  d.reset_seconds = seconds_for(reply->elements[2].integer, plan.quota);
  // RFC 9110 §10.2.3: a whole number, rounded up, never 0 on a refusal.
  if (!d.allowed) {
    d.retry_after_seconds =
        std::max<int64_t>(1, seconds_for(reply->elements[3].integer, plan.quota));
  }
  return d;
}

}  // namespace tessera::gateway
