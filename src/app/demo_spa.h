// `tessera demo`'s single-page app: the seeds' browser client. Served by the authorization
// server's origin at /demo/app (its redirect URI), it signs the user in with the code flow and
// PKCE (RFC 7636) as the public `spa` client, then calls the invoices API and the API-to-API
// chain through the gateway (a cross-origin call the gateway allows with CORS), and shows every
// answer. No external assets; the script is a file of its own so the page's Content-Security-
// Policy needs no inline script.
#pragma once

#include <string>

#include "http/router.h"

namespace tessera::app {

// GET /demo/app (the page) and GET /demo/app.js (its script). `gateway_url` is where the page
// sends API calls (http://127.0.0.1:P+1).
void add_demo_spa(http::Router& router, const std::string& gateway_url);

}  // namespace tessera::app
