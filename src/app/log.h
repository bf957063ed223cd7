// Process log: one JSON object per line on stderr (stdout is reserved for
// machine-readable output such as the demo's readiness line). Never pass
// secrets as fields.
#pragma once

#include <string_view>

#include "core/json.h"

namespace tessera::app {

void set_log_level(std::string_view level);  // trace | debug | info | warn | error
void log_info(std::string_view message, const json::Json& fields);
void log_error(std::string_view message, const json::Json& fields);
// Audit events (core/audit.h), written whatever the log level: {"level":"audit","msg":EVENT,...}.
void log_audit(std::string_view event, const json::Json& fields);

}  // namespace tessera::app
