#include "oauth/token_endpoint.h"

#include <algorithm>

#include "http/bearer.h"
#include "oauth/client_auth.h"

namespace tessera::oauth {
namespace {

constexpr size_t kMaxParameters = 64;

// RFC 6749 §3.1: parameters MUST NOT be included more than once, except those defined to repeat:
// resource (RFC 8707 §2) and audience (RFC 8693 §2.1).
std::optional<std::string_view> repeated_parameter(const http::Params& params) {
  for (auto it = params.begin(); it != params.end(); ++it) {
    if (it->first == "resource" || it->first == "audience") continue;
    for (auto later = it + 1; later != params.end(); ++later) {
      if (later->first == it->first) return it->first;
    }
  }
  return std::nullopt;
}

}  // namespace

TokenEndpoint::TokenEndpoint(const GrantRegistry& grants, const ClientAuthenticator& clients,
                             const DpopProofs& dpop, ProfileOptions profile)
    : grants_(grants), clients_(clients), dpop_(dpop), profile_(profile) {}

http::Response TokenEndpoint::handle(const http::Request& request) const {
  auto result = process(request);
  if (!result) return result.error().to_response();
  http::Response r = token_response(*result);
  // RFC 9449 §8: a DPoP client gets the nonce for its next proof with every answer.
  if (result->token_type == "DPoP") {
    if (std::string nonce = dpop_.current_nonce(); !nonce.empty()) {
      r.headers.set("DPoP-Nonce", nonce);
    }
  }
  return r;
}

Result<http::Params, OAuthError> read_form(const http::Request& request) {
  // RFC 6749 §3.2: the token endpoint takes application/x-www-form-urlencoded (RFC 9126 §2.1:
  // so does the pushed authorization request endpoint).
  if (!http::is_form_urlencoded(request.header("Content-Type"))) {
    return Err(
        OAuthError::invalid_request("this endpoint takes application/x-www-form-urlencoded"));
  }
  auto form = request.form();
  if (!form) {
    return Err(OAuthError::invalid_request(std::string("malformed form body: ") +
                                           http::to_string(form.error())));
  }
  if (form->size() > kMaxParameters) return Err(OAuthError::invalid_request("too many parameters"));
  if (auto repeated = repeated_parameter(*form)) {
    return Err(OAuthError::invalid_request("parameter " + std::string(*repeated) + " repeated"));
  }
  return std::move(*form);
}

Result<TokenResponse, OAuthError> TokenEndpoint::process(const http::Request& request) const {
  auto form = read_form(request);
  if (!form) return Err(form.error());
  auto grant_type = form->get("grant_type");
  if (!grant_type || grant_type->empty()) {
    return Err(OAuthError::invalid_request("grant_type is missing"));
  }
  // OAuth 2.1 §10 drops the implicit and password grants; they are never offered.
  const Grant* grant = grants_.find(*grant_type);
  if (!grant) {
    return Err(OAuthError::unsupported_grant_type("grant_type " + std::string(*grant_type) +
                                                  " is not supported"));
  }
  // RFC 6749 §3.2.1: confidential clients authenticate; public ones identify themselves.
  auto authenticated = clients_.authenticate(request, *form);
  if (!authenticated) return Err(authenticated.error());
  const store::Client& client = *authenticated->client;
  // RFC 6749 §5.2 unauthorized_client: the client may not use this grant type.
  const auto& allowed = client.grant_types;
  if (std::find(allowed.begin(), allowed.end(), *grant_type) == allowed.end()) {
    return Err(
        OAuthError::unauthorized_client("the client may not use " + std::string(*grant_type)));
  }
  // RFC 9449 §5: a valid proof binds the tokens to its key. Checked once the client is known,
  // so an unauthenticated caller costs no signature verification.
  auto jkt = dpop_.token_request(request);
  if (!jkt) return Err(jkt.error());
  // §5.2 dpop_bound_access_tokens: this client always uses DPoP.
  if (!*jkt && client.dpop_bound_access_tokens) {
    return Err(OAuthError::invalid_dpop_proof("this client must send a DPoP proof"));
  }
  // RFC 8705 §3: a client whose tokens are certificate-bound presents its certificate.
  std::optional<std::string> thumbprint;
  if (client.tls_client_certificate_bound_access_tokens) {
    const http::ClientCertificate* cert = request.client_certificate();
    if (cert == nullptr) {
      return Err(OAuthError::invalid_request(
          "this client's tokens are bound to its TLS client certificate; none was presented"));
    }
    thumbprint = cert->sha256_thumbprint();
  }
  // FAPI 2.0 §5.3.2.1 item 4: sender-constrained access tokens only, by DPoP (with one of the
  // profile's algorithms, §5.4.1) or else by the TLS client certificate of the request.
  if (fapi2_applies(profile_, client)) {
    if (*jkt) {
      if (auto problem = fapi2_proof_problem(request)) return Err(*problem);
    } else if (!thumbprint) {
      const http::ClientCertificate* cert = request.client_certificate();
      if (cert == nullptr) {
        return Err(OAuthError::invalid_request(
            "FAPI 2.0 issues sender-constrained tokens only: send a DPoP proof (RFC 9449) or "
            "call over mutual TLS with a client certificate (RFC 8705)"));
      }
      thumbprint = cert->sha256_thumbprint();
    }
  }
  return grant->exchange(
      TokenRequest{request, *form, client, std::move(*jkt), std::move(thumbprint)});
}

http::Response token_response(const TokenResponse& token) {
  json::Json body = {
      {"access_token", token.access_token},
      {"token_type", token.token_type},
      {"expires_in", token.expires_in},
  };
  if (token.scope) body["scope"] = *token.scope;
  if (token.refresh_token) body["refresh_token"] = *token.refresh_token;
  if (token.id_token) body["id_token"] = *token.id_token;  // OpenID Core §3.1.3.3
  if (token.issued_token_type) body["issued_token_type"] = *token.issued_token_type;  // RFC 8693
  // RFC 9396 §7: "the authorization server MUST also return the authorization details as granted".
  if (!token.authorization_details.is_null()) {
    body["authorization_details"] = token.authorization_details;
  }
  http::Response r = http::Response::json(200, body);
  // RFC 6749 §5.1.
  r.headers.set("Cache-Control", "no-store");
  r.headers.set("Pragma", "no-cache");
  return r;
}

}  // namespace tessera::oauth
