// The demo's invoices API, built on the resource-server SDK (DESIGN.md, the seeds' architecture):
// the gateway in front checks the token and the route's scope; this API checks them again, and a
// DPoP-bound token's proof too (for the URL the gateway's X-Forwarded-* fields name), adds its
// domain claims (the caller's user name and tenant) once per token
// through the SDK's ClaimsProvider, and decides per invoice who may see it through the fga role
// (OpenFGA's HTTP API: owner, or accountant of the invoice's tenant), or by the same rule locally
// when no fga role is configured.
//
//   GET  /invoices        invoices:read   the invoices the caller may view
//   GET  /invoices/{id}   invoices:read   one invoice, 403 when the caller may not view it
//   POST /invoices        invoices:write  a new invoice owned by the caller, in their tenant
//   GET  /chain/invoices/{id}             API A of the seeds' API-to-API chain: after the checks
//        above, exchanges the caller's token (RFC 8693) for one aimed at the ledger API with only
//        invoices:read, and calls the ledger with it; the caller's token never leaves this API.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "http/router.h"
#include "resource/http_server.h"
#include "tessera/dpop.h"
#include "tessera/validator.h"

namespace tessera::examples {

// What the API's own user directory knows of a token's `sub`.
struct DirectoryEntry {
  std::string user;         // the FGA user id ("alice" for user:alice)
  std::string tenant;       // the FGA tenant id ("acme" for tenant:acme)
  bool accountant = false;  // for the local rule only; the fga role keeps its own tuples
};

struct Invoice {
  std::string id;
  std::string tenant;
  std::string owner;
  int64_t amount_cents = 0;
  std::string currency;
  std::string description;
};

struct InvoicesApiOptions {
  std::string realm = "invoices";
  resource::ValidatorOptions validator;             // issuer, audiences {the invoices audience}
  std::map<std::string, DirectoryEntry> directory;  // by the token's sub
  std::vector<Invoice> invoices;                    // the initial data

  // The fga role (OpenFGA HTTP API); an empty url decides by the local rule instead.
  std::string fga_url;
  std::string fga_store;
  std::string fga_model;
  std::string fga_token;  // Bearer credential for the fga API

  // The chain: the token endpoint, this API's client (client_secret_post), and the ledger API.
  std::string token_endpoint;
  std::string client_id;
  std::string client_secret;
  std::string ledger_audience;
  std::string ledger_url;  // http://host:port of the ledger API

  // RFC 9449: DPoP-bound tokens are accepted with a valid proof, checked again here against a
  // replay cache of this API's own (the gateway's has seen every proof already).
  resource::DpopOptions dpop;
  // Behind the gateway: its origins as clients call it ("https://gw.example.com") and the keys it
  // signs with. A proof names the URL the client called there, which the gateway asserts in
  // X-Forwarded-Proto, -Host and -Uri (tessera/sender_constraint.h forwarded_url) under its
  // RFC 9421 signature; no origins: the API is called directly.
  resource::GatewayTrust gateway;

  size_t threads = 8;  // handlers wait on the fga role and the token endpoint
  size_t max_invoices = 10'000;
  size_t max_description = 200;
};

class InvoicesApi {
 public:
  explicit InvoicesApi(InvoicesApiOptions options);  // throws std::invalid_argument
  ~InvoicesApi();
  InvoicesApi(const InvoicesApi&) = delete;
  InvoicesApi& operator=(const InvoicesApi&) = delete;

  void add_routes(http::Router& router);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::examples
