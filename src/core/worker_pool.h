// A fixed set of threads for work that must not run on the HTTP server's I/O threads: argon2id
// password checks take tens of milliseconds of CPU and memory each, and on an I/O thread they
// would hold up every other request of its connections. The queue is bounded: when it is full,
// submit() refuses at once (the caller answers 503) instead of letting work pile up without end.
#pragma once

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

 private:
  void run();

  size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace tessera
