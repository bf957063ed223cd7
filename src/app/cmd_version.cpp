#include <CLI/CLI.hpp>
#include <cstdio>

#include "app/commands.h"

namespace tessera::app {

void add_version_command(CLI::App& app, int& rc) {
  auto* cmd = app.add_subcommand("version", "Print the version and exit");
  cmd->callback([&rc] {
    std::printf("tessera %s\n", TESSERA_VERSION);
    rc = 0;
  });
}

}  // namespace tessera::app
