// Token buckets in exact integer arithmetic, sharded with one lock and one LRU list per shard.
//
// A bucket keeps whole tokens plus the credit towards the next one: time is in nanoseconds and a
// plan refills `quota` tokens per `window_ns`, so each elapsed nanosecond earns `quota` credits
// and a token costs `window_ns` credits. Credits below one token carry over, so no rounding is
// ever lost however often a key is hit. Products use 128-bit intermediates (bounded by
// validate(): burst * window_ns < 2^85).
//
// Layout of a shard: an unordered_map from (hash, plan, caller key) to the bucket, and an
// intrusive doubly linked LRU list threaded through the map's own nodes (unordered_map nodes
// never move). The key carries its hash so the map never hashes a string twice; lookups go
// through a string_view key (heterogeneous lookup), so a take() on a known key allocates nothing.
#include "gateway/rate_limit.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace tessera::gateway {
namespace {

using Int128 = __int128;  // GCC and Clang on every 64-bit target we build for

constexpr int64_t kNanosPerSecond = 1'000'000'000;

Int128 ceil_div(Int128 a, Int128 b) { return (a + b - 1) / b; }

bool plan_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

[[noreturn]] void bad_plan(const RatePlan& plan, const std::string& what) {
  throw std::invalid_argument("rate plan \"" + plan.name + "\": " + what);
}

// splitmix64's finalizer: spreads the string hash and the plan index over all 64 bits, so the
// shard (from the high half) and the map's bucket (from the whole) do not correlate.
uint64_t mix(uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

uint64_t bucket_hash(uint32_t plan, std::string_view caller) {
  return mix(std::hash<std::string_view>{}(caller) ^ (uint64_t{plan} + 1) * 0x9e3779b97f4a7c15ULL);
}

std::string decimal(int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 24 bytes always hold an int64
  return std::string(buf, end);
}

}  // namespace

void validate(const RatePlan& plan) {
  if (plan.name.empty() || plan.name.size() > kMaxPlanNameLength) {
    bad_plan(plan, "name must have 1 to " + std::to_string(kMaxPlanNameLength) + " characters");
  }
  if (!std::all_of(plan.name.begin(), plan.name.end(), plan_name_char)) {
    // The name goes out as an sf-string (draft-ietf-httpapi-ratelimit-headers-11 §3, RFC 9651
    // §3.3.3): keep it to characters that need no escaping and read well in logs.
    bad_plan(plan, "name may only contain letters, digits, '.', '_' and '-'");
  }
  if (plan.quota < 1 || plan.quota > kMaxQuota) {
    bad_plan(plan, "quota must be between 1 and " + std::to_string(kMaxQuota));
  }
  if (plan.window_seconds < 1 || plan.window_seconds > kMaxWindowSeconds) {
    // draft-11 §3.1.3: the window is a non-zero number of seconds.
    bad_plan(plan, "window_seconds must be between 1 and " + std::to_string(kMaxWindowSeconds));
  }
  if (plan.burst < 0 || plan.burst > kMaxBurst) {
    bad_plan(plan, "burst must be 0 (same as quota) or between 1 and " + std::to_string(kMaxBurst));
  }
  // An empty bucket refills in capacity * window / quota seconds: past a year it is a
  // misconfiguration, and the bound keeps every advertised number small.
  if (ceil_div(Int128{plan.capacity()} * plan.window_seconds, plan.quota) > kMaxWindowSeconds) {
    bad_plan(plan, "an empty bucket must refill within " + std::to_string(kMaxWindowSeconds) +
                       " seconds (burst * window_seconds / quota)");
  }
}

const char* to_string(RateLimitError e) {
  switch (e) {
    case RateLimitError::kUnknownPlan:
      return "unknown rate plan";
    case RateLimitError::kBadCallerKey:
      return "rate-limit caller key is empty or too long";
    case RateLimitError::kUnavailable:
      return "the shared rate-limit store cannot be reached";
  }
  return "unknown rate-limit error";
}

size_t RateLimiter::NameHash::operator()(std::string_view s) const noexcept {
  return std::hash<std::string_view>{}(s);
}

namespace {

struct BucketKey {
  uint64_t hash;
  uint32_t plan;
  std::string caller;
};

struct BucketKeyView {
  uint64_t hash;
  uint32_t plan;
  std::string_view caller;
};

struct BucketKeyHash {
  using is_transparent = void;
  size_t operator()(const BucketKey& k) const noexcept { return k.hash; }
  size_t operator()(const BucketKeyView& k) const noexcept { return k.hash; }
};

struct BucketKeyEqual {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    return a.hash == b.hash && a.plan == b.plan && std::string_view(a.caller) == b.caller;
  }
};

struct Bucket;
using BucketMap = std::unordered_map<BucketKey, Bucket, BucketKeyHash, BucketKeyEqual>;
using Node = BucketMap::value_type;

struct Bucket {
  int64_t tokens = 0;     // whole tokens, 0..capacity
  int64_t credit = 0;     // progress towards the next token, 0..window_ns-1 (see the file comment)
  int64_t last_ns = 0;    // when tokens and credit were last brought up to date
  Node* newer = nullptr;  // LRU list: towards the most recently used
  Node* older = nullptr;
};

// Per-plan constants of the arithmetic.
struct Rate {
  int64_t quota;
  int64_t window_ns;
  int64_t capacity;

