// `tessera demo`'s example APIs (examples/apis) on their own listeners behind the demo gateway:
// the invoices API (API A of the chain) on P+3 and the ledger API (API B) on P+4, with the demo
// users, invoices and ledger entries they serve.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "gateway/gateway.h"
#include "http/server.h"
#include "store/store.h"

namespace tessera::app {

struct DemoApisOptions {
  std::string issuer;
  http::ServerOptions invoices_server;  // address and port of each API's listener
  http::ServerOptions ledger_server;
  std::string fga_url;  // the fga role; empty: the invoices API decides by its local rule
  std::string fga_store;
  std::string fga_model;
  std::string fga_token;
  std::string exchange_client_secret;     // the demo's `exchange` client: the invoices API's own
  std::string gateway_origin;             // http://host:port of the gateway in front of the APIs
  resource::HmacKey gateway_signing_key;  // what the gateway signs its requests with (RFC 9421)
};

class DemoApis;

// Starts both APIs' servers; they stop when the returned object is destroyed.
Result<std::shared_ptr<DemoApis>> start_demo_apis(store::Store& store,
                                                  const DemoApisOptions& options);

// The gateway routes the demo puts in front of the invoices API (`upstream`: its base URL).
std::vector<gateway::Route> demo_gateway_routes(const std::string& upstream);

}  // namespace tessera::app
