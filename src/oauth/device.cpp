#include "oauth/device.h"

#include <algorithm>
#include <cctype>

#include "core/crypto.h"
#include "core/json.h"
#include "oauth/discovery.h"
#include "oauth/resource_indicator.h"
#include "oauth/scope.h"
#include "oauth/token_endpoint.h"
#include "oauth/tokens.h"

namespace tessera::oauth {
namespace {

// RFC 8628 §6.1: no vowels (no words spelt by accident), none of the letters easily confused.
constexpr std::string_view kUserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ";
constexpr size_t kUserCodeLength = 8;
constexpr int kUserCodeAttempts = 8;  // draws on a user-code collision before giving up

}  // namespace

std::string generate_user_code() {
  // 256 is not a multiple of 20: bytes at or above 240 are drawn again, so every letter is
  // equally likely.
  std::string code;
  while (code.size() < kUserCodeLength) {
    for (unsigned char byte : crypto::random_bytes(16)) {
      if (byte >= 240 || code.size() == kUserCodeLength) continue;
      code.push_back(kUserCodeAlphabet[byte % kUserCodeAlphabet.size()]);
    }
  }
  return code;
}

std::optional<std::string> normalize_user_code(std::string_view typed) {
  if (typed.size() > 32) return std::nullopt;
  std::string code;
  for (char ch : typed) {
    if (ch == '-' || ch == ' ') continue;
    const char upper = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (kUserCodeAlphabet.find(upper) == std::string_view::npos) return std::nullopt;
    code.push_back(upper);
  }
  if (code.size() != kUserCodeLength) return std::nullopt;
  return code;
}

std::string format_user_code(std::string_view code) {
  if (code.size() != kUserCodeLength) return std::string(code);
  return std::string(code.substr(0, 4)) + "-" + std::string(code.substr(4));
}

std::string DeviceRequest::to_json() const {
  json::Json j = {{"scopes", scopes}, {"audiences", audiences}};
  if (subject) j["subject"] = *subject;
  if (binding_message) j["binding_message"] = *binding_message;
  if (!acr_values.empty()) j["acr_values"] = acr_values;
  return j.dump();
}

std::optional<DeviceRequest> DeviceRequest::from_json(std::string_view text) {
  auto parsed = json::parse_strict(text);
  if (!parsed || !parsed->is_object()) return std::nullopt;
  try {
    DeviceRequest r{parsed->at("scopes").get<std::vector<std::string>>(),
                    parsed->at("audiences").get<std::vector<std::string>>()};
    if (parsed->contains("subject")) r.subject = parsed->at("subject").get<std::string>();
    if (parsed->contains("binding_message")) {
      r.binding_message = parsed->at("binding_message").get<std::string>();
    }
    if (parsed->contains("acr_values")) {
      r.acr_values = parsed->at("acr_values").get<std::vector<std::string>>();
    }
    return r;
  } catch (const json::Json::exception&) {
    return std::nullopt;
  }
}

std::optional<OAuthError> store_with_user_code(store::GrantStore& grants,
                                               store::DeviceAuthorization& device) {
  for (int attempt = 0; attempt < kUserCodeAttempts; ++attempt) {
    device.user_code = generate_user_code();
    auto created = grants.create_device_authorization(device);
    if (created) return std::nullopt;
    if (created.error().code != store::StoreError::Code::kConflict) {
      return OAuthError{503, "temporarily_unavailable", "the store is unavailable"};
    }
  }
  return OAuthError{503, "temporarily_unavailable", "no free user code; try again"};
}

DeviceAuthorizationEndpoint::DeviceAuthorizationEndpoint(DeviceOptions options,
                                                         const ClientAuthenticator& clients,
                                                         store::GrantStore& grants,
                                                         const Clock& clock)
    : options_(std::move(options)),
      clients_(clients),
      grants_(grants),
      clock_(clock),
      starts_(std::make_unique<identity::LoginThrottle>(clock)) {}

http::Response DeviceAuthorizationEndpoint::handle(const http::Request& request) const {
  const std::string address = identity::throttle_address(request.peer_address());
  if (auto wait = starts_->retry_after("", address)) {
    http::Response r = OAuthError{429, "temporarily_unavailable",
                                  "too many device authorizations from this address; try later"}
                           .to_response();
    r.headers.set("Retry-After", std::to_string(*wait));
    return r;
  }
  auto form = read_form(request);
  if (!form) return form.error().to_response();
  // RFC 8628 §3.1: the client authenticates as at the token endpoint (RFC 6749 §2.3), or names
  // itself with client_id when public.
  auto authenticated = clients_.authenticate(request, *form);
  if (!authenticated) return authenticated.error().to_response();
  const store::Client& client = *authenticated->client;
  const auto& allowed = client.grant_types;
  if (std::find(allowed.begin(), allowed.end(), kDeviceCodeGrantType) == allowed.end()) {
    return OAuthError::unauthorized_client("the client may not use the device authorization grant")
        .to_response();
  }
  // RFC 9396 §3 allows authorization_details here; they are not carried to the approval yet, and
  // dropping them could grant more than asked, so they are refused.
  if (auto details = form->get("authorization_details"); details && !details->empty()) {
    return OAuthError::invalid_authorization_details(
               "authorization_details are not supported with the device grant")
        .to_response();
  }
  auto scopes = grant_scopes(form->get("scope"), client.scopes);
  if (!scopes) return scopes.error().to_response();
  // RFC 8707 §2: resources within the client's audiences; none: decided with the grant, as at
  // /authorize (the client's audiences, else the issuer for UserInfo).
  std::vector<std::string> audiences;
  if (form->get("resource")) {
    auto asked = grant_audiences(*form, client.audiences);
    if (!asked) return asked.error().to_response();
    audiences = std::move(*asked);
  }

  const int64_t now = clock_.now();
  const std::string device_code = crypto::random_token(32);
  store::DeviceAuthorization device;
  device.device_code_sha256 = token_hash(device_code);
  device.client_id = client.client_id;
  device.params_json = DeviceRequest{std::move(*scopes), std::move(audiences)}.to_json();
  device.interval = options_.interval;
  device.expires_at = now + options_.lifetime;
  if (auto refused = store_with_user_code(grants_, device)) return refused->to_response();
  starts_->record_failure("", address);  // counts toward the address's budget
  const std::string verification_uri = endpoint_url(options_.issuer, "/device");
  const std::string shown = format_user_code(device.user_code);
  // §3.2.
  http::Response r = http::Response::json(
      200, {{"device_code", device_code},
            {"user_code", shown},
            {"verification_uri", verification_uri},
            {"verification_uri_complete", verification_uri + "?user_code=" + shown},
            {"expires_in", options_.lifetime},
            {"interval", options_.interval}});
  r.headers.set("Cache-Control", "no-store");
  return r;
}

}  // namespace tessera::oauth
