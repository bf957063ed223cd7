// The answers an API gives when a request's token does not do: RFC 6750 §3 bearer challenges
// and RFC 9470 §3 step-up challenges, ready for any HTTP framework (status, WWW-Authenticate
// value, JSON body).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/principal.h"

namespace tessera::resource {

struct Challenge {
  int status = 401;
  std::string www_authenticate;  // the WWW-Authenticate field value
  std::string body;              // application/json: {"error", "error_description"} or {}
};

// RFC 6750 §3.1: no token (or another scheme): 401 with the bare challenge, no error code.
Challenge missing_token(std::string_view realm);
// RFC 6750 §3.1 invalid_request: 400 (a malformed Authorization header, a repeated one).
Challenge invalid_request(std::string_view realm, std::string_view description);
// RFC 6750 §3.1 invalid_token: 401 (expired, revoked, malformed, wrong issuer or audience).
Challenge invalid_token(std::string_view realm, std::string_view description);
// RFC 6750 §3.1 insufficient_scope: 403 with the scope the resource needs.
Challenge insufficient_scope(std::string_view realm, const std::vector<std::string>& scopes);
// RFC 9470 §3: 401 insufficient_user_authentication with acr_values and/or max_age, so the client
// sends the user back to the authorization server to authenticate more strongly or more recently.
Challenge insufficient_user_authentication(std::string_view realm, std::string_view description,
                                           const std::vector<std::string>& acr_values,
                                           std::optional<int64_t> max_age);

// Not the client's fault, and no challenge would help it (the issuer, its keys or a shared
// replay store cannot be reached): 503 (RFC 9110 §15.6.4) with no WWW-Authenticate and the body
// {"error": "temporarily_unavailable", "error_description"}. Send Retry-After with it.
Challenge temporarily_unavailable(std::string_view description);

enum class ScopeMatch { kAll, kAny };

// The insufficient_scope challenge when `principal` lacks the scopes (all of them, or at least
// one), nullopt when it has them.
std::optional<Challenge> require_scope(const Principal& principal, std::string_view realm,
                                       const std::vector<std::string>& scopes,
                                       ScopeMatch match = ScopeMatch::kAll);

// RFC 9470 §3: the step-up challenge when the principal's acr is not one of `acr_values` (when
// given) or its auth_time is older than `max_age` seconds at `now` (when given; a token without
// auth_time fails it); nullopt when the authentication is strong and recent enough.
std::optional<Challenge> require_authentication(const Principal& principal, std::string_view realm,
                                                const std::vector<std::string>& acr_values,
                                                std::optional<int64_t> max_age, int64_t now);

}  // namespace tessera::resource
