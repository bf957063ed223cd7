// ReplayCache on both backends: once-only semantics under contention, expiry, purge.
#include "store/replay_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include "backend_fixture.h"

namespace tessera::store::testing {
namespace {

using Code = StoreError::Code;

class ReplayCacheTest : public StoreTest {
 protected:
  ReplayCache& cache() { return store_->replay_cache(); }
  int64_t now() const { return clock_.now(); }

  struct RaceOutcome {
    int winners = 0;
    int errors = 0;
    std::string first_error;
  };
  // `threads` callers, released together, each on the cache chosen by `cache_for(i)`.
  template <class CacheFor>
  RaceOutcome race(int threads, std::string_view id, CacheFor cache_for) {
    std::atomic<int> winners{0};
    std::atomic<int> errors{0};
    std::mutex error_mutex;
    std::string first_error;
    std::latch start(threads);
    std::vector<std::thread> racers;
    for (int i = 0; i < threads; ++i) {
      racers.emplace_back([&, i] {
        start.arrive_and_wait();
        auto remembered = cache_for(i).remember_once("dpop", id, now() + 60);
        if (!remembered) {
          ++errors;
          std::lock_guard lock(error_mutex);
          if (first_error.empty()) first_error = remembered.error().message;
        } else if (*remembered) {
          ++winners;
        }
      });
    }
    for (auto& racer : racers) racer.join();
    return {winners.load(), errors.load(), first_error};
  }
};

TEST_P(ReplayCacheTest, FirstSightingIsAcceptedAndTheReplayIsNot) {
  auto first = cache().remember_once("jti", "abc", now() + 60);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(*first);
  auto replay = cache().remember_once("jti", "abc", now() + 60);
  ASSERT_TRUE(replay) << replay.error().message;
  EXPECT_FALSE(*replay);
}

TEST_P(ReplayCacheTest, NamespacesDoNotCollide) {
  ASSERT_TRUE(cache().remember_once("jti", "same-id", now() + 60).value());
  EXPECT_TRUE(cache().remember_once("dpop", "same-id", now() + 60).value());
  EXPECT_TRUE(cache().remember_once("client_assertion", "same-id", now() + 60).value());
}

TEST_P(ReplayCacheTest, FiftyThreadsRacingOnOneIdYieldExactlyOneAcceptance) {
  for (int round = 0; round < 5; ++round) {
    auto outcome =
        race(50, "proof-" + std::to_string(round), [&](int) -> ReplayCache& { return cache(); });
    EXPECT_EQ(outcome.errors, 0) << outcome.first_error;
    EXPECT_EQ(outcome.winners, 1) << "round " << round;
  }
}

TEST_P(ReplayCacheTest, SeparateStoresOnOneDatabaseAgreeOnOneAcceptance) {
  // Two independently opened stores stand in for two processes sharing the database.
  auto other = open_store_or_fail();
  ASSERT_NE(other, nullptr);
  for (int round = 0; round < 3; ++round) {
    auto outcome = race(50, "shared-" + std::to_string(round), [&](int i) -> ReplayCache& {
      return i % 2 == 0 ? cache() : other->replay_cache();
    });
    EXPECT_EQ(outcome.errors, 0) << outcome.first_error;
    EXPECT_EQ(outcome.winners, 1) << "round " << round;
  }
}

TEST_P(ReplayCacheTest, ExpiredEntryCanBeRememberedAgain) {
  ASSERT_TRUE(cache().remember_once("jti", "abc", now() + 60).value());
  clock_.advance(59);
  EXPECT_FALSE(cache().remember_once("jti", "abc", now() + 60).value());
  clock_.advance(1);
  EXPECT_TRUE(cache().remember_once("jti", "abc", now() + 60).value());
  EXPECT_FALSE(cache().remember_once("jti", "abc", now() + 60).value());
}

TEST_P(ReplayCacheTest, ExpiryInThePastStillBlocksAnImmediateReplay) {
  ASSERT_TRUE(cache().remember_once("jti", "late", now() - 100).value());
  EXPECT_FALSE(cache().remember_once("jti", "late", now() - 100).value());
}

TEST_P(ReplayCacheTest, PurgeRemovesOnlyExpiredEntries) {
  ASSERT_TRUE(cache().remember_once("jti", "short-1", now() + 10).value());
  ASSERT_TRUE(cache().remember_once("jti", "short-2", now() + 20).value());
  ASSERT_TRUE(cache().remember_once("jti", "long", now() + 1000).value());
  clock_.advance(20);
  auto purged = cache().purge_expired();
  ASSERT_TRUE(purged) << purged.error().message;
  EXPECT_EQ(*purged, 2);
  EXPECT_FALSE(cache().remember_once("jti", "long", now() + 1000).value());
  auto rows = store_->database().query("SELECT COUNT(*) FROM replay_cache");
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->front().integer(0), 1);
}

TEST_P(ReplayCacheTest, LongAndBinaryIdsAreAccepted) {
  const std::string long_id(100000, 'x');
  const std::string binary_id("\x00\xff\x00", 3);
  EXPECT_TRUE(cache().remember_once("jti", long_id, now() + 60).value());
  EXPECT_FALSE(cache().remember_once("jti", long_id, now() + 60).value());
  EXPECT_TRUE(cache().remember_once("jti", binary_id, now() + 60).value());
  EXPECT_FALSE(cache().remember_once("jti", binary_id, now() + 60).value());
}

TEST_P(ReplayCacheTest, EmptyIdOrNamespaceIsRejected) {
  auto no_id = cache().remember_once("jti", "", now() + 60);
  ASSERT_FALSE(no_id);
  EXPECT_EQ(no_id.error().code, Code::kInvalidArgument);
  auto no_namespace = cache().remember_once("", "abc", now() + 60);
  ASSERT_FALSE(no_namespace);
  EXPECT_EQ(no_namespace.error().code, Code::kInvalidArgument);
}

TESSERA_ON_BOTH_BACKENDS(ReplayCacheTest);

}  // namespace
}  // namespace tessera::store::testing
