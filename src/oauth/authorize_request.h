// The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID Connect Core §3.1.2.1,
// RFC 8707 §2) checked in the order RFC 6749 §4.1.2.1 demands: first the client and its
// redirect URI, which decide whether an error may be sent back to the client at all, then
// everything else, whose errors are redirected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "http/message.h"
#include "oauth/authorization_details.h"
#include "store/client_store.h"

namespace tessera::oauth {

// How the authorization response travels: in the redirect's query (RFC 6749 §4.1.2), as an
// auto-submitted form (OAuth 2.0 Form Post Response Mode), or either of those carrying one
// signed JWT, `response` (JARM: query.jwt, form_post.jwt; "jwt" is query.jwt for the code flow).
enum class ResponseMode { kQuery, kFormPost, kQueryJwt, kFormPostJwt };
std::string_view to_string(ResponseMode mode);
std::optional<ResponseMode> parse_response_mode(std::string_view text);
inline bool is_jwt_mode(ResponseMode m) {
  return m == ResponseMode::kQueryJwt || m == ResponseMode::kFormPostJwt;
}

struct AuthorizationRequest {
  std::string client_id;
  std::string redirect_uri;         // the one to answer at (registered, exact match)
  bool redirect_uri_given = false;  // RFC 6749 §4.1.3: then the token request must repeat it
  std::vector<std::string> scopes;
  std::vector<std::string> audiences;  // RFC 8707 resources; empty: the client's default
  std::optional<std::string> state;
  std::optional<std::string> nonce;
  std::string code_challenge;           // RFC 7636 §4.2, S256 only
  std::optional<std::string> dpop_jkt;  // RFC 9449 §10: the DPoP key the code is bound to
  ResponseMode response_mode = ResponseMode::kQuery;
  std::vector<std::string> prompt;  // none | login | consent | select_account
  std::optional<int64_t> max_age;
  std::optional<std::string> login_hint;
  // OpenID Core §3.1.2.1: the `sub` of a verified id_token_hint (set by the endpoint, which has
  // the keys); the session's user must be this one.
  std::optional<std::string> hint_subject;
  bool fresh_login = false;  // the user signed in during this interaction
  std::vector<std::string> acr_values;
  int64_t issued_at =
      0;  // when /authorize first saw it (prompt=login, max_age=0)
          // RFC 8628 §3.3: the device authorization this interaction decides, by its device code's
  // SHA-256 (base64url; with client_id, what the decision is bound to) and the user code the
  // user typed (shown on the consent page). Such a request has no redirect URI: it ends on a
  // page, and the device polls for the outcome.
  std::optional<std::string> device_code_hash;
  std::optional<std::string> device_user_code;
  // CIBA (oauth/ciba.h): the device authorization is a backchannel authentication request of a
  // client that named the user (hint_subject); the consent page shows its binding message.
  bool backchannel = false;
  std::optional<std::string> binding_message;
  // RFC 9396 §3: the authorization details asked for, checked against the server's types (a
  // JSON array); null: none. The user confirms them on the consent page every time (§4).
  json::Json authorization_details;

  bool openid() const;
  bool has_prompt(std::string_view value) const;

  json::Json to_json() const;
  static std::optional<AuthorizationRequest> from_json(const json::Json& j);
};

// Errors before the redirect URI is trusted: shown on an error page, never redirected
// (RFC 6749 §4.1.2.1, RFC 9700 §4.11.1 open redirectors).
struct AuthorizeFatal {
  std::string error;
  std::string description;
};

// Errors after: sent to the client at its redirect URI with `state` and `iss`.
struct AuthorizeRedirectError {
  std::string error;
  std::string description;
};

struct ParsedAuthorization {
  // Set when the client and redirect URI checked out, whether or not the rest did.
  AuthorizationRequest request;
  std::optional<AuthorizeRedirectError> error;
};

// Checks `params` (query or form) against `client` (nullptr: unknown client) and the
// authorization details types the server knows (RFC 9396). `now` stamps issued_at.
Result<ParsedAuthorization, AuthorizeFatal> parse_authorization_request(
    const http::Params& params, const store::Client* client, int64_t now,
    const AuthorizationDetailsTypes& details_types = {});

// Whether `requested` is one of `registered`: an exact string match (RFC 9700 §4.1.3), except
// that a native app's loopback redirect URI (http on the IP literal 127.0.0.1 or [::1]) matches
// on any port, since the app learns its port only when it listens (RFC 8252 §7.3; RFC 9700
// §4.1.3 allows exactly this exception). `localhost` gets no such exception (RFC 8252 §8.3).
bool redirect_uri_registered(const std::vector<std::string>& registered,
                             std::string_view requested);

// The URI the response goes to: `redirect_uri` with `params` appended to its query
// (RFC 6749 §4.1.2: "retaining any existing query component").
std::string redirect_with(std::string_view redirect_uri,
                          const std::vector<std::pair<std::string, std::string>>& params);

// RFC 7636 §4.1: code_verifier = 43*128 unreserved characters.
bool is_valid_code_verifier(std::string_view verifier);
// RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge, constant time.
bool pkce_matches(std::string_view verifier, std::string_view challenge);

}  // namespace tessera::oauth
