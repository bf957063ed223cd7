// Redis (store/redis.h) against a real redis-server the test starts (tests/support/redis_server):
// the URL form, the replay cache's once-only rule across threads and across pools (two nodes),
// expiry, AUTH, a server that goes away and comes back, and scripts after SCRIPT FLUSH.
#include "store/redis.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_options.h"
#include "support/redis_server.h"

namespace tessera::store {
namespace {

using testing::RedisServer;

using testing::redis_options;

TEST(RedisUrl, ReadsHostPortDatabaseAndUser) {
  auto o = redis_options_from_url("redis://cache.internal:6380/3");
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->host, "cache.internal");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->database, 3);
  EXPECT_TRUE(o->username.empty());

  o = redis_options_from_url("redis://tessera@[::1]");
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->host, "::1");
  EXPECT_EQ(o->port, 6379);
  EXPECT_EQ(o->database, 0);
  EXPECT_EQ(o->username, "tessera");
}

TEST(RedisUrl, RefusesPasswordsAndMalformedUrls) {
  auto with_password = redis_options_from_url("redis://user:s3cret@127.0.0.1:6379");
  ASSERT_FALSE(with_password.ok());
  EXPECT_NE(with_password.error().find("password_file"), std::string::npos);
  EXPECT_EQ(with_password.error().find("s3cret"), std::string::npos) << "never echo a secret";
  for (const char* bad :
       {"http://127.0.0.1:6379", "rediss://127.0.0.1", "redis://", "redis://:6379", "redis://h:0",
        "redis://h:65536", "redis://h:12x", "redis://h/x", "redis://h/1?x=y", "redis://[::1"}) {
    EXPECT_FALSE(redis_options_from_url(bad).ok()) << bad;
  }
  RedisOptions base;
  base.key_prefix = "has space";
  EXPECT_FALSE(redis_options_from_url("redis://h", base).ok());
  base.key_prefix = "ok:";
  base.connections = 0;
  EXPECT_FALSE(redis_options_from_url("redis://h", base).ok());
}

class RedisTest : public ::testing::Test {
 protected:
  RedisServer server_;
  const SystemClock& clock_ = SystemClock::instance();
};

TEST_F(RedisTest, ReplayCacheSaysTrueOncePerNamespaceAndId) {
  auto cache = make_redis_replay_cache(std::make_shared<RedisPool>(redis_options(server_)), clock_);
  const int64_t later = clock_.now() + 60;
  auto first = cache->remember_once("dpop", "jti-1", later);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(*first);
  auto second = cache->remember_once("dpop", "jti-1", later);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  auto other_ns = cache->remember_once("client_assertion", "jti-1", later);
  ASSERT_TRUE(other_ns.ok());
  EXPECT_TRUE(*other_ns);
  // The SQL cache's argument rules hold here too.
  EXPECT_FALSE(cache->remember_once("", "x", later).ok());
  EXPECT_FALSE(cache->remember_once("dpop", "", later).ok());
  EXPECT_FALSE(cache->remember_once(std::string(65, 'n'), "x", later).ok());
}

TEST_F(RedisTest, KeysCarryThePrefixAndExpireWithTheEntry) {
  auto pool = std::make_shared<RedisPool>(redis_options(server_));
  auto cache = make_redis_replay_cache(pool, clock_);
  ASSERT_TRUE(cache->remember_once("dpop", "short-lived", clock_.now() + 1).ok());
  auto keys = pool->command({"KEYS", "*"});
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->elements.size(), 1u);
  EXPECT_EQ(keys->elements[0].text.rfind("tessera:replay:dpop:", 0), 0u) << keys->elements[0].text;
  auto ttl = pool->command({"PTTL", keys->elements[0].text});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, 2000);
  // After its expiry the id may be remembered afresh.
  bool again = false;
  for (int i = 0; i < 40 && !again; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto r = cache->remember_once("dpop", "short-lived", clock_.now() + 1);
    ASSERT_TRUE(r.ok());
    again = *r;
  }
  EXPECT_TRUE(again);
}

