// One Grant per grant type (RFC 6749 §4), each in its own file under grants/. The token endpoint
// authenticates the client, checks it may use the grant, and hands over; nothing else knows
// which grant is running. Adding a grant adds a file and a line in make_grant_registry().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "http/message.h"
#include "oauth/authorization_details.h"
#include "oauth/error.h"
#include "oauth/fapi.h"
#include "store/client_store.h"
#include "store/grant_store.h"
#include "store/user_store.h"

namespace tessera::oauth {

class TokenService;
class TokenResolver;
struct TokenSubject;

struct TokenRequest {
  const http::Request& http;
  const http::Params& params;   // the form body, duplicates already refused
  const store::Client& client;  // authenticated, allowed this grant type
  // RFC 9449 §5: the JWK SHA-256 thumbprint of the request's valid DPoP proof; nullopt: none.
  std::optional<std::string> dpop_jkt{};
  // RFC 8705 §3: base64url(SHA-256(DER)) of the TLS client certificate the client's tokens are
  // bound to (a client registered with tls_client_certificate_bound_access_tokens); nullopt:
  // not bound.
  std::optional<std::string> certificate_thumbprint{};
};

// RFC 6749 §5.1 successful response.
struct TokenResponse {
  std::string access_token;
  std::string token_type = "Bearer";
  int64_t expires_in = 0;
  std::optional<std::string> scope;
  std::optional<std::string> refresh_token;
  std::optional<std::string> id_token;           // OpenID Core §3.1.3.3
  std::optional<std::string> issued_token_type;  // RFC 8693 §2.2.1
  json::Json authorization_details;              // RFC 9396 §7; null: none
};

class Grant {
 public:
  virtual ~Grant() = default;
  // The grant_type value (RFC 6749 §4.1.3, §4.4.2, ...).
  virtual std::string_view grant_type() const = 0;
  virtual Result<TokenResponse, OAuthError> exchange(const TokenRequest& request) const = 0;
};

class GrantRegistry {
 public:
  void add(std::unique_ptr<Grant> grant);
  const Grant* find(std::string_view grant_type) const;
  std::vector<std::string> grant_types() const;

