#include "oauth/authorize_request.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "core/base64url.h"
#include "core/crypto.h"
#include "core/space_list.h"
#include "oauth/scope.h"

namespace tessera::oauth {
namespace {

constexpr size_t kMaxParameters = 64;
constexpr size_t kMaxValueLength = 4096;  // state, nonce, login_hint, ...

// RFC 3986 §2.3 unreserved.
bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// application/x-www-form-urlencoded serialisation of one value (WHATWG URL §5.2).
void append_encoded(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : value) {
    if (is_unreserved(c)) {
      out.push_back(c);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
}

std::vector<std::string> split_spaces(std::string_view text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find(' ', at);
    if (end == std::string_view::npos) end = text.size();
    if (end > at) out.emplace_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

// RFC 8707 §2: an absolute URI without a fragment; logical names are also accepted by
// grant_audiences at the token endpoint. Here: one of the client's audiences.
std::optional<AuthorizeRedirectError> check_resources(const http::Params& params,
                                                      const store::Client& client,
                                                      std::vector<std::string>& out) {
  for (const auto& [name, value] : params) {
    if (name != "resource") continue;
    if (value.empty() || value.find('#') != std::string::npos) {
      return AuthorizeRedirectError{"invalid_target", "resource must be an absolute URI"};
    }
    if (!list_contains(client.audiences, value)) {
      return AuthorizeRedirectError{"invalid_target",
                                    "the client may not ask for resource " + value};
    }
    if (!list_contains(out, value)) out.push_back(value);
  }
  return std::nullopt;
}

// RFC 9396 §3: authorization_details, JSON in the parameter. Asking for them asks the user:
// the consent page shows them every time (§4), so prompt gains consent.
std::optional<AuthorizeRedirectError> check_details(std::string_view text,
                                                    const store::Client& client,
                                                    const AuthorizationDetailsTypes& types,
                                                    AuthorizationRequest& r) {
  auto details = types.parse(text, client.authorization_details_types);
  if (!details) return AuthorizeRedirectError{"invalid_authorization_details", details.error()};
  r.authorization_details = std::move(*details);
  if (!r.has_prompt("none") && !r.has_prompt("consent")) r.prompt.emplace_back("consent");
  return std::nullopt;
}

std::optional<AuthorizeRedirectError> parse_rest(const http::Params& params,
                                                 const store::Client& client,
                                                 const AuthorizationDetailsTypes& details_types,
                                                 AuthorizationRequest& r) {
  using E = AuthorizeRedirectError;
  // RFC 6749 §4.1.2.1: state goes back with every error, so it is read before anything can fail.
  if (auto state = params.get("state");
      state && !state->empty() && params.count("state") == 1 && state->size() <= kMaxValueLength) {
    r.state = std::string(*state);
  }
  // RFC 6749 §3.1: parameters sent without a value are treated as omitted; none may repeat
  // (resource may, RFC 8707 §2).
  for (auto it = params.begin(); it != params.end(); ++it) {
    // authorization_details has its own limit and error (RFC 9396 §5), in check_details.
    if (it->first != "authorization_details" && it->second.size() > kMaxValueLength) {
      return E{"invalid_request", "parameter " + it->first + " is too long"};
    }
    if (it->first == "resource") continue;
    for (auto later = it + 1; later != params.end(); ++later) {
      if (later->first == it->first) {
        return E{"invalid_request", "parameter " + it->first + " repeated"};
      }
    }
  }
  auto get = [&](std::string_view name) -> std::optional<std::string> {
    auto v = params.get(name);
    if (!v || v->empty()) return std::nullopt;
    return std::string(*v);
  };
  r.nonce = get("nonce");
  // OpenID Core §3.1.2.6: request objects are not supported by this build.
  if (get("request")) return E{"request_not_supported", "request objects are not supported"};
  if (get("request_uri")) {
    return E{"request_uri_not_supported", "request_uri is not supported"};
  }
  if (get("registration")) {
    return E{"registration_not_supported", "the registration parameter is not supported"};
  }
  // response_mode first: an error must go back the way the client asked (OAuth 2.0 Multiple
  // Response Type Encoding Practices §2.1). Query and form_post are offered, plain or as JARM
  // JWTs; fragment belongs to the implicit flows OAuth 2.1 removes.
  if (auto mode = get("response_mode")) {
    auto parsed = parse_response_mode(*mode);
    if (!parsed) {
      return E{"invalid_request",
               "response_mode must be query, form_post, jwt, query.jwt or form_post.jwt"};
    }
    r.response_mode = *parsed;
  }
  auto response_type = get("response_type");
  if (!response_type) return E{"invalid_request", "response_type is missing"};
  // OAuth 2.1 §4.1.1: only "code"; token and id_token (implicit, hybrid) are not offered.
  if (*response_type != "code") {
    return E{"unsupported_response_type", "only response_type=code is supported"};
  }
  if (!list_contains(client.grant_types, "authorization_code")) {
    return E{"unauthorized_client", "the client may not use the authorization code grant"};
  }
  // RFC 6749 §3.3 scope; omitted: the client's default (its allow-list).
  std::optional<std::string_view> scope_param;
  auto scope_value = get("scope");
  if (scope_value) scope_param = *scope_value;
  auto scopes = grant_scopes(scope_param, client.scopes);
  if (!scopes) return E{"invalid_scope", scopes.error().description};
  r.scopes = std::move(*scopes);
  // RFC 7636 §4.4.1 / OAuth 2.1 §4.1.1: PKCE is required of every client, S256 only.
  auto challenge = get("code_challenge");
  if (!challenge) return E{"invalid_request", "code_challenge is required (PKCE, S256)"};
  auto method = get("code_challenge_method");
  if (!method || *method != "S256") {
    return E{"invalid_request", "code_challenge_method must be S256; plain is refused"};
  }
  // S256 challenges are base64url of 32 bytes: 43 characters.
  auto challenge_bytes = base64url::decode(*challenge);
  if (!challenge_bytes || challenge_bytes->size() != 32) {
    return E{"invalid_request", "code_challenge is not a base64url SHA-256"};
  }
  r.code_challenge = *challenge;
  // RFC 9449 §10: dpop_jkt binds the code to a DPoP key, a JWK SHA-256 thumbprint (RFC 7638),
  // base64url of 32 bytes.
  if (auto jkt = get("dpop_jkt")) {
    auto jkt_bytes = base64url::decode(*jkt);
    if (!jkt_bytes || jkt_bytes->size() != 32 || jkt->size() != 43) {
      return E{"invalid_request", "dpop_jkt is not a base64url SHA-256 JWK thumbprint"};
    }
    r.dpop_jkt = *jkt;
  }
  // OpenID Core §3.1.2.1 prompt: space-separated; none may not be combined.
  if (auto prompt = get("prompt")) {
    r.prompt = split_spaces(*prompt);
    for (const std::string& p : r.prompt) {
      if (p != "none" && p != "login" && p != "consent" && p != "select_account") {
        return E{"invalid_request", "unknown prompt value " + p};
      }
    }
    if (r.has_prompt("none") && r.prompt.size() > 1) {
      return E{"invalid_request", "prompt=none cannot be combined with other values"};
    }
  }
  if (auto max_age = params.get("max_age"); max_age && !max_age->empty()) {
    const std::string_view text = *max_age;
    int64_t value = -1;
    const char* last = text.data() + text.size();
    auto [end, ec] = std::from_chars(text.data(), last, value);
    if (ec != std::errc() || end != last || value < 0) {
      return E{"invalid_request", "max_age must be a non-negative integer"};
    }
    r.max_age = value;
  }
  r.login_hint = get("login_hint");
  if (auto acr = get("acr_values")) r.acr_values = split_spaces(*acr);
  if (auto err = check_resources(params, client, r.audiences)) return err;
  if (auto details = get("authorization_details")) {
    if (auto err = check_details(*details, client, details_types, r)) return err;
  }
  // OpenID Core §3.1.2.1: nonce is optional for the code flow; kept when given.
  return std::nullopt;
}

}  // namespace

bool AuthorizationRequest::openid() const { return list_contains(scopes, "openid"); }

bool AuthorizationRequest::has_prompt(std::string_view value) const {
  return list_contains(prompt, value);
}

std::string_view to_string(ResponseMode mode) {
  switch (mode) {
    case ResponseMode::kQuery:
      return "query";
    case ResponseMode::kFormPost:
      return "form_post";
    case ResponseMode::kQueryJwt:
      return "query.jwt";
    case ResponseMode::kFormPostJwt:
      return "form_post.jwt";
  }
  return "query";
}

std::optional<ResponseMode> parse_response_mode(std::string_view text) {
  if (text == "query") return ResponseMode::kQuery;
  if (text == "form_post") return ResponseMode::kFormPost;
  // JARM §2.3.4: "jwt" is the response type's default mode, query.jwt for code.
  if (text == "query.jwt" || text == "jwt") return ResponseMode::kQueryJwt;
  if (text == "form_post.jwt") return ResponseMode::kFormPostJwt;
  return std::nullopt;
}

json::Json AuthorizationRequest::to_json() const {
  json::Json j = {
      {"client_id", client_id},
      {"redirect_uri", redirect_uri},
      {"redirect_uri_given", redirect_uri_given},
      {"scopes", scopes},
      {"audiences", audiences},
      {"code_challenge", code_challenge},
      {"response_mode", to_string(response_mode)},
      {"prompt", prompt},
      {"acr_values", acr_values},
      {"issued_at", issued_at},
  };
  if (state) j["state"] = *state;
  if (nonce) j["nonce"] = *nonce;
  if (max_age) j["max_age"] = *max_age;
  if (login_hint) j["login_hint"] = *login_hint;
  if (dpop_jkt) j["dpop_jkt"] = *dpop_jkt;
  if (hint_subject) j["hint_subject"] = *hint_subject;
  if (fresh_login) j["fresh_login"] = true;
  if (device_code_hash) j["device_code_hash"] = *device_code_hash;
  if (device_user_code) j["device_user_code"] = *device_user_code;
  if (!authorization_details.is_null()) j["authorization_details"] = authorization_details;
  if (backchannel) j["backchannel"] = true;
  if (binding_message) j["binding_message"] = *binding_message;
  return j;
}

std::optional<AuthorizationRequest> AuthorizationRequest::from_json(const json::Json& j) {
  try {
    AuthorizationRequest r;
    r.client_id = j.at("client_id").get<std::string>();
    r.redirect_uri = j.at("redirect_uri").get<std::string>();
    r.redirect_uri_given = j.at("redirect_uri_given").get<bool>();
    r.scopes = j.at("scopes").get<std::vector<std::string>>();
    r.audiences = j.at("audiences").get<std::vector<std::string>>();
    r.code_challenge = j.at("code_challenge").get<std::string>();
    r.response_mode = parse_response_mode(j.at("response_mode").get<std::string>())
                          .value_or(ResponseMode::kQuery);
    r.prompt = j.at("prompt").get<std::vector<std::string>>();
    r.acr_values = j.at("acr_values").get<std::vector<std::string>>();
    r.issued_at = j.at("issued_at").get<int64_t>();
    if (j.contains("state")) r.state = j.at("state").get<std::string>();
    if (j.contains("nonce")) r.nonce = j.at("nonce").get<std::string>();
    if (j.contains("max_age")) r.max_age = j.at("max_age").get<int64_t>();
    if (j.contains("login_hint")) r.login_hint = j.at("login_hint").get<std::string>();
    if (j.contains("dpop_jkt")) r.dpop_jkt = j.at("dpop_jkt").get<std::string>();
    if (j.contains("hint_subject")) r.hint_subject = j.at("hint_subject").get<std::string>();
    r.fresh_login = j.value("fresh_login", false);
    if (j.contains("device_code_hash")) {
      r.device_code_hash = j.at("device_code_hash").get<std::string>();
    }
    if (j.contains("device_user_code")) {
      r.device_user_code = j.at("device_user_code").get<std::string>();
    }
    if (auto details = j.find("authorization_details"); details != j.end()) {
      r.authorization_details = *details;
    }
    r.backchannel = j.value("backchannel", false);
    if (j.contains("binding_message")) {
      r.binding_message = j.at("binding_message").get<std::string>();
    }
    return r;
  } catch (const json::Json::exception&) {
    return std::nullopt;
  }
}

Result<ParsedAuthorization, AuthorizeFatal> parse_authorization_request(
    const http::Params& params, const store::Client* client, int64_t now,
    const AuthorizationDetailsTypes& details_types) {
  if (params.size() > kMaxParameters) {
    return Err(AuthorizeFatal{"invalid_request", "too many parameters"});
  }
  if (params.count("client_id") > 1 || params.count("redirect_uri") > 1) {
    return Err(AuthorizeFatal{"invalid_request", "client_id or redirect_uri repeated"});
  }
  auto client_id = params.get("client_id");
  if (!client_id || client_id->empty()) {
    return Err(AuthorizeFatal{"invalid_request", "client_id is missing"});
  }
  if (client == nullptr) return Err(AuthorizeFatal{"invalid_client", "unknown client"});
  ParsedAuthorization parsed;
  AuthorizationRequest& r = parsed.request;
  r.client_id = client->client_id;
  r.issued_at = now;
  // RFC 9700 §4.1.1 / OAuth 2.1 §2.3.1: exact string comparison with a registered URI.
  auto redirect_uri = params.get("redirect_uri");
  if (redirect_uri && !redirect_uri->empty()) {
    if (!redirect_uri_registered(client->redirect_uris, *redirect_uri)) {
      return Err(AuthorizeFatal{"invalid_request", "redirect_uri is not registered"});
    }
    r.redirect_uri = std::string(*redirect_uri);
    r.redirect_uri_given = true;
  } else if (client->redirect_uris.size() == 1) {
    // OAuth 2.1 §2.3.2: may be omitted when exactly one is registered (OpenID requires it;
    // checked below once the scope is known).
    r.redirect_uri = client->redirect_uris.front();
  } else {
    return Err(AuthorizeFatal{"invalid_request", "redirect_uri is missing"});
  }
  parsed.error = parse_rest(params, *client, details_types, r);
  // OpenID Core §3.1.2.1: redirect_uri is REQUIRED in an OpenID request.
  if (!parsed.error && r.openid() && !r.redirect_uri_given) {
    parsed.error = AuthorizeRedirectError{"invalid_request", "redirect_uri is required"};
  }
  return parsed;
}

namespace {

// A loopback redirect URI split around its port: "http://127.0.0.1" + ":8123" + "/cb?x".
struct LoopbackUri {
  std::string_view origin;  // scheme and host
  std::string_view rest;    // path, query
};

std::optional<LoopbackUri> split_loopback(std::string_view uri) {
  for (std::string_view origin : {"http://127.0.0.1", "http://[::1]"}) {
    if (!uri.starts_with(origin)) continue;
    std::string_view rest = uri.substr(origin.size());
    if (rest.starts_with(':')) {
      // RFC 3986 §3.2.3 port; a listening app's is 1-65535.
      unsigned port = 0;
      const char* first = rest.data() + 1;
      const char* last = rest.data() + rest.size();
      auto [end, ec] = std::from_chars(first, last, port);
      if (ec != std::errc() || end == first || port == 0 || port > 65535) return std::nullopt;
      rest = rest.substr(static_cast<size_t>(end - rest.data()));
    }
    // The host must end here: "http://127.0.0.1.evil.example/" is not a loopback URI.
    if (!rest.empty() && rest.front() != '/' && rest.front() != '?') return std::nullopt;
    return LoopbackUri{origin, rest};
  }
  return std::nullopt;
}

}  // namespace

bool redirect_uri_registered(const std::vector<std::string>& registered,
                             std::string_view requested) {
  if (list_contains(registered, requested)) return true;
  auto asked = split_loopback(requested);
  if (!asked) return false;
  return std::any_of(registered.begin(), registered.end(), [&](const std::string& r) {
    auto known = split_loopback(r);
    return known && known->origin == asked->origin && known->rest == asked->rest;
  });
}

std::string redirect_with(std::string_view redirect_uri,
                          const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out(redirect_uri);
  char separator = out.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [name, value] : params) {
    out.push_back(separator);
    append_encoded(out, name);
    out.push_back('=');
    append_encoded(out, value);
    separator = '&';
  }
  return out;
}

bool is_valid_code_verifier(std::string_view verifier) {
  return verifier.size() >= 43 && verifier.size() <= 128 &&
         std::all_of(verifier.begin(), verifier.end(), is_unreserved);
}

bool pkce_matches(std::string_view verifier, std::string_view challenge) {
  return crypto::equal_ct(base64url::encode(crypto::sha256(verifier)), challenge);
}

}  // namespace tessera::oauth
