// resource::JwksCache: what waits on a fetch and what does not.
#include "resource/jwks_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace tessera::resource {
namespace {

// A fetch of a slow issuer is under way (for a new kid): another request naming an unknown kid
// within min_refetch_seconds of that fetch's start gets the held set at once instead of queueing
// behind it, so a flood of made-up kids does not park a thread per request.
TEST(JwksCache, AnUnknownKidDuringASlowFetchIsAnsweredAtOnceWithTheHeldSet) {
  auto key = jose::Jwk::generate(jose::Alg::kES256);
  ASSERT_TRUE(key);
  jose::Jwks set;
  set.add(key->public_key());
  std::atomic<int64_t> now{1'000};
  std::mutex mu;
  std::condition_variable changed;
  int calls = 0;
  bool in_second_fetch = false;
  bool release = false;
  JwksCache cache(
      [&]() -> Result<jose::Jwks, std::string> {
        std::unique_lock lock(mu);
        if (++calls == 2) {
          in_second_fetch = true;
          changed.notify_all();
          changed.wait(lock, [&] { return release; });
        }
        return set;
      },
      300, 30, [&] { return now.load(); });
  auto first = cache.keys();
  ASSERT_TRUE(first);
  now += 31;
  std::thread slow([&] { EXPECT_TRUE(cache.refresh_for_unknown_kid(*first)); });
  {
    std::unique_lock lock(mu);
    changed.wait(lock, [&] { return in_second_fetch; });
  }
  auto quick =
      std::async(std::launch::async, [&] { return cache.refresh_for_unknown_kid(*first); });
  // Not a timing figure: a call that waited on the fetch would never finish before release.
  const bool answered = quick.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  {
    std::lock_guard lock(mu);
    release = true;
  }
  changed.notify_all();
  slow.join();
  ASSERT_TRUE(answered) << "the second unknown kid waited on the first one's fetch";
  auto got = quick.get();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, *first);  // the held set: the fetch under way had not finished
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(cache.held(), *cache.keys());
}

TEST(JwksCache, HeldIsTheLastSetHoweverOld) {
  auto key = jose::Jwk::generate(jose::Alg::kES256);
  ASSERT_TRUE(key);
  jose::Jwks set;
  set.add(key->public_key());
  int64_t now = 1'000;
  JwksCache cache([&]() -> Result<jose::Jwks, std::string> { return set; }, 300, 30,
                  [&] { return now; });
  EXPECT_EQ(cache.held(), nullptr);
  auto first = cache.keys();
  ASSERT_TRUE(first);
  now += 3'600;
  EXPECT_EQ(cache.current_without_fetch(), nullptr);  // stale: keys() would fetch
  EXPECT_EQ(cache.held(), *first);
}

}  // namespace
}  // namespace tessera::resource
