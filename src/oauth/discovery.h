// Authorization server metadata (RFC 8414 §2) and its OpenID Connect Discovery 1.0 twin, listing
// exactly what this build does. Built once: the document only changes with the configuration.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "jose/jose.h"
#include "oauth/fapi.h"

namespace tessera::oauth {

struct ServerMetadataInputs {
  std::string issuer;
  std::vector<std::string> grant_types;
  std::vector<std::string> scopes_supported;  // empty: the member is left out
  jose::Alg signing_alg = jose::Alg::kES256;
  std::vector<std::string> acr_values;  // OpenID Discovery acr_values_supported
  std::vector<std::string> dpop_algs;   // RFC 9449 §5.1 dpop_signing_alg_values_supported
  bool require_par = false;             // RFC 9126 §5 require_pushed_authorization_requests
  // RFC 8705: clients can present certificates (tls_client_auth, self_signed_tls_client_auth,
  // tls_client_certificate_bound_access_tokens).
  bool mutual_tls = false;
  bool self_signed_certificates = false;  // §2.2 can work: a listener accepts any issuer
  std::string mtls_endpoint_base;  // RFC 8705 §5 mtls_endpoint_aliases hang off it; empty: none
  // FAPI 2.0 for every client: only its methods and algorithms are listed, PAR is required;
  // RFC 9101 §10.5 require_signed_request_object.
  ProfileOptions profile{};
};

// The endpoint URLs hang off the issuer ("https://as.example/t" -> ".../t/token").
json::Json server_metadata(const ServerMetadataInputs& inputs);

// RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path:
// "https://as.example/t" -> "/.well-known/oauth-authorization-server/t".
std::string oauth_metadata_path(const std::string& issuer);
// OpenID Connect Discovery 1.0 §4: appended to the issuer: "/t/.well-known/openid-configuration".
std::string openid_configuration_path(const std::string& issuer);
// The issuer's path ("" for "https://as.example"), the prefix of every endpoint route.
std::string issuer_path(const std::string& issuer);
// The URL of an endpoint under the issuer: endpoint_url("https://as.example/t/", "/token") ->
// "https://as.example/t/token". Metadata, routes and redirects all build URLs this one way.
std::string endpoint_url(const std::string& issuer, std::string_view path);
// The URLs an endpoint answers at: under the issuer, and under the RFC 8705 §5 mTLS alias base
// when `mtls_base` is not empty.
std::vector<std::string> endpoint_urls(const std::string& issuer, const std::string& mtls_base,
                                       std::string_view path);

}  // namespace tessera::oauth
