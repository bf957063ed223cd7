// `tessera serve --config FILE` and `tessera demo --port P [--data-dir DIR]`.
// Both open the store, start the HTTP server with the roles this build has,
// report readiness, and drain gracefully on SIGTERM / SIGINT.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/as_role.h"
#include "app/config.h"
#include "app/demo_apis.h"
#include "app/demo_seed.h"
#include "app/demo_spa.h"
#include "app/fga_role.h"
#include "app/log.h"
#include "app/store_config.h"
#include "core/aead.h"
#include "core/crypto.h"
#include "gateway/redis_state.h"
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
    t.session_ticket_key_files = c.tls->session_ticket_key_files;
    t.client_certificates = c.tls->client_auth == "required"   ? http::ClientCertMode::kRequired
                            : c.tls->client_auth == "optional" ? http::ClientCertMode::kOptional
                            : c.tls->client_auth == "optional_any_issuer"
                                ? http::ClientCertMode::kOptionalAnyIssuer
                                : http::ClientCertMode::kOff;
  }
  return o;
}

bool has_role(const Config& config, std::string_view role) {
  return std::find(config.roles.begin(), config.roles.end(), role) != config.roles.end();
}

// What `run` has listening: the main server (every role without a port of its own) and the fga
// role's server when fga.port is set.
struct Listening {
  http::Server* main = nullptr;
  http::Server* fga = nullptr;
  http::Server* gateway = nullptr;
};

// What the nodes of a deployment share in Redis (config `redis`): the DPoP replay check and the
// gateway's rate-limit buckets. Empty members when Redis is not configured.
struct SharedState {
  std::shared_ptr<store::RedisPool> redis;
  resource::SharedReplay dpop_replay;
};

// Connects to Redis once (PING), so a wrong address or password stops the start like an
// unreachable store does.
Result<SharedState> open_shared_state(const Config& config) {
  SharedState shared;
  if (!config.redis) return shared;
  shared.redis = std::make_shared<store::RedisPool>(config.redis->options);
  auto pong = shared.redis->command({"PING"});
  if (!pong) return Err(pong.error().message);
  if (pong->type == store::RedisReply::Type::kError) return Err("redis: " + pong->text);
  shared.dpop_replay = gateway::redis_dpop_replay(shared.redis);
  return shared;
}

// The gateway's options from its configuration: the in-process authorization server's issuer
// when none is named.
Result<std::unique_ptr<gateway::Gateway>> start_gateway_role(const Config& config,
                                                             const SharedState& shared) {
  gateway::Options options = config.gateway->options;
  for (auto* v : {&options.jwt, &options.introspection}) {
    if (v->issuer.empty() && config.as && has_role(config, "as")) v->issuer = config.as->issuer;
  }
  if (shared.redis) {
    options.dpop.shared_replay = shared.dpop_replay;
    options.shared_rate_buckets = std::make_shared<gateway::RedisBuckets>(shared.redis);
    options.refuse_when_shared_buckets_down = config.redis->refuse_rate_limits_when_down;
  }
  try {
    return std::make_unique<gateway::Gateway>(std::move(options));
  } catch (const std::invalid_argument& e) {
    return Err(std::string(e.what()));
  }
}

