#include "http/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace tessera::http {

void append_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

std::string label(std::string_view name, std::string_view value) {
  std::string out(name);
  out += "=\"";
  append_label_value(out, value);
  out += '"';
  return out;
}

size_t this_thread_shard() {
  static std::atomic<size_t> next{0};
  thread_local const size_t shard = next.fetch_add(1, std::memory_order_relaxed);
  return shard;
}

void Histogram::observe(size_t shard, std::chrono::nanoseconds duration) {
  Shard& s = shards_[shard % kShards];
  const double seconds = std::chrono::duration<double>(duration).count();
  size_t bucket = 0;
  while (bucket < kBucketBounds.size() && seconds > kBucketBounds[bucket]) ++bucket;
  s.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  s.sum_ns.fetch_add(static_cast<uint64_t>(std::max<int64_t>(0, duration.count())),
                     std::memory_order_relaxed);
}

void Histogram::render(std::string& out, std::string_view family, std::string_view labels) const {
  std::array<uint64_t, kBucketBounds.size() + 1> buckets{};
  uint64_t sum_ns = 0;
  for (const Shard& s : shards_) {
    for (size_t i = 0; i < buckets.size(); ++i) {
      buckets[i] += s.buckets[i].load(std::memory_order_relaxed);
    }
    sum_ns += s.sum_ns.load(std::memory_order_relaxed);
  }
  uint64_t cumulative = 0;
  for (size_t i = 0; i < buckets.size(); ++i) cumulative += buckets[i];
  if (cumulative == 0) return;  // no series for what never happened
  const uint64_t count = cumulative;
  cumulative = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    cumulative += buckets[i];
    if (i < kBucketBounds.size()) {
      out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", family, labels, kBucketBounds[i],
                         cumulative);
    } else {
      out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", family, labels, cumulative);
    }
  }
  out += fmt::format("{}_sum{{{}}} {}\n", family, labels, static_cast<double>(sum_ns) / 1e9);
  out += fmt::format("{}_count{{{}}} {}\n", family, labels, count);
}

RouteMetrics::RouteMetrics(std::string_view route, std::string_view method)
    : labels_(label("route", route) + "," + label("method", method)) {}

void RouteMetrics::record(size_t shard, int status, std::chrono::nanoseconds duration) {
  Shard& s = shards_[shard % kShards];
  if (status < kMinStatus || status > kMaxStatus) status = 500;
  s.by_status[static_cast<size_t>(status - kMinStatus)].fetch_add(1, std::memory_order_relaxed);
  latency_.observe(shard, duration);
}

void RouteMetrics::render_counts(std::string& out, std::string_view family) const {
  for (int status = kMinStatus; status <= kMaxStatus; ++status) {
    uint64_t n = 0;
    for (const Shard& s : shards_) {
      n += s.by_status[static_cast<size_t>(status - kMinStatus)].load(std::memory_order_relaxed);
    }
    if (n == 0) continue;
    out += fmt::format("{}{{{},status=\"{}\"}} {}\n", family, labels_, status, n);
  }
}

RouteMetrics* ServerMetrics::add_route(std::string_view route, std::string_view method) {
  std::lock_guard lock(mu_);
  routes_.push_back(std::make_unique<RouteMetrics>(route, method));
  return routes_.back().get();
}

void ServerMetrics::add_source(std::function<void(std::string&)> render) {
  std::lock_guard lock(mu_);
  sources_.push_back(std::move(render));
}

std::string ServerMetrics::render() const {
  std::string out;
  out.reserve(4096);
  out +=
      "# HELP tessera_http_requests_total HTTP requests answered, by route pattern, method and "
      "status.\n"
      "# TYPE tessera_http_requests_total counter\n";
  std::lock_guard lock(mu_);
  for (const auto& r : routes_) r->render_counts(out, "tessera_http_requests_total");
  out +=
      "# HELP tessera_http_request_duration_seconds Time from request received to response "
      "written.\n"
      "# TYPE tessera_http_request_duration_seconds histogram\n";
  for (const auto& r : routes_) r->render_histogram(out, "tessera_http_request_duration_seconds");
  out += fmt::format(
      "# HELP tessera_http_connections_active Open client connections.\n"
      "# TYPE tessera_http_connections_active gauge\n"
      "tessera_http_connections_active {}\n"
      "# HELP tessera_http_connections_accepted_total Client connections accepted.\n"
      "# TYPE tessera_http_connections_accepted_total counter\n"
      "tessera_http_connections_accepted_total {}\n"
      "# HELP tessera_http_connections_refused_total Connections refused over the limit.\n"
      "# TYPE tessera_http_connections_refused_total counter\n"
      "tessera_http_connections_refused_total {}\n"
      "# HELP tessera_http_handler_exceptions_total Handlers that threw (answered 500).\n"
      "# TYPE tessera_http_handler_exceptions_total counter\n"
      "tessera_http_handler_exceptions_total {}\n"
      "# HELP tessera_http_tls_handshake_failures_total Failed TLS handshakes.\n"
      "# TYPE tessera_http_tls_handshake_failures_total counter\n"
      "tessera_http_tls_handshake_failures_total {}\n",
      connections_active.load(), connections_accepted.load(), connections_refused.load(),
      handler_exceptions.load(), tls_handshake_failures.load());
  for (const auto& source : sources_) source(out);
  return out;
}

}  // namespace tessera::http
