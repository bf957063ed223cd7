// The `as` role assembled: signing keys, the client cache and authenticator, tokens, grants,
// the authorization endpoint with its pages, and every HTTP route of the authorization server.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "http/router.h"
#include "identity/authenticator.h"
#include "identity/login_throttle.h"
#include "jose/jose.h"
#include "oauth/authorization_details.h"
#include "oauth/authorize_endpoint.h"
#include "oauth/backchannel_logout.h"
#include "oauth/ciba.h"
#include "oauth/client_auth.h"
#include "oauth/client_cache.h"
#include "oauth/device.h"
#include "oauth/dpop.h"
#include "oauth/end_session.h"
#include "oauth/fapi.h"
#include "oauth/grant.h"
#include "oauth/interaction.h"
#include "oauth/introspection.h"
#include "oauth/jwt_bearer.h"
#include "oauth/key_refresher.h"
#include "oauth/keys.h"
#include "oauth/par_endpoint.h"
#include "oauth/registration.h"
#include "oauth/revocation.h"
#include "oauth/token_endpoint.h"
#include "oauth/token_resolver.h"
#include "oauth/tokens.h"
#include "oauth/userinfo.h"
#include "store/store.h"

namespace tessera::oauth {

struct AuthorizationServerOptions {
  std::string issuer;  // https URL (http only for loopback), no query or fragment
  jose::Alg signing_alg = jose::Alg::kES256;
  std::string secret_key;                     // seals private signing keys (aead::kKeyBytes)
  std::vector<std::string> scopes_supported;  // advertised in metadata; may be empty
  DpopServerOptions dpop;                     // RFC 9449: proofs, nonces
  // RFC 9126 §5: every client must push its authorization requests (clients can be required
  // one by one too).
  bool require_pushed_authorization_requests = false;
  // FAPI 2.0 Security Profile and RFC 9101 §10.5 require_signed_request_object for every client
  // (oauth/fapi.h); both can be asked of one client alone too. With fapi2, signing_alg must be
  // one of the profile's (ES256, PS256, EdDSA).
  ProfileOptions profile;
  // RFC 8705: clients can present TLS certificates to this server (a listener requests them), so
  // tls_client_auth, self_signed_tls_client_auth and certificate-bound tokens are offered.
  bool mutual_tls = false;
  // A listener accepts certificates of any issuer, so self_signed_tls_client_auth (§2.2) can
  // work; implied by mtls_endpoint_base.
  bool self_signed_certificates = false;
  // RFC 8705 §5: the base URL ("https://mtls.as.example:8443") of a listener that asks for
  // client certificates, where the token, PAR, introspection, revocation and UserInfo endpoints
  // are served too (add_mtls_routes) and advertised as mtls_endpoint_aliases. Empty: none.
  std::string mtls_endpoint_base;
  // RFC 7523 §2.1: the issuers whose assertions the JWT bearer grant takes (the grant is offered
  // only when there is one); issuer and token_endpoint are filled in by the server.
  JwtBearerOptions jwt_bearer;
  // RFC 7591 / RFC 7592: dynamic client registration (issuer, profile and mutual_tls are
  // filled in by the server).
  RegistrationOptions registration;
  // RFC 9396: the authorization details types the server takes, each with its schema; empty:
  // authorization_details are refused wherever they come.
  AuthorizationDetailsTypes authorization_details_types;
  AudiencePolicies audiences;     // per resource server: token format, lifetime
  int64_t client_cache_ttl = 30;  // seconds
  // OpenID Connect Back-Channel Logout: how logout tokens are POSTed; empty: HTTP (tests put a
  // recorder here).
  SessionEnder::Post logout_post;
  // CIBA: how a user hears of a backchannel authentication request; empty: the per-process inbox
  // shown at /ciba.
  CibaNotifier ciba_notify;
  // Signing keys re-read from the store this often (rotations by `tessera key rotate` or by
  // another node); 0 disables the background refresher.
  int64_t key_refresh_seconds = 60;
  std::function<void(std::string_view)> on_background_error;
};

// The signing algorithms an operator may choose (the issue: ES256 default; RS256, PS256, EdDSA).
bool is_supported_signing_alg(jose::Alg alg);

class AuthorizationServer {
 public:
  // Loads or creates the signing key. Errors: unusable secret key, store unavailable.
  static Result<std::unique_ptr<AuthorizationServer>> open(store::Store& store,
                                                           AuthorizationServerOptions options,
                                                           const Clock& clock);
  ~AuthorizationServer();
  AuthorizationServer(const AuthorizationServer&) = delete;
  AuthorizationServer& operator=(const AuthorizationServer&) = delete;

  // Every endpoint under the issuer's path, and both metadata documents.
  void add_routes(http::Router& router);
  // The endpoints clients call with their certificates (RFC 8705 §5 mtls_endpoint_aliases),
  // under the path of options.mtls_endpoint_base: for the listener that asks for them.
  void add_mtls_routes(http::Router& router);

  SigningKeys& signing_keys() { return *keys_; }
  SessionEnder& sessions() { return *session_ender_; }
  ClientCache& clients() { return *clients_; }
  const json::Json& metadata() const { return metadata_; }
  // What decides whether a token this server issued is active (the fga role uses it to accept
  // access tokens in the same process).
  const TokenResolver& token_resolver() const { return *resolver_; }

 private:
  // GET /ciba: the signed-in user's pending CIBA requests (the default notifier's inbox).
  http::Response ciba_requests(const http::Request& request) const;
  AuthorizationServer(store::Store& store, AuthorizationServerOptions options, const Clock& clock);
  // The endpoints clients call directly (token, PAR, introspection, revocation, UserInfo).
  void add_client_endpoints(http::Router& router, const std::string& prefix);

  AuthorizationServerOptions options_;
  store::Store& store_;
  std::unique_ptr<SigningKeys> keys_;
  std::unique_ptr<ClientCache> clients_;
  std::unique_ptr<ClientAuthenticator> client_auth_;
  std::unique_ptr<TokenService> tokens_;
  std::unique_ptr<TokenResolver> resolver_;
  GrantRegistry grants_;
  std::unique_ptr<DpopProofs> dpop_;
  std::unique_ptr<TokenEndpoint> token_endpoint_;
  std::unique_ptr<identity::LoginThrottle> throttle_;
  std::unique_ptr<identity::Authenticator> authenticator_;
  std::unique_ptr<InteractionSealer> sealer_;
  std::unique_ptr<SessionEnder> session_ender_;  // before the endpoints that use it
  std::unique_ptr<AuthorizeEndpoint> authorize_;
  std::unique_ptr<ParEndpoint> par_;
  std::unique_ptr<DeviceAuthorizationEndpoint> device_;
  std::unique_ptr<CibaInbox> ciba_inbox_;
  std::unique_ptr<BackchannelAuthenticationEndpoint> ciba_;
  std::unique_ptr<EndSessionEndpoint> end_session_;
  std::unique_ptr<RegistrationEndpoint> registration_;
  std::unique_ptr<IntrospectionEndpoint> introspection_;
  std::unique_ptr<RevocationEndpoint> revocation_;
  std::unique_ptr<UserInfoEndpoint> userinfo_;
  std::unique_ptr<KeyRefresher> refresher_;
  json::Json metadata_;
  std::string metadata_body_;
};

}  // namespace tessera::oauth
