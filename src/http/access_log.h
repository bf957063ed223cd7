// One structured line per request. The entry carries only what is safe to
// log: the path without its query string (queries carry codes and tokens),
// never Authorization, Cookie or bodies.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::http {

struct AccessLogEntry {
  std::chrono::system_clock::time_point time;  // when the request started
  std::string_view method;
  std::string_view route;  // pattern, e.g. "/stores/{id}/check"; empty if unrouted
  std::string_view path;   // without query string
  int status = 0;
  std::chrono::nanoseconds duration{0};
  uint64_t bytes_sent = 0;  // response body bytes
  std::string_view peer_address;
  uint16_t peer_port = 0;
  std::string_view request_id;
  bool tls = false;
};

// Appends `{"time":..., ...}\n` to `out`. Strings are JSON-escaped; bytes
// outside printable ASCII become \u00XX so the line is valid JSON whatever the
// client sent.
void format_access_log_json(const AccessLogEntry& entry, std::string& out);

class AccessLogSink {
 public:
  virtual ~AccessLogSink() = default;
  // Called on io threads, concurrently: implementations must be thread-safe.
  virtual void write(const AccessLogEntry& entry) = 0;
};

// JSON lines to a file descriptor (stderr by default), formatted into a
// per-thread buffer and written with one write(2) per line, so lines from
// different threads never interleave (writes up to PIPE_BUF are atomic).
class JsonLinesAccessLog final : public AccessLogSink {
 public:
  explicit JsonLinesAccessLog(int fd = 2) : fd_(fd) {}
  void write(const AccessLogEntry& entry) override;

 private:
  int fd_;
};

class NullAccessLog final : public AccessLogSink {
 public:
  void write(const AccessLogEntry&) override {}
};

// Keeps formatted lines in memory: for tests.
class MemoryAccessLog final : public AccessLogSink {
 public:
  void write(const AccessLogEntry& entry) override;
  std::vector<std::string> lines() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

}  // namespace tessera::http