// Opens the store, starts the servers, calls `on_ready` once they listen, then serves until a
// signal and drains. Returns the process exit code.
template <class OnReady>
int run(const Config& config, OnReady on_ready,
        const std::function<void(http::Router&)>& extra_routes = {}) {
  auto store = store::open_store(store_config(config.store));
  if (!store.ok()) {
    log_error("store unavailable", {{"error", store.error().message}});
    return 1;
  }
  auto shared = open_shared_state(config);
  if (!shared.ok()) {
    log_error("redis unavailable", {{"error", shared.error()}});
    return 1;
  }
  http::Router router;
  http::Router fga_router;
  const bool fga_apart = has_role(config, "fga") && config.fga.port != 0;
  // Each role's state lives as long as the server that routes to it.
  std::unique_ptr<oauth::AuthorizationServer> as;
  if (config.as && has_role(config, "as")) {
    auto started = start_as_role(*config.as, **store, router, shared->dpop_replay);
    if (!started.ok()) {
      log_error("cannot start the as role", {{"error", started.error()}});
      return 1;
    }
    as = std::move(*started);
  }
  std::unique_ptr<fga::Api> fga;
  if (has_role(config, "fga")) {
    auto started = start_fga_role(config.fga, **store, as.get(), fga_apart ? fga_router : router);
    if (!started.ok()) {
      log_error("cannot start the fga role", {{"error", started.error()}});
      return 1;
    }
    fga = std::move(*started);
  }
  const bool gateway_apart = config.gateway && has_role(config, "gateway") && config.gateway->port;
  http::Router gateway_router;
  std::unique_ptr<gateway::Gateway> gateway;
  if (config.gateway && has_role(config, "gateway")) {
    auto started = start_gateway_role(config, *shared);
    if (!started.ok()) {
      log_error("cannot start the gateway role", {{"error", started.error()}});
      return 1;
    }
    gateway = std::move(*started);
    gateway->install(gateway_apart ? gateway_router : router);
  }
  if (extra_routes) extra_routes(router);
  http::Server server(server_options(config.http), std::move(router));
  std::optional<http::Server> fga_server;
  if (fga_apart) {
    http::ServerOptions options = server_options(config.http);
    options.port = config.fga.port;
    // OpenFGA's answer to an unknown path.
    options.not_found = std::make_shared<const http::Response>(http::Response::json(
        404, {{"code", "undefined_endpoint"}, {"message", "no such endpoint"}}));
    fga_server.emplace(options, std::move(fga_router));
  }
  // RFC 8705 §5: the authorization server's client endpoints again, on a listener that asks for
  // client certificates of any issuer (tls_client_auth checks the chain itself).
  std::optional<http::Server> mtls_server;
  if (as && config.as->mtls) {
    http::ServerOptions options = server_options(config.http);
    options.port = config.as->mtls->port;
    options.tls->client_certificates = http::ClientCertMode::kOptionalAnyIssuer;
    options.tls->client_ca_file = config.as->mtls->client_ca_file;
    options.tls->session_ticket_key_files.clear();  // its sessions are cached, not ticketed
    http::Router mtls_router;
    as->add_mtls_routes(mtls_router);
    mtls_server.emplace(options, std::move(mtls_router));
  }
  std::optional<http::Server> gateway_server;
  if (gateway_apart) {
    http::ServerOptions options = server_options(config.http);
    options.port = config.gateway->port;
    gateway_server.emplace(options, std::move(gateway_router));
  }
  if (gateway) {
    // The gateway's families on the main listener's /metrics, and on its own listener's.
    for (http::Server* s : {&server, gateway_server ? &*gateway_server : nullptr}) {
      if (s != nullptr) {
        s->metrics().add_source([g = gateway.get()](std::string& out) { g->render_metrics(out); });
      }
    }
  }
  // Before readiness is announced: a SIGTERM sent right after the announcement drains.
  http::ShutdownSignals signals;
  std::vector<http::Server*> servers = {&server};
  if (fga_server) servers.push_back(&*fga_server);
  if (gateway_server) servers.push_back(&*gateway_server);
  if (mtls_server) servers.push_back(&*mtls_server);
  for (http::Server* s : servers) {
    if (auto started = s->start(); !started.ok()) {
      log_error("cannot start the HTTP server", {{"error", started.error()}});
      return 1;
    }
    s->set_ready(true);
  }
  log_info("listening", {{"address", config.http.host},
                         {"port", server.port()},
                         {"fga_port", fga_server ? fga_server->port() : server.port()},
                         {"gateway_port", gateway_server ? gateway_server->port() : server.port()},
                         {"mtls_port", mtls_server ? mtls_server->port() : 0},
                         {"tls", config.http.tls.has_value()},
                         {"roles", config.roles}});
  on_ready(**store, Listening{&server, fga_server ? &*fga_server : nullptr,
                              gateway_server ? &*gateway_server : nullptr});
  signals.wait_then_drain(servers, std::chrono::milliseconds(config.http.drain_timeout_ms));
  log_info("stopped", {});
  return 0;
}

// The demo SPA's redirect and post-logout pages: where the browser lands after signing in or
// out. They show what arrived (the code is single-use and bound to the PKCE verifier, which only
// the client holds, so showing it reveals nothing usable).
void add_demo_pages(http::Router& router) {
  auto page = [](std::string_view title) {
    return [title = std::string(title)](const http::Request& request) {
      json::Json shown = json::Json::object();
      for (const auto& [name, value] : request.query()) shown[name] = value;
      http::Response r = http::Response::json(200, {{"page", title}, {"params", shown}});
      r.headers.set("Cache-Control", "no-store");
      return r;
    };
  };
  router.get("/demo/callback", page("callback"));
  router.get("/demo/signed-out", page("signed-out"));
}

// A port nothing listens on at the time of asking (bind to port 0, read it back).
uint16_t pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

int serve(const std::string& config_path) {
  auto config = load_config(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "tessera: configuration error: %s\n", config.error().c_str());
    return 2;
  }
  set_log_level(config->log_level);
  return run(*config, [](store::Store&, const Listening&) {});
}

