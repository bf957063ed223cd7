// The tokens the authorization server hands out: access tokens by value (RFC 9068 JWT) or by
// reference (opaque, 256 random bits, stored as SHA-256), refresh tokens (always opaque), and
// OpenID Connect ID tokens. Minting is separate from storing: a grant collects the records of
// the tokens it mints and stores them in one transaction with whatever else it changes (a code
// redeemed, a refresh token rotated), so nothing is ever half-written.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/result.h"
#include "oauth/error.h"
#include "oauth/keys.h"
#include "store/client_store.h"
#include "store/grant_store.h"

namespace tessera::oauth {

// Who a token is about and what it allows.
struct TokenSubject {
  std::string subject;  // the user id, or the client_id when no user is involved (RFC 9068 §2.2)
  std::string client_id;
  std::vector<std::string> scopes;
  std::vector<std::string> audiences;  // access tokens: at least one
  std::optional<std::string> grant_id;
  std::optional<int64_t> auth_time;  // when the user authenticated
  std::string acr;                   // empty: not asserted
  std::vector<std::string> amr;
  // More claims for the access token and introspection: act (RFC 8693 §4.1), may_act, cnf.
  json::Json extra = json::Json::object();
};

struct MintedToken {
  std::string value;  // what the client gets
  int64_t expires_in = 0;
  // For opaque access tokens and refresh tokens: the record to store; nullopt for JWTs.
  std::optional<store::TokenRecord> record;
  // An access token's scopes: the subject's, narrowed to what its audiences take (RFC 8707
  // per-resource scopes, AudiencePolicy::scopes). The token response's scope (RFC 6749 §5.1).
  std::vector<std::string> scopes;
};

struct IdTokenRequest {
  std::string subject;
  std::string client_id;
  int64_t auth_time = 0;
  std::optional<std::string> nonce;
  std::string acr;
  std::vector<std::string> amr;
  std::optional<std::string> sid;
  std::optional<std::string> access_token;   // for at_hash (OpenID Core §3.1.3.6)
  json::Json claims = json::Json::object();  // profile claims to include
  int64_t lifetime = 300;
};

// What a resource server (an audience) asks of the access tokens aimed at it, whatever the
// client's own settings: by value (JWT) or by reference (opaque, so that it never sees more than
// introspection tells it), and a cap on their lifetime.
struct AudiencePolicy {
  std::optional<store::AccessTokenFormat> access_token_format;
  std::optional<int64_t> max_access_token_lifetime;  // seconds
  // RFC 8707 per-resource scopes: the scopes this resource server takes. A token aimed at it
  // carries only those of the granted scopes (with several audiences, those any of them takes);
  // nullopt: every scope.
  std::optional<std::vector<std::string>> scopes;
};
using AudiencePolicies = std::map<std::string, AudiencePolicy, std::less<>>;

// The form of an opaque token: 32 random bytes, base64url (43 characters). A JWT has two dots.
bool looks_like_jwt(std::string_view token);
// SHA-256 of a token value: the key it is stored and looked up by.
std::string token_hash(std::string_view token);

class TokenService {
 public:
  TokenService(std::string issuer, const SigningKeys& keys, const Clock& clock,
               AudiencePolicies audiences = {});

  // An access token for `client` in its configured format and lifetime, never outliving
  // `not_after` when given (the grant's end). The token's audiences override the client: one
  // that asks for opaque tokens gets them (a token for several audiences is opaque as soon as
  // one of them asks; introspection serves every audience), one that asks for JWTs gets them
  // unless another asks for opaque; the shortest lifetime cap applies.
  Result<MintedToken, OAuthError> access_token(const store::Client& client,
                                               const TokenSubject& subject,
                                               std::optional<int64_t> not_after = {}) const;
  // A refresh token record expiring at `expires_at` (the family's absolute end).
  MintedToken refresh_token(const TokenSubject& subject, int64_t expires_at) const;
  // OpenID Core §2 ID token, signed with the active key; typ JWT.
  Result<std::string, OAuthError> id_token(const IdTokenRequest& request) const;
  // OpenID Connect Back-Channel Logout 1.0 §2.4 logout token for `client_id`: the session `sid`
  // of `subject` ended. typ logout+jwt, valid for 2 minutes, a fresh jti, no nonce.
  Result<std::string, OAuthError> logout_token(const std::string& subject, const std::string& sid,
                                               const std::string& client_id) const;

  const std::string& issuer() const { return issuer_; }

 private:
  Result<std::string, OAuthError> sign(const json::Json& claims, std::string_view typ) const;
  // access_token() once the audiences have decided the scopes, lifetime and form.
  Result<MintedToken, OAuthError> mint_access_token(const TokenSubject& subject, int64_t now,
                                                    int64_t lifetime, bool opaque,
                                                    std::optional<int64_t> not_after) const;
  store::TokenRecord record(store::TokenKind kind, const std::string& value,
                            const TokenSubject& subject, int64_t now, int64_t expires_at) const;

  std::string issuer_;
  const SigningKeys& keys_;
  const Clock& clock_;
  AudiencePolicies audiences_;
};

// An ID token of ours presented back as `id_token_hint` (OpenID Core §3.1.2.1 at /authorize,
// RP-Initiated Logout §2): signed by one of our published keys with our issuer; an expired one
// still counts (the hint names a user, it grants nothing). nullopt when it is not ours, or has
// no `sub` or no single audience.
struct IdTokenHint {
  std::string subject;
  std::string client_id;           // its audience
  std::optional<std::string> sid;  // OpenID Front/Back-Channel Logout: the session
};
std::optional<IdTokenHint> verify_id_token_hint(std::string_view token, const SigningKeys& keys,
                                                const std::string& issuer, const Clock& clock);

// OpenID Core §3.1.3.6 at_hash / c_hash: the left half of the hash of the ASCII value, with
// the hash function of the signing alg (SHA-256 for ES256/RS256/PS256; EdDSA: SHA-512, per
// OpenID's Ed25519 note), base64url.
std::string left_half_hash(jose::Alg alg, std::string_view value);

}  // namespace tessera::oauth
