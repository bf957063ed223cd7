// `tessera serve --config FILE` and `tessera demo --port P [--data-dir DIR]`.
// Both open the store, start the HTTP server with the roles this build has,
// report readiness, and drain gracefully on SIGTERM / SIGINT.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "app/config.h"
#include "app/log.h"
#include "core/crypto.h"
#include "http/server.h"
#include "store/store.h"

namespace tessera::app {
namespace {

http::ServerOptions server_options(const HttpConfig& c) {
  http::ServerOptions o;
  o.address = c.host;
  o.port = c.port;
  o.io_threads = static_cast<unsigned>(c.threads);
  o.max_header_bytes = static_cast<uint32_t>(c.max_header_bytes);
  o.max_body_bytes = c.max_body_bytes;
  o.header_timeout = std::chrono::milliseconds(c.read_timeout_ms);
  o.body_timeout = std::chrono::milliseconds(c.read_timeout_ms);
  o.idle_timeout = std::chrono::milliseconds(c.idle_timeout_ms);
  o.max_connections = static_cast<size_t>(c.max_connections);
  o.max_requests_per_second = c.max_requests_per_second_per_connection;
  if (!c.access_log) o.access_log = std::make_shared<http::NullAccessLog>();
  if (c.tls) {
    auto& t = o.tls.emplace();
    t.certificate_chain_file = c.tls->cert_file;
    t.private_key_file = c.tls->key_file;
    t.client_ca_file = c.tls->client_ca_file;
    t.client_certificates = c.tls->client_auth == "required"   ? http::ClientCertMode::kRequired
                            : c.tls->client_auth == "optional" ? http::ClientCertMode::kOptional
                                                               : http::ClientCertMode::kOff;
  }
  return o;
}

store::StoreConfig store_config(const StoreConfigYaml& c) {
  store::StoreConfig s;
  s.driver = c.driver == "postgres" ? store::Driver::kPostgres : store::Driver::kSqlite;
  s.sqlite_path = c.path;
  s.postgres_connection = c.url;
  s.pool_size = static_cast<size_t>(c.pool_size);
  return s;
}

// Opens the store, starts the server, calls `on_ready` once it listens, then
// serves until a signal and drains. Returns the process exit code.
template <class OnReady>
int run(const Config& config, OnReady on_ready) {
  auto store = store::open_store(store_config(config.store));
  if (!store.ok()) {
    log_error("store unavailable", {{"error", store.error().message}});
    return 1;
  }
  http::Router router;
  http::Server server(server_options(config.http), std::move(router));
  if (auto started = server.start(); !started.ok()) {
    log_error("cannot start the HTTP server", {{"error", started.error()}});
    return 1;
  }
  server.set_ready(true);
  log_info("listening", {{"address", config.http.host},
                         {"port", server.port()},
                         {"tls", config.http.tls.has_value()},
                         {"roles", config.roles}});
  on_ready(**store, server);
  http::run_until_signal(server, std::chrono::milliseconds(config.http.drain_timeout_ms));
  log_info("stopped", {});
  return 0;
}

int serve(const std::string& config_path) {
  auto config = load_config(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "tessera: configuration error: %s\n", config.error().c_str());
    return 2;
  }
  set_log_level(config->log_level);
  return run(*config, [](store::Store&, http::Server&) {});
}

int demo(uint16_t port, std::string data_dir) {
  namespace fs = std::filesystem;
  if (data_dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "tessera-demo-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      log_error("cannot create a data directory", {{"path", tmpl}});
      return 1;
    }
    data_dir = tmpl;
  }
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec || chmod(data_dir.c_str(), 0700) != 0) {
    log_error("cannot use the data directory", {{"path", data_dir}, {"error", ec.message()}});
    return 1;
  }
  data_dir = fs::canonical(data_dir).string();

  Config config;
  config.http.host = "127.0.0.1";
  config.http.port = port;
  config.store.driver = "sqlite";
  config.store.path = data_dir + "/tessera.db";
  return run(config, [&](store::Store& store, http::Server& server) {
    // Everything the demo generates is kept per data directory, so a restart
    // on the same directory prints the same credentials.
    auto instance = store.settings().put_if_absent("demo.instance_id", crypto::random_token(16));
    json::Json line = {
        {"http", "http://127.0.0.1:" + std::to_string(server.port())},
        {"data_dir", data_dir},
        {"instance_id", instance.ok() ? instance->value : ""},
        {"roles", json::Json::array()},
    };
    // DESIGN.md: exactly one JSON line on stdout when every role is ready.
    std::printf("%s\n", line.dump().c_str());
    std::fflush(stdout);
  });
}

}  // namespace

void add_server_commands(CLI::App& app, int& rc) {
  auto* serve_cmd = app.add_subcommand("serve", "Run the roles named in a configuration file");
  static std::string config_path;
  serve_cmd->add_option("--config,-c", config_path, "YAML configuration file")->required();
  serve_cmd->callback([&rc] { rc = serve(config_path); });

  auto* demo_cmd = app.add_subcommand(
      "demo", "Run every role on an embedded SQLite store with demo clients and users");
  static uint16_t port = 8080;
  static std::string data_dir;
  demo_cmd->add_option("--port,-p", port, "First port; roles listen on P, P+1, ...");
  demo_cmd->add_option("--data-dir", data_dir,
                       "Where the demo keeps its store and credentials (default: a new temporary "
                       "directory)");
  demo_cmd->callback([&rc] { rc = demo(port, data_dir); });
}

}  // namespace tessera::app
