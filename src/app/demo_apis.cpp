#include "app/demo_apis.h"

#include <optional>
#include <stdexcept>

#include "app/demo_seed.h"
#include "examples/apis/invoices_api.h"
#include "examples/apis/ledger_api.h"

namespace tessera::app {

class DemoApis {
 public:
  DemoApis(examples::InvoicesApiOptions invoices, examples::LedgerApiOptions ledger)
      : invoices_(std::move(invoices)), ledger_(std::move(ledger)) {}
  ~DemoApis() {
    // The servers first: their handlers use the APIs.
    invoices_server_.reset();
    ledger_server_.reset();
  }
  DemoApis(const DemoApis&) = delete;
  DemoApis& operator=(const DemoApis&) = delete;

  Result<Ok> start(const http::ServerOptions& invoices_options,
                   const http::ServerOptions& ledger_options) {
    http::Router invoices_router;
    invoices_.add_routes(invoices_router);
    invoices_server_.emplace(invoices_options, std::move(invoices_router));
    http::Router ledger_router;
    ledger_.add_routes(ledger_router);
    ledger_server_.emplace(ledger_options, std::move(ledger_router));
    for (http::Server* s : {&*invoices_server_, &*ledger_server_}) {
      if (auto started = s->start(); !started.ok()) return Err(started.error());
      s->set_ready(true);
    }
    return Ok{};
  }

 private:
  examples::InvoicesApi invoices_;
  examples::LedgerApi ledger_;
  std::optional<http::Server> invoices_server_;
  std::optional<http::Server> ledger_server_;
};

namespace {

std::string local_url(const http::ServerOptions& o) {
  return "http://" + o.address + ":" + std::to_string(o.port);
}

resource::ValidatorOptions validator_for(const std::string& issuer, std::string_view audience) {
  resource::ValidatorOptions v;
  v.issuer = issuer;
  v.audiences = {std::string(audience)};
  return v;
}

}  // namespace

Result<std::shared_ptr<DemoApis>> start_demo_apis(store::Store& store,
                                                  const DemoApisOptions& options) {
  examples::InvoicesApiOptions invoices;
  invoices.validator = validator_for(options.issuer, kDemoInvoicesAudience);
  // The API's own directory of its users, by the subject the authorization server gives them.
  for (auto [name, accountant] : {std::pair{"alice", false}, std::pair{"bob", true}}) {
    auto user = store.users().find_by_username(name);
    if (!user || !*user) return Err(std::string("the demo user ") + name + " is missing");
    invoices.directory[(*user)->id] = {name, std::string(kDemoTenant), accountant};
  }
  const std::string tenant(kDemoTenant);
  invoices.invoices = {{"inv-1", tenant, "alice", 120'000, "EUR", "Consulting, October"},
                       {"inv-2", tenant, "bob", 4'500, "EUR", "Hosting, October"}};
  invoices.fga_url = options.fga_url;
  invoices.fga_store = options.fga_store;
  invoices.fga_model = options.fga_model;
  invoices.fga_token = options.fga_token;
  invoices.token_endpoint = options.issuer + "/token";
  invoices.client_id = "exchange";
  invoices.client_secret = options.exchange_client_secret;
  invoices.ledger_audience = kDemoLedgerAudience;
  invoices.ledger_url = local_url(options.ledger_server);
  invoices.gateway.origins = {options.gateway_origin};
  invoices.gateway.keys = {options.gateway_signing_key};

  examples::LedgerApiOptions ledger;
  ledger.validator = validator_for(options.issuer, kDemoLedgerAudience);
  ledger.trusted_actors = {"exchange"};
  ledger.entries["inv-1"] = {{"2026-10-31", 60'000}, {"2026-11-15", 60'000}};
  ledger.entries["inv-2"] = {{"2026-11-02", 4'500}};
  try {
    auto apis = std::make_shared<DemoApis>(std::move(invoices), std::move(ledger));
    if (auto ok = apis->start(options.invoices_server, options.ledger_server); !ok) {
      return Err(ok.error());
    }
    return apis;
  } catch (const std::invalid_argument& e) {
    return Err(std::string(e.what()));
  }
}

std::vector<gateway::Route> demo_gateway_routes(const std::string& upstream) {
  auto route = [&](std::string name, std::string prefix, std::string method, std::string scope) {
    gateway::Route r;
    r.name = std::move(name);
    r.path_prefix = std::move(prefix);
    r.methods = {std::move(method)};
    r.upstream = upstream;
    r.policy = gateway::Policy::kJwt;
    r.scopes = {std::move(scope)};
    r.claim_headers = {{"X-Subject", "sub"}, {"X-Client-Id", "client_id"}};
    return r;
  };
  return {route("invoices-read", "/invoices", "GET", "invoices:read"),
          route("invoices-write", "/invoices", "POST", "invoices:write"),
          route("chain", "/chain/invoices", "GET", "invoices:read")};
}

}  // namespace tessera::app
