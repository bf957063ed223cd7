// OpenID Connect Client-Initiated Backchannel Authentication Flow - Core 1.0 (CIBA), poll mode:
// a client that knows who the user is (login_hint, id_token_hint) asks the server to reach them
// out of band; the user approves on a page of this server; the client polls the token endpoint
// with the auth_req_id.
//
// A CIBA request is stored as a device authorization (oauth/device.h) naming its user: the user
// approves it on the device pages (/device?user_code=...), where only that user may sign in to
// decide, and the token side is the device grant's code with CIBA's grant type and parameter.
// How the user hears of it is pluggable (CibaNotifier); the default keeps the request in a
// per-process inbox the user sees at /ciba when signed in.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "http/message.h"
#include "identity/login_throttle.h"
#include "oauth/client_auth.h"
#include "oauth/keys.h"
#include "store/grant_store.h"
#include "store/user_store.h"

namespace tessera::oauth {

// CIBA §10.1: the grant type of the token request.
inline constexpr std::string_view kCibaGrantType = "urn:openid:params:grant-type:ciba";

// CIBA §7.1 binding_message: "relatively short"; here at most this many characters.
inline constexpr size_t kMaxBindingMessage = 64;

// What the user must hear of: who asks, what both devices show, and where to decide.
struct CibaNotification {
  std::string user_id;
  std::string client_id;
  std::string binding_message;  // empty: none given
  std::string approval_uri;     // the device page with the request's code
  std::string user_code;        // formatted, as the page shows it
  int64_t expires_at = 0;
};
using CibaNotifier = std::function<void(const CibaNotification&)>;

// The default way to reach the user: notifications kept in memory per user until they expire,
// at most kPerUser per user and kTotal in all (the oldest go first), listed at /ciba.
class CibaInbox {
 public:
  static constexpr size_t kPerUser = 20;
  static constexpr size_t kTotal = 10'000;

  explicit CibaInbox(const Clock& clock) : clock_(clock) {}
  void add(CibaNotification notification);
  // The user's unexpired notifications, newest first.
  std::vector<CibaNotification> pending(std::string_view user_id) const;

 private:
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<CibaNotification>, std::less<>> by_user_;
  size_t total_ = 0;
};

struct CibaOptions {
  std::string issuer;
  int64_t lifetime = 600;  // §7.3 expires_in, and the most requested_expiry may ask for
  int64_t interval = 5;    // §7.3 interval: seconds between polls
};

class BackchannelAuthenticationEndpoint {
 public:
  // `notify` empty: nobody is told (tests that approve by the code).
  BackchannelAuthenticationEndpoint(CibaOptions options, const ClientAuthenticator& clients,
                                    store::GrantStore& grants, store::UserStore& users,
                                    const SigningKeys& keys, CibaNotifier notify,
                                    const Clock& clock);
  ~BackchannelAuthenticationEndpoint();

  // POST /bc-authorize (CIBA §7.1): a confidential client allowed the CIBA grant authenticates
  // as at the token endpoint; scope with openid; exactly one of login_hint (a username) and
  // id_token_hint (an ID token of ours; login_hint_token is not supported); binding_message,
  // requested_expiry, acr_values and resource optional. 200 {auth_req_id, expires_in, interval}
  // (§7.3); errors as §13: invalid_request, invalid_scope, unknown_user_id,
  // invalid_binding_message, unauthorized_client, invalid_client, invalid_authorization_details
  // (RFC 6749 §5.2 shape). Prompts of one client to one user are throttled as logins are
  // (identity/login_throttle.h): after 20 within 15 minutes, 429 temporarily_unavailable with
  // Retry-After for 60 seconds, doubling with each further prompt in the window up to 15
  // minutes, so no client can flood a user with prompts, nor lock the user away from others.
  http::Response handle(const http::Request& request) const;

 private:
  CibaOptions options_;
  const ClientAuthenticator& clients_;
  store::GrantStore& grants_;
  store::UserStore& users_;
  const SigningKeys& keys_;
  CibaNotifier notify_;
  const Clock& clock_;
  std::unique_ptr<identity::LoginThrottle> prompts_;
};

}  // namespace tessera::oauth
