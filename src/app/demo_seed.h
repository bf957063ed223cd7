// `tessera demo`'s clients and users (DESIGN.md readiness line): a public SPA client (code +
// PKCE), the confidential `service` client (client credentials), the `exchange` service (token
// exchange), and the users alice (password) and bob (password + TOTP). Their credentials are
// random per data directory and kept in the settings, so a restart on the same directory
// prints the same ones; the client and user stores hold only hashes and sealed seeds.
#pragma once

#include <string>
#include <string_view>

#include "core/json.h"
#include "core/result.h"
#include "store/store.h"
#include "tessera/message_signature.h"

namespace tessera::app {

// The audiences of the demo APIs (RFC 8707 resource identifiers).
inline constexpr std::string_view kDemoInvoicesAudience = "urn:tessera:api:invoices";
inline constexpr std::string_view kDemoLedgerAudience = "urn:tessera:api:ledger";
// The tenant the demo users belong to (the FGA tuples tenant:acme).
inline constexpr std::string_view kDemoTenant = "acme";

struct DemoSeedOptions {
  std::string issuer;
  std::string secret_key;  // seals bob's TOTP seed
  int access_token_lifetime = 300;
};

// Seeds what is missing and returns {"clients": {...}, "users": {...}} for the readiness line.
Result<json::Json> seed_demo(store::Store& store, const DemoSeedOptions& options);

// The demo's fine-grained authorization: a store named "demo" holding the invoices model and its
// tuples, created on the first start and kept. Returns {"fga_store", "fga_model"} for the
// readiness line.
Result<json::Json> seed_demo_fga(store::Store& store);

// The demo fga role's preshared API key, derived from the data directory's secret key (so the
// same directory keeps it, and the role knows it before the store is open).
std::string demo_fga_token(std::string_view secret_key);

// The key the demo's gateway signs its upstream requests with (RFC 9421 hmac-sha256), and the
// invoices API checks them with; derived from the demo's secret key.
resource::HmacKey demo_gateway_signing_key(std::string_view secret_key);

// The invoices model of the demo (OpenFGA DSL).
extern const char* const kDemoInvoicesModel;

}  // namespace tessera::app
