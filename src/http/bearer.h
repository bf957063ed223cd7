// RFC 6750 on the resource side: taking the bearer token out of a request (§2) and answering
// with the WWW-Authenticate challenge (§3). UserInfo uses both; so does the gateway.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "http/message.h"

namespace tessera::http {

// RFC 6750 §3.1 error codes.
inline constexpr std::string_view kInvalidRequest = "invalid_request";
inline constexpr std::string_view kInvalidToken = "invalid_token";
inline constexpr std::string_view kInsufficientScope = "insufficient_scope";

// The WWW-Authenticate value (RFC 6750 §3): Bearer realm="...", then error, error_description
// and scope when given. Characters §3 does not allow in these values (%x20-21 / %x23-5B /
// %x5D-7E: no quote, backslash, control or non-ASCII byte) are dropped, so nothing a caller
// passes can break out of the quoted string or the header.
std::string bearer_challenge(std::string_view realm, std::optional<std::string_view> error,
                             std::optional<std::string_view> description,
                             std::optional<std::string_view> scope);

// Appends `name="value"` to a challenge being built (after ", " when a parameter precedes it),
// dropping the characters above: for other schemes and auth-params (RFC 9449 §7.1 DPoP and algs,
// RFC 9470 §3 acr_values and max_age).
void append_challenge_param(std::string& out, std::string_view name, std::string_view value);

// `status` with the challenge above and, when there is an error, the JSON error body
// {"error", "error_description"} (no-store). RFC 6750 §3.1: a request that carried no token (or
// used an unsupported scheme) gets the challenge without an error code; its body is {}.
Response bearer_error(int status, std::string_view realm, std::optional<std::string_view> error,
                      std::optional<std::string_view> description,
                      std::optional<std::string_view> scope);

// RFC 6750 §2.1: the token of one Authorization field value. nullopt for another scheme (§3.1:
// treated as no token); the invalid_request description for a Bearer credential that is missing or
// not a b64token.
Result<std::optional<std::string>, std::string> bearer_credential(std::string_view value);
// The same for another token68 scheme (RFC 9110 §11.4), such as DPoP (RFC 9449 §7.1).
Result<std::optional<std::string>, std::string> scheme_credential(std::string_view value,
                                                                  std::string_view scheme);

// RFC 6749 §3.2 / RFC 6750 §2.2: the media type is application/x-www-form-urlencoded;
// parameters such as charset are allowed.
bool is_form_urlencoded(std::optional<std::string_view> content_type);

enum class BearerSource {
  kAuthorizationHeader,  // RFC 6750 §2.1
  kFormBody,             // RFC 6750 §2.2
};

struct BearerToken {
  std::string value;
  BearerSource source = BearerSource::kAuthorizationHeader;
};

struct BearerOptions {
  // RFC 6750 §2.2: also accept `access_token` in a POST form body. Off for APIs that have a
  // body of their own (the gateway); on for UserInfo (OpenID Core §5.3.1).
  bool accept_form_body = false;
};

// The bearer token a request carries; nullopt when it carries none (no Authorization header,
// or one with another scheme: RFC 6750 §3.1 "attempted using an unsupported authentication
// method"). The error (a description for invalid_request, RFC 6750 §3.1) when the request is
// malformed: a repeated Authorization header, a Bearer credential that is not a b64token
// (§2.1), a repeated or empty access_token, a token sent by more than one method (§2), or a
// token in the query (OAuth 2.1 §5.2: never in the URI).
Result<std::optional<BearerToken>, std::string> extract_bearer_token(
    const Request& request, const BearerOptions& options = {});

}  // namespace tessera::http
