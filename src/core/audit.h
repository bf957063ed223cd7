// Audit events: what an operator must be able to reconstruct afterwards (logins, tokens issued,
// refresh token reuse, revocations, key rotations), as structured records. The library emits
// them; the binary decides where they go (app/log: one JSON line on stderr with "audit": true).
// Secrets never appear in an event: tokens are named by their client, subject and jti, never by
// their value.
#pragma once

#include <functional>
#include <string_view>

#include "core/json.h"

namespace tessera::audit {

using Sink = std::function<void(std::string_view event, const json::Json& fields)>;

// Installs the sink (nullptr: events are dropped). Set once at start-up, before serving.
void set_sink(Sink sink);

// Sends one event to the sink, if any. Thread-safe once the sink is set.
void emit(std::string_view event, const json::Json& fields);

}  // namespace tessera::audit
