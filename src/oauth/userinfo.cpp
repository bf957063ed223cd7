#include "oauth/userinfo.h"

#include <algorithm>
#include <initializer_list>

#include "core/crypto.h"
#include "http/bearer.h"
#include "oauth/discovery.h"
#include "oauth/error.h"
#include "resource/http_server.h"

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
                                   store::UserStore& users, const DpopProofs& dpop,
                                   const std::string& mtls_endpoint_base)
    : realm_(std::move(realm)),
      urls_(endpoint_urls(realm_, mtls_endpoint_base, "/userinfo")),
      tokens_(tokens),
      users_(users),
      dpop_(dpop) {}

http::Response UserInfoEndpoint::invalid_token(std::string_view description,
                                               bool dpop_scheme) const {
  if (dpop_scheme) {
    return resource::to_response(
        resource::dpop_invalid_token(realm_, description, dpop_.algorithms()));
  }
  return http::bearer_error(401, realm_, http::kInvalidToken, description, std::nullopt);
}

http::Response UserInfoEndpoint::handle(const http::Request& request) const {
  // RFC 9449 §7.1: Authorization: DPoP; everything else as RFC 6750 §2 says.
  std::string dpop_token;
  auto scheme = resource::TokenScheme::kBearer;
  if (request.headers().count("Authorization") == 1) {
    if (resource::access_token(request.header("Authorization"), dpop_token, scheme)) {
      scheme = resource::TokenScheme::kBearer;  // malformed or another scheme: the Bearer path says
    }
  }
  std::string value;
  if (scheme == resource::TokenScheme::kDpop) {
    value = std::move(dpop_token);
  } else {
    auto extracted =
        http::extract_bearer_token(request, http::BearerOptions{.accept_form_body = true});
    if (!extracted) {
      return http::bearer_error(400, realm_, http::kInvalidRequest, extracted.error(), {});
    }
    if (!*extracted) {
      return http::bearer_error(401, realm_, std::nullopt, std::nullopt, std::nullopt);
    }
    value = std::move((*extracted)->value);
  }

  const bool dpop_scheme = scheme == resource::TokenScheme::kDpop;
  auto token = tokens_.inspect(value);
  if (!token) {
    if (token.error() == TokenRejection::kStoreUnavailable) return unavailable();
    return invalid_token(to_string(token.error()), dpop_scheme);
  }
  if (token->kind != store::TokenKind::kAccess) {
    return invalid_token("not an access token", dpop_scheme);
  }
  // A sender-constrained token is only good with its key (RFC 9449 §7.1, §7.2: a DPoP-bound
  // token needs the DPoP scheme and a proof of its key; a token that is not bound must not come
  // with the DPoP scheme) or its certificate (RFC 8705 §3). The SDK's rule, applied as-is.
  resource::Principal bound;
  bound.dpop_jkt = token->dpop_jkt().value_or("");
  bound.certificate_thumbprint = token->certificate_thumbprint().value_or("");
  if (scheme == resource::TokenScheme::kDpop || !bound.dpop_jkt.empty() ||
      !bound.certificate_thumbprint.empty()) {
    const resource::Presentation presented =
        resource::presentation_of(request, scheme, value, proof_url(request, urls_));
    if (auto c = resource::require_binding(bound, presented, &dpop_.verifier(), realm_)) {
      http::Response r = resource::to_response(*c);
      // RFC 9449 §9: a refusal of a DPoP request carries the nonce to use next.
      if (std::string nonce = dpop_.current_nonce();
          !nonce.empty() && scheme == resource::TokenScheme::kDpop) {
        r.headers.set("DPoP-Nonce", nonce);
      }
      return r;
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
  if (!*user) return invalid_token("no such user", dpop_scheme);
  if ((*user)->disabled) return invalid_token("the user is disabled", dpop_scheme);

  http::Response r = http::Response::json(200, standard_claims(**user, token->scopes));
  r.headers.set("Cache-Control", "no-store");
  return r;
}

}  // namespace tessera::oauth
