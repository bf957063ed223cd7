#include "http/metrics.h"

#include <fmt/format.h>

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

void RouteMetrics::record(size_t shard, int status, std::chrono::nanoseconds duration) {
  Shard& s = shards_[shard % kShards];
  if (status < kMinStatus || status > kMaxStatus) status = 500;
  s.by_status[static_cast<size_t>(status - kMinStatus)].fetch_add(1, std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(duration).count();
  size_t bucket = 0;
  while (bucket < kBucketBounds.size() && seconds > kBucketBounds[bucket]) ++bucket;
  s.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  s.sum_ns.fetch_add(static_cast<uint64_t>(duration.count()), std::memory_order_relaxed);
}

void RouteMetrics::render_counts(std::string& out) const {
  for (int status = kMinStatus; status <= kMaxStatus; ++status) {
    uint64_t n = 0;
    for (const Shard& s : shards_) {
      n += s.by_status[static_cast<size_t>(status - kMinStatus)].load(std::memory_order_relaxed);
    }
    if (n == 0) continue;
    out += "tessera_http_requests_total{route=\"";
    append_label_value(out, route_);
    out += "\",method=\"";
    append_label_value(out, method_);
    out += fmt::format("\",status=\"{}\"}} {}\n", status, n);
  }
}

void RouteMetrics::render_histogram(std::string& out) const {
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
  if (cumulative == 0) return;  // no series for routes never hit
  std::string labels = "route=\"";
  append_label_value(labels, route_);
  labels += "\",method=\"";
  append_label_value(labels, method_);
  labels += "\"";
  cumulative = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    cumulative += buckets[i];
    if (i < kBucketBounds.size()) {
      out += fmt::format("tessera_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n",
                         labels, kBucketBounds[i], cumulative);
    } else {
      out += fmt::format("tessera_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n",
                         labels, cumulative);
    }
  }
  out += fmt::format("tessera_http_request_duration_seconds_sum{{{}}} {}\n", labels,
                     static_cast<double>(sum_ns) / 1e9);
  out += fmt::format("tessera_http_request_duration_seconds_count{{{}}} {}\n", labels, cumulative);
}

RouteMetrics* ServerMetrics::add_route(std::string route, std::string method) {
  std::lock_guard lock(mu_);
  routes_.push_back(std::make_unique<RouteMetrics>(std::move(route), std::move(method)));
  return routes_.back().get();
}

std::string ServerMetrics::render() const {
  std::string out;
  out.reserve(4096);
  out +=
      "# HELP tessera_http_requests_total HTTP requests answered, by route pattern, method and "
      "status.\n"
      "# TYPE tessera_http_requests_total counter\n";
  std::lock_guard lock(mu_);
  for (const auto& r : routes_) r->render_counts(out);
  out +=
      "# HELP tessera_http_request_duration_seconds Time from request received to response "
      "written.\n"
      "# TYPE tessera_http_request_duration_seconds histogram\n";
  for (const auto& r : routes_) r->render_histogram(out);
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
  return out;
}

}  // namespace tessera::http
