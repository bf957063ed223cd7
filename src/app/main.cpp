// tessera: one binary, several roles (DESIGN.md). Subcommands are registered
// by the files that implement them; main() only parses and dispatches.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

#include "app/commands.h"
#include "app/log.h"
#include "core/audit.h"

int main(int argc, char** argv) {
  // A write to a peer that has reset the connection must be an error on that connection, never a
  // signal that ends the process: hiredis (store/redis.cpp) writes with plain write(), and a
  // pooled Redis connection can be reset while it sits idle.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "Tessera: OAuth 2.1 / OpenID Connect authorization server, API gateway, "
      "resource-server SDK and fine-grained authorization, in one binary."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("tessera ") + TESSERA_VERSION);

  // Audit events (logins, tokens, revocations, key rotations) from every command go to the log.
  tessera::audit::set_sink(tessera::app::log_audit);
  int rc = 0;
  tessera::app::add_version_command(app, rc);
  tessera::app::add_server_commands(app, rc);
  tessera::app::add_jose_commands(app, rc);
  tessera::app::add_user_commands(app, rc);
  tessera::app::add_client_commands(app, rc);
  tessera::app::add_key_commands(app, rc);
  tessera::app::add_fga_commands(app, rc);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; any other parse error is a usage error: exit 2, as every
    // subcommand does for bad input.
    return app.exit(e) == 0 ? 0 : 2;
  }
  return rc;
}