  explicit Rate(const RatePlan& p)
      : quota(p.quota), window_ns(p.window_seconds * kNanosPerSecond), capacity(p.capacity()) {}

  // Credits the bucket still lacks to be full.
  Int128 missing(const Bucket& b) const {
    return Int128{capacity - b.tokens} * window_ns - b.credit;
  }

  // Brings `b` up to `now`. A clock reading older than the last one (threads read the clock
  // before taking the shard lock) counts as no time passing: time never runs backwards.
  void refill(Bucket& b, int64_t now) const {
    if (now <= b.last_ns) return;
    const Int128 earned = Int128{now - b.last_ns} * quota;
    b.last_ns = now;
    if (earned >= missing(b)) {
      b.tokens = capacity;
      b.credit = 0;
      return;
    }
    const Int128 credits = earned + b.credit;
    b.tokens += static_cast<int64_t>(credits / window_ns);
    b.credit = static_cast<int64_t>(credits % window_ns);
  }

  bool full_at(const Bucket& b, int64_t now) const {
    return now > b.last_ns ? Int128{now - b.last_ns} * quota >= missing(b) : missing(b) == 0;
  }

  // Whole seconds, rounded up, for `credits` to be earned.
  int64_t seconds_for(Int128 credits) const {
    return static_cast<int64_t>(ceil_div(credits, Int128{quota} * kNanosPerSecond));
  }
};

}  // namespace

struct RateLimiter::Shard {
  std::mutex mu;
  BucketMap buckets;
  Node* newest = nullptr;
  Node* oldest = nullptr;
  uint64_t evictions = 0;
  uint64_t evictions_not_full = 0;

  void unlink(Node& n) {
    Bucket& b = n.second;
    (b.newer != nullptr ? b.newer->second.older : newest) = b.older;
    (b.older != nullptr ? b.older->second.newer : oldest) = b.newer;
    b.newer = b.older = nullptr;
  }

  void push_newest(Node& n) {
    n.second.older = newest;
    n.second.newer = nullptr;
    (newest != nullptr ? newest->second.newer : oldest) = &n;
    newest = &n;
  }
};

RateLimiter::RateLimiter(std::vector<RatePlan> plans, RateLimiterOptions options)
    : plans_(std::move(plans)),
      now_ns_(std::move(options.now_ns)),
      shared_(std::move(options.shared)),
      refuse_when_shared_down_(options.refuse_when_shared_down) {
  if (plans_.empty()) throw std::invalid_argument("rate limiter: no rate plans");
  if (plans_.size() > UINT32_MAX) throw std::invalid_argument("rate limiter: too many rate plans");
  for (size_t i = 0; i < plans_.size(); ++i) {
    validate(plans_[i]);
    if (shared_) shared_->check(plans_[i]);
    if (!plan_index_.emplace(plans_[i].name, static_cast<uint32_t>(i)).second) {
      throw std::invalid_argument("rate plan \"" + plans_[i].name + "\" is defined twice");
    }
  }
  if (options.shards == 0 || options.shards > options.max_keys) {
    throw std::invalid_argument("rate limiter: shards must be between 1 and max_keys");
  }
  if (!now_ns_) {
    now_ns_ = [] {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
  shard_count_ = options.shards;
  shard_capacity_ = options.max_keys / options.shards;
  shards_ = std::make_unique<Shard[]>(shard_count_);
}

RateLimiter::~RateLimiter() = default;

std::optional<RateLimiter::PlanId> RateLimiter::find_plan(std::string_view name) const {
  auto it = plan_index_.find(name);
  if (it == plan_index_.end()) return std::nullopt;
  return PlanId{it->second};
}

const RatePlan* RateLimiter::plan(PlanId id) const {
  const auto i = static_cast<size_t>(id);
  return i < plans_.size() ? &plans_[i] : nullptr;
}

Result<RateDecision, RateLimitError> RateLimiter::take(std::string_view plan_name,
                                                       std::string_view caller_key) {
  const std::optional<PlanId> id = find_plan(plan_name);
  if (!id) return Err(RateLimitError::kUnknownPlan);
  return take(*id, caller_key);
}

Result<RateDecision, RateLimitError> RateLimiter::take(PlanId id, std::string_view caller_key) {
  const RatePlan* p = plan(id);
  if (p == nullptr) return Err(RateLimitError::kUnknownPlan);
  if (caller_key.empty() || caller_key.size() > kMaxCallerKeyLength) {
    return Err(RateLimitError::kBadCallerKey);
  }
  if (shared_) {
    if (auto decided = shared_->take(*p, caller_key)) return *decided;
    ++shared_unavailable_;
    if (refuse_when_shared_down_) return Err(RateLimitError::kUnavailable);
  }
  const Rate rate(*p);
  const auto plan_index = static_cast<uint32_t>(id);
  const uint64_t hash = bucket_hash(plan_index, caller_key);
  Shard& shard = shards_[(hash >> 32) % shard_count_];
  const int64_t now = now_ns_();

  RateDecision d;
  d.limit = p->quota;
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.buckets.find(BucketKeyView{hash, plan_index, caller_key});
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= shard_capacity_ && shard.oldest != nullptr) {
      // Bounded memory: the least recently used bucket goes. Were it full by now, forgetting it
      // loses nothing; otherwise its caller gets a full bucket back (counted).
      Node& victim = *shard.oldest;
      const Rate victim_rate(plans_[victim.first.plan]);
      if (!victim_rate.full_at(victim.second, now)) ++shard.evictions_not_full;
      ++shard.evictions;
      shard.unlink(victim);
      shard.buckets.erase(shard.buckets.find(
          BucketKeyView{victim.first.hash, victim.first.plan, victim.first.caller}));
    }
    Bucket fresh;
    fresh.tokens = rate.capacity;
    fresh.last_ns = now;
    it = shard.buckets.emplace(BucketKey{hash, plan_index, std::string(caller_key)}, fresh).first;
  } else {
    shard.unlink(*it);
  }
  shard.push_newest(*it);

  Bucket& b = it->second;
  rate.refill(b, now);
  if (b.tokens > 0) {
    --b.tokens;
    d.allowed = true;
  } else {
    // RFC 9110 §10.2.3: delay-seconds is a whole number; round up so a client that waits exactly
    // that long finds a token, and never answer 0 on a refusal.
    d.retry_after_seconds = std::max<int64_t>(1, rate.seconds_for(rate.window_ns - b.credit));
  }
  d.remaining = b.tokens;
  d.reset_seconds = rate.seconds_for(rate.missing(b));
  return d;
}

