// Request metrics for the Prometheus text exposition format (version 0.0.4):
// request counts by route pattern, method and status, and latency histograms
// by route pattern and method. Counters are relaxed atomics, sharded per io
// thread so the hot path never shares a cache line between cores.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::http {

class RouteMetrics {
 public:
  // Upper bounds in seconds (Prometheus `le`), +Inf implied.
  static constexpr std::array<double, 14> kBucketBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};
  static constexpr size_t kShards = 4;

  RouteMetrics(std::string route, std::string method)
      : route_(std::move(route)), method_(std::move(method)) {}

  // Records one answered request. `shard` is the io thread's index.
  void record(size_t shard, int status, std::chrono::nanoseconds duration);

  // Appends this route's series for both metric families.
  void render_counts(std::string& out) const;
  void render_histogram(std::string& out) const;

 private:
  static constexpr int kMinStatus = 100;
  static constexpr int kMaxStatus = 599;
  struct alignas(64) Shard {
    std::array<std::atomic<uint64_t>, kMaxStatus - kMinStatus + 1> by_status{};
    std::array<std::atomic<uint64_t>, kBucketBounds.size() + 1> buckets{};  // last is +Inf
    std::atomic<uint64_t> sum_ns{0};
  };
  std::string route_;
  std::string method_;
  std::array<Shard, kShards> shards_;
};

// All metric families of one server.
class ServerMetrics {
 public:
  // Registers a route series; the pointer stays valid for the server's life.
  RouteMetrics* add_route(std::string route, std::string method);

  std::atomic<int64_t> connections_active{0};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_refused{0};
  std::atomic<uint64_t> handler_exceptions{0};
  std::atomic<uint64_t> tls_handshake_failures{0};

  std::string render() const;

 private:
  mutable std::mutex mu_;  // guards routes_ growth (start-up) against render
  std::vector<std::unique_ptr<RouteMetrics>> routes_;
};

// Label values escaped per the exposition format: backslash, quote, newline.
void append_label_value(std::string& out, std::string_view value);

}  // namespace tessera::http
