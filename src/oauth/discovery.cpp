#include "oauth/discovery.h"

namespace tessera::oauth {

std::string issuer_path(const std::string& issuer) {
  auto scheme = issuer.find("://");
  if (scheme == std::string::npos) return "";
  auto slash = issuer.find('/', scheme + 3);
  if (slash == std::string::npos) return "";
  std::string path = issuer.substr(slash);
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

std::string oauth_metadata_path(const std::string& issuer) {
  return "/.well-known/oauth-authorization-server" + issuer_path(issuer);
}

std::string openid_configuration_path(const std::string& issuer) {
  return issuer_path(issuer) + "/.well-known/openid-configuration";
}

std::string endpoint_url(const std::string& issuer, std::string_view path) {
  std::string base = issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base.append(path);
}

std::vector<std::string> endpoint_urls(const std::string& issuer, const std::string& mtls_base,
                                       std::string_view path) {
  std::vector<std::string> out = {endpoint_url(issuer, path)};
  if (!mtls_base.empty()) out.push_back(endpoint_url(mtls_base, path));
  return out;
}

json::Json server_metadata(const ServerMetadataInputs& in) {
  const auto url = [&](std::string_view path) { return endpoint_url(in.issuer, path); };
  std::vector<std::string> auth_methods = {"client_secret_basic", "client_secret_post",
                                           "private_key_jwt", "none"};
  // RFC 8705 §2.1.1, §2.2.1: each method where a listener can take its certificates.
  if (in.mutual_tls) auth_methods.emplace_back("tls_client_auth");
  if (in.mutual_tls && in.self_signed_certificates) {
    auth_methods.emplace_back("self_signed_tls_client_auth");
  }
  std::vector<std::string> assertion_algs = {"ES256", "ES384", "ES512", "PS256", "PS384",  "PS512",
                                             "RS256", "RS384", "RS512", "EdDSA", "Ed25519"};
  if (in.profile.fapi2) {
    // FAPI 2.0 §5.3.2.1 item 3, §5.4.1: what a client of this server may use, and only that.
    std::erase_if(auth_methods, [](const std::string& method) {
      auto parsed = store::parse_client_auth_method(method);
      return !parsed || !is_fapi2_auth_method(*parsed);
    });
    assertion_algs = fapi2_alg_names();
  }
  const std::string alg(jose::to_string(in.signing_alg));
  json::Json m = {
      {"issuer", in.issuer},  // RFC 8414 §3.3: identical to the issuer the client expects
      {"authorization_endpoint", url("/authorize")},
      {"token_endpoint", url("/token")},
      {"pushed_authorization_request_endpoint", url("/par")},           // RFC 9126 §5
      {"device_authorization_endpoint", url("/device_authorization")},  // RFC 8628 §4
      {"require_pushed_authorization_requests", in.require_par || in.profile.fapi2},
      {"userinfo_endpoint", url("/userinfo")},
      {"introspection_endpoint", url("/introspect")},
      {"revocation_endpoint", url("/revoke")},
      {"end_session_endpoint", url("/end_session")},
      // OpenID Connect Back-Channel Logout 1.0 §2.1: logout tokens, always with sid.
      {"backchannel_logout_supported", true},
      {"backchannel_logout_session_supported", true},
      // Front-Channel Logout 1.0 §3: iframes on the signed-out page, with iss and sid.
      {"frontchannel_logout_supported", true},
      {"frontchannel_logout_session_supported", true},
      {"jwks_uri", url("/jwks")},
      {"grant_types_supported", in.grant_types},
      // OAuth 2.1: the code flow only; response modes query and form_post (no fragment).
      {"response_types_supported", {"code"}},
      // JARM §3: the JWT-secured modes too, signed with the token signing key.
      {"response_modes_supported", {"query", "form_post", "jwt", "query.jwt", "form_post.jwt"}},
      {"authorization_signing_alg_values_supported", {alg}},
      {"code_challenge_methods_supported", {"S256"}},            // RFC 7636; plain is refused
      {"authorization_response_iss_parameter_supported", true},  // RFC 9207 §3
      {"token_endpoint_auth_methods_supported", auth_methods},
      {"token_endpoint_auth_signing_alg_values_supported", assertion_algs},
      {"introspection_endpoint_auth_methods_supported", auth_methods},
      {"revocation_endpoint_auth_methods_supported", auth_methods},
      {"subject_types_supported", {"public"}},
      {"id_token_signing_alg_values_supported", {alg}},
      // RFC 9068 JWT access tokens and RFC 9701 introspection responses use the same key.
      {"access_token_signing_alg_values_supported", {alg}},
      {"introspection_signing_alg_values_supported", {alg}},
      {"acr_values_supported", in.acr_values},
      {"dpop_signing_alg_values_supported", in.dpop_algs},  // RFC 9449 §5.1
      {"prompt_values_supported", {"none", "login", "consent", "select_account"}},
      {"claims_supported",
       {"sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "sid",
        "at_hash",
        "name",
        "given_name",
        "family_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
        "email",
        "email_verified",
        "address",
        "phone_number",
        "phone_number_verified"}},
      {"claims_parameter_supported", false},
      // RFC 9101 §10.1: request objects by value at /authorize and PAR (by reference only
      // through PAR's request_uri).
      {"request_parameter_supported", true},
      {"request_object_signing_alg_values_supported", assertion_algs},
      {"request_uri_parameter_supported", false},
      // RFC 9101 §10.5: every authorization request must be a signed request object.
      {"require_signed_request_object", in.profile.require_signed_request_object},
  };
  if (!in.scopes_supported.empty()) m["scopes_supported"] = in.scopes_supported;
  // RFC 8705 §3.3: certificate-bound access tokens; §5: the endpoints' mTLS aliases.
  m["tls_client_certificate_bound_access_tokens"] = in.mutual_tls;
  if (!in.mtls_endpoint_base.empty()) {
    const auto alias = [&](std::string_view path) {
      return endpoint_url(in.mtls_endpoint_base, path);
    };
    m["mtls_endpoint_aliases"] = {
        {"token_endpoint", alias("/token")},
        {"pushed_authorization_request_endpoint", alias("/par")},
        {"device_authorization_endpoint", alias("/device_authorization")},
        {"backchannel_authentication_endpoint", alias("/bc-authorize")},  // CIBA §4
        {"introspection_endpoint", alias("/introspect")},
        {"revocation_endpoint", alias("/revoke")},
        {"userinfo_endpoint", alias("/userinfo")},
    };
  }
  return m;
}

}  // namespace tessera::oauth
