#include "app/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>

namespace tessera::app {
namespace {

enum Level { kTrace, kDebug, kInfo, kWarn, kError, kAudit };
std::atomic<int> g_level{kInfo};

void emit(Level level, std::string_view name, std::string_view message, const json::Json& fields) {
  if (level < g_level.load()) return;
  json::Json line = json::Json::object();
  auto now = std::chrono::system_clock::now().time_since_epoch();
  line["time"] = std::chrono::duration<double>(now).count();
  line["level"] = name;
  line["msg"] = message;
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  }
  std::string text = line.dump(-1, ' ', false, json::Json::error_handler_t::replace) + "\n";
  // One write per line so lines from several threads never interleave.
  [[maybe_unused]] auto n = ::write(2, text.data(), text.size());
}

}  // namespace

void set_log_level(std::string_view level) {
  static constexpr std::string_view kNames[] = {"trace", "debug", "info", "warn", "error"};
  for (int i = 0; i < 5; ++i) {
    if (level == kNames[i]) g_level = i;
  }
}
void log_info(std::string_view message, const json::Json& fields) {
  emit(kInfo, "info", message, fields);
}
void log_error(std::string_view message, const json::Json& fields) {
  emit(kError, "error", message, fields);
}
void log_audit(std::string_view event, const json::Json& fields) {
  emit(kAudit, "audit", event, fields);
}

}  // namespace tessera::app
