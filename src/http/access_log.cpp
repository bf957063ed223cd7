#include "http/access_log.h"

#include <fmt/format.h>
#include <unistd.h>

#include <ctime>

namespace tessera::http {

namespace {

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
  out += '"';
}

// RFC 3339 UTC with milliseconds. The seconds part is cached per thread: one
// gmtime_r per second instead of per request.
void append_time(std::string& out, std::chrono::system_clock::time_point t) {
  thread_local int64_t cached_second = -1;
  thread_local char cached[32];
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const int64_t second = ms / 1000;
  if (second != cached_second) {
    std::time_t tt = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    std::strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
    cached_second = second;
  }
  out += cached;
  fmt::format_to(std::back_inserter(out), ".{:03}Z", ms % 1000);
}

}  // namespace

void format_access_log_json(const AccessLogEntry& e, std::string& out) {
  out += "{\"time\":\"";
  append_time(out, e.time);
  out += "\",\"method\":";
  append_json_string(out, e.method);
  out += ",\"route\":";
  append_json_string(out, e.route);
  out += ",\"path\":";
  append_json_string(out, e.path);
  fmt::format_to(std::back_inserter(out), ",\"status\":{},\"duration_ms\":{:.3f},\"bytes\":{}",
                 e.status, std::chrono::duration<double, std::milli>(e.duration).count(),
                 e.bytes_sent);
  out += ",\"peer\":";
  append_json_string(out, e.peer_address);
  out.pop_back();  // reopen the string to add ":port"
  fmt::format_to(std::back_inserter(out), ":{}\"", e.peer_port);
  out += ",\"request_id\":";
  append_json_string(out, e.request_id);
  out += e.tls ? ",\"tls\":true}\n" : ",\"tls\":false}\n";
}

void JsonLinesAccessLog::write(const AccessLogEntry& entry) {
  thread_local std::string line;
  line.clear();
  format_access_log_json(entry, line);
  // Best effort: a log sink that cannot keep up must not take the server down.
  ssize_t n = ::write(fd_, line.data(), line.size());
  (void)n;
}

void MemoryAccessLog::write(const AccessLogEntry& entry) {
  std::string line;
  format_access_log_json(entry, line);
  std::lock_guard lock(mu_);
  lines_.push_back(std::move(line));
}

std::vector<std::string> MemoryAccessLog::lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

}  // namespace tessera::http
