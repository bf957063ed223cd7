// A fixed set of threads for work that must not run on the HTTP server's I/O threads: argon2id
// password checks take tens of milliseconds of CPU and memory each, and on an I/O thread they
// would hold up every other request of its connections. The queue is bounded: when it is full,
// submit() refuses at once (the caller answers 503) instead of letting work pile up without end.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tessera {

class WorkerPool {
 public:
  WorkerPool(size_t threads, size_t max_queued);
  // Runs what is queued, then joins.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False (and `job` is not run) when max_queued jobs are already waiting.
  bool submit(std::function<void()> job);

  size_t threads() const { return threads_.size(); }
  // Threads neither running a job nor about to take a queued one, at the time of asking: a hint
  // for callers that would rather do work themselves than queue it behind others.
  size_t idle() const {
    const size_t taken =
        busy_.load(std::memory_order_relaxed) + queued_.load(std::memory_order_relaxed);
    return taken >= threads_.size() ? 0 : threads_.size() - taken;
  }

 private:
  void run();

  size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::atomic<size_t> busy_{0};
  std::atomic<size_t> queued_{0};
  std::vector<std::thread> threads_;
};

}  // namespace tessera
