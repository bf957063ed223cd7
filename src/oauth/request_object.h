// JWT-secured authorization requests (JAR, RFC 9101): the `request` parameter of /authorize and
// of pushed authorization requests (RFC 9126 §3) carries the authorization request as a JWT the
// client signed with a key of its registered jwks. Once verified, the object's claims are the
// request's parameters and nothing outside it counts (RFC 9101 §6.3).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "http/message.h"
#include "oauth/client_auth.h"
#include "oauth/error.h"
#include "store/client_store.h"
#include "store/replay_cache.h"

namespace tessera::oauth {

struct RequestObjectOptions {
  std::string issuer;           // the object's aud must name it (RFC 9101 §4)
  int64_t max_lifetime = 3600;  // seconds from nbf (or now) to exp (FAPI 2.0: at most 60 min)
  int64_t leeway = 30;          // clock skew allowed on exp, nbf and iat
  size_t max_bytes = size_t{16} * 1024;  // a larger object is refused before any parsing
  bool fapi2 = false;  // FAPI 2.0 §5.4.1: PS256, ES256 and EdDSA only (oauth/fapi.h)
};

// RFC 9101 §6: verifies `jwt`, a request object of `client`, and returns its claims as
// authorization request parameters (strings as they are; numbers and booleans in their JSON
// text; objects and arrays such as claims or authorization_details as compact JSON). The
// client_id parameter is set to the client's. Every failure is 400 invalid_request_object
// (§6.1, §7):
//   - an encrypted (JWE) object, "none" or a symmetric algorithm (the server holds no client
//     secret to check an HMAC with; RFC 8725 §3.1), or a typ other than oauth-authz-req+jwt
//     (§4, §10.8) or JWT;
//   - a signature no key of the client's jwks verifies (a client without jwks cannot use JAR);
//   - iss other than the client_id, aud without the issuer, client_id other than the client's;
//   - exp missing, passed, or more than max_lifetime ahead; nbf in the future; iat in the future;
//   - request or request_uri inside the object;
//   - a jti seen before (when the object has one; remembered until exp).
// `clients` holds the client's parsed keys (ClientAuthenticator::client_keys).
Result<http::Params, OAuthError> open_request_object(std::string_view jwt,
                                                     const store::Client& client,
                                                     const ClientAuthenticator& clients,
                                                     store::ReplayCache& replay, const Clock& clock,
                                                     const RequestObjectOptions& options);

}  // namespace tessera::oauth
