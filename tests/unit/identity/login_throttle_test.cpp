// Login throttling per account and per address, on a FixedClock.
#include "identity/login_throttle.h"

#include <gtest/gtest.h>

#include <latch>
#include <thread>
#include <vector>

namespace tessera::identity {
namespace {

class LoginThrottleTest : public ::testing::Test {
 protected:
  FixedClock clock_{1'700'000'000};
};

TEST_F(LoginThrottleTest, FifthAccountFailureLocksForAMinute) {
  LoginThrottle throttle(clock_);
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(throttle.retry_after("alice", "10.0.0.1")) << i;
    throttle.record_failure("alice", "10.0.0.1");
  }
  EXPECT_FALSE(throttle.retry_after("alice", "10.0.0.1"));
  throttle.record_failure("alice", "10.0.0.1");
  EXPECT_EQ(throttle.retry_after("alice", "10.0.0.1"), std::optional<int64_t>(60));
  // The lock is on the account, from any address.
  EXPECT_EQ(throttle.retry_after("alice", "10.9.9.9"), std::optional<int64_t>(60));
  EXPECT_FALSE(throttle.retry_after("bob", "10.9.9.9"));
  clock_.advance(59);
  EXPECT_EQ(throttle.retry_after("alice", "10.0.0.1"), std::optional<int64_t>(1));
  clock_.advance(1);
  EXPECT_FALSE(throttle.retry_after("alice", "10.0.0.1"));
}

TEST_F(LoginThrottleTest, IPv6AddressesCountPerSlash64) {
  EXPECT_EQ(throttle_address("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(throttle_address("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(throttle_address("not an address"), "not an address");
  LoginThrottle throttle(clock_);
  // 50 failures for 50 accounts, each from another address of one /64: the /64 is locked.
  for (int i = 1; i <= 50; ++i) {
    throttle.record_failure("user" + std::to_string(i), "2001:db8::" + std::to_string(i));
  }
  EXPECT_TRUE(throttle.retry_after("someone", "2001:db8::ffff"));
  EXPECT_FALSE(throttle.retry_after("someone", "2001:db8:0:1::1"));
}

TEST_F(LoginThrottleTest, FailuresOutsideTheWindowAreForgotten) {
  LoginThrottle throttle(clock_);
  for (int i = 0; i < 4; ++i) throttle.record_failure("alice", "a");
  clock_.advance(15 * 60);
  throttle.record_failure("alice", "a");
  EXPECT_FALSE(throttle.retry_after("alice", "a"));
}

TEST_F(LoginThrottleTest, LockoutsDoubleUpToFifteenMinutes) {
  LoginThrottle throttle(clock_);
  for (int i = 0; i < 5; ++i) throttle.record_failure("alice", "");
  std::vector<int64_t> lockouts;
  for (int round = 0; round < 7; ++round) {
    auto wait = throttle.retry_after("alice", "");
    ASSERT_TRUE(wait) << round;
    lockouts.push_back(*wait);
    clock_.advance(*wait);
    // Once locked, one more failure within the window locks again.
    throttle.record_failure("alice", "");
  }
  EXPECT_EQ(lockouts, (std::vector<int64_t>{60, 120, 240, 480, 900, 900, 900}));
}

TEST_F(LoginThrottleTest, FailuresDuringALockoutDoNotExtendIt) {
  LoginThrottle throttle(clock_);
  for (int i = 0; i < 5; ++i) throttle.record_failure("alice", "");
  clock_.advance(30);
  throttle.record_failure("alice", "");
  EXPECT_EQ(throttle.retry_after("alice", ""), std::optional<int64_t>(30));
}

TEST_F(LoginThrottleTest, SuccessClearsTheAccountButNotTheAddress) {
  LoginThrottleOptions options;
  options.address.max_failures = 6;
  LoginThrottle throttle(clock_, options);
  for (int i = 0; i < 4; ++i) throttle.record_failure("alice", "10.0.0.1");
  throttle.record_success("alice");
  for (int i = 0; i < 4; ++i) throttle.record_failure("alice", "10.0.0.2");
  EXPECT_FALSE(throttle.retry_after("alice", "10.0.0.2"));  // 4 since the success, not 8
  throttle.record_failure("mallory", "10.0.0.1");
  throttle.record_success("mallory");
  throttle.record_failure("carol", "10.0.0.1");
  throttle.record_failure("dave", "10.0.0.1");  // sixth failure from this address
  EXPECT_EQ(throttle.retry_after("erin", "10.0.0.1"), std::optional<int64_t>(60));
  EXPECT_FALSE(throttle.retry_after("erin", "10.0.0.2"));
}

TEST_F(LoginThrottleTest, AddressLimitCatchesGuessingAcrossManyAccounts) {
  LoginThrottle throttle(clock_);
  for (int i = 0; i < 49; ++i) throttle.record_failure("user" + std::to_string(i), "203.0.113.7");
  EXPECT_FALSE(throttle.retry_after("user99", "203.0.113.7"));
  throttle.record_failure("user49", "203.0.113.7");
  EXPECT_EQ(throttle.retry_after("user99", "203.0.113.7"), std::optional<int64_t>(60));
}

TEST_F(LoginThrottleTest, TrackedKeysStayBoundedAndTheOldestIsEvicted) {
  LoginThrottleOptions options;
  options.max_tracked_keys = 3;
  options.shards = 1;
  LoginThrottle throttle(clock_, options);
  for (int i = 0; i < 5; ++i) throttle.record_failure("victim", "");
  ASSERT_TRUE(throttle.retry_after("victim", ""));
  throttle.record_failure("k1", "");
  throttle.record_failure("k2", "");
  EXPECT_TRUE(throttle.retry_after("victim", ""));  // still among the 3 most recent
  throttle.record_failure("k3", "");                // evicts the least recently touched
  EXPECT_FALSE(throttle.retry_after("victim", ""));
  EXPECT_EQ(throttle.tracked_keys(), 3u);
  for (int i = 0; i < 1000; ++i) throttle.record_failure("flood" + std::to_string(i), "");
  EXPECT_EQ(throttle.tracked_keys(), 3u);
}

TEST_F(LoginThrottleTest, ShardedTablesStayBoundedToo) {
  LoginThrottleOptions options;
  options.max_tracked_keys = 64;
  LoginThrottle throttle(clock_, options);
  for (int i = 0; i < 5000; ++i) {
    throttle.record_failure("user" + std::to_string(i), "addr" + std::to_string(i));
  }
  EXPECT_LE(throttle.tracked_keys(), 128u);
}

TEST_F(LoginThrottleTest, ConcurrentFailuresAreAllCounted) {
  LoginThrottleOptions options;
  options.account.max_failures = 400;
  LoginThrottle throttle(clock_, options);
  constexpr int kThreads = 8, kEach = 50;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int i = 0; i < kEach; ++i) throttle.record_failure("alice", "");
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(throttle.retry_after("alice", ""));  // exactly 400 failures: locked
}

TEST_F(LoginThrottleTest, EmptyKeysAreNotTracked) {
  LoginThrottle throttle(clock_);
  for (int i = 0; i < 100; ++i) throttle.record_failure("", "");
  EXPECT_FALSE(throttle.retry_after("", ""));
  EXPECT_EQ(throttle.tracked_keys(), 0u);
}

}  // namespace
}  // namespace tessera::identity