RateLimiter::Stats RateLimiter::stats() const {
  Stats s;
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard<std::mutex> lock(shard.mu);
    s.tracked_keys += shard.buckets.size();
    s.evictions += shard.evictions;
    s.evictions_not_full += shard.evictions_not_full;
  }
  s.shared_unavailable = shared_unavailable_.load();
  return s;
}

std::string rate_limit_policy_value(const RatePlan& plan) {
  // draft-ietf-httpapi-ratelimit-headers-11 §3.1: an sf-string naming the policy, "q" the quota
  // (§3.1.1), "w" the window in seconds (§3.1.3).
  std::string v =
      "\"" + plan.name + "\";q=" + decimal(plan.quota) + ";w=" + decimal(plan.window_seconds);
  if (plan.capacity() != plan.quota) v += ";tessera-burst=" + decimal(plan.capacity());
  return v;
}

std::string rate_limit_value(const RatePlan& plan, const RateDecision& decision) {
  // draft-11 §4.1: "r" the available quota (§4.1.1), "t" the effective window (§4.1.2).
  const int64_t t = decision.allowed ? decision.reset_seconds
                                     : std::max<int64_t>(1, decision.retry_after_seconds);
  return "\"" + plan.name + "\";r=" + decimal(std::max<int64_t>(0, decision.remaining)) +
         ";t=" + decimal(t);
}

void add_rate_limit_headers(http::Headers& headers, const RatePlan& plan,
                            const RateDecision& decision) {
  headers.add("RateLimit-Policy", rate_limit_policy_value(plan));
  headers.add("RateLimit", rate_limit_value(plan, decision));
  if (decision.allowed) return;
  // RFC 6585 §4 / RFC 9110 §10.2.3: Retry-After in delay-seconds. With several plans refusing,
  // the client must wait for the slowest one.
  int64_t wait = std::max<int64_t>(1, decision.retry_after_seconds);
  if (auto existing = headers.get("Retry-After")) {
    int64_t prior = 0;
    auto [end, ec] = std::from_chars(existing->data(), existing->data() + existing->size(), prior);
    if (ec == std::errc() && end == existing->data() + existing->size()) {
      wait = std::max(wait, prior);
    }
  }
  headers.set("Retry-After", decimal(wait));
}

http::Response too_many_requests(const RatePlan& plan, const RateDecision& decision) {
  RateDecision refused = decision;
  refused.allowed = false;
  refused.remaining = 0;
  refused.retry_after_seconds = std::max<int64_t>(1, decision.retry_after_seconds);
  // RFC 6585 §4: 429 Too Many Requests; the body in the OAuth error shape (DESIGN.md: every
  // error is JSON), no-store added by Response::error. The caller key stays out of the body.
  http::Response r =
      http::Response::error(429, "rate_limited",
                            "rate limit \"" + plan.name + "\" exceeded; retry after " +
                                decimal(refused.retry_after_seconds) + " seconds");
  add_rate_limit_headers(r.headers, plan, refused);
  return r;
}

}  // namespace tessera::gateway