int demo(uint16_t port, std::string data_dir, const std::string& signing_alg) {
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

  // The issuer names the port, so an ephemeral one is chosen before the server starts.
  if (port == 0) port = pick_free_port();
  auto secret_key_file = ensure_demo_secret_key_file(data_dir);
  if (!secret_key_file.ok()) {
    log_error("cannot keep the demo secret key", {{"error", secret_key_file.error()}});
    return 1;
  }

  Config config;
  config.http.host = "127.0.0.1";
  config.http.port = port;
  config.store.driver = "sqlite";
  config.store.path = data_dir + "/tessera.db";
  config.roles = {"as", "gateway", "fga"};
  // DESIGN.md: the roles listen on P (as), P+1 (gateway), P+2 (fga); the example APIs behind the
  // gateway on P+3 (invoices) and P+4 (ledger).
  if (port > 65531) {
    log_error("the demo needs five ports from --port", {{"port", port}});
    return 1;
  }
  auto nth = [port](int n) { return static_cast<uint16_t>(port + n); };
  config.fga.port = nth(2);
  http::ServerOptions invoices_server = server_options(config.http);
  invoices_server.port = nth(3);
  http::ServerOptions ledger_server = server_options(config.http);
  ledger_server.port = nth(4);
  GatewayConfig& gateway = config.gateway.emplace();
  gateway.port = nth(1);
  gateway.options.realm = "tessera-demo";
  // The demo's single-page app (demo_spa.h) is served by the issuer's origin and calls the APIs
  // through the gateway.
  gateway.options.cors_origins = {"http://127.0.0.1:" + std::to_string(port)};
  gateway.options.jwt.audiences = {std::string(kDemoInvoicesAudience)};
  gateway.options.routes =
      demo_gateway_routes("http://127.0.0.1:" + std::to_string(invoices_server.port));
  auto secret_key = aead::load_key(*secret_key_file);
  if (!secret_key.ok()) {
    log_error("cannot read the demo secret key", {{"error", secret_key.error()}});
    return 1;
  }
  const std::string fga_token = demo_fga_token(*secret_key);
  gateway.options.upstream_signature = demo_gateway_signing_key(*secret_key);
  config.fga.preshared_keys_sha256 = {crypto::to_hex(crypto::sha256(fga_token))};
  AsConfig& as = config.as.emplace();
  as.issuer = "http://127.0.0.1:" + std::to_string(port);
  as.secret_key_file = *secret_key_file;
  as.signing_alg = signing_alg;
  as.scopes_supported = {"invoices:read", "invoices:write"};
  std::shared_ptr<DemoApis> apis;  // started once the store is seeded; stopped after the roles
  return run(
      config,
      [&](store::Store& store, const Listening& listening) {
        http::Server& server = *listening.main;
        // Everything the demo generates is kept per data directory, so a restart
        // on the same directory prints the same credentials.
        auto instance =
            store.settings().put_if_absent("demo.instance_id", crypto::random_token(16));
        json::Json line = {
            {"http", "http://127.0.0.1:" + std::to_string(server.port())},
            {"data_dir", data_dir},
            {"instance_id", instance.ok() ? instance->value : ""},
            {"roles", config.roles},
            {"issuer", as.issuer},
        };
        auto seeded = seed_demo(store, {as.issuer, *secret_key, as.access_token_lifetime});
        if (!seeded.ok()) {
          log_error("cannot seed the demo clients and users", {{"error", seeded.error()}});
          std::exit(1);
        }
        line["clients"] = (*seeded)["clients"];
        line["users"] = (*seeded)["users"];
        auto fga = seed_demo_fga(store);
        if (!fga.ok()) {
          log_error("cannot seed the demo FGA store", {{"error", fga.error()}});
          std::exit(1);
        }
        line["fga"] = "http://127.0.0.1:" + std::to_string(listening.fga->port());
        line["fga_token"] = fga_token;
        for (const char* field : {"fga_store", "fga_model"}) {
          line[field] = (*fga)[field];
        }
        DemoApisOptions apis_options{
            as.issuer,
            invoices_server,
            ledger_server,
            line["fga"].get<std::string>(),
            (*fga)["fga_store"].get<std::string>(),
            (*fga)["fga_model"].get<std::string>(),
            fga_token,
            (*seeded)["clients"]["exchange"]["client_secret"],
            "http://127.0.0.1:" + std::to_string(listening.gateway->port()),
            *gateway.options.upstream_signature};
        auto started = start_demo_apis(store, apis_options);
        if (!started.ok()) {
          log_error("cannot start the demo APIs", {{"error", started.error()}});
          std::exit(1);
        }
        apis = std::move(*started);
        line["gateway"] = apis_options.gateway_origin;
        line["apis"] = {{"invoices", "/invoices"},
                        {"chain", "/chain/invoices/{id}"},
                        {"ledger", "http://127.0.0.1:" + std::to_string(ledger_server.port)}};
        // DESIGN.md: exactly one JSON line on stdout when every role is ready.
        std::printf("%s\n", line.dump().c_str());
        std::fflush(stdout);
      },
      [gateway_url = "http://127.0.0.1:" + std::to_string(gateway.port)](http::Router& router) {
        add_demo_pages(router);
        add_demo_spa(router, gateway_url);
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
  static std::string signing_alg = "ES256";
  demo_cmd
      ->add_option("--signing-alg", signing_alg,
                   "How the issuer signs its tokens (RFC 7518 §3.1; default ES256)")
      ->check(CLI::IsMember({"ES256", "RS256", "PS256", "EdDSA"}));
  demo_cmd->callback([&rc] { rc = demo(port, data_dir, signing_alg); });
}

}  // namespace tessera::app
