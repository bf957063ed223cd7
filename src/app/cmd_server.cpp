#include <CLI/CLI.hpp>

#include "app/commands.h"

namespace tessera::app {
// Placeholder until src/http lands.
void add_server_commands(CLI::App&, int&) {}
}  // namespace tessera::app
