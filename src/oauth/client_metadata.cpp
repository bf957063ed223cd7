#include "oauth/client_metadata.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "core/space_list.h"
#include "oauth/ciba.h"
#include "oauth/device.h"
#include "oauth/jwt_bearer.h"
#include "oauth/scope.h"

namespace tessera::oauth {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

const std::vector<std::string_view>& known_grant_types() {
  static const std::vector<std::string_view> kGrantTypes = {
      "authorization_code", "refresh_token",     "client_credentials", kTokenExchangeGrantType,
      kDeviceCodeGrantType, kJwtBearerGrantType, kCibaGrantType};
  return kGrantTypes;
}

bool is_known_grant_type(std::string_view grant_type) {
  const auto& known = known_grant_types();
  return std::find(known.begin(), known.end(), grant_type) != known.end();
}

std::optional<std::string> redirect_uri_problem(const std::string& uri) {
  if (uri.empty() || uri.size() > 2000) return "must be 1 to 2000 characters";
  for (const char c : uri) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return "must not contain spaces, control or non-ASCII characters";
    }
  }
  if (uri.find('#') != std::string::npos) return "must not contain a fragment (RFC 6749 §3.1.2)";
  // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
  const size_t colon = uri.find(':');
  if (colon == std::string::npos || colon == 0 || std::isalpha(uri[0]) == 0) {
    return "must be an absolute URI (RFC 6749 §3.1.2)";
  }
  for (size_t i = 0; i < colon; ++i) {
    const char c = uri[i];
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '+' && c != '-' && c != '.') {
      return "must be an absolute URI (RFC 6749 §3.1.2)";
    }
  }
  const std::string scheme = lower(uri.substr(0, colon));
  const std::string rest = uri.substr(colon + 1);
  if (scheme == "http" || scheme == "https") {
    if (!rest.starts_with("//")) return "must have an authority (scheme://host/...)";
    const std::string authority = rest.substr(2, rest.find_first_of("/?", 2) - 2);
    if (authority.find('@') != std::string::npos) return "must not contain user information";
    std::string host = authority.front() == '[' ? authority.substr(0, authority.find(']') + 1)
                                                : authority.substr(0, authority.find(':'));
    if (host.empty()) return "must name a host";
    if (scheme == "https") return std::nullopt;
    host = lower(host);
    if (host == "127.0.0.1" || host == "[::1]" || host == "localhost") return std::nullopt;
    return "must use https; http is only for loopback hosts 127.0.0.1, [::1] and localhost "
           "(RFC 9700 §4.1.1, RFC 8252 §7.3)";
  }
  if (scheme.find('.') == std::string::npos) {
    return "a private-use scheme must be a reverse domain name such as com.example.app "
           "(RFC 8252 §7.1)";
  }
  if (rest.empty()) return "must have a path after the scheme";
  return std::nullopt;
}

std::optional<std::string> logout_uri_problem(const std::string& uri) {
  if (!uri.starts_with("https://") && !uri.starts_with("http://")) {
    return "must be an https URL (http only for loopback hosts)";
  }
  return redirect_uri_problem(uri);
}

std::optional<std::string> client_keys_problem(const jose::Jwks& jwks) {
  if (jwks.keys().empty()) return "holds no keys";
  for (const jose::Jwk& key : jwks.keys()) {
    if (key.kty() == jose::KeyType::kOct) return "symmetric (oct) keys are not accepted";
    if (key.is_private()) return "holds a private key; register public keys only";
  }
  return std::nullopt;
}

std::optional<std::string> canonical_ip(const std::string& text) {
  unsigned char raw[16];
  char out[INET6_ADDRSTRLEN] = {};
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, text.c_str(), raw) == 1 && inet_ntop(family, raw, out, sizeof(out))) {
      return std::string(out);
    }
  }
  return std::nullopt;
}

