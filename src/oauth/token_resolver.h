// Reads a token the authorization server issued back into what it stands for: the one place that
// decides whether a token is active, shared by introspection (RFC 7662), revocation (RFC 7009)
// and UserInfo (OpenID Core §5.3). JWT access tokens (RFC 9068) are verified against our own
// published keys; opaque tokens are looked up by SHA-256 in the grant store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/result.h"
#include "oauth/keys.h"
#include "store/client_store.h"
#include "store/grant_store.h"

namespace tessera::oauth {

// Every reason a token is not active. Closed: add a value, add its string.
enum class TokenRejection {
  kUnknown,           // no opaque token with this hash
  kMalformed,         // not a token we could have issued: bad JWT framing, claims of wrong type
  kBadSignature,      // no published key verifies it (or its alg is not one of our keys')
  kWrongIssuer,       // iss is not ours
  kWrongType,         // typ is not at+jwt (an ID token, a logout token, ...) (RFC 9068 §4)
  kExpired,           // past exp (JWT: beyond the leeway)
  kNotYetValid,       // nbf or iat in the future beyond the leeway
  kRevoked,           // revoked (RFC 7009, logout, reuse detection)
  kUsed,              // a refresh token already rotated (RFC 9700 §4.14.2)
  kStoreUnavailable,  // the grant store failed: neither active nor known to be inactive
};
const char* to_string(TokenRejection rejection);

// An active token and what it carries.
struct ResolvedToken {
  store::TokenKind kind = store::TokenKind::kAccess;
  // kJwt: a self-contained RFC 9068 token; kOpaque: a stored one (every refresh token).
  store::AccessTokenFormat format = store::AccessTokenFormat::kOpaque;
  std::string subject;
  std::string client_id;
  std::vector<std::string> scopes;
  std::vector<std::string> audiences;
  int64_t issued_at = 0;
  int64_t expires_at = 0;
  std::optional<int64_t> not_before;  // JWT nbf, when present
  std::optional<std::string> grant_id;
  std::optional<std::string> jti;  // JWT only
  // auth_time, acr, amr, act (RFC 8693 §4.1), may_act (§4.4), cnf (RFC 7800, RFC 9449 §6,
  // RFC 8705 §3): only those present, from the JWT payload or the record's claims_json.
  json::Json extra = json::Json::object();

  bool has_scope(std::string_view scope) const;
  // RFC 9449 §6.1: cnf.jkt binds the token to a DPoP key.
  std::optional<std::string> dpop_jkt() const;
  // RFC 8705 §3.1: cnf["x5t#S256"] binds the token to a client certificate.
  std::optional<std::string> certificate_thumbprint() const;
};

// A string member of the claims' cnf object (RFC 7800 §3.1): "jkt" (RFC 9449 §6.1), "x5t#S256"
// (RFC 8705 §3.1); nullopt when absent or not a string.
std::optional<std::string> confirmation(const json::Json& claims, std::string_view member);

// The claims besides the RFC 7662 §2.2 members that introspection passes on (RFC 9396 §9.2:
// authorization_details too).
inline constexpr const char* kExtraTokenClaims[] = {
    "auth_time", "acr", "amr", "act", "may_act", "cnf", "authorization_details"};

class TokenResolver {
 public:
  // `leeway_seconds` absorbs clock skew between nodes for JWT exp/nbf/iat (RFC 7519 §4.1.4).
  TokenResolver(std::string issuer, const SigningKeys& keys, store::GrantStore& grants,
                const Clock& clock, int64_t leeway_seconds = 30);

  // The token when active, else why not.
  Result<ResolvedToken, TokenRejection> inspect(std::string_view token) const;
  // The token when active; nullopt for every other case (unknown, expired, revoked, bad
  // signature, wrong issuer or typ, store failure).
  std::optional<ResolvedToken> resolve(std::string_view token) const;

  const std::string& issuer() const { return issuer_; }

 private:
  Result<ResolvedToken, TokenRejection> inspect_jwt(std::string_view token) const;
  Result<ResolvedToken, TokenRejection> inspect_opaque(std::string_view token) const;

  std::string issuer_;
  const SigningKeys& keys_;
  store::GrantStore& grants_;
  const Clock& clock_;
  int64_t leeway_;
};

}  // namespace tessera::oauth
