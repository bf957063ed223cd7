// The device authorization grant (RFC 8628): the device authorization endpoint (§3.1, §3.2),
// user codes (§6.1), and what the verification page and the token endpoint share. The page
// itself is the authorization endpoint's (/device, AuthorizeEndpoint), so sign-in, second factor
// and consent are the same pages as the code flow's; the token side is grants/device_code.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "http/message.h"
#include "identity/login_throttle.h"
#include "oauth/client_auth.h"
#include "oauth/error.h"
#include "store/grant_store.h"

namespace tessera::oauth {

// RFC 8628 §3.4: the grant type of the device access token request.
inline constexpr std::string_view kDeviceCodeGrantType =
    "urn:ietf:params:oauth:grant-type:device_code";

// §6.1: eight characters of the base-20 consonant alphabet (34.5 bits), shown as "BCDF-GHJK".
std::string generate_user_code();
// What the user typed, case and punctuation ignored (§6.1: "-", spaces); nullopt when it cannot
// be a user code.
std::optional<std::string> normalize_user_code(std::string_view typed);
// "BCDFGHJK" -> "BCDF-GHJK".
std::string format_user_code(std::string_view code);

// What a device authorization asked for, stored with it (DeviceAuthorization::params_json). A
// CIBA request (oauth/ciba.h) is stored the same way, with the user it names: the user approves
// it on the same pages, and the client polls for it the same way.
struct DeviceRequest {
  std::vector<std::string> scopes;
  std::vector<std::string> audiences;  // RFC 8707 resources; empty: the client's default
  // CIBA §7.1: the user the hint named (only they may approve), the binding message both devices
  // show, the acr values asked for. subject set: a backchannel authentication request.
  std::optional<std::string> subject{};
  std::optional<std::string> binding_message{};
  std::vector<std::string> acr_values{};

  bool backchannel() const { return subject.has_value(); }
  std::string to_json() const;
  static std::optional<DeviceRequest> from_json(std::string_view text);
};

// Stores `device` under a freshly drawn user code (§6.1), drawing again on the rare collision
// with a live one; the code is left in device.user_code. An error ready to answer (503
// temporarily_unavailable) when the store fails or no free code is found.
std::optional<OAuthError> store_with_user_code(store::GrantStore& grants,
                                               store::DeviceAuthorization& device);

struct DeviceOptions {
  std::string issuer;
  int64_t lifetime = 600;  // §3.2 expires_in: seconds a device code lives
  int64_t interval = 5;    // §3.2 interval: seconds between polls (the RFC's default)
};

class DeviceAuthorizationEndpoint {
 public:
  DeviceAuthorizationEndpoint(DeviceOptions options, const ClientAuthenticator& clients,
                              store::GrantStore& grants, const Clock& clock);

  // POST /device_authorization (§3.1): client authentication as at the token endpoint (a public
  // client sends client_id), scope and resource. 200 with device_code, user_code,
  // verification_uri, verification_uri_complete, expires_in and interval (§3.2); errors as the
  // token endpoint's (RFC 6749 §5.2): invalid_client, unauthorized_client (the client may not
  // use the grant), invalid_scope, invalid_target, invalid_request. Each address (IPv6 per /64)
  // starts at most 50 device authorizations in 15 minutes (the login throttle's address budget,
  // identity/login_throttle.h); beyond: 429 temporarily_unavailable with Retry-After, so one
  // caller cannot fill the store.
  http::Response handle(const http::Request& request) const;

 private:
  DeviceOptions options_;
  const ClientAuthenticator& clients_;
  store::GrantStore& grants_;
  const Clock& clock_;
  std::unique_ptr<identity::LoginThrottle> starts_;
};

}  // namespace tessera::oauth