 private:
  std::vector<std::unique_ptr<Grant>> grants_;
};

// What grants need from the server around them.
struct GrantContext {
  const TokenService& tokens;
  store::GrantStore& grants;
  const Clock& clock;
  const TokenResolver& resolver;  // tokens presented to a grant (RFC 8693 subject_token)
  store::UserStore& users;        // a disabled or deleted user's grants issue nothing more
  ProfileOptions profile{};       // server-wide FAPI 2.0 (refresh tokens are not rotated)
  AuthorizationDetailsTypes authorization_details_types{};  // RFC 9396; empty: none accepted
};

// The tokens of a grant about to be answered: minted, with the records that must be stored
// (opaque access token, refresh token) before the response goes out.
struct MintedGrantTokens {
  TokenResponse response;
  std::vector<store::TokenRecord> records;
};

// RFC 9449 §6.1: with a DPoP proof, the access token about to be minted for `request` is bound
// to the proof's key (cnf.jkt) and its token_type is DPoP (§5.1); without, Bearer. RFC 8705 §3:
// for a client whose tokens are certificate-bound, cnf["x5t#S256"] too (token_type stays).
void bind_access_token(const TokenRequest& request, TokenSubject& subject, TokenResponse& response);

// Whether the request's DPoP proof has the key of thumbprint `jkt` (constant time).
bool proves_dpop_key(const TokenRequest& request, std::string_view jkt);

// RFC 9449 §5, RFC 8705 §3: a token presented to a grant (a refresh token, an RFC 8693 subject
// or actor token) bound to a DPoP key is usable only by a request whose proof has that key, one
// bound to a certificate only over a connection with that certificate. invalid_grant otherwise,
// naming `what`.
std::optional<OAuthError> check_presented_binding(const TokenRequest& request,
                                                  const json::Json& claims, std::string_view what);

// Mints the access token (and, when `refresh` is set, a refresh token; when the scopes hold
// openid, an ID token with `nonce`) for `grant` and the client of `request`, with `scopes` and
// `audiences` (each within the grant's), bound to the request's DPoP key or certificate if it
// has one; a public client's refresh token is bound the same way (RFC 9449 §5, RFC 8705 §4).
// Nothing is stored.
Result<MintedGrantTokens, OAuthError> mint_grant_tokens(
    const GrantContext& context, const TokenRequest& request, const store::GrantRecord& grant,
    const std::vector<std::string>& scopes, const std::vector<std::string>& audiences, bool refresh,
    const std::optional<std::string>& nonce);

// An access token alone (no grant behind it, no refresh token: client_credentials, the JWT
// bearer grant) for `subject`, bound to the request's DPoP key or certificate (RFC 9449 §5,
// RFC 8705 §3), stored when opaque; the response names the scopes (RFC 6749 §5.1).
Result<TokenResponse, OAuthError> issue_access_token(const GrantContext& context,
                                                     const TokenRequest& request,
                                                     TokenSubject subject);

// Stores the records of minted tokens under their grant (insert_tokens locks the grant and
// refuses a revoked one, so a revocation racing the request either comes first, and nothing is
// issued, or revokes these tokens too). invalid_grant when the grant was revoked meanwhile.
std::optional<OAuthError> store_minted(const GrantContext& context,
                                       const std::vector<store::TokenRecord>& records);

// The tokens a newly authorized grant answers with (an authorization code redeemed, a device
// authorization approved): the grant's scopes, the request's resources within the grant's
// audiences, a refresh token when the client may use that grant, an ID token with `nonce` for
// openid. Minted only: nothing is stored.
Result<MintedGrantTokens, OAuthError> mint_for_grant(const GrantContext& context,
                                                     const TokenRequest& request,
                                                     const store::GrantRecord& grant,
                                                     const std::optional<std::string>& nonce);
// mint_for_grant, then stored, unless the grant was revoked meanwhile (invalid_grant then,
// nothing issued).
Result<TokenResponse, OAuthError> issue_grant_tokens(const GrantContext& context,
                                                     const TokenRequest& request,
                                                     const store::GrantRecord& grant,
                                                     const std::optional<std::string>& nonce);

// RFC 9396 §6: the authorization details of an access token about to be issued. Under a grant
// (`granted`: the grant's, null when it has none) the token request's `authorization_details`
// must be within the grant's (§6.1) and omitted means the grant's. Without a grant (nullptr:
// client credentials, §6.2; the JWT bearer grant) they are checked as at /authorize. Null: none.
Result<json::Json, OAuthError> token_authorization_details(const GrantContext& context,
                                                           const TokenRequest& request,
                                                           const json::Json* granted);

// The audiences of a token under a grant (RFC 8707 §2.2): the `resource` parameters of the
// token request, each within the grant's audiences; none given: the grant's audiences, else the
// client's, else the issuer itself (a token for UserInfo only).
Result<std::vector<std::string>, OAuthError> token_audiences(const http::Params& params,
                                                             const store::Client& client,
                                                             const store::GrantRecord& grant,
                                                             const std::string& issuer);

// The scopes of a token under a grant: the `scope` parameter, within the grant's (RFC 6749
// §6); omitted: the grant's.
Result<std::vector<std::string>, OAuthError> token_scopes(const http::Params& params,
                                                          const store::GrantRecord& grant);

// grants/client_credentials.cpp
std::unique_ptr<Grant> make_client_credentials_grant(const GrantContext& context);
// grants/authorization_code.cpp
std::unique_ptr<Grant> make_authorization_code_grant(const GrantContext& context);
// grants/refresh_token.cpp
std::unique_ptr<Grant> make_refresh_token_grant(const GrantContext& context);
// grants/token_exchange.cpp
std::unique_ptr<Grant> make_token_exchange_grant(const GrantContext& context);
// grants/device_code.cpp
std::unique_ptr<Grant> make_device_code_grant(const GrantContext& context);
// grants/device_code.cpp too: CIBA §10.1 (oauth/ciba.h).
std::unique_ptr<Grant> make_ciba_grant(const GrantContext& context);
// grants/jwt_bearer.cpp: see oauth/jwt_bearer.h.

// Every grant this build offers.
GrantRegistry make_grant_registry(const GrantContext& context);

}  // namespace tessera::oauth
