#include "oauth/access_token.h"

#include "core/crypto.h"
#include "oauth/scope.h"

namespace tessera::oauth {

JwtAccessTokenIssuer::JwtAccessTokenIssuer(std::string issuer, const SigningKeys& keys,
                                           const Clock& clock)
    : issuer_(std::move(issuer)), keys_(keys), clock_(clock) {}

Result<IssuedAccessToken, OAuthError> JwtAccessTokenIssuer::issue(
    const AccessTokenGrant& grant) const {
  auto key = keys_.active();
  if (!key) return Err(OAuthError::server_error("no active signing key"));
  if (grant.audiences.empty()) return Err(OAuthError::invalid_target("no audience"));
  const int64_t now = clock_.now();
  // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti are required; scope when granted.
  json::Json claims = {
      {"iss", issuer_}, {"sub", grant.subject},        {"client_id", grant.client_id},
      {"iat", now},     {"exp", now + grant.lifetime}, {"jti", crypto::random_token(16)},
  };
  if (grant.audiences.size() == 1) {
    claims["aud"] = grant.audiences.front();
  } else {
    claims["aud"] = grant.audiences;
  }
  if (!grant.scopes.empty()) claims["scope"] = join_scope(grant.scopes);
  jose::SignOptions options;
  options.typ = "at+jwt";  // RFC 9068 §2.1
  auto token = jose::sign(claims.dump(), key->private_jwk, key->alg, options);
  if (!token) {
    return Err(
        OAuthError::server_error(std::string("signing failed: ") + jose::to_string(token.error())));
  }
  return IssuedAccessToken{std::move(*token), grant.lifetime};
}

}  // namespace tessera::oauth