bool uses_secret(store::ClientAuthMethod method) {
  return method == store::ClientAuthMethod::kClientSecretBasic ||
         method == store::ClientAuthMethod::kClientSecretPost;
}

std::optional<std::string> client_consistency_problem(const store::Client& c) {
  if (c.type == store::ClientType::kPublic && c.auth_method != store::ClientAuthMethod::kNone) {
    return "a public client cannot authenticate: its token_endpoint_auth_method is none "
           "(RFC 6749 §2.1)";
  }
  if (c.type == store::ClientType::kConfidential &&
      c.auth_method == store::ClientAuthMethod::kNone) {
    return "a confidential client must authenticate (RFC 6749 §2.3.1): use "
           "client_secret_basic, client_secret_post, private_key_jwt, tls_client_auth or "
           "self_signed_tls_client_auth";
  }
  if (c.grant_types.empty()) return "a client needs at least one grant type";
  if (list_contains(c.grant_types, "client_credentials") && c.type == store::ClientType::kPublic) {
    return "client_credentials is for confidential clients only (RFC 6749 §4.4)";
  }
  if (list_contains(c.grant_types, kCibaGrantType) && c.type == store::ClientType::kPublic) {
    return "the CIBA grant is for confidential clients only (CIBA §7.1 authenticates them)";
  }
  // RFC 9700 §2.1 / OAuth 2.1 §2.3.1: redirect URIs are registered, exactly, for the code flow.
  if (list_contains(c.grant_types, "authorization_code") && c.redirect_uris.empty()) {
    return "authorization_code needs at least one redirect URI";
  }
  return std::nullopt;
}

json::Json client_metadata_json(const store::Client& c) {
  json::Json out = {
      {"client_id", c.client_id},
      {"client_id_issued_at", c.created_at},
      {"token_endpoint_auth_method", store::to_string(c.auth_method)},
      {"grant_types", c.grant_types},
      {"redirect_uris", c.redirect_uris},
      {"post_logout_redirect_uris", c.post_logout_redirect_uris},
      {"scope", join_scope(c.scopes)},
      {"dpop_bound_access_tokens", c.dpop_bound_access_tokens},
      {"require_pushed_authorization_requests", c.require_pushed_authorization_requests},
      {"tls_client_certificate_bound_access_tokens", c.tls_client_certificate_bound_access_tokens},
      {"require_signed_request_object", c.require_signed_request_object},
      {"backchannel_logout_session_required", c.backchannel_logout_session_required},
      {"frontchannel_logout_session_required", c.frontchannel_logout_session_required}};
  if (!c.backchannel_logout_uri.empty()) out["backchannel_logout_uri"] = c.backchannel_logout_uri;
  if (!c.frontchannel_logout_uri.empty()) {
    out["frontchannel_logout_uri"] = c.frontchannel_logout_uri;
  }
  if (!c.authorization_details_types.empty()) {
    out["authorization_details_types"] = c.authorization_details_types;  // RFC 9396 §10.2
  }
  // RFC 7591 §2.1: the response types that go with the grant types.
  out["response_types"] = list_contains(c.grant_types, "authorization_code")
                              ? json::Json::array({"code"})
                              : json::Json::array();
  if (c.tls_client_auth_name) {
    out[std::string(store::metadata_name(c.tls_client_auth_name->type))] =
        c.tls_client_auth_name->value;
  }
  if (c.jwks_json) {
    auto jwks = json::parse_strict(*c.jwks_json);
    out["jwks"] = jwks ? *jwks : json::Json();
  }
  if (!c.jwks_uri.empty()) out["jwks_uri"] = c.jwks_uri;
  // RFC 7591 §2 human-readable metadata.
  for (const auto& [name, field] : store::kDisplayStrings) {
    if (!(c.*field).empty()) out[std::string(name)] = c.*field;
  }
  if (!c.contacts.empty()) out["contacts"] = c.contacts;
  return out;
}

}  // namespace tessera::oauth
