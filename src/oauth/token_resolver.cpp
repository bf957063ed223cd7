#include "oauth/token_resolver.h"

#include <algorithm>

#include "jose/jose.h"
#include "oauth/scope.h"
#include "oauth/tokens.h"

namespace tessera::oauth {
namespace {

// A token longer than any we issue is not ours; refusing it early keeps hashing and parsing
// bounded. JWTs are capped by jose::VerifyOptions::max_size as well.
constexpr size_t kMaxTokenLength = size_t{16} * 1024;

TokenRejection rejection_for(jose::Status status) {
  switch (status) {
    case jose::Status::kExpired:
      return TokenRejection::kExpired;
    case jose::Status::kNotYetValid:
    case jose::Status::kIssuedInFuture:
      return TokenRejection::kNotYetValid;
    case jose::Status::kIssuerMismatch:
      return TokenRejection::kWrongIssuer;
    case jose::Status::kTypMismatch:
      return TokenRejection::kWrongType;
    case jose::Status::kAlgNone:
    case jose::Status::kAlgUnknown:
    case jose::Status::kAlgNotAllowed:
    case jose::Status::kAlgKeyMismatch:
    case jose::Status::kEmbeddedKeyRejected:
    case jose::Status::kKidNotFound:
    case jose::Status::kSignatureInvalid:
    case jose::Status::kSignatureBadLength:
    case jose::Status::kSignatureOutOfRange:
      return TokenRejection::kBadSignature;
    default:
      return TokenRejection::kMalformed;
  }
}

// RFC 7519 §4.1.3: aud is a string or an array of strings.
std::optional<std::vector<std::string>> audiences_of(const json::Json& aud) {
  if (aud.is_string()) return std::vector<std::string>{aud.get<std::string>()};
  if (!aud.is_array() || aud.empty()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& a : aud) {
    if (!a.is_string()) return std::nullopt;
    out.push_back(a.get<std::string>());
  }
  return out;
}

// The member `name` of object `j`, or null when absent (operator[] on a const object must not
// be used with a name that may be missing).
const json::Json& member(const json::Json& j, const char* name) {
  static const json::Json kNull;
  auto it = j.find(name);
  return it == j.end() ? kNull : *it;
}

void copy_extra_claims(const json::Json& from, json::Json& to) {
  for (const char* name : kExtraTokenClaims) {
    auto it = from.find(name);
    if (it != from.end() && !it->is_null()) to[name] = *it;
  }
}

}  // namespace

const char* to_string(TokenRejection rejection) {
  switch (rejection) {
    case TokenRejection::kUnknown:
      return "unknown token";
    case TokenRejection::kMalformed:
      return "malformed token";
    case TokenRejection::kBadSignature:
      return "signature does not verify";
    case TokenRejection::kWrongIssuer:
      return "issued by another issuer";
    case TokenRejection::kWrongType:
      return "not an access token";
    case TokenRejection::kExpired:
      return "token expired";
    case TokenRejection::kNotYetValid:
      return "token not yet valid";
    case TokenRejection::kRevoked:
      return "token revoked";
    case TokenRejection::kUsed:
      return "refresh token already used";
    case TokenRejection::kStoreUnavailable:
      return "token store unavailable";
  }
  return "unknown rejection";
}

bool ResolvedToken::has_scope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

std::optional<std::string> confirmation(const json::Json& claims, std::string_view member) {
  auto cnf = claims.find("cnf");
  if (cnf == claims.end() || !cnf->is_object()) return std::nullopt;
  auto value = cnf->find(member);
  if (value == cnf->end() || !value->is_string()) return std::nullopt;
  return value->get<std::string>();
}

std::optional<std::string> ResolvedToken::dpop_jkt() const { return confirmation(extra, "jkt"); }

std::optional<std::string> ResolvedToken::certificate_thumbprint() const {
  return confirmation(extra, "x5t#S256");
}

TokenResolver::TokenResolver(std::string issuer, const SigningKeys& keys, store::GrantStore& grants,
                             const Clock& clock, int64_t leeway_seconds)
    : issuer_(std::move(issuer)),
      keys_(keys),
      grants_(grants),
      clock_(clock),
      leeway_(leeway_seconds) {}

std::optional<ResolvedToken> TokenResolver::resolve(std::string_view token) const {
  auto inspected = inspect(token);
  if (!inspected) return std::nullopt;
  return std::move(*inspected);
}

Result<ResolvedToken, TokenRejection> TokenResolver::inspect(std::string_view token) const {
  if (token.empty() || token.size() > kMaxTokenLength) return Err(TokenRejection::kMalformed);
  if (looks_like_jwt(token)) return inspect_jwt(token);
  return inspect_opaque(token);
}

Result<ResolvedToken, TokenRejection> TokenResolver::inspect_jwt(std::string_view token) const {
  const jose::Jwks keys = keys_.jwks();
  // RFC 8725 §3.1: the algorithm comes from our keys, never from the token's header alone.
  jose::VerifyOptions verify;
  for (const auto& key : keys.keys()) {
    if (auto alg = key.alg()) {
      if (std::find(verify.allowed_algs.begin(), verify.allowed_algs.end(), *alg) ==
          verify.allowed_algs.end()) {
        verify.allowed_algs.push_back(*alg);
      }
    }
  }
  if (verify.allowed_algs.empty()) verify.allowed_algs.push_back(keys_.alg());
  jose::ClaimsPolicy policy;
  policy.issuer = issuer_;
  policy.typ = "at+jwt";  // RFC 9068 §4: reject ID tokens and other JWTs of ours
  // RFC 9068 §2.2: claims every access token we issue carries.
  policy.required_claims = {"iss", "exp", "aud", "sub", "client_id", "iat", "jti"};
  policy.leeway_seconds = leeway_;
  policy.require_exp = true;
  policy.clock = &clock_;
  auto jwt = jose::verify_jwt(token, keys, verify, policy);
  if (!jwt) return Err(rejection_for(jwt.error()));

  const json::Json& c = jwt->claims;
  ResolvedToken out;
  out.kind = store::TokenKind::kAccess;
  out.format = store::AccessTokenFormat::kJwt;
  const auto& sub = member(c, "sub");
  const auto& client_id = member(c, "client_id");
  const auto& jti = member(c, "jti");
  const auto& iat = member(c, "iat");
  const auto& exp = member(c, "exp");
  if (!sub.is_string() || !client_id.is_string() || !jti.is_string() || !iat.is_number_integer() ||
      !exp.is_number_integer()) {
    return Err(TokenRejection::kMalformed);
  }
  out.subject = sub.get<std::string>();
  out.client_id = client_id.get<std::string>();
  out.jti = jti.get<std::string>();
  out.issued_at = iat.get<int64_t>();
  out.expires_at = exp.get<int64_t>();
  if (auto nbf = c.find("nbf"); nbf != c.end()) {
    if (!nbf->is_number_integer()) return Err(TokenRejection::kMalformed);
    out.not_before = nbf->get<int64_t>();
  }
  auto audiences = audiences_of(member(c, "aud"));
  if (!audiences) return Err(TokenRejection::kMalformed);
  out.audiences = std::move(*audiences);
  if (auto scope = c.find("scope"); scope != c.end()) {
    // RFC 9068 §2.2.3: scope is the RFC 6749 §3.3 space-delimited string.
    if (!scope->is_string()) return Err(TokenRejection::kMalformed);
    auto scopes = parse_scope(scope->get<std::string>());
    if (!scopes) return Err(TokenRejection::kMalformed);
    out.scopes = std::move(*scopes);
  }
  copy_extra_claims(c, out.extra);
  return out;
}

Result<ResolvedToken, TokenRejection> TokenResolver::inspect_opaque(std::string_view token) const {
  auto found = grants_.find_token(token_hash(token));
  if (!found) return Err(TokenRejection::kStoreUnavailable);
  if (!*found) return Err(TokenRejection::kUnknown);
  const store::TokenRecord& record = **found;
  // The store is authoritative for opaque tokens: no leeway.
  if (record.revoked_at) return Err(TokenRejection::kRevoked);
  if (record.kind == store::TokenKind::kRefresh && record.used_at) {
    return Err(TokenRejection::kUsed);
  }
  if (clock_.now() >= record.expires_at) return Err(TokenRejection::kExpired);

  ResolvedToken out;
  out.kind = record.kind;
  out.format = store::AccessTokenFormat::kOpaque;
  out.subject = record.subject;
  out.client_id = record.client_id;
  out.scopes = record.scopes;
  out.audiences = record.audiences;
  out.issued_at = record.issued_at;
  out.expires_at = record.expires_at;
  out.grant_id = record.grant_id;
  // The store keeps claims_json a JSON object; anything else adds nothing.
  auto claims = json::parse_strict(record.claims_json);
  if (claims && claims->is_object()) copy_extra_claims(*claims, out.extra);
  return out;
}

}  // namespace tessera::oauth
