#include "oauth/introspection.h"

#include <algorithm>

#include "http/bearer.h"
#include "oauth/scope.h"

namespace tessera::oauth {
namespace {

constexpr size_t kMaxParameters = 64;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 §12.4.2: "q=0" means "not acceptable".
bool refused_by_weight(std::string_view params) {
  while (!params.empty()) {
    const size_t semi = params.find(';');
    std::string_view param = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (param.size() < 2 || !http::iequals(param.substr(0, 2), "q=")) continue;
    std::string_view weight = param.substr(2);
    return !weight.empty() && weight.find_first_not_of("0.") == std::string_view::npos;
  }
  return false;
}

}  // namespace

Result<TokenParameters, OAuthError> read_token_parameters(const http::Request& request) {
  if (!http::is_form_urlencoded(request.header("Content-Type"))) {
    return Err(OAuthError::invalid_request("the endpoint takes application/x-www-form-urlencoded"));
  }
  auto form = request.form();
  if (!form) {
    return Err(OAuthError::invalid_request(std::string("malformed form body: ") +
                                           http::to_string(form.error())));
  }
  if (form->size() > kMaxParameters) return Err(OAuthError::invalid_request("too many parameters"));
  // RFC 6749 §3.1: no parameter may be repeated (neither RFC 7662 nor RFC 7009 defines one that
  // repeats).
  if (auto repeated = form->first_duplicate()) {
    return Err(OAuthError::invalid_request("parameter " + std::string(*repeated) + " repeated"));
  }
  auto token = form->get("token");
  if (!token || token->empty()) return Err(OAuthError::invalid_request("token is missing"));
  TokenParameters out;
  out.token = std::string(*token);
  if (auto hint = form->get("token_type_hint")) {
    if (*hint == "access_token") out.hint = store::TokenKind::kAccess;
    if (*hint == "refresh_token") out.hint = store::TokenKind::kRefresh;
  }
  out.form = std::move(*form);
  return out;
}

bool may_introspect(const store::Client& caller, const ResolvedToken& token) {
  if (caller.client_id == token.client_id) return true;
  return std::any_of(caller.audiences.begin(), caller.audiences.end(), [&](const auto& aud) {
    return std::find(token.audiences.begin(), token.audiences.end(), aud) != token.audiences.end();
  });
}

json::Json introspection_response(const ResolvedToken& token, const std::string& issuer) {
  json::Json body = token.extra.is_object() ? token.extra : json::Json::object();
  // The RFC 7662 §2.2 members are set after the extra claims so none can be shadowed.
  body["active"] = true;
  if (!token.scopes.empty()) body["scope"] = join_scope(token.scopes);
  body["client_id"] = token.client_id;
  body["sub"] = token.subject;
  if (token.audiences.size() == 1) {
    body["aud"] = token.audiences.front();
  } else if (!token.audiences.empty()) {
    body["aud"] = token.audiences;
  }
  body["iss"] = issuer;
  body["exp"] = token.expires_at;
  body["iat"] = token.issued_at;
  if (token.not_before) body["nbf"] = *token.not_before;
  if (token.jti) body["jti"] = *token.jti;
  // RFC 7662 §2.2 token_type is an RFC 6749 §7.1 access token type; a refresh token has none.
  // So that a resource server can tell a refresh token (never a credential at an API, RFC 6749
  // §1.5) from an access token, each answer also says which it is, in the member Ory Hydra uses
  // for this (an RFC 7662 §2.2 extension member; clients ignore what they do not know).
  if (token.kind == store::TokenKind::kAccess) {
    body["token_type"] = token.dpop_jkt() ? "DPoP" : "Bearer";  // RFC 9449 §6
    body["token_use"] = "access_token";
  } else {
    body["token_use"] = "refresh_token";
  }
  return body;
}

bool accepts_introspection_jwt(const http::Request& request) {
  for (const auto& [name, value] : request.headers()) {
    if (!http::iequals(name, "Accept")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view range = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const size_t semi = range.find(';');
      std::string_view media = trim(range.substr(0, semi));
      if (!http::iequals(media, kTokenIntrospectionJwt)) continue;
      if (semi != std::string_view::npos && refused_by_weight(range.substr(semi + 1))) continue;
      return true;
    }
  }
  return false;
}

IntrospectionEndpoint::IntrospectionEndpoint(const TokenResolver& tokens,
                                             const ClientAuthenticator& clients,
                                             const SigningKeys& keys, const Clock& clock)
    : tokens_(tokens), clients_(clients), keys_(keys), clock_(clock) {}

http::Response IntrospectionEndpoint::handle(const http::Request& request) const {
  auto result = introspect(request);
  if (!result) return result.error().to_response();
  if (accepts_introspection_jwt(request)) return signed_response(*result);
  http::Response r = http::Response::json(200, result->body);
  // The answer describes a credential: no cache may keep it.
  r.headers.set("Cache-Control", "no-store");
  return r;
}

Result<IntrospectionEndpoint::Introspection, OAuthError> IntrospectionEndpoint::introspect(
    const http::Request& request) const {
  auto params = read_token_parameters(request);
  if (!params) return Err(params.error());
  // RFC 7662 §2.1: the endpoint MUST require authorization; §4: a public client could be
  // anyone, so only a client that proves itself may introspect.
  auto authenticated = clients_.authenticate(request, params->form);
  if (!authenticated) return Err(authenticated.error());
  if (authenticated->method == store::ClientAuthMethod::kNone) {
    return Err(OAuthError::invalid_client("public clients may not introspect tokens"));
  }
  const store::Client& caller = *authenticated->client;
  Introspection out{json::Json{{"active", false}}, caller.client_id};
  auto token = tokens_.inspect(params->token);
  if (!token) {
    if (token.error() == TokenRejection::kStoreUnavailable) {
      return Err(OAuthError{503, "temporarily_unavailable", "token store unavailable"});
    }
    return out;  // RFC 7662 §2.2: inactive, with no further member
  }
  // RFC 7662 §4: a token the caller may not see looks exactly like an inactive one.
  if (!may_introspect(caller, *token)) return out;
  out.body = introspection_response(*token, tokens_.issuer());
  return out;
}

http::Response IntrospectionEndpoint::signed_response(const Introspection& introspection) const {
  auto key = keys_.active();
  if (!key) return OAuthError::server_error("no active signing key").to_response();
  // RFC 9701 §5: iss, aud (the resource server that asked), iat, and the RFC 7662 object in
  // token_introspection.
  const json::Json claims = {
      {"iss", tokens_.issuer()},
      {"aud", introspection.caller},
      {"iat", clock_.now()},
      {"token_introspection", introspection.body},
  };
  jose::SignOptions options;
  options.typ = "token-introspection+jwt";  // RFC 9701 §5
  auto jwt = jose::sign(claims.dump(), key->private_jwk, key->alg, options);
  if (!jwt) {
    return OAuthError::server_error(std::string("signing failed: ") + jose::to_string(jwt.error()))
        .to_response();
  }
  http::Response r = http::Response::text(200, std::move(*jwt), kTokenIntrospectionJwt);
  r.headers.set("Cache-Control", "no-store");
  return r;
}

}  // namespace tessera::oauth
