// `tessera demo`'s clients and users (DESIGN.md readiness line): a public SPA client (code +
// PKCE), the confidential `service` client (client credentials), the `exchange` service (token
// exchange), and the users alice (password) and bob (password + TOTP). Their credentials are
// random per data directory and kept in the settings, so a restart on the same directory
// prints the same ones; the client and user stores hold only hashes and sealed seeds.
#pragma once

#include <string>

#include "core/json.h"
#include "core/result.h"
#include "store/store.h"

namespace tessera::app {

struct DemoSeedOptions {
  std::string issuer;
  std::string secret_key;  // seals bob's TOTP seed
  int access_token_lifetime = 300;
};

// Seeds what is missing and returns {"clients": {...}, "users": {...}} for the readiness line.
Result<json::Json> seed_demo(store::Store& store, const DemoSeedOptions& options);

}  // namespace tessera::app
