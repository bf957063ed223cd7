// Request metrics for the Prometheus text exposition format (version 0.0.4):
// request counts by route pattern, method and status, and latency histograms
// by route pattern and method. Counters are relaxed atomics, sharded per io
// thread so the hot path never shares a cache line between cores.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::http {

// The io thread's or worker's shard of the sharded counters below: threads take shards in turn
// the first time they record, so two busy threads rarely share a cache line.
size_t this_thread_shard();

// A latency histogram (Prometheus `histogram`), sharded like every counter here.
class Histogram {
 public:
  // Upper bounds in seconds (Prometheus `le`), +Inf implied.
  static constexpr std::array<double, 14> kBucketBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};
  static constexpr size_t kShards = 4;

  void observe(size_t shard, std::chrono::nanoseconds duration);
  // Appends FAMILY_bucket, _sum and _count with `labels` (rendered pairs, `a="x",b="y"`); nothing
  // while no value was observed.
  void render(std::string& out, std::string_view family, std::string_view labels) const;

 private:
  struct alignas(64) Shard {
    std::array<std::atomic<uint64_t>, kBucketBounds.size() + 1> buckets{};  // last is +Inf
    std::atomic<uint64_t> sum_ns{0};
  };
  std::array<Shard, kShards> shards_;
};

// Requests answered, by status, and their latency: one series of labels (a route pattern and a
// method for the server, a route's name for the gateway).
class RouteMetrics {
 public:
  static constexpr size_t kShards = Histogram::kShards;

  // `labels`: the series' label pairs, rendered (`route="/token",method="POST"`).
  explicit RouteMetrics(std::string labels) : labels_(std::move(labels)) {}
  RouteMetrics(std::string_view route, std::string_view method);

  // Records one answered request. `shard`: this_thread_shard() or the io thread's index.
  void record(size_t shard, int status, std::chrono::nanoseconds duration);

  // Appends this series to the counter FAMILY{labels,status} and to the histogram FAMILY.
  void render_counts(std::string& out, std::string_view family) const;
  void render_histogram(std::string& out, std::string_view family) const {
    latency_.render(out, family, labels_);
  }
  const std::string& labels() const { return labels_; }

 private:
  static constexpr int kMinStatus = 100;
  static constexpr int kMaxStatus = 599;
  struct alignas(64) Shard {
    std::array<std::atomic<uint64_t>, kMaxStatus - kMinStatus + 1> by_status{};
  };
  std::string labels_;
  std::array<Shard, kShards> shards_;
  Histogram latency_;
};

// All metric families of one server.
class ServerMetrics {
 public:
  // Registers a route series; the pointer stays valid for the server's life.
  RouteMetrics* add_route(std::string_view route, std::string_view method);

  std::atomic<int64_t> connections_active{0};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_refused{0};
  std::atomic<uint64_t> handler_exceptions{0};
  std::atomic<uint64_t> tls_handshake_failures{0};

  // Families another part of the process keeps (the gateway's), appended to every render.
  void add_source(std::function<void(std::string&)> render);

  std::string render() const;

 private:
  mutable std::mutex mu_;  // guards routes_ and sources_ growth (start-up) against render
  std::vector<std::unique_ptr<RouteMetrics>> routes_;
  std::vector<std::function<void(std::string&)>> sources_;
};

// Label values escaped per the exposition format: backslash, quote, newline.
void append_label_value(std::string& out, std::string_view value);

// `name="value"`, the value escaped.
std::string label(std::string_view name, std::string_view value);

}  // namespace tessera::http
