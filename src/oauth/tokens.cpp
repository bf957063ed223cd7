#include "oauth/tokens.h"

#include <algorithm>

#include "core/base64url.h"
#include "core/crypto.h"
#include "core/space_list.h"
#include "oauth/scope.h"

namespace tessera::oauth {
namespace {

// Bytes of entropy in opaque tokens: 256 bits (RFC 6749 §10.10 asks for at least 128; RFC 9700
// §4.14 refresh tokens, issue 3: 256).
constexpr size_t kOpaqueTokenBytes = 32;

// The reserved claims a caller's `extra` may not override.
bool is_reserved(std::string_view name) {
  static constexpr std::string_view kReserved[] = {"iss", "sub", "aud",       "exp",  "iat",
                                                   "nbf", "jti", "client_id", "scope"};
  return std::find(std::begin(kReserved), std::end(kReserved), name) != std::end(kReserved);
}

// What a token carries beyond the registered claims, as introspection will show it.
json::Json extra_claims(const TokenSubject& s) {
  json::Json claims = json::Json::object();
  if (s.auth_time) claims["auth_time"] = *s.auth_time;
  if (!s.acr.empty()) claims["acr"] = s.acr;
  if (!s.amr.empty()) claims["amr"] = s.amr;
  if (s.extra.is_object()) {
    for (const auto& [name, value] : s.extra.items()) {
      if (!is_reserved(name)) claims[name] = value;
    }
  }
  return claims;
}

}  // namespace

bool looks_like_jwt(std::string_view token) {
  return std::count(token.begin(), token.end(), '.') == 2;
}

std::string token_hash(std::string_view token) { return crypto::sha256(token); }

std::string left_half_hash(jose::Alg alg, std::string_view value) {
  crypto::Digest digest = crypto::Digest::kSha256;
  switch (alg) {
    case jose::Alg::kES384:
    case jose::Alg::kRS384:
    case jose::Alg::kPS384:
      digest = crypto::Digest::kSha384;
      break;
    case jose::Alg::kES512:
    case jose::Alg::kRS512:
    case jose::Alg::kPS512:
    case jose::Alg::kEdDSA:  // Ed25519: SHA-512 (OpenID Connect Core errata, EdDSA note)
    case jose::Alg::kEd25519:
      digest = crypto::Digest::kSha512;
      break;
    default:
      break;
  }
  std::string hash = crypto::digest(digest, value);
  return base64url::encode(std::string_view(hash).substr(0, hash.size() / 2));
}

TokenService::TokenService(std::string issuer, const SigningKeys& keys, const Clock& clock,
                           AudiencePolicies audiences)
    : issuer_(std::move(issuer)), keys_(keys), clock_(clock), audiences_(std::move(audiences)) {}

Result<std::string, OAuthError> TokenService::sign(const json::Json& claims,
                                                   std::string_view typ) const {
  auto key = keys_.active();
  if (!key) return Err(OAuthError::server_error("no active signing key"));
  jose::SignOptions options;
  options.typ = std::string(typ);
  auto token = jose::sign(claims.dump(), key->private_jwk, key->alg, options);
  if (!token) {
    return Err(
        OAuthError::server_error(std::string("signing failed: ") + jose::to_string(token.error())));
  }
  return std::move(*token);
}

store::TokenRecord TokenService::record(store::TokenKind kind, const std::string& value,
                                        const TokenSubject& s, int64_t now,
                                        int64_t expires_at) const {
  store::TokenRecord r;
  r.token_sha256 = token_hash(value);
  r.kind = kind;
  r.grant_id = s.grant_id;
  r.client_id = s.client_id;
  r.subject = s.subject;
  r.scopes = s.scopes;
  r.audiences = s.audiences;
  r.claims_json = extra_claims(s).dump();
  r.issued_at = now;
  r.expires_at = expires_at;
  return r;
}

Result<MintedToken, OAuthError> TokenService::access_token(const store::Client& client,
                                                           const TokenSubject& s,
                                                           std::optional<int64_t> not_after) const {
  if (s.audiences.empty()) return Err(OAuthError::invalid_target("no audience"));
  const int64_t now = clock_.now();
  int64_t lifetime = client.access_token_lifetime;
  bool audience_wants_opaque = false;
  bool audience_wants_jwt = false;
  // RFC 8707: a scope stays when an audience takes it; an audience without a list takes all.
  bool every_scope = false;
  for (const std::string& audience : s.audiences) {
    auto policy = audiences_.find(audience);
    if (policy == audiences_.end() || !policy->second.scopes) every_scope = true;
    if (policy == audiences_.end()) continue;
    const AudiencePolicy& p = policy->second;
    if (p.access_token_format == store::AccessTokenFormat::kOpaque) audience_wants_opaque = true;
    if (p.access_token_format == store::AccessTokenFormat::kJwt) audience_wants_jwt = true;
    if (p.max_access_token_lifetime) lifetime = std::min(lifetime, *p.max_access_token_lifetime);
  }
  const bool opaque =
      audience_wants_opaque ||
      (!audience_wants_jwt && client.access_token_format == store::AccessTokenFormat::kOpaque);
  if (every_scope) return mint_access_token(s, now, lifetime, opaque, not_after);
  // Every audience has a scope list here.
  TokenSubject narrowed = s;
  std::erase_if(narrowed.scopes, [&](const std::string& scope) {
    return std::none_of(s.audiences.begin(), s.audiences.end(), [&](const std::string& a) {
      return list_contains(*audiences_.at(a).scopes, scope);
    });
  });
  return mint_access_token(narrowed, now, lifetime, opaque, not_after);
}

Result<MintedToken, OAuthError> TokenService::mint_access_token(
    const TokenSubject& s, int64_t now, int64_t lifetime, bool opaque,
    std::optional<int64_t> not_after) const {
  int64_t expires_at = now + lifetime;
  if (not_after && *not_after < expires_at) expires_at = *not_after;
  if (expires_at <= now) return Err(OAuthError::invalid_grant("the grant has expired"));
  MintedToken minted;
  minted.expires_in = expires_at - now;
  minted.scopes = s.scopes;
  if (opaque) {
    minted.value = crypto::random_token(kOpaqueTokenBytes);
    minted.record = record(store::TokenKind::kAccess, minted.value, s, now, expires_at);
    return minted;
  }
  // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti required; scope when granted;
  // auth_time, acr, amr when a user authenticated (§2.2.1).
  json::Json claims = extra_claims(s);
  claims["iss"] = issuer_;
  claims["sub"] = s.subject;
  claims["client_id"] = s.client_id;
  claims["iat"] = now;
  claims["exp"] = expires_at;
  claims["jti"] = crypto::random_token(16);
  if (s.audiences.size() == 1) {
    claims["aud"] = s.audiences.front();
  } else {
    claims["aud"] = s.audiences;
  }
  if (!s.scopes.empty()) claims["scope"] = join_scope(s.scopes);
  auto token = sign(claims, "at+jwt");  // RFC 9068 §2.1
  if (!token) return Err(token.error());
  minted.value = std::move(*token);
  return minted;
}

MintedToken TokenService::refresh_token(const TokenSubject& s, int64_t expires_at) const {
  const int64_t now = clock_.now();
  MintedToken minted;
  minted.value = crypto::random_token(kOpaqueTokenBytes);
  minted.expires_in = expires_at - now;
  minted.record = record(store::TokenKind::kRefresh, minted.value, s, now, expires_at);
  return minted;
}

Result<std::string, OAuthError> TokenService::id_token(const IdTokenRequest& request) const {
  auto key = keys_.active();
  if (!key) return Err(OAuthError::server_error("no active signing key"));
  const int64_t now = clock_.now();
  // OpenID Core §2: iss, sub, aud, exp, iat required; auth_time, nonce, acr, amr, azp optional.
  json::Json claims = json::Json::object();
  if (request.claims.is_object()) claims = request.claims;
  claims["iss"] = issuer_;
  claims["sub"] = request.subject;
  claims["aud"] = request.client_id;
  claims["iat"] = now;
  claims["exp"] = now + request.lifetime;
  claims["auth_time"] = request.auth_time;
  if (request.nonce) claims["nonce"] = *request.nonce;
  if (!request.acr.empty()) claims["acr"] = request.acr;
  if (!request.amr.empty()) claims["amr"] = request.amr;
  if (request.sid) claims["sid"] = *request.sid;  // OpenID Front-/Back-Channel Logout §2.1
  if (request.access_token) claims["at_hash"] = left_half_hash(key->alg, *request.access_token);
  return sign(claims, "JWT");
}

Result<std::string, OAuthError> TokenService::logout_token(const std::string& subject,
                                                           const std::string& sid,
                                                           const std::string& client_id) const {
  const int64_t now = clock_.now();
  // §2.4: iss, aud, iat, exp, jti, events with the back-channel logout member, sub and/or sid
  // (both here), never nonce.
  const json::Json claims = {
      {"iss", issuer_},
      {"sub", subject},
      {"aud", client_id},
      {"iat", now},
      {"exp", now + 120},
      {"jti", crypto::random_token(16)},
      {"sid", sid},
      {"events", {{"http://schemas.openid.net/event/backchannel-logout", json::Json::object()}}}};
  return sign(claims, "logout+jwt");  // §2.4: explicit typing (RFC 8725 §3.11)
}

std::optional<IdTokenHint> verify_id_token_hint(std::string_view token, const SigningKeys& keys,
                                                const std::string& issuer, const Clock& clock) {
  jose::ClaimsPolicy policy;
  policy.issuer = issuer;
  policy.require_exp = false;
  policy.clock = &clock;
  // Our ID tokens say typ JWT; access tokens (at+jwt) and logout tokens (logout+jwt) are signed
  // with the same keys and must not pass for one (RFC 8725 §3.11).
  policy.typ = "JWT";
  auto verified = jose::verify_jwt(token, keys.jwks(), {}, policy);
  if (!verified) return std::nullopt;
  const json::Json& claims = verified->claims;
  IdTokenHint hint;
  auto sub = claims.find("sub");
  auto aud = claims.find("aud");
  if (sub == claims.end() || !sub->is_string() || aud == claims.end()) return std::nullopt;
  hint.subject = sub->get<std::string>();
  if (aud->is_string()) hint.client_id = aud->get<std::string>();
  if (aud->is_array() && aud->size() == 1 && (*aud)[0].is_string()) {
    hint.client_id = (*aud)[0].get<std::string>();
  }
  if (hint.subject.empty() || hint.client_id.empty()) return std::nullopt;
  if (auto sid = claims.find("sid"); sid != claims.end() && sid->is_string()) {
    hint.sid = sid->get<std::string>();
  }
  return hint;
}

}  // namespace tessera::oauth
