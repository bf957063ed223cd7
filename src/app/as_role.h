// The `as` role in the binary: from configuration to routes, and the demo's seeded clients.
#pragma once

#include <memory>
#include <string>

#include "app/config.h"
#include "core/json.h"
#include "core/result.h"
#include "http/router.h"
#include "oauth/authorization_server.h"
#include "store/store.h"

namespace tessera::app {

// Loads the secret key (as.secret_key_file or TESSERA_SECRET_KEY), opens the authorization
// server (creating the first signing key) and adds its routes to `router`. `dpop_replay`: the
// replay check DPoP proofs share with other nodes (Redis), empty for this process only.
Result<std::unique_ptr<oauth::AuthorizationServer>> start_as_role(
    const AsConfig& config, store::Store& store, http::Router& router,
    const resource::SharedReplay& dpop_replay = {});

// Demo only: DATA_DIR/secret.key, created 0600 with a fresh key on first start. Returns its path.
Result<std::string> ensure_demo_secret_key_file(const std::string& data_dir);

}  // namespace tessera::app
