// Rate limiting: token buckets against an injected clock (no sleeps), the LRU bound on tracked
// keys, concurrency against one key, plan validation, and the exact RateLimit-Policy / RateLimit
// (draft-ietf-httpapi-ratelimit-headers-11) and Retry-After (RFC 9110 §10.2.3) field values.
#include "gateway/rate_limit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"

namespace tessera::gateway {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

// A clock the test moves by hand; atomic so threads may read it.
struct TestClock {
  std::shared_ptr<std::atomic<int64_t>> now = std::make_shared<std::atomic<int64_t>>(kSecond);
  std::function<int64_t()> fn() const {
    return [n = now] { return n->load(); };
  }
  void advance(int64_t ns) const { now->fetch_add(ns); }
};

RateLimiterOptions options_with(const TestClock& clock, size_t max_keys = 1'000,
                                size_t shards = 16) {
  RateLimiterOptions o;
  o.now_ns = clock.fn();
  o.max_keys = max_keys;
  o.shards = shards;
  return o;
}

RateDecision take_ok(RateLimiter& limiter, std::string_view plan, std::string_view key) {
  auto d = limiter.take(plan, key);
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : to_string(d.error()));
  return d.ok() ? *d : RateDecision{};
}

// Takes until the first refusal; returns how many passed.
int drain(RateLimiter& limiter, std::string_view plan, std::string_view key, int max = 1'000) {
  for (int i = 0; i < max; ++i) {
    if (!take_ok(limiter, plan, key).allowed) return i;
  }
  return max;
}

TEST(RateLimiterBucket, BurstPassesThenRefuses) {
  TestClock clock;
  RateLimiter limiter({{"per-client", 10, 60, 5}}, options_with(clock));
  for (int i = 0; i < 5; ++i) {
    RateDecision d = take_ok(limiter, "per-client", "client:a");
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 4 - i);
    EXPECT_EQ(d.limit, 10);
    EXPECT_EQ(d.retry_after_seconds, 0);
  }
  RateDecision refused = take_ok(limiter, "per-client", "client:a");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after_seconds, 6);  // 10 per 60 s: one token every 6 s
  EXPECT_EQ(refused.reset_seconds, 30);       // 5 tokens * 6 s
}

TEST(RateLimiterBucket, BurstDefaultsToQuota) {
  TestClock clock;
  RateLimiter limiter({{"p", 7, 1, 0}}, options_with(clock));
  EXPECT_EQ(drain(limiter, "p", "k"), 7);
}

TEST(RateLimiterBucket, RefillsOverTimeExactlyAtTheTokenBoundary) {
  TestClock clock;
  RateLimiter limiter({{"p", 10, 60, 10}}, options_with(clock));
  ASSERT_EQ(drain(limiter, "p", "k"), 10);
  clock.advance(6 * kSecond - 1);
  RateDecision early = take_ok(limiter, "p", "k");
  EXPECT_FALSE(early.allowed);
  EXPECT_EQ(early.retry_after_seconds, 1);  // 1 ns left, rounded up to a whole second
  clock.advance(1);
  RateDecision on_time = take_ok(limiter, "p", "k");
  EXPECT_TRUE(on_time.allowed);
  EXPECT_EQ(on_time.remaining, 0);
  EXPECT_EQ(on_time.reset_seconds, 60);
  EXPECT_FALSE(take_ok(limiter, "p", "k").allowed);
}

TEST(RateLimiterBucket, PartialRefillCarriesOverBetweenRequests) {
  TestClock clock;
  RateLimiter limiter({{"p", 10, 60, 10}}, options_with(clock));
  ASSERT_EQ(drain(limiter, "p", "k"), 10);
  // Half a token, a refused request in between, then the other half: the credit is kept.
  clock.advance(3 * kSecond);
  RateDecision half = take_ok(limiter, "p", "k");
  EXPECT_FALSE(half.allowed);
  EXPECT_EQ(half.retry_after_seconds, 3);
  clock.advance(3 * kSecond);
  EXPECT_TRUE(take_ok(limiter, "p", "k").allowed);
  // 2.5 tokens' worth: two pass, the half stays as credit.
  clock.advance(15 * kSecond);
  EXPECT_EQ(drain(limiter, "p", "k"), 2);
  clock.advance(3 * kSecond);
  EXPECT_TRUE(take_ok(limiter, "p", "k").allowed);
}

