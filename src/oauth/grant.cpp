#include "oauth/grant.h"

#include <algorithm>

#include "core/crypto.h"
#include "core/space_list.h"
#include "oauth/scope.h"
#include "oauth/token_resolver.h"
#include "oauth/tokens.h"

namespace tessera::oauth {
namespace {}  // namespace

void GrantRegistry::add(std::unique_ptr<Grant> grant) { grants_.push_back(std::move(grant)); }

const Grant* GrantRegistry::find(std::string_view grant_type) const {
  for (const auto& g : grants_) {
    if (g->grant_type() == grant_type) return g.get();
  }
  return nullptr;
}

std::vector<std::string> GrantRegistry::grant_types() const {
  std::vector<std::string> out;
  for (const auto& g : grants_) out.emplace_back(g->grant_type());
  return out;
}

GrantRegistry make_grant_registry(const GrantContext& context) {
  GrantRegistry registry;
  registry.add(make_authorization_code_grant(context));
  registry.add(make_client_credentials_grant(context));
  registry.add(make_refresh_token_grant(context));
  registry.add(make_token_exchange_grant(context));
  registry.add(make_device_code_grant(context));
  registry.add(make_ciba_grant(context));
  return registry;
}

Result<TokenResponse, OAuthError> issue_access_token(const GrantContext& context,
                                                     const TokenRequest& request,
                                                     TokenSubject subject) {
  TokenResponse response;
  auto details = token_authorization_details(context, request, nullptr);
  if (!details) return Err(details.error());
  if (!details->is_null()) {
    subject.extra["authorization_details"] = *details;  // RFC 9396 §9
    response.authorization_details = std::move(*details);
  }
  bind_access_token(request, subject, response);  // RFC 9449 §5
  auto token = context.tokens.access_token(request.client, subject);
  if (!token) return Err(token.error());
  if (token->record) {
    if (!context.grants.insert_tokens({&*token->record, 1})) {
      return Err(OAuthError::server_error("the store is unavailable"));
    }
  }
  response.access_token = std::move(token->value);
  response.expires_in = token->expires_in;
  // RFC 6749 §5.1: scope is returned (here always, so clients need not guess the default): the
  // token's, which its audiences may have narrowed (RFC 8707).
  if (!token->scopes.empty()) response.scope = join_scope(token->scopes);
  return response;
}

Result<TokenResponse, OAuthError> issue_grant_tokens(const GrantContext& context,
                                                     const TokenRequest& request,
                                                     const store::GrantRecord& grant,
                                                     const std::optional<std::string>& nonce) {
  auto minted = mint_for_grant(context, request, grant, nonce);
  if (!minted) return Err(minted.error());
  // Revoked between redemption and now (logout, reuse elsewhere): nothing is issued.
  if (auto refused = store_minted(context, minted->records)) return Err(std::move(*refused));
  return std::move(minted->response);
}

Result<MintedGrantTokens, OAuthError> mint_for_grant(const GrantContext& context,
                                                     const TokenRequest& request,
                                                     const store::GrantRecord& grant,
                                                     const std::optional<std::string>& nonce) {
  const store::Client& client = request.client;
  auto audiences = token_audiences(request.params, client, grant, context.tokens.issuer());
  if (!audiences) return Err(audiences.error());
  const bool refresh = std::find(client.grant_types.begin(), client.grant_types.end(),
                                 "refresh_token") != client.grant_types.end();
  return mint_grant_tokens(context, request, grant, grant.scopes, *audiences, refresh, nonce);
}

std::optional<OAuthError> store_minted(const GrantContext& context,
                                       const std::vector<store::TokenRecord>& records) {
  if (records.empty()) return std::nullopt;
  auto stored = context.grants.insert_tokens(records);
  if (stored) return std::nullopt;
  if (stored.error().code == store::StoreError::Code::kConflict) {
    return OAuthError::invalid_grant("the authorization was revoked");
  }
  return OAuthError::server_error("the store is unavailable");
}

Result<json::Json, OAuthError> token_authorization_details(const GrantContext& context,
                                                           const TokenRequest& request,
                                                           const json::Json* granted) {
  auto asked = request.params.get("authorization_details");
  if (!asked || asked->empty()) return granted != nullptr ? *granted : json::Json();
  if (granted != nullptr && granted->is_null()) {
    return Err(OAuthError::invalid_authorization_details(
        "the grant has no authorization_details to narrow"));
  }
  auto details =
      context.authorization_details_types.parse(*asked, request.client.authorization_details_types);
  if (!details) return Err(OAuthError::invalid_authorization_details(details.error()));
  // §6.1: "the authorization details ... MUST be a subset of the authorization details granted".
  if (granted != nullptr && !authorization_details_within(*details, *granted)) {
    return Err(OAuthError::invalid_authorization_details(
        "authorization_details go beyond what was granted"));
  }
  return std::move(*details);
}

Result<std::vector<std::string>, OAuthError> token_audiences(const http::Params& params,
                                                             const store::Client& client,
                                                             const store::GrantRecord& grant,
                                                             const std::string& issuer) {
  std::vector<std::string> allowed = grant.audiences;
  if (allowed.empty()) allowed = client.audiences;
  if (allowed.empty()) allowed = {issuer};
  std::vector<std::string> out;
  for (const auto& [name, value] : params) {
    if (name != "resource") continue;
    // RFC 8707 §2.2: the resource must be one the grant covers.
    if (!list_contains(allowed, value)) {
      return Err(OAuthError::invalid_target("resource " + value + " is not covered by the grant"));
    }
    if (!list_contains(out, value)) out.push_back(value);
  }
  if (out.empty()) out = std::move(allowed);
  return out;
}

Result<std::vector<std::string>, OAuthError> token_scopes(const http::Params& params,
                                                          const store::GrantRecord& grant) {
  auto requested = params.get("scope");
  if (!requested) return grant.scopes;
  // RFC 6749 §6: "MUST NOT include any scope not originally granted".
  return grant_scopes(requested, grant.scopes);
}

namespace {

// RFC 7800 §3.1 cnf for the request's bindings; null when it has none.
json::Json confirmation_of(const TokenRequest& request) {
  json::Json cnf;
  if (request.dpop_jkt) cnf["jkt"] = *request.dpop_jkt;  // RFC 9449 §6.1
  if (request.certificate_thumbprint) cnf["x5t#S256"] = *request.certificate_thumbprint;  // 8705
  return cnf;
}

}  // namespace

void bind_access_token(const TokenRequest& request, TokenSubject& subject,
                       TokenResponse& response) {
  json::Json cnf = confirmation_of(request);
  if (cnf.is_null()) return;
  subject.extra["cnf"] = std::move(cnf);
  if (request.dpop_jkt) response.token_type = "DPoP";
}

bool proves_dpop_key(const TokenRequest& request, std::string_view jkt) {
  return request.dpop_jkt && crypto::equal_ct(*request.dpop_jkt, jkt);
}

std::optional<OAuthError> check_presented_binding(const TokenRequest& request,
                                                  const json::Json& claims, std::string_view what) {
  if (auto jkt = confirmation(claims, "jkt")) {
    if (!proves_dpop_key(request, *jkt)) {
      return OAuthError::invalid_grant("the " + std::string(what) +
                                       " is bound to a DPoP key this request does not prove");
    }
  }
  if (auto x5t = confirmation(claims, "x5t#S256")) {
    const http::ClientCertificate* cert = request.http.client_certificate();
    if (cert == nullptr || !crypto::equal_ct(cert->sha256_thumbprint(), *x5t)) {
      return OAuthError::invalid_grant("the " + std::string(what) +
                                       " is bound to a client certificate this request lacks");
    }
  }
  return std::nullopt;
}

Result<MintedGrantTokens, OAuthError> mint_grant_tokens(
    const GrantContext& context, const TokenRequest& request, const store::GrantRecord& grant,
    const std::vector<std::string>& scopes, const std::vector<std::string>& audiences, bool refresh,
    const std::optional<std::string>& nonce) {
  const store::Client& client = request.client;
  // RFC 9700 §4.14.2: a refresh token dies with the user's account. Grants here always have a
  // user as subject (client credentials have no grant).
  auto user = context.users.find_by_id(grant.subject);
  if (!user) return Err(OAuthError::server_error("the user store is unavailable"));
  if (!*user || (*user)->disabled) {
    return Err(OAuthError::invalid_grant("the user is disabled or no longer exists"));
  }
  TokenSubject subject;
  subject.subject = grant.subject;
  subject.client_id = client.client_id;
  subject.scopes = scopes;
  subject.audiences = audiences;
  subject.grant_id = grant.id;
  subject.auth_time = grant.auth_time;
  subject.acr = grant.acr;
  subject.amr = grant.amr;
  if (auto extra = json::parse_strict(grant.claims_json); extra && extra->is_object()) {
    subject.extra = std::move(*extra);
  }
  MintedGrantTokens out;
  // The refresh token's claims: the grant's, and for a public client the DPoP key (RFC 9449
  // §5: "refresh tokens issued to public clients ... MUST be bound"); a confidential client's
  // refresh token is bound by its authentication instead.
  json::Json family_extra = subject.extra;
  // RFC 9396 §6.1: the access token may carry fewer authorization details than the grant; the
  // refresh token keeps the grant's (§6.2's refresh request may narrow again).
  const json::Json no_details;
  auto granted = subject.extra.find("authorization_details");
  auto details = token_authorization_details(
      context, request, granted != subject.extra.end() ? &*granted : &no_details);
  if (!details) return Err(details.error());
  if (!details->is_null()) {
    subject.extra["authorization_details"] = *details;
    out.response.authorization_details = std::move(*details);
  }
  bind_access_token(request, subject, out.response);
  if (json::Json cnf = confirmation_of(request);
      !cnf.is_null() && client.type == store::ClientType::kPublic) {
    family_extra["cnf"] = std::move(cnf);  // RFC 9449 §5, RFC 8705 §4
  }
  auto access = context.tokens.access_token(client, subject, grant.expires_at);
  if (!access) return Err(access.error());
  out.response.access_token = access->value;
  out.response.expires_in = access->expires_in;
  if (!access->scopes.empty()) out.response.scope = join_scope(access->scopes);
  if (access->record) out.records.push_back(std::move(*access->record));
  if (refresh) {
    // The refresh token keeps the grant's full scope and audiences (RFC 6749 §6): a narrowed
    // access token does not narrow what the family may ask for next.
    TokenSubject family = subject;
    family.scopes = grant.scopes;
    family.audiences = grant.audiences;
    family.extra = std::move(family_extra);
    MintedToken minted = context.tokens.refresh_token(family, grant.expires_at);
    out.response.refresh_token = std::move(minted.value);
    out.records.push_back(std::move(*minted.record));
  }
  if (list_contains(scopes, "openid")) {
    IdTokenRequest id;
    id.subject = grant.subject;
    id.client_id = client.client_id;
    id.auth_time = grant.auth_time;
    id.nonce = nonce;
    id.acr = grant.acr;
    id.amr = grant.amr;
    id.sid = grant.sid;
    id.access_token = out.response.access_token;
    id.lifetime = client.access_token_lifetime;
    auto token = context.tokens.id_token(id);
    if (!token) return Err(token.error());
    out.response.id_token = std::move(*token);
  }
  return out;
}

}  // namespace tessera::oauth
