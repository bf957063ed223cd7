// The `fga` role in the binary: from configuration to OpenFGA's HTTP API, and the demo's store.
#pragma once

#include <memory>
#include <string>

#include "app/config.h"
#include "core/json.h"
#include "core/result.h"
#include "fga/api.h"
#include "http/router.h"
#include "oauth/authorization_server.h"
#include "store/store.h"

namespace tessera::app {

// Adds the API's routes to `router`. `as` (may be null) is the in-process authorization server
// whose access tokens the API accepts when fga.access_tokens is on.
Result<std::unique_ptr<fga::Api>> start_fga_role(const FgaConfig& config, store::Store& store,
                                                 const oauth::AuthorizationServer* as,
                                                 http::Router& router);

}  // namespace tessera::app
