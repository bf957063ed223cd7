#include "core/audit.h"

#include <memory>

namespace tessera::audit {
namespace {

// Written before the server starts and read-only afterwards.
Sink& sink() {
  static Sink instance;
  return instance;
}

}  // namespace

void set_sink(Sink s) { sink() = std::move(s); }

void emit(std::string_view event, const json::Json& fields) {
  const Sink& s = sink();
  if (s) s(event, fields);
}

}  // namespace tessera::audit
