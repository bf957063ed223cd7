#include <CLI/CLI.hpp>

#include "app/commands.h"

namespace tessera::app {
// Placeholder until src/jose lands; replaced by the JOSE module's CLI.
void add_jose_commands(CLI::App&, int&) {}
}  // namespace tessera::app
