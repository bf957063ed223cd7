// The authorization endpoint (RFC 6749 §3.1, §4.1; OpenID Connect Core §3.1.2) and the pages
// behind it: login, second factor (TOTP), consent. A request travels sealed between the pages
// (oauth/interaction.h); a browser session is created only when a user authenticated, and a
// grant and its code only when everything is settled.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/clock.h"
#include "core/worker_pool.h"
#include "http/message.h"
#include "http/router.h"
#include "identity/authenticator.h"
#include "identity/login_throttle.h"
#include "oauth/authorization_details.h"
#include "oauth/authorize_request.h"
#include "oauth/backchannel_logout.h"
#include "oauth/client_auth.h"
#include "oauth/client_cache.h"
#include "oauth/fapi.h"
#include "oauth/interaction.h"
#include "oauth/keys.h"
#include "store/store.h"

namespace tessera::oauth {

// The authentication levels this server reaches (OpenID Core §2 acr), and the methods behind
// them (RFC 8176 amr values).
inline constexpr std::string_view kAcrPassword = "urn:tessera:acr:pwd";
inline constexpr std::string_view kAcrMfa = "urn:tessera:acr:mfa";

struct AuthorizeOptions {
  std::string issuer;
  int64_t code_lifetime = 60;  // RFC 6749 §4.1.2: "a maximum lifetime of 10 minutes"; 1 minute
  int64_t interaction_lifetime = 600;            // from /authorize to the last page
  int64_t session_lifetime = int64_t{8} * 3600;  // a browser session, absolute
  bool secure_cookies = false;                   // true when the issuer is https
  size_t login_threads = 2;                      // password checks run here, not on I/O threads
  size_t login_queue = 256;                      // logins waiting beyond this answer 503
  bool require_pushed_authorization_requests = false;  // RFC 9126 §5: every client must push
  int64_t response_jwt_lifetime = 300;  // JARM §2.1: exp of a JWT-secured response, seconds
  ProfileOptions profile{};             // FAPI 2.0 (PAR required), RFC 9101 §10.5, server-wide
  AuthorizationDetailsTypes authorization_details_types{};  // RFC 9396; empty: none accepted
};

class AuthorizeEndpoint {
 public:
  // `client_auth` holds the clients' parsed keys, for request objects (RFC 9101).
  AuthorizeEndpoint(AuthorizeOptions options, ClientCache& clients,
                    const ClientAuthenticator& client_auth, store::Store& store,
                    identity::Authenticator& authenticator, const InteractionSealer& sealer,
                    const SigningKeys& keys, SessionEnder& sessions, const Clock& clock);

  // GET and POST {prefix}/authorize, POST {prefix}/login, {prefix}/login/otp, {prefix}/consent.
  void add_routes(http::Router& router, const std::string& prefix);

  http::Response authorize(const http::Request& request) const;
  http::Response login(const http::Request& request) const;
  http::Response otp(const http::Request& request) const;
  http::Response consent(const http::Request& request) const;
  // RFC 8628 §3.3: GET {prefix}/device[?user_code=] shows the code page (verification_uri and
  // verification_uri_complete); POST checks the code and goes on as /authorize does (sign-in,
  // second factor, consent, always asked), ending on a page instead of a redirect.
  http::Response device(const http::Request& request) const;
  // GET {prefix}/account: the signed-in user's sessions and consents (oauth/account.cpp). POST
  // with `sid` ends that session of the user (its grants revoked, its clients told by back-channel
  // logout), with `client_id` withdraws the consent and revokes the user's grants to the client;
  // then 303 back to the page.
  http::Response account(const http::Request& request) const;

  // The live session of the request's cookie, if any (also for end_session); an error when the
  // store cannot tell, which must never read as "signed out".
  Result<std::optional<store::Session>, std::string> current_session(
      const http::Request& request) const;
  const CookieNames& cookies() const { return cookies_; }

 private:
  struct Context;
  struct Flow;
  // What the I/O thread checks before a login goes to the worker pool (prepare_login).
  struct LoginAttempt {
    std::string browser_id;
    http::Params form;
    AuthorizationRequest authz;
    std::shared_ptr<const store::Client> client;
  };

  std::variant<http::Response, LoginAttempt> prepare_login(const http::Request& request) const;
  http::Response finish_login(const http::Request& request, LoginAttempt& attempt) const;

  http::Response proceed(Context& ctx, const Flow& flow) const;
  http::Response issue_code(Context& ctx, const Flow& flow, const store::Session& session) const;
  http::Response redirect_error(Context& ctx, const AuthorizationRequest& request,
                                std::string_view error, std::string_view description) const;
  http::Response respond(Context& ctx, const AuthorizationRequest& request,
                         std::vector<std::pair<std::string, std::string>> params) const;
  http::Response login_page(Context& ctx, const AuthorizationRequest& request,
                            std::optional<std::string> error, int status,
                            std::string_view username = {}) const;
  http::Response otp_page(Context& ctx, const AuthorizationRequest& request,
                          const std::string& user_id, std::optional<std::string> sid,
                          std::optional<std::string> error, int status) const;
  http::Response consent_page(Context& ctx, const Flow& flow) const;
  http::Response device_page(Context& ctx, std::string_view user_code,
                             std::optional<std::string> error, int status) const;
  // The user's decision on a device authorization (`grant` set: approved) and its page.
  http::Response decide_device(Context& ctx, const AuthorizationRequest& request,
                               const std::optional<store::GrantRecord>& grant) const;
  // The grant an approved request creates, for `session`'s user.
  store::GrantRecord new_grant(const Flow& flow, const store::Session& session) const;
  Context start(const http::Request& request) const;
  http::Response error_page(Context& ctx, int status, std::string_view title,
                            std::string_view message) const;
  http::Response finish(Context& ctx, http::Response response) const;
  std::optional<http::Response> check_form(Context& ctx, const http::Request& request,
                                           const http::Params& form) const;
  Result<store::Session, std::string> start_session(Context& ctx, const store::User& user,
                                                    std::string_view acr,
                                                    std::vector<std::string> amr) const;

  AuthorizeOptions options_;
  std::string prefix_;
  ClientCache& clients_;
  const ClientAuthenticator& client_auth_;
  store::Store& store_;
  identity::Authenticator& authenticator_;
  const InteractionSealer& sealer_;
  const SigningKeys& keys_;  // to verify id_token_hint
  SessionEnder& sessions_;
  const Clock& clock_;
  CookieNames cookies_;
  // RFC 8628 §5.1: user-code guesses, per client address.
  std::unique_ptr<identity::LoginThrottle> device_throttle_;
  WorkerPool workers_;  // last: joined first, while everything its jobs use still exists
};

}  // namespace tessera::oauth