TEST_F(RedisTest, OfManyThreadsOnTwoNodesExactlyOneWins) {
  // Two pools: two gateway or as nodes sharing one Redis.
  RedisOptions o = redis_options(server_);
  o.connections = 3;
  auto node_a = make_redis_replay_cache(std::make_shared<RedisPool>(o), clock_);
  auto node_b = make_redis_replay_cache(std::make_shared<RedisPool>(o), clock_);
  constexpr int kIds = 20;
  constexpr int kThreads = 8;
  std::atomic<int> wins[kIds] = {};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  const int64_t later = clock_.now() + 60;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ReplayCache& cache = t % 2 == 0 ? *node_a : *node_b;
      for (int id = 0; id < kIds; ++id) {
        auto r = cache.remember_once("dpop", "race-" + std::to_string(id), later);
        if (!r) {
          ++errors;
        } else if (*r) {
          ++wins[id];
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  for (int id = 0; id < kIds; ++id) EXPECT_EQ(wins[id].load(), 1) << "id " << id;
}

TEST_F(RedisTest, AServerThatGoesAwayIsUnavailableThenUsedAgain) {
  auto pool = std::make_shared<RedisPool>(redis_options(server_));
  auto cache = make_redis_replay_cache(pool, clock_);
  ASSERT_TRUE(cache->remember_once("dpop", "before", clock_.now() + 60).ok());
  server_.stop();
  auto down = cache->remember_once("dpop", "during", clock_.now() + 60);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, StoreError::Code::kUnavailable);
  // While the last connection attempt is fresh, callers fail fast without a new one.
  auto fast = pool->command({"PING"});
  ASSERT_FALSE(fast.ok());
  EXPECT_NE(fast.error().message.find("not retried yet"), std::string::npos)
      << fast.error().message;
  server_.start();  // empty: a restarted Redis without persistence
  bool back = false;
  for (int i = 0; i < 100 && !back; ++i) {
    auto r = cache->remember_once("dpop", "after", clock_.now() + 60);
    back = r.ok() && *r;
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(back);
  EXPECT_GT(pool->stats().failures, 0u);
}

TEST_F(RedisTest, AConnectionTheServerClosedIsReplacedWithoutFailingTheCall) {
  RedisOptions o = redis_options(server_);
  o.connections = 2;
  RedisPool pool(o);
  // Two connections in the pool, then the server closes both (as a restart or its idle timeout
  // would); a third connection of another pool asks for it.
  std::thread other([&] { ASSERT_TRUE(pool.command({"PING"}).ok()); });
  ASSERT_TRUE(pool.command({"PING"}).ok());
  other.join();
  RedisPool admin(redis_options(server_));
  auto killed = admin.command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  ASSERT_TRUE(killed.ok());
  ASSERT_EQ(killed->type, RedisReply::Type::kInteger) << killed->text;
  const uint64_t opened = pool.stats().connections;
  ASSERT_GE(killed->integer, static_cast<int64_t>(opened));
  auto pong = pool.command({"PING"});
  ASSERT_TRUE(pong.ok()) << pong.error().message;
  EXPECT_EQ(pong->text, "PONG");
  EXPECT_EQ(pool.stats().connections, opened + 1) << "one new connection";
  EXPECT_EQ(pool.stats().failures, 0u);
}

TEST_F(RedisTest, ScriptsRunAgainAfterTheServerForgetsThem) {
  RedisPool pool(redis_options(server_));
  const RedisPool::Script kScript("return tonumber(ARGV[1]) + 1");
  auto r = pool.eval(kScript, {}, {"41"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->type, RedisReply::Type::kInteger) << r->text;
  EXPECT_EQ(r->integer, 42);
  ASSERT_TRUE(pool.command({"SCRIPT", "FLUSH"}).ok());
  r = pool.eval(kScript, {}, {"1"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->type, RedisReply::Type::kInteger) << r->text;
  EXPECT_EQ(r->integer, 2);
}

TEST_F(RedisTest, ErrorRepliesAreRepliesNotFailures) {
  RedisPool pool(redis_options(server_));
  auto r = pool.command({"NOSUCHCOMMAND"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, RedisReply::Type::kError);
  // The connection stays usable.
  auto pong = pool.command({"PING"});
  ASSERT_TRUE(pong.ok());
  EXPECT_EQ(pong->text, "PONG");
  EXPECT_EQ(pool.stats().connections, 1u);
}

TEST(RedisAuth, ThePasswordIsSentAndNeverShown) {
  RedisServer server("correct horse battery");
  {
    RedisPool pool(redis_options(server, "correct horse battery"));
    auto pong = pool.command({"PING"});
    ASSERT_TRUE(pong.ok()) << pong.error().message;
    EXPECT_EQ(pong->text, "PONG");
  }
  {
    RedisPool pool(redis_options(server, "wrong password here"));
    auto refused = pool.command({"PING"});
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, StoreError::Code::kUnavailable);
    EXPECT_NE(refused.error().message.find("AUTH"), std::string::npos) << refused.error().message;
    EXPECT_EQ(refused.error().message.find("wrong password here"), std::string::npos);
  }
  {
    // No password at all: Redis answers NOAUTH, which the replay cache reports as unavailable.
    auto cache = make_redis_replay_cache(std::make_shared<RedisPool>(redis_options(server)),
                                         SystemClock::instance());
    auto r = cache->remember_once("dpop", "x", SystemClock::instance().now() + 60);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, StoreError::Code::kUnavailable);
  }
}

}  // namespace
}  // namespace tessera::store
