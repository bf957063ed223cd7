#include "oauth/userinfo.h"

#include <algorithm>
#include <initializer_list>

#include "core/crypto.h"
#include "http/bearer.h"
#include "oauth/error.h"

namespace tessera::oauth {
namespace {

struct ScopeClaims {
  const char* scope;
  std::initializer_list<const char*> claims;
};

// OpenID Core §5.4.
const ScopeClaims kScopeClaims[] = {
    {"profile",
     {"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
      "profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"}},
    {"email", {"email", "email_verified"}},
    {"address", {"address"}},
    {"phone", {"phone_number", "phone_number_verified"}},
};

bool has(const std::vector<std::string>& scopes, std::string_view scope) {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

http::Response unavailable() {
  return OAuthError{503, "temporarily_unavailable", "user store unavailable"}.to_response();
}

}  // namespace

json::Json standard_claims(const store::User& user, const std::vector<std::string>& scopes) {
  auto parsed = json::parse_strict(user.profile_json);
  const json::Json profile =
      parsed && parsed->is_object() ? std::move(*parsed) : json::Json::object();
  json::Json out = json::Json::object();
  for (const auto& entry : kScopeClaims) {
    if (!has(scopes, entry.scope)) continue;
    for (const char* claim : entry.claims) {
      auto it = profile.find(claim);
      if (it != profile.end() && !it->is_null()) out[claim] = *it;
    }
  }
  if (has(scopes, "profile")) {
    if (!out.contains("preferred_username")) out["preferred_username"] = user.username;
    if (!out.contains("updated_at") && user.updated_at > 0) out["updated_at"] = user.updated_at;
  }
  // §5.3.2: sub is always there, and is the token's subject; a profile cannot override it.
  out["sub"] = user.id;
  return out;
}

UserInfoEndpoint::UserInfoEndpoint(std::string realm, const TokenResolver& tokens,
                                   store::UserStore& users)
    : realm_(std::move(realm)), tokens_(tokens), users_(users) {}

http::Response UserInfoEndpoint::invalid_token(std::string_view description) const {
  return http::bearer_error(401, realm_, http::kInvalidToken, description, std::nullopt);
}

http::Response UserInfoEndpoint::handle(const http::Request& request) const {
  auto extracted =
      http::extract_bearer_token(request, http::BearerOptions{.accept_form_body = true});
  if (!extracted) {
    return http::bearer_error(400, realm_, http::kInvalidRequest, extracted.error(), {});
  }
  if (!*extracted) return http::bearer_error(401, realm_, std::nullopt, std::nullopt, std::nullopt);
  const std::string& value = (*extracted)->value;

  auto token = tokens_.inspect(value);
  if (!token) {
    if (token.error() == TokenRejection::kStoreUnavailable) return unavailable();
    return invalid_token(to_string(token.error()));
  }
  if (token->kind != store::TokenKind::kAccess) return invalid_token("not an access token");
  // A sender-constrained token is only good with its key. This endpoint does not take DPoP
  // proofs, and a DPoP-bound token sent as a bearer token must be refused (RFC 9449 §7.1).
  if (token->dpop_jkt()) return invalid_token("the token is bound to a DPoP key");
  // RFC 8705 §3: a certificate-bound token needs the same client certificate on this request.
  if (auto x5t = token->certificate_thumbprint()) {
    const http::ClientCertificate* cert = request.client_certificate();
    if (!cert || !crypto::equal_ct(cert->sha256_thumbprint(), *x5t)) {
      return invalid_token("the token is bound to another client certificate");
    }
  }
  // OpenID Core §5.3: UserInfo is for tokens obtained through an OpenID Connect request.
  if (!token->has_scope("openid")) {
    return http::bearer_error(403, realm_, http::kInsufficientScope, "the openid scope is required",
                              "openid");
  }
  auto user = users_.find_by_id(token->subject);
  if (!user) return unavailable();
  // A client credentials token has the client as subject: no user, nothing to tell.
  if (!*user) return invalid_token("no such user");
  if ((*user)->disabled) return invalid_token("the user is disabled");

  http::Response r = http::Response::json(200, standard_claims(**user, token->scopes));
  r.headers.set("Cache-Control", "no-store");
  return r;
}

}  // namespace tessera::oauth