TEST(RateLimiterBucket, RefillStopsAtCapacity) {
  TestClock clock;
  RateLimiter limiter({{"p", 10, 60, 4}}, options_with(clock));
  ASSERT_EQ(drain(limiter, "p", "k"), 4);
  clock.advance(3'600 * kSecond);
  RateDecision d = take_ok(limiter, "p", "k");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 3);
  EXPECT_EQ(drain(limiter, "p", "k"), 3);
}

TEST(RateLimiterBucket, FractionalRatesStayExact) {
  TestClock clock;
  // 3 per 10 s: one token every 3.333... s.
  RateLimiter limiter({{"p", 3, 10, 1}}, options_with(clock));
  ASSERT_TRUE(take_ok(limiter, "p", "k").allowed);
  RateDecision d = take_ok(limiter, "p", "k");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_seconds, 4);
  clock.advance(3'333'333'333);  // 3 credits short of a token
  EXPECT_FALSE(take_ok(limiter, "p", "k").allowed);
  clock.advance(1);
  EXPECT_TRUE(take_ok(limiter, "p", "k").allowed);
}

TEST(RateLimiterBucket, ResetSecondsCountsToAFullBucket) {
  TestClock clock;
  RateLimiter limiter({{"p", 100, 60, 0}}, options_with(clock));
  EXPECT_EQ(take_ok(limiter, "p", "k").reset_seconds, 1);  // 0.6 s rounded up
  for (int i = 0; i < 49; ++i) ASSERT_TRUE(take_ok(limiter, "p", "k").allowed);
  EXPECT_EQ(take_ok(limiter, "p", "k").reset_seconds, 31);  // 51 * 0.6 s = 30.6 s
}

TEST(RateLimiterBucket, ClockGoingBackwardsGrantsNothing) {
  TestClock clock;
  RateLimiter limiter({{"p", 1, 10, 1}}, options_with(clock));
  ASSERT_TRUE(take_ok(limiter, "p", "k").allowed);
  clock.advance(-5 * kSecond);
  RateDecision back = take_ok(limiter, "p", "k");
  EXPECT_FALSE(back.allowed);
  EXPECT_EQ(back.retry_after_seconds, 10);  // the lost 5 s are not a debt either
  clock.advance(5 * kSecond);
  RateDecision d = take_ok(limiter, "p", "k");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_seconds, 10);
}

TEST(RateLimiterKeys, CallersAndPlansAreIndependent) {
  TestClock clock;
  RateLimiter limiter({{"a", 2, 60, 0}, {"b", 3, 60, 0}}, options_with(clock));
  EXPECT_EQ(drain(limiter, "a", "client:x"), 2);
  EXPECT_EQ(drain(limiter, "a", "client:y"), 2);
  EXPECT_EQ(drain(limiter, "b", "client:x"), 3);
  EXPECT_EQ(drain(limiter, "a", "ip:client:x"), 2);
  EXPECT_EQ(limiter.stats().tracked_keys, 4u);
}

TEST(RateLimiterKeys, PlanIdAndNameReachTheSameBucket) {
  TestClock clock;
  RateLimiter limiter({{"a", 2, 60, 0}, {"b", 3, 60, 0}}, options_with(clock));
  auto id = limiter.find_plan("b");
  ASSERT_TRUE(id.has_value());
  ASSERT_NE(limiter.plan(*id), nullptr);
  EXPECT_EQ(limiter.plan(*id)->name, "b");
  ASSERT_TRUE(limiter.take(*id, "k").ok());
  EXPECT_EQ(drain(limiter, "b", "k"), 2);
  EXPECT_FALSE(limiter.find_plan("c").has_value());
}

