// Each add_*_commands registers subcommands on the CLI; the callback stores
// the process exit code in `rc`.
#pragma once

namespace CLI {
class App;
}

namespace tessera::app {

void add_version_command(CLI::App& app, int& rc);
void add_server_commands(CLI::App& app, int& rc);  // serve, demo
void add_jose_commands(CLI::App& app, int& rc);    // jose keygen|sign|verify|decode
void add_user_commands(CLI::App& app, int& rc);    // user create|list|set-password|...
void add_client_commands(CLI::App& app, int& rc);  // client create|list|show|update|delete
void add_key_commands(CLI::App& app, int& rc);     // key rotate|list
void add_fga_commands(CLI::App& app, int& rc);     // fga store|model|tuple|check|list-objects

}  // namespace tessera::app
