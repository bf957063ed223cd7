#include "oauth/authorization_server.h"

#include "core/aead.h"
#include "oauth/device.h"
#include "oauth/discovery.h"
#include "oauth/pages.h"

namespace tessera::oauth {

namespace {

// The mTLS alias URLs (RFC 8705 §5) of `paths`; none without an alias base.
std::vector<std::string> mtls_aliases(const std::string& base,
                                      std::initializer_list<std::string_view> paths) {
  std::vector<std::string> out;
  if (base.empty()) return out;
  for (std::string_view path : paths) out.push_back(endpoint_url(base, path));
  return out;
}

}  // namespace

bool is_supported_signing_alg(jose::Alg alg) {
  return alg == jose::Alg::kES256 || alg == jose::Alg::kRS256 || alg == jose::Alg::kPS256 ||
         alg == jose::Alg::kEdDSA;
}

AuthorizationServer::AuthorizationServer(store::Store& store, AuthorizationServerOptions options,
                                         const Clock& clock)
    : options_(std::move(options)),
      store_(store),
      keys_(std::make_unique<SigningKeys>(store.signing_keys(), options_.secret_key,
                                          options_.signing_alg, clock)),
      clients_(std::make_unique<ClientCache>(store.clients(), clock, options_.client_cache_ttl)) {
  client_auth_ = std::make_unique<ClientAuthenticator>(
      *clients_, store.replay_cache(), clock,
      ClientAuthOptions{options_.issuer, endpoint_url(options_.issuer, "/token"),
                        endpoint_url(options_.issuer, "/par"),
                        mtls_aliases(options_.mtls_endpoint_base, {"/token", "/par"}),
                        options_.profile.fapi2});
  tokens_ = std::make_unique<TokenService>(options_.issuer, *keys_, clock, options_.audiences);
  resolver_ = std::make_unique<TokenResolver>(options_.issuer, *keys_, store.grants(), clock);
  const GrantContext context{*tokens_,
                             store.grants(),
                             clock,
                             *resolver_,
                             store.users(),
                             options_.profile,
                             options_.authorization_details_types};
  grants_ = make_grant_registry(context);
  if (!options_.jwt_bearer.issuers.empty()) {
    JwtBearerOptions jwt_bearer = options_.jwt_bearer;
    jwt_bearer.issuer = options_.issuer;
    jwt_bearer.token_endpoint = endpoint_url(options_.issuer, "/token");
    grants_.add(make_jwt_bearer_grant(context, std::move(jwt_bearer), store.replay_cache()));
  }
  dpop_ = std::make_unique<DpopProofs>(
      options_.dpop, endpoint_urls(options_.issuer, options_.mtls_endpoint_base, "/token"), clock);
  token_endpoint_ =
      std::make_unique<TokenEndpoint>(grants_, *client_auth_, *dpop_, options_.profile);
  throttle_ = std::make_unique<identity::LoginThrottle>(clock);
  authenticator_ = std::make_unique<identity::Authenticator>(store.users(), *throttle_, clock,
                                                             options_.secret_key);
  sealer_ = std::make_unique<InteractionSealer>(options_.secret_key, clock);
  AuthorizeOptions authorize;
  authorize.issuer = options_.issuer;
  authorize.secure_cookies = options_.issuer.rfind("https://", 0) == 0;
  authorize.require_pushed_authorization_requests = options_.require_pushed_authorization_requests;
  authorize.profile = options_.profile;
  authorize.authorization_details_types = options_.authorization_details_types;
  session_ender_ = std::make_unique<SessionEnder>(store, *clients_, *tokens_, options_.logout_post);
  authorize_ = std::make_unique<AuthorizeEndpoint>(std::move(authorize), *clients_, *client_auth_,
                                                   store, *authenticator_, *sealer_, *keys_,
                                                   *session_ender_, clock);
  par_ = std::make_unique<ParEndpoint>(
      ParOptions{options_.issuer, options_.mtls_endpoint_base, 60, options_.profile,
                 options_.authorization_details_types},
      *client_auth_, store.grants(), store.replay_cache(), *dpop_, clock);
  device_ = std::make_unique<DeviceAuthorizationEndpoint>(DeviceOptions{options_.issuer},
                                                          *client_auth_, store.grants(), clock);
  ciba_inbox_ = std::make_unique<CibaInbox>(clock);
  CibaNotifier notify = options_.ciba_notify;
  if (!notify) {
    notify = [inbox = ciba_inbox_.get()](const CibaNotification& n) { inbox->add(n); };
  }
  ciba_ = std::make_unique<BackchannelAuthenticationEndpoint>(
      CibaOptions{options_.issuer}, *client_auth_, store.grants(), store.users(), *keys_,
      std::move(notify), clock);
  end_session_ = std::make_unique<EndSessionEndpoint>(
      options_.issuer, *authorize_, *clients_, store, *keys_, *sealer_, *session_ender_, clock);
  introspection_ =
      std::make_unique<IntrospectionEndpoint>(*resolver_, *client_auth_, *keys_, clock);
  revocation_ = std::make_unique<RevocationEndpoint>(*resolver_, *client_auth_, store.grants());
  userinfo_ = std::make_unique<UserInfoEndpoint>(options_.issuer, *resolver_, store.users(), *dpop_,
                                                 options_.mtls_endpoint_base);
  if (options_.key_refresh_seconds > 0) {
    KeyRefresherOptions refresh;
    refresh.interval = std::chrono::seconds(options_.key_refresh_seconds);
    refresh.on_error = options_.on_background_error;
    refresher_ =
        std::make_unique<KeyRefresher>(*keys_, store.signing_keys(), clock, std::move(refresh));
  }
  metadata_ =
      server_metadata({options_.issuer,
                       grants_.grant_types(),
                       options_.scopes_supported,
                       options_.signing_alg,
                       {std::string(kAcrPassword), std::string(kAcrMfa)},
                       dpop_->algorithms(),
                       options_.require_pushed_authorization_requests,
                       options_.mutual_tls || !options_.mtls_endpoint_base.empty(),
                       options_.self_signed_certificates || !options_.mtls_endpoint_base.empty(),
                       options_.mtls_endpoint_base,
                       options_.profile});
  // RFC 9396 §10.1.
  if (!options_.authorization_details_types.empty()) {
    metadata_["authorization_details_types_supported"] =
        options_.authorization_details_types.names();
  }
  if (options_.registration.enabled) {
    RegistrationOptions registration = options_.registration;
    registration.authorization_details_types = options_.authorization_details_types;
    registration.issuer = options_.issuer;
    registration.profile = options_.profile;
    registration.mutual_tls = options_.mutual_tls || !options_.mtls_endpoint_base.empty();
    registration_ = std::make_unique<RegistrationEndpoint>(std::move(registration), store.clients(),
                                                           store.grants(), *clients_, clock);
    metadata_["registration_endpoint"] = endpoint_url(options_.issuer, "/register");  // §3
  }
  // CIBA §4: poll mode only, no signed requests, no user_code.
  metadata_["backchannel_authentication_endpoint"] = endpoint_url(options_.issuer, "/bc-authorize");
  metadata_["backchannel_token_delivery_modes_supported"] = json::Json::array({"poll"});
  metadata_["backchannel_user_code_parameter_supported"] = false;
  metadata_body_ = metadata_.dump();
}

http::Response AuthorizationServer::ciba_requests(const http::Request& request) const {
  auto session = authorize_->current_session(request);
  if (!session) {
    return pages::html(503, pages::error({"Temporarily unavailable", "Try again in a moment."}));
  }
  if (!*session) {
    return pages::html(401, pages::error({"Not signed in",
                                          "Open the link you were sent, or sign in to an "
                                          "application first."}));
  }
  pages::CibaRequestsPage page;
  if (auto user = store_.users().find_by_id((*session)->user_id); user && *user) {
    page.username = (*user)->username;
  }
  for (const CibaNotification& n : ciba_inbox_->pending((*session)->user_id)) {
    // Only requests still waiting: one decided elsewhere (or already redeemed) drops out.
    auto code = normalize_user_code(n.user_code);
    auto stored = code
                      ? store_.grants().find_device_by_user_code(*code)
                      : store::StoreResult<std::optional<store::DeviceAuthorization>>(std::nullopt);
    if (!stored) {
      return pages::html(503, pages::error({"Temporarily unavailable", "Try again in a moment."}));
    }
    if (!*stored || (*stored)->status != store::DeviceStatus::kPending) continue;
    page.entries.push_back({n.client_id, n.binding_message, n.user_code, n.approval_uri});
  }
  return pages::html(200, pages::ciba_requests(page));
}

AuthorizationServer::~AuthorizationServer() {
  if (refresher_) refresher_->stop();
}

Result<std::unique_ptr<AuthorizationServer>> AuthorizationServer::open(
    store::Store& store, AuthorizationServerOptions options, const Clock& clock) {
  if (options.secret_key.size() != aead::kKeyBytes) {
    return Err(std::string("the secret key must be ") + std::to_string(aead::kKeyBytes) + " bytes");
  }
  if (!is_supported_signing_alg(options.signing_alg)) {
    return Err(std::string("signing_alg must be ES256, RS256, PS256 or EdDSA"));
  }
  if (options.profile.fapi2) {
    // FAPI 2.0 §5.4.1: the server signs (ID tokens, JWT access tokens, JARM responses) with
    // the profile's algorithms too.
    if (!is_fapi2_alg(options.signing_alg)) {
      return Err(std::string("FAPI 2.0 needs signing_alg ES256, PS256 or EdDSA"));
    }
    // §5.4.1 for DPoP proofs, and what dpop_signing_alg_values_supported lists.
    auto& algs = options.dpop.algorithms;
    std::erase_if(algs, [](const std::string& name) {
      auto alg = jose::alg_from_string(name);
      return !alg || !is_fapi2_alg(*alg);
    });
  }
  std::unique_ptr<AuthorizationServer> server(
      new AuthorizationServer(store, std::move(options), clock));
  if (auto loaded = server->keys_->load_or_create(); !loaded) return Err(loaded.error());
  if (server->refresher_) server->refresher_->start();
  return server;
}

void AuthorizationServer::add_client_endpoints(http::Router& router, const std::string& prefix) {
  router.post(prefix + "/token",
              [this](const http::Request& r) { return token_endpoint_->handle(r); });
  router.post(prefix + "/par", [this](const http::Request& r) { return par_->handle(r); });
  router.post(prefix + "/device_authorization",
              [this](const http::Request& r) { return device_->handle(r); });
  router.post(prefix + "/bc-authorize",
              [this](const http::Request& r) { return ciba_->handle(r); });
  router.post(prefix + "/introspect",
              [this](const http::Request& r) { return introspection_->handle(r); });
  router.post(prefix + "/revoke",
              [this](const http::Request& r) { return revocation_->handle(r); });
  auto userinfo = [this](const http::Request& r) { return userinfo_->handle(r); };
  router.get(prefix + "/userinfo", userinfo);
  router.post(prefix + "/userinfo", userinfo);
}

void AuthorizationServer::add_mtls_routes(http::Router& router) {
  add_client_endpoints(router, issuer_path(options_.mtls_endpoint_base));
}

void AuthorizationServer::add_routes(http::Router& router) {
  const std::string prefix = issuer_path(options_.issuer);
  add_client_endpoints(router, prefix);
  authorize_->add_routes(router, prefix);
  if (registration_) {
    // RFC 7591 §3 and RFC 7592 §2: registration, then each client's configuration endpoint.
    router.post(prefix + "/register",
                [this](const http::Request& r) { return registration_->register_client(r); });
    const std::string configuration = prefix + "/register/{client_id}";
    router.get(configuration, [this](const http::Request& r) { return registration_->read(r); });
    router.put(configuration, [this](const http::Request& r) { return registration_->update(r); });
    router.del(configuration, [this](const http::Request& r) { return registration_->remove(r); });
  }
  end_session_->add_routes(router, prefix);
  router.get(prefix + "/ciba", [this](const http::Request& r) { return ciba_requests(r); });
  router.get(prefix + "/jwks", [this](const http::Request&) {
    http::Response r =
        http::Response::text(200, keys_->jwks().to_json().dump(), "application/jwk-set+json");
    // Short enough that a rotation's next key is seen well before it signs.
    r.headers.set("Cache-Control", "public, max-age=300");
    return r;
  });
  auto metadata = [this](const http::Request&) {
    http::Response r = http::Response::text(200, metadata_body_, "application/json");
    r.headers.set("Cache-Control", "public, max-age=3600");
    return r;
  };
  router.get(oauth_metadata_path(options_.issuer), metadata);
  router.get(openid_configuration_path(options_.issuer), metadata);
}

}  // namespace tessera::oauth