TEST(RateLimiterKeys, BadInputIsAnErrorValue) {
  TestClock clock;
  RateLimiter limiter({{"a", 2, 60, 0}}, options_with(clock));
  auto unknown = limiter.take("nope", "k");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error(), RateLimitError::kUnknownPlan);
  auto bad_id = limiter.take(static_cast<RateLimiter::PlanId>(7), "k");
  ASSERT_FALSE(bad_id.ok());
  EXPECT_EQ(bad_id.error(), RateLimitError::kUnknownPlan);
  EXPECT_EQ(limiter.plan(static_cast<RateLimiter::PlanId>(7)), nullptr);
  auto empty = limiter.take("a", "");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error(), RateLimitError::kBadCallerKey);
  auto long_key = limiter.take("a", std::string(kMaxCallerKeyLength + 1, 'x'));
  ASSERT_FALSE(long_key.ok());
  EXPECT_EQ(long_key.error(), RateLimitError::kBadCallerKey);
  EXPECT_TRUE(limiter.take("a", std::string(kMaxCallerKeyLength, 'x')).ok());
  EXPECT_STRNE(to_string(RateLimitError::kBadCallerKey), to_string(RateLimitError::kUnknownPlan));
}

TEST(RateLimiterMemory, TrackedKeysNeverExceedTheCap) {
  TestClock clock;
  RateLimiter limiter({{"p", 5, 60, 0}}, options_with(clock, 100, 4));
  for (int i = 0; i < 5'000; ++i) {
    ASSERT_TRUE(limiter.take("p", "ip:10.0." + std::to_string(i)).ok());
    ASSERT_LE(limiter.stats().tracked_keys, 100u) << i;
  }
  RateLimiter::Stats s = limiter.stats();
  EXPECT_GE(s.tracked_keys, 90u);  // every shard fills up to its 25
  EXPECT_EQ(s.evictions, 5'000u - s.tracked_keys);
}

TEST(RateLimiterMemory, EvictsTheLeastRecentlyUsedKey) {
  TestClock clock;
  RateLimiter limiter({{"p", 1, 60, 1}}, options_with(clock, 3, 1));
  for (const char* k : {"a", "b", "c"}) ASSERT_TRUE(take_ok(limiter, "p", k).allowed);
  EXPECT_FALSE(take_ok(limiter, "p", "a").allowed);  // a is now the most recently used
  ASSERT_TRUE(take_ok(limiter, "p", "d").allowed);   // evicts b, the least recently used
  EXPECT_EQ(limiter.stats().tracked_keys, 3u);
  EXPECT_FALSE(take_ok(limiter, "p", "a").allowed);  // a kept its empty bucket
  EXPECT_FALSE(take_ok(limiter, "p", "d").allowed);
  EXPECT_TRUE(take_ok(limiter, "p", "b").allowed);   // b was forgotten: a fresh bucket (evicts c)
  EXPECT_FALSE(take_ok(limiter, "p", "a").allowed);  // a is still tracked
  RateLimiter::Stats s = limiter.stats();
  EXPECT_EQ(s.evictions, 2u);
  EXPECT_EQ(s.evictions_not_full, 2u);
}

TEST(RateLimiterMemory, EvictingAFullBucketLosesNothing) {
  TestClock clock;
  RateLimiter limiter({{"p", 1, 60, 1}}, options_with(clock, 1, 1));
  ASSERT_TRUE(take_ok(limiter, "p", "a").allowed);
  clock.advance(60 * kSecond);  // a is full again
  ASSERT_TRUE(take_ok(limiter, "p", "b").allowed);
  RateLimiter::Stats s = limiter.stats();
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.evictions_not_full, 0u);
  ASSERT_TRUE(take_ok(limiter, "p", "a").allowed);  // b was not full
  EXPECT_EQ(limiter.stats().evictions_not_full, 1u);
}

