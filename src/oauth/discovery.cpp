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

json::Json server_metadata(const ServerMetadataInputs& in) {
  std::string base = in.issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::vector<std::string> auth_methods = {"client_secret_basic", "client_secret_post", "none"};
  json::Json m = {
      {"issuer", in.issuer},  // RFC 8414 §3.3: identical to the issuer the client expects
      {"token_endpoint", base + "/token"},
      {"jwks_uri", base + "/jwks"},
      {"grant_types_supported", in.grant_types},
      {"token_endpoint_auth_methods_supported", auth_methods},
      // No authorization endpoint yet, so no response type is offered (RFC 8414 §2 requires
      // the member; an empty list is the truth). docs/oauth.md lists what comes next.
      {"response_types_supported", json::Json::array()},
      // RFC 9068 JWT access tokens are signed with this algorithm (JWKS at jwks_uri).
      {"access_token_signing_alg_values_supported", {jose::to_string(in.signing_alg)}},
  };
  if (!in.scopes_supported.empty()) m["scopes_supported"] = in.scopes_supported;
  return m;
}

}  // namespace tessera::oauth
