// Token introspection (RFC 7662), with the signed JWT response of RFC 9701 for callers that ask
// for it. Resource servers (the gateway among them) learn whether a token is active and what it
// carries; a caller only ever learns about tokens meant for it (RFC 7662 §4).
#pragma once

#include <optional>
#include <string>

#include "core/clock.h"
#include "core/json.h"
#include "core/result.h"
#include "http/message.h"
#include "oauth/client_auth.h"
#include "oauth/error.h"
#include "oauth/keys.h"
#include "oauth/token_resolver.h"
#include "store/client_store.h"
#include "store/grant_store.h"

namespace tessera::oauth {

// RFC 7662 §2.1 and RFC 7009 §2.1 ask the same of a request: a POST of
// application/x-www-form-urlencoded with `token` and an optional `token_type_hint`.
struct TokenParameters {
  http::Params form;
  std::string token;
  // access_token or refresh_token; nullopt when absent or a value we do not know, which is
  // ignored (RFC 7662 §2.1). Every token is found by one look-up either way, so the hint only
  // informs.
  std::optional<store::TokenKind> hint;
};
// invalid_request (RFC 6749 §5.2) for another media type, a malformed body, a repeated
// parameter (RFC 6749 §3.1) or a missing or empty token.
Result<TokenParameters, OAuthError> read_token_parameters(const http::Request& request);

// RFC 7662 §4: may `caller` learn about `token`? When it is the token's client, or the token is
// meant for one of the caller's audiences (a resource server registered with the resource
// identifiers it serves).
bool may_introspect(const store::Client& caller, const ResolvedToken& token);

// The RFC 7662 §2.2 members for an active token: active, scope, client_id, sub, aud, iss, exp,
// iat, nbf, jti, token_type (access tokens: Bearer, or DPoP when bound by cnf.jkt, RFC 9449 §6),
// and the extra claims (auth_time, acr, amr, act, may_act, cnf).
json::Json introspection_response(const ResolvedToken& token, const std::string& issuer);

// RFC 9701 §4: the caller asks for a signed response with this media type in Accept.
inline constexpr std::string_view kTokenIntrospectionJwt = "application/token-introspection+jwt";
bool accepts_introspection_jwt(const http::Request& request);

class IntrospectionEndpoint {
 public:
  IntrospectionEndpoint(const TokenResolver& tokens, const ClientAuthenticator& clients,
                        const SigningKeys& keys, const Clock& clock);
  // POST only (the router answers 405 to the rest).
  http::Response handle(const http::Request& request) const;

 private:
  struct Introspection {
    json::Json body;     // the RFC 7662 §2.2 object
    std::string caller;  // the authenticated client_id (RFC 9701 §5 aud)
  };
  Result<Introspection, OAuthError> introspect(const http::Request& request) const;
  http::Response signed_response(const Introspection& introspection) const;

  const TokenResolver& tokens_;
  const ClientAuthenticator& clients_;
  const SigningKeys& keys_;
  const Clock& clock_;
};

}  // namespace tessera::oauth
