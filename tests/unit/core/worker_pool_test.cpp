// The worker pool that keeps password hashing off the I/O threads.
#include "core/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>

namespace tessera {
namespace {

TEST(WorkerPool, RunsEveryJobOnAnotherThread) {
  std::atomic<int> done{0};
  std::atomic<bool> on_caller{false};
  const auto caller = std::this_thread::get_id();
  {
    WorkerPool pool(2, 100);
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(pool.submit([&] {
        if (std::this_thread::get_id() == caller) on_caller = true;
        ++done;
      }));
    }
  }  // the destructor runs what is queued, then joins
  EXPECT_EQ(done.load(), 50);
  EXPECT_FALSE(on_caller.load());
}

TEST(WorkerPool, RefusesWhenTheQueueIsFull) {
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::latch started(1);
  WorkerPool pool(1, 2);
  // One job occupies the only thread; two more fill the queue; the fourth is refused.
  ASSERT_TRUE(pool.submit([&] {
    started.count_down();
    gate.wait();
  }));
  started.wait();
  EXPECT_TRUE(pool.submit([] {}));
  EXPECT_TRUE(pool.submit([] {}));
  EXPECT_FALSE(pool.submit([] {}));
  release.set_value();
}

TEST(WorkerPool, CountsTheThreadsThatAreNeitherBusyNorAboutToBe) {
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::latch started(1);
  WorkerPool pool(2, 4);
  EXPECT_EQ(pool.threads(), 2U);
  EXPECT_EQ(pool.idle(), 2U);
  ASSERT_TRUE(pool.submit([&] {
    started.count_down();
    gate.wait();
  }));
  started.wait();
  EXPECT_EQ(pool.idle(), 1U);
  // A queued job counts as taken until a thread runs it: with two more, none is idle.
  std::latch second(1);
  ASSERT_TRUE(pool.submit([&] {
    second.count_down();
    gate.wait();
  }));
  second.wait();
  EXPECT_EQ(pool.idle(), 0U);
  ASSERT_TRUE(pool.submit([] {}));
  EXPECT_EQ(pool.idle(), 0U);
  release.set_value();
}

}  // namespace
}  // namespace tessera
