// Rate-limit buckets shared in Redis (gateway/redis_state.h) against a real redis-server:
// two limiters (two gateway nodes) drawing from one bucket, the same answers as the local
// limiter, Redis's own clock refilling, plans too large to keep exactly, and what a limiter
// does while Redis is down (count locally, or refuse).
#include "gateway/redis_state.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gateway/rate_limit.h"
#include "support/redis_options.h"
#include "support/redis_server.h"

namespace tessera::gateway {
namespace {

using testing::RedisServer;

using testing::redis_pool;

RatePlan plan(std::string name, int64_t quota, int64_t window_seconds, int64_t burst = 0) {
  return RatePlan{std::move(name), quota, window_seconds, burst};
}

RateLimiter shared_limiter(const std::shared_ptr<store::RedisPool>& pool,
                           std::vector<RatePlan> plans, bool refuse_when_down = false) {
  RateLimiterOptions o;
  o.shared = std::make_shared<RedisBuckets>(pool);
  o.refuse_when_shared_down = refuse_when_down;
  return RateLimiter(std::move(plans), o);
}

class RedisBucketsTest : public ::testing::Test {
 protected:
  RedisServer server_;
};

TEST_F(RedisBucketsTest, TwoNodesDrawFromOneBucket) {
  auto pool_a = redis_pool(server_);
  auto pool_b = redis_pool(server_);
  RateLimiter node_a = shared_limiter(pool_a, {plan("per-client", 3, 3600)});
  RateLimiter node_b = shared_limiter(pool_b, {plan("per-client", 3, 3600)});
  const auto id = *node_a.find_plan("per-client");
  auto first = node_a.take(id, "client:one");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->allowed);
  EXPECT_EQ(first->remaining, 2);
  EXPECT_EQ(first->limit, 3);
  auto second = node_b.take(id, "client:one");
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->allowed);
  EXPECT_EQ(second->remaining, 1);
  ASSERT_TRUE(node_a.take(id, "client:one")->allowed);
  // The fourth request, at either node, is refused: a token comes back every 1,200 s.
  auto refused = node_b.take(id, "client:one");
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->allowed);
  EXPECT_EQ(refused->remaining, 0);
  EXPECT_GE(refused->retry_after_seconds, 1199);
  EXPECT_LE(refused->retry_after_seconds, 1200);
  EXPECT_GE(refused->reset_seconds, 3599);
  EXPECT_LE(refused->reset_seconds, 3600);
  // Another caller has a bucket of its own.
  EXPECT_TRUE(node_a.take(id, "client:two")->allowed);
  EXPECT_EQ(node_a.stats().tracked_keys, 0u) << "nothing counted locally";
}

TEST_F(RedisBucketsTest, TheSameAnswersAsTheLocalLimiterForABurst) {
  // No time passes for the local limiter (a fixed clock); a burst of requests takes a few
  // milliseconds of Redis's clock, far less than a token's 36 s.
  RateLimiterOptions fixed;
  fixed.now_ns = [] { return int64_t{1'000'000'000}; };
  RateLimiter local({plan("p", 100, 3600, 10)}, fixed);
  RateLimiter shared = shared_limiter(redis_pool(server_), {plan("p", 100, 3600, 10)});
  const auto id = *local.find_plan("p");
  for (int i = 0; i < 13; ++i) {
    auto l = local.take(id, "ip:10.0.0.1");
    auto s = shared.take(id, "ip:10.0.0.1");
    ASSERT_TRUE(l.ok() && s.ok());
    EXPECT_EQ(s->allowed, l->allowed) << "request " << i;
    EXPECT_EQ(s->remaining, l->remaining) << "request " << i;
    EXPECT_EQ(s->limit, l->limit);
    EXPECT_EQ(s->retry_after_seconds, l->retry_after_seconds) << "request " << i;
    EXPECT_EQ(s->reset_seconds, l->reset_seconds) << "request " << i;
  }
}

TEST_F(RedisBucketsTest, RefillsByRedisClockAndExpiresOnceFull) {
  auto pool = redis_pool(server_);
  // 10 per second, burst 2: a token every 100 ms.
  RateLimiter limiter = shared_limiter(pool, {plan("fast", 10, 1, 2)});
  const auto id = *limiter.find_plan("fast");
  ASSERT_TRUE(limiter.take(id, "k")->allowed);
  ASSERT_TRUE(limiter.take(id, "k")->allowed);
  EXPECT_FALSE(limiter.take(id, "k")->allowed);
  // The bucket is kept, and expires by itself a second after it would be full again (at most
  // 200 ms from now).
  auto ttl = pool->command({"PTTL", "tessera:rl:fast:k"});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, 500);
  EXPECT_LE(ttl->integer, 1200);
  bool refilled = false;
  for (int i = 0; i < 50 && !refilled; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    refilled = limiter.take(id, "k")->allowed;
  }
  EXPECT_TRUE(refilled);
}

TEST_F(RedisBucketsTest, RefusesPlansTooLargeToKeepExactly) {
  auto pool = redis_pool(server_);
  // (1e9 + 1) * 366 days in ms is far beyond 2^53.
  EXPECT_THROW(shared_limiter(pool, {plan("huge", 1'000'000'000, 366 * 86'400)}),
               std::invalid_argument);
  // The largest window with a modest burst is fine.
  EXPECT_NO_THROW(shared_limiter(pool, {plan("yearly", 1000, 366 * 86'400)}));
}

TEST_F(RedisBucketsTest, WhileRedisIsDownNodesCountAloneOrRefuse) {
  auto pool = redis_pool(server_);
  RateLimiter counting = shared_limiter(pool, {plan("p", 2, 3600)});
  RateLimiter refusing = shared_limiter(pool, {plan("p", 2, 3600)}, true);
  const auto id = *counting.find_plan("p");
  server_.stop();
  // Counting alone: the local bucket of this node applies.
  EXPECT_TRUE(counting.take(id, "c")->allowed);
  EXPECT_TRUE(counting.take(id, "c")->allowed);
  EXPECT_FALSE(counting.take(id, "c")->allowed);
  EXPECT_EQ(counting.stats().shared_unavailable, 3u);
  auto refused = refusing.take(id, "c");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), RateLimitError::kUnavailable);
  // Back: the shared bucket (empty server, so full) decides again.
  server_.start();
  bool shared_again = false;
  for (int i = 0; i < 100 && !shared_again; ++i) {
    auto r = refusing.take(id, "c");
    shared_again = r.ok();
    if (!shared_again) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(shared_again);
  auto d = counting.take(id, "c");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->allowed);
  EXPECT_EQ(d->remaining, 0) << "the second token of the shared bucket";
}

}  // namespace
}  // namespace tessera::gateway
