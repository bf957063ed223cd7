// The SDK on Tessera's own HTTP server (src/http): for the gateway and the example APIs. Not part
// of the installed SDK, whose users bring their own HTTP framework.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "tessera/challenge.h"
#include "tessera/validator.h"

namespace tessera::resource {

// RFC 6750 §3: the status, the WWW-Authenticate field and the JSON body; never cached.
inline http::Response to_response(const Challenge& c) {
  http::Response r(c.status);
  r.body = c.body;
  r.headers.set("Content-Type", "application/json");
  r.headers.set("Cache-Control", "no-store");
  if (!c.www_authenticate.empty()) r.headers.set("WWW-Authenticate", c.www_authenticate);
  return r;
}

// Who calls, or the answer that refuses the request.
struct RequestAuthentication {
  std::shared_ptr<const Principal> principal;  // set when the request may go on
  std::optional<http::Response> refusal;       // set otherwise
};

// The bearer token of `request` (RFC 6750 §2.1: exactly one Authorization field) through
// `authenticator`, then the scopes (RFC 6750 §3.1 insufficient_scope).
inline RequestAuthentication authenticate_request(const Authenticator& authenticator,
                                                  std::string_view realm,
                                                  const http::Request& request,
                                                  const std::vector<std::string>& scopes,
                                                  ScopeMatch match = ScopeMatch::kAll) {
  if (request.headers().count("Authorization") > 1) {
    return {nullptr, to_response(invalid_request(realm, "repeated Authorization header"))};
  }
  auto v = authenticator.authenticate_header(request.header("Authorization"));
  if (!v.ok()) return {nullptr, to_response(challenge_for(realm, v.error))};
  if (auto c = require_scope(*v.principal, realm, scopes, match)) return {nullptr, to_response(*c)};
  return {v.principal, std::nullopt};
}

}  // namespace tessera::resource