// Threads hammering the same keys with the clock frozen: exactly `burst` pass per key, never one
// more. The threads walk the keys in the same order from a common start, so they meet on each
// key while its bucket drains (one hot key alone drains too fast to race).
TEST(RateLimiterConcurrency, FrozenClockAllowsExactlyTheBurst) {
  TestClock clock;
  constexpr int kThreads = 4;
  constexpr int kKeys = 10'000;
  constexpr int kBurst = 5;
  RateLimiter limiter({{"p", 100, 60, kBurst}}, options_with(clock, 100'000));
  std::atomic<int> allowed{0};
  std::atomic<int> errors{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      for (int k = 0; k < kKeys; ++k) {
        const std::string key = "client:" + std::to_string(k);
        for (int i = 0; i < 2 * kBurst; ++i) {
          auto d = limiter.take("p", key);
          if (!d.ok()) {
            errors.fetch_add(1);
          } else if (d->allowed) {
            allowed.fetch_add(1);
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(allowed.load(), kKeys * kBurst);
  EXPECT_EQ(limiter.stats().tracked_keys, static_cast<size_t>(kKeys));
}

// With time moving under the threads (each advances the clock a tenth of a token per request, so
// demand outruns the refill and every new token is fought over), what passes is at most the burst
// plus what the elapsed time refilled.
TEST(RateLimiterConcurrency, MovingClockNeverExceedsBurstPlusRefill) {
  TestClock clock;
  constexpr int kThreads = 4;
  constexpr int kRequests = 50'000;
  RateLimiter limiter({{"p", 1'000, 1, 50}}, options_with(clock));  // a token per millisecond
  const int64_t start = clock.now->load();
  std::atomic<int64_t> allowed{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      for (int i = 0; i < kRequests; ++i) {
        clock.advance(100'000);
        auto d = limiter.take("p", "client:hot");
        if (d.ok() && d->allowed) allowed.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  const int64_t refill = (clock.now->load() - start) / 1'000'000;  // 20,000 tokens
  EXPECT_LE(allowed.load(), 50 + refill);
  EXPECT_GE(allowed.load(), refill / 2);  // and the limiter does not starve them either
}

TEST(RatePlanValidation, RejectsBadPlansWithAClearMessage) {
  auto message_of = [](const RatePlan& p) -> std::string {
    try {
      validate(p);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(message_of({"ok", 100, 60, 0}), "");
  EXPECT_EQ(message_of({"a.b_c-D9", kMaxQuota, 1, kMaxBurst}), "");
  EXPECT_NE(message_of({"", 100, 60, 0}).find("name"), std::string::npos);
  EXPECT_NE(message_of({std::string(kMaxPlanNameLength + 1, 'n'), 100, 60, 0}).find("name"),
            std::string::npos);
  EXPECT_NE(message_of({"has \"quote\"", 100, 60, 0}).find("name"), std::string::npos);
  EXPECT_NE(message_of({"sp ace", 100, 60, 0}).find("name"), std::string::npos);
  EXPECT_NE(message_of({"q", 0, 60, 0}).find("quota"), std::string::npos);
  EXPECT_NE(message_of({"q", -1, 60, 0}).find("quota"), std::string::npos);
  EXPECT_NE(message_of({"q", kMaxQuota + 1, 60, 0}).find("quota"), std::string::npos);
  EXPECT_NE(message_of({"w", 10, 0, 0}).find("window_seconds"), std::string::npos);
  EXPECT_NE(message_of({"w", 10, -60, 0}).find("window_seconds"), std::string::npos);
  EXPECT_NE(message_of({"w", 10, kMaxWindowSeconds + 1, 0}).find("window_seconds"),
            std::string::npos);
  EXPECT_NE(message_of({"b", 10, 60, -1}).find("burst"), std::string::npos);
  EXPECT_NE(message_of({"b", 10, 60, kMaxBurst + 1}).find("burst"), std::string::npos);
  // A bucket that would take over a year to refill.
  EXPECT_NE(message_of({"slow", 1, 86'400, 1'000}).find("refill"), std::string::npos);
  EXPECT_NE(message_of({"q", 0, 60, 0}).find("\"q\""), std::string::npos);  // names the plan
}

TEST(RatePlanValidation, LimiterRefusesBadConfiguration) {
  EXPECT_THROW(RateLimiter({}), std::invalid_argument);
  EXPECT_THROW(RateLimiter({{"bad", 0, 60, 0}}), std::invalid_argument);
  EXPECT_THROW(RateLimiter({{"dup", 1, 60, 0}, {"dup", 2, 60, 0}}), std::invalid_argument);
  RateLimiterOptions no_shards;
  no_shards.shards = 0;
  EXPECT_THROW(RateLimiter({{"p", 1, 60, 0}}, no_shards), std::invalid_argument);
  RateLimiterOptions too_few_keys;
  too_few_keys.max_keys = 8;
  too_few_keys.shards = 16;
  EXPECT_THROW(RateLimiter({{"p", 1, 60, 0}}, too_few_keys), std::invalid_argument);
  EXPECT_NO_THROW(RateLimiter({{"p", 1, 60, 0}}));
}

TEST(RateLimitHeaders, FieldValuesAreExact) {
  const RatePlan plan{"per-client", 100, 60, 0};
  RateDecision allowed{true, 100, 42, 18, 0};
  EXPECT_EQ(rate_limit_policy_value(plan), "\"per-client\";q=100;w=60");
  EXPECT_EQ(rate_limit_value(plan, allowed), "\"per-client\";r=42;t=18");
  RateDecision refused{false, 100, 0, 60, 7};
  EXPECT_EQ(rate_limit_value(plan, refused), "\"per-client\";r=0;t=7");
  EXPECT_EQ(rate_limit_policy_value({"burst", 100, 60, 250}),
            "\"burst\";q=100;w=60;tessera-burst=250");
  EXPECT_EQ(rate_limit_policy_value({"same", 100, 60, 100}), "\"same\";q=100;w=60");
}

TEST(RateLimitHeaders, AllowedResponseCarriesPolicyAndLimitOnly) {
  TestClock clock;
  RateLimiter limiter({{"per-client", 100, 60, 0}}, options_with(clock));
  RateDecision d = take_ok(limiter, "per-client", "client:a");
  http::Headers h;
  add_rate_limit_headers(h, *limiter.plan(*limiter.find_plan("per-client")), d);
  EXPECT_EQ(h.get("RateLimit-Policy").value_or(""), "\"per-client\";q=100;w=60");
  EXPECT_EQ(h.get("RateLimit").value_or(""), "\"per-client\";r=99;t=1");
  EXPECT_FALSE(h.contains("Retry-After"));
}

TEST(RateLimitHeaders, RefusalSetsRetryAfterAndKeepsTheLongestWait) {
  const RatePlan a{"a", 10, 60, 0};
  const RatePlan b{"b", 1, 60, 0};
  http::Headers h;
  add_rate_limit_headers(h, a, RateDecision{false, 10, 0, 60, 6});
  EXPECT_EQ(h.get("Retry-After").value_or(""), "6");
  add_rate_limit_headers(h, b, RateDecision{false, 1, 0, 60, 60});
  add_rate_limit_headers(h, a, RateDecision{false, 10, 0, 60, 3});
  EXPECT_EQ(h.get("Retry-After").value_or(""), "60");
  EXPECT_EQ(h.count("Retry-After"), 1u);
  EXPECT_EQ(h.count("RateLimit"), 3u);
}

TEST(RateLimitHeaders, TooManyRequestsIsTheFullRefusal) {
  TestClock clock;
  RateLimiter limiter({{"per-key", 10, 60, 1}}, options_with(clock));
  ASSERT_TRUE(take_ok(limiter, "per-key", "key:abc").allowed);
  RateDecision d = take_ok(limiter, "per-key", "key:abc");
  ASSERT_FALSE(d.allowed);
  http::Response r = too_many_requests(*limiter.plan(*limiter.find_plan("per-key")), d);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers.get("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(r.headers.get("Cache-Control").value_or(""), "no-store");
  EXPECT_EQ(r.headers.get("Retry-After").value_or(""), "6");
  EXPECT_EQ(r.headers.get("RateLimit").value_or(""), "\"per-key\";r=0;t=6");
  EXPECT_EQ(r.headers.get("RateLimit-Policy").value_or(""),
            "\"per-key\";q=10;w=60;tessera-burst=1");
  auto body = json::parse_strict(r.body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->value("error", ""), "rate_limited");
  EXPECT_EQ(body->value("error_description", ""),
            "rate limit \"per-key\" exceeded; retry after 6 seconds");
  EXPECT_EQ(r.body.find("key:abc"), std::string::npos);  // the caller key stays out
}

}  // namespace
}  // namespace tessera::gateway
