#include "oauth/authorize_endpoint.h"

#include <algorithm>
#include <ctime>
#include <variant>

#include "core/audit.h"
#include "core/base64url.h"
#include "core/crypto.h"
#include "core/space_list.h"
#include "oauth/ciba.h"
#include "oauth/device.h"
#include "oauth/discovery.h"
#include "oauth/pages.h"
#include "oauth/par_endpoint.h"
#include "oauth/request_object.h"
#include "oauth/tokens.h"

namespace tessera::oauth {
namespace {

constexpr size_t kMaxFormParameters = 16;

// RFC 6749 §3.1: POST to the authorization endpoint is form-encoded like GET's query.
Result<http::Params, std::string> request_params(const http::Request& request) {
  if (request.method() == "POST") {
    auto form = request.form();
    if (!form) return Err(std::string("malformed form body"));
    return std::move(*form);
  }
  if (request.query_error()) return Err(std::string("malformed query string"));
  return request.query();
}

// The client a page is about; null when it cannot be read now (the page then names its id).
std::shared_ptr<const store::Client> find_client(ClientCache& clients, std::string_view id) {
  auto found = clients.find(id);
  return found ? *found : nullptr;
}

// What the login, second-factor and consent pages show as the client's name: the client_name it
// registered (RFC 7591 §2), else its client_id.
std::string client_name(ClientCache& clients, const AuthorizationRequest& request) {
  auto client = find_client(clients, request.client_id);
  return client && !client->client_name.empty() ? client->client_name : request.client_id;
}

// The client asked for the second factor (OpenID Core §3.1.2.1 acr_values, "the stronger level
// of assurance" of the seeds).
bool wants_mfa(const AuthorizationRequest& request) {
  return list_contains(request.acr_values, kAcrMfa);
}

// The user has just authenticated in this interaction: prompt=login and max_age (OpenID Core
// §3.1.2.1) are satisfied, whatever the clock's resolution says about auth_time.
void satisfied_by_fresh_login(AuthorizationRequest& request) {
  std::erase(request.prompt, "login");
  std::erase(request.prompt, "select_account");
  request.max_age.reset();
  request.fresh_login = true;
}

}  // namespace

struct AuthorizeEndpoint::Context {
  const http::Request& request;
  std::string browser_id;
  std::vector<std::string> set_cookies;
};

struct AuthorizeEndpoint::Flow {
  AuthorizationRequest request;
  std::shared_ptr<const store::Client> client;
  std::optional<store::Session> session;
};

AuthorizeEndpoint::AuthorizeEndpoint(AuthorizeOptions options, ClientCache& clients,
                                     const ClientAuthenticator& client_auth, store::Store& store,
                                     identity::Authenticator& authenticator,
                                     const InteractionSealer& sealer, const SigningKeys& keys,
                                     SessionEnder& sessions, const Clock& clock)
    : options_(std::move(options)),
      clients_(clients),
      client_auth_(client_auth),
      store_(store),
      authenticator_(authenticator),
      sealer_(sealer),
      keys_(keys),
      sessions_(sessions),
      clock_(clock),
      cookies_(options_.secure_cookies),
      device_throttle_(std::make_unique<identity::LoginThrottle>(clock)),
      workers_(options_.login_threads, options_.login_queue) {}

void AuthorizeEndpoint::add_routes(http::Router& router, const std::string& prefix) {
  prefix_ = prefix;
  auto authorize = [this](const http::Request& r) { return this->authorize(r); };
  router.get(prefix + "/authorize", authorize);
  router.post(prefix + "/authorize", authorize);
  // argon2id takes tens of milliseconds: off the I/O threads, on a bounded pool (503 when full).
  // The cheap checks (form, CSRF, sealed request, client) run first, so junk never takes a
  // worker.
  router.add_async(
      "POST", prefix + "/login", [this](const http::Request& r, http::Responder respond) {
        auto prepared = prepare_login(r);
        if (auto* refused = std::get_if<http::Response>(&prepared)) {
          respond(std::move(*refused));
          return;
        }
        auto attempt = std::make_shared<LoginAttempt>(std::get<LoginAttempt>(std::move(prepared)));
        auto shared = std::make_shared<http::Responder>(std::move(respond));
        if (!workers_.submit(
                [this, &r, attempt, shared] { (*shared)(finish_login(r, *attempt)); })) {
          http::Response busy =
              pages::html(503, pages::error({"Busy", "Too many sign-ins right now. Try again."}));
          busy.headers.set("Retry-After", "1");
          (*shared)(std::move(busy));
        }
      });
  router.post(prefix + "/login/otp", [this](const http::Request& r) { return this->otp(r); });
  router.post(prefix + "/consent", [this](const http::Request& r) { return this->consent(r); });
  auto account = [this](const http::Request& r) { return this->account(r); };
  router.get(prefix + "/account", account);
  router.post(prefix + "/account", account);
  auto device = [this](const http::Request& r) { return this->device(r); };
  router.get(prefix + "/device", device);
  router.post(prefix + "/device", device);
}

Result<std::optional<store::Session>, std::string> AuthorizeEndpoint::current_session(
    const http::Request& request) const {
  using Found = std::optional<store::Session>;
  auto cookie = http::request_cookie(request, cookies_.session);
  if (!cookie || cookie->empty()) return Found{};
  auto session = store_.sessions().find(crypto::sha256(*cookie));
  if (!session) return Err(session.error().message);
  if (!*session) return Found{};
  // A disabled or deleted user has no session.
  auto user = store_.users().find_by_id((*session)->user_id);
  if (!user) return Err(user.error().message);
  if (!*user || (*user)->disabled) return Found{};
  return Found{**session};
}

http::Response AuthorizeEndpoint::finish(Context& ctx, http::Response response) const {
  for (const std::string& cookie : ctx.set_cookies) response.headers.add("Set-Cookie", cookie);
  return response;
}

http::Response AuthorizeEndpoint::error_page(Context& ctx, int status, std::string_view title,
                                             std::string_view message) const {
  return finish(ctx, pages::html(status, pages::error({std::string(title), std::string(message)})));
}

http::Response AuthorizeEndpoint::respond(
    Context& ctx, const AuthorizationRequest& request,
    std::vector<std::pair<std::string, std::string>> params) const {
  if (request.state) params.emplace_back("state", *request.state);
  // RFC 9207 §2: the iss parameter in every authorization response, errors included.
  params.emplace_back("iss", options_.issuer);
  if (is_jwt_mode(request.response_mode)) {
    // JARM §2.1: the response parameters as claims of one JWT signed by this server, with iss
    // (RFC 9207 §2.4: inside the JWT only), aud the client and a short exp.
    json::Json claims = {{"aud", request.client_id},
                         {"exp", clock_.now() + options_.response_jwt_lifetime}};
    for (auto& [name, value] : params) claims[name] = std::move(value);
    auto key = keys_.active();
    auto jwt = key ? jose::sign(claims.dump(), key->private_jwk, key->alg)
                   : Result<std::string, jose::Status>(Err(jose::Status::kKeyInvalid));
    if (!jwt) {
      return error_page(ctx, 500, "Temporarily unavailable", "The response cannot be signed.");
    }
    params = {{"response", std::move(*jwt)}};
  }
  if (request.response_mode == ResponseMode::kFormPost ||
      request.response_mode == ResponseMode::kFormPostJwt) {
    // OAuth 2.0 Form Post Response Mode §2.
    return finish(ctx, pages::form_post_response(request.redirect_uri, params));
  }
  http::Response r(303);  // RFC 9700 §4.12: 303, so a POSTed form is not re-sent to the client
  r.headers.set("Location", redirect_with(request.redirect_uri, params));
  r.headers.set("Cache-Control", "no-store");
  return finish(ctx, std::move(r));
}

http::Response AuthorizeEndpoint::redirect_error(Context& ctx, const AuthorizationRequest& request,
                                                 std::string_view error,
                                                 std::string_view description) const {
  // RFC 8628 §3.3: a device request has no redirect URI; the user sees the outcome, and a
  // denial is what the device hears when it polls.
  if (request.device_code_hash) {
    if (error == "access_denied") return decide_device(ctx, request, std::nullopt);
    return error_page(ctx, 400, "The device was not connected", description);
  }
  // RFC 6749 §4.1.2.1.
  return respond(ctx, request,
                 {{"error", std::string(error)}, {"error_description", std::string(description)}});
}

http::Response AuthorizeEndpoint::login_page(Context& ctx, const AuthorizationRequest& request,
                                             std::optional<std::string> error, int status,
                                             std::string_view username) const {
  pages::LoginPage page;
  page.form = {
      prefix_ + "/login", sealer_.csrf_token(ctx.browser_id),
      sealer_.seal("authorize", request.to_json(), ctx.browser_id, options_.interaction_lifetime)};
  page.client_name = client_name(clients_, request);
  page.client_id = request.client_id;
  // After a failed attempt the name typed stays; first time round, the client's login_hint.
  page.username = username.empty() ? request.login_hint.value_or("") : std::string(username);
  page.error = std::move(error);
  return finish(ctx, pages::html(status, pages::login(page), request.redirect_uri));
}

http::Response AuthorizeEndpoint::otp_page(Context& ctx, const AuthorizationRequest& request,
                                           const std::string& user_id,
                                           std::optional<std::string> sid,
                                           std::optional<std::string> error, int status) const {
  json::Json state = {{"request", request.to_json()}, {"user_id", user_id}};
  if (sid) state["sid"] = *sid;
  pages::TotpPage page;
  page.form = {prefix_ + "/login/otp", sealer_.csrf_token(ctx.browser_id),
               sealer_.seal("otp", state, ctx.browser_id, options_.interaction_lifetime)};
  page.client_name = client_name(clients_, request);
  page.client_id = request.client_id;
  page.error = std::move(error);
  return finish(ctx, pages::html(status, pages::totp(page), request.redirect_uri));
}

http::Response AuthorizeEndpoint::consent_page(Context& ctx, const Flow& flow) const {
  json::Json state = {{"request", flow.request.to_json()}, {"sid", flow.session->sid}};
  pages::ConsentPage page;
  page.form = {prefix_ + "/consent", sealer_.csrf_token(ctx.browser_id),
               sealer_.seal("consent", state, ctx.browser_id, options_.interaction_lifetime)};
  // RFC 7591 §5: a registered name is the registrant's own claim, so the page shows the
  // client_id beside it, and the links the client registered.
  page.client_name = client_name(clients_, flow.request);
  page.client_id = flow.request.client_id;
  if (auto client = find_client(clients_, flow.request.client_id)) {
    page.client_uri = client->client_uri;
    page.policy_uri = client->policy_uri;
    page.tos_uri = client->tos_uri;
  }
  auto user = store_.users().find_by_id(flow.session->user_id);
  if (user && *user) page.username = (*user)->username;
  page.scopes = flow.request.scopes;
  page.authorization_details =
      options_.authorization_details_types.summarize(flow.request.authorization_details);
  // RFC 8628 §5.4: a device request says so and shows its code, so a user sent a link by
  // someone else can tell it is not their own device.
  if (flow.request.backchannel) {
    // CIBA §7.1 binding_message: the same text on the client's device and here.
    page.binding_message = flow.request.binding_message.value_or("");
  } else if (flow.request.device_user_code) {
    page.device_user_code = format_user_code(*flow.request.device_user_code);
  }
  return finish(ctx, pages::html(200, pages::consent(page), flow.request.redirect_uri));
}

AuthorizeEndpoint::Context AuthorizeEndpoint::start(const http::Request& request) const {
  Context ctx{request, {}, {}};
  auto browser = http::request_cookie(request, cookies_.browser);
  if (browser && browser->size() == 43) {
    ctx.browser_id = *browser;
  } else {
    ctx.browser_id = crypto::random_token(32);
    ctx.set_cookies.push_back(cookies_.set(cookies_.browser, ctx.browser_id, std::nullopt));
  }
  return ctx;
}

http::Response AuthorizeEndpoint::authorize(const http::Request& request) const {
  Context ctx = start(request);
  auto params = request_params(request);
  if (!params) return error_page(ctx, 400, "Invalid request", params.error());
  // OpenID Core §3.1.2.1 allows POST; a cross-site POST carries no SameSite=Lax cookie, so the
  // user's session would be invisible. Answer with the same request as a top-level GET.
  if (request.method() == "POST") {
    std::vector<std::pair<std::string, std::string>> same(params->begin(), params->end());
    http::Response again(303);
    again.headers.set("Location", redirect_with(endpoint_url(options_.issuer, "/authorize"), same));
    again.headers.set("Cache-Control", "no-store");
    return again;
  }
  std::shared_ptr<const store::Client> client;
  if (auto id = params->get("client_id"); id && !id->empty() && params->count("client_id") == 1) {
    auto found = clients_.find(*id);
    if (!found) {
      return error_page(ctx, 503, "Temporarily unavailable", "Please try again in a moment.");
    }
    client = *found;
  }
  // RFC 9126 §4: request_uri names a request the client pushed; only client_id travels with
  // it, and every other parameter is ignored. Used once: a second visit finds nothing.
  // RFC 6749 §3.1: an empty request_uri is an omitted one.
  const bool pushed = !params->get("request_uri").value_or("").empty();
  // RFC 9101 §5, §6.3: a request object (signed by the client) replaces every other parameter.
  // Its redirect_uri is not trusted before it verifies, so failures are shown here.
  bool signed_object = false;
  if (auto object = params->get("request"); object && !object->empty()) {
    if (pushed) {
      return error_page(ctx, 400, "This sign-in link is not valid",
                        "invalid_request: request and request_uri cannot be used together");
    }
    if (!client) {
      return error_page(ctx, 400, "This sign-in link is not valid",
                        "invalid_request: client_id is required with request");
    }
    RequestObjectOptions object_options{options_.issuer};
    object_options.fapi2 = fapi2_applies(options_.profile, *client);
    auto opened = open_request_object(*object, *client, client_auth_, store_.replay_cache(), clock_,
                                      object_options);
    if (!opened) {
      return error_page(ctx, 400, "This sign-in link is not valid",
                        opened.error().code + ": " + opened.error().description);
    }
    *params = std::move(*opened);
    signed_object = true;
  }
  if (pushed) {
    if (!client) {
      return error_page(ctx, 400, "This sign-in link is not valid",
                        "invalid_request: client_id is required with request_uri");
    }
    auto taken =
        take_pushed_request(store_.grants(), *params->get("request_uri"), client->client_id);
    if (!taken) {
      return error_page(ctx, 503, "Temporarily unavailable", "Please try again in a moment.");
    }
    if (!*taken) {
      return error_page(ctx, 400, "This sign-in link is not valid",
                        "invalid_request_uri: the request_uri is unknown, expired or used");
    }
    *params = std::move(**taken);
  }
  auto parsed = parse_authorization_request(*params, client.get(), clock_.now(),
                                            options_.authorization_details_types);
  // RFC 6749 §4.1.2.1: without a verified client and redirect URI, tell the user, not the
  // client.
  if (!parsed) {
    return error_page(ctx, 400, "This sign-in link is not valid",
                      parsed.error().error + ": " + parsed.error().description);
  }
  if (parsed->error) {
    return redirect_error(ctx, parsed->request, parsed->error->error, parsed->error->description);
  }
  // RFC 9126 §5, §6: PAR required by the server or of this client; FAPI 2.0 §5.3.2.2 item 2.
  if (!pushed &&
      (options_.require_pushed_authorization_requests ||
       client->require_pushed_authorization_requests || fapi2_applies(options_.profile, *client))) {
    return redirect_error(ctx, parsed->request, "invalid_request",
                          "this client must push its authorization requests (PAR)");
  }
  // RFC 9101 §10.5 require_signed_request_object (a pushed request was held to it at /par).
  if (!pushed && !signed_object && signed_request_object_required(options_.profile, *client)) {
    return redirect_error(ctx, parsed->request, "invalid_request",
                          "this client must send its authorization request as a signed request "
                          "object");
  }
  auto session = current_session(request);
  if (!session) {
    // RFC 6749 §4.1.2.1 temporarily_unavailable: the client and redirect URI are verified.
    return redirect_error(ctx, parsed->request, "temporarily_unavailable",
                          "the server cannot check the sign-in session; try again");
  }
  // OpenID Core §3.1.2.1 id_token_hint: an ID token we issued to this client names the user the
  // client expects; another user signed in here must sign in again (or, with prompt=none, the
  // client hears login_required).
  if (auto token = params->get("id_token_hint"); token && !token->empty()) {
    auto hint = verify_id_token_hint(*token, keys_, options_.issuer, clock_);
    if (!hint || hint->client_id != parsed->request.client_id) {
      return redirect_error(ctx, parsed->request, "invalid_request",
                            "id_token_hint is not an ID token issued to this client");
    }
    parsed->request.hint_subject = hint->subject;
  }
  Flow flow{std::move(parsed->request), client, std::move(*session)};
  return proceed(ctx, flow);
}

http::Response AuthorizeEndpoint::proceed(Context& ctx, const Flow& flow) const {
  const AuthorizationRequest& r = flow.request;
  const int64_t now = clock_.now();
  const bool prompt_none = r.has_prompt("none");
  // OpenID Core §3.1.2.3: authenticate when there is no session, when prompt=login asks for a
  // fresh login, and when the last one is older than max_age. select_account has no chooser
  // here: it shows the login page.
  // A login inside this interaction clears prompt=login and max_age (satisfied_by_fresh_login),
  // so here they always mean "not yet": max_age=0 is prompt=login (§3.1.2.1).
  bool needs_login = !flow.session || r.has_prompt("login") || r.has_prompt("select_account");
  // OpenID Core §3.1.2.1 id_token_hint names another user than the session's: sign in again;
  // if the sign-in of this very interaction was that other user too, tell the client.
  if (flow.session && r.hint_subject && flow.session->user_id != *r.hint_subject) {
    if (r.fresh_login) {
      return redirect_error(ctx, r, "login_required",
                            "the signed-in user is not the one id_token_hint names");
    }
    needs_login = true;
  }
  if (flow.session && r.max_age &&
      (*r.max_age == 0 || now - flow.session->auth_time > *r.max_age)) {
    needs_login = true;
  }
  if (needs_login) {
    // OpenID Core §3.1.2.6.
    if (prompt_none) return redirect_error(ctx, r, "login_required", "the user must sign in");
    return login_page(ctx, r, std::nullopt, 200);
  }
  const store::Session& session = *flow.session;
  if (wants_mfa(r) && session.acr != kAcrMfa) {
    if (prompt_none) {
      return redirect_error(ctx, r, "interaction_required", "a second factor is required");
    }
    auto user = store_.users().find_by_id(session.user_id);
    if (!user || !*user) return error_page(ctx, 503, "Temporarily unavailable", "Try again.");
    if (!(*user)->totp_secret_encrypted) {
      // OpenID Core 1.0 errata set 2, §3.1.2.6.
      return redirect_error(ctx, r, "unmet_authentication_requirements",
                            "the user has no second factor enrolled");
    }
    return otp_page(ctx, r, session.user_id, session.sid, std::nullopt, 200);
  }
  // RFC 9396 §4: the user confirms authorization details every time (parse_authorization_request
  // added prompt=consent), which prompt=none rules out.
  if (prompt_none && !r.authorization_details.is_null()) {
    return redirect_error(ctx, r, "consent_required",
                          "authorization_details need the user's consent every time");
  }
  // OpenID Core §3.1.2.4: consent, remembered per user and client.
  if (!flow.client->skip_consent || r.has_prompt("consent")) {
    bool granted = !r.has_prompt("consent");
    if (granted) {
      auto consent = store_.consents().find(session.user_id, r.client_id);
      if (!consent) return error_page(ctx, 503, "Temporarily unavailable", "Try again.");
      granted = *consent && std::all_of(r.scopes.begin(), r.scopes.end(), [&](const auto& s) {
        return list_contains((*consent)->scopes, s);
      });
    }
    if (!granted) {
      if (prompt_none) return redirect_error(ctx, r, "consent_required", "consent is required");
      return consent_page(ctx, flow);
    }
  }
  return issue_code(ctx, flow, session);
}

http::Response AuthorizeEndpoint::issue_code(Context& ctx, const Flow& flow,
                                             const store::Session& session) const {
  const AuthorizationRequest& r = flow.request;
  const store::Client& client = *flow.client;
  // OpenID Core §3.1.2.1: the user who signed in is not the one id_token_hint named.
  if (r.hint_subject && session.user_id != *r.hint_subject) {
    return redirect_error(ctx, r, "login_required",
                          "the signed-in user is not the one id_token_hint names");
  }
  // The request was checked at /authorize, up to interaction_lifetime ago: the client's
  // registration may have changed since (a redirect URI withdrawn, a scope taken away).
  const auto still = [&](const std::vector<std::string>& allowed, const std::string& v) {
    return list_contains(allowed, v);
  };
  const bool device_flow = r.device_code_hash.has_value();
  const std::string_view device_grant = r.backchannel ? kCibaGrantType : kDeviceCodeGrantType;
  if ((device_flow ? !still(client.grant_types, std::string(device_grant))
                   : (!redirect_uri_registered(client.redirect_uris, r.redirect_uri) ||
                      !still(client.grant_types, "authorization_code"))) ||
      !std::all_of(r.scopes.begin(), r.scopes.end(),
                   [&](const std::string& s) { return still(client.scopes, s); }) ||
      !std::all_of(r.audiences.begin(), r.audiences.end(),
                   [&](const std::string& a) { return still(client.audiences, a); })) {
    return error_page(ctx, 400, "The application's registration changed",
                      "Go back to the application and sign in again.");
  }
  store::GrantRecord grant = new_grant(flow, session);
  if (device_flow) return decide_device(ctx, r, grant);
  const int64_t now = clock_.now();
  const std::string code = crypto::random_token(32);
  store::CodeRecord record;
  record.code_sha256 = token_hash(code);
  record.grant_id = grant.id;
  record.client_id = client.client_id;
  record.redirect_uri = r.redirect_uri_given ? r.redirect_uri : "";
  record.code_challenge = r.code_challenge;
  record.nonce = r.nonce;
  record.dpop_jkt = r.dpop_jkt;
  record.expires_at = now + options_.code_lifetime;
  if (auto created = store_.grants().create_grant(grant, record); !created) {
    return redirect_error(ctx, r, "temporarily_unavailable", "the store is unavailable");
  }
  return respond(ctx, r, {{"code", code}});
}

store::GrantRecord AuthorizeEndpoint::new_grant(const Flow& flow,
                                                const store::Session& session) const {
  const AuthorizationRequest& r = flow.request;
  const store::Client& client = *flow.client;
  const int64_t now = clock_.now();
  store::GrantRecord grant;
  grant.id = crypto::random_token(16);
  grant.client_id = client.client_id;
  grant.subject = session.user_id;
  grant.sid = session.sid;
  grant.scopes = r.scopes;
  // RFC 8707: the resources asked for; none: the client's default audiences, else the issuer
  // itself (a token for UserInfo only). Fixed here so every token of the grant agrees.
  grant.audiences = r.audiences;
  if (grant.audiences.empty()) grant.audiences = client.audiences;
  if (grant.audiences.empty()) grant.audiences = {options_.issuer};
  grant.auth_time = session.auth_time;
  grant.acr = session.acr;
  grant.amr = session.amr;
  grant.created_at = now;
  grant.expires_at = now + client.refresh_token_lifetime;
  // RFC 9396 §7, §9: every token of the grant carries the authorization details granted.
  if (!r.authorization_details.is_null()) {
    grant.claims_json = json::Json{{"authorization_details", r.authorization_details}}.dump();
  }
  return grant;
}

http::Response AuthorizeEndpoint::device_page(Context& ctx, std::string_view user_code,
                                              std::optional<std::string> error, int status) const {
  pages::DeviceCodePage page;
  page.form = {prefix_ + "/device", sealer_.csrf_token(ctx.browser_id), ""};
  page.user_code = std::string(user_code);
  page.error = std::move(error);
  return finish(ctx, pages::html(status, pages::device_code(page)));
}

http::Response AuthorizeEndpoint::decide_device(
    Context& ctx, const AuthorizationRequest& request,
    const std::optional<store::GrantRecord>& grant) const {
  auto hash = base64url::decode(*request.device_code_hash);
  if (!hash) return error_page(ctx, 400, "Invalid request", "The device request is unreadable.");
  auto decided = store_.grants().decide_device(*hash, request.client_id, grant);
  if (!decided) return error_page(ctx, 503, "Temporarily unavailable", "Try again.");
  if (!*decided) {
    return error_page(ctx, 400, "This code has expired",
                      "Start again on your device to get a new code.");
  }
  if (request.backchannel) {
    if (!grant) return error_page(ctx, 200, "Request denied", "You can close this page.");
    return error_page(ctx, 200, "Request approved",
                      "You can close this page; the application continues.");
  }
  if (!grant) {
    return error_page(ctx, 200, "Access denied",
                      "The device was not connected. You can close this page.");
  }
  return error_page(ctx, 200, "Device connected",
                    "You can close this page and continue on your device.");
}

http::Response AuthorizeEndpoint::device(const http::Request& request) const {
  Context ctx = start(request);
  if (request.method() == "GET") {
    // verification_uri_complete carries the code; the user still confirms it (§5.4).
    std::string typed;
    if (!request.query_error()) typed = std::string(request.query().get("user_code").value_or(""));
    auto code = normalize_user_code(typed);
    return device_page(ctx, code ? format_user_code(*code) : "", std::nullopt, 200);
  }
  auto form = request.form();
  if (!form) return error_page(ctx, 400, "Invalid form", "The form was not sent correctly.");
  if (auto refused = check_form(ctx, request, *form)) return std::move(*refused);
  const std::string typed(form->get("user_code").value_or(""));
  // RFC 8628 §5.1: user codes are short, so guesses are throttled per address (per /64 for
  // IPv6, where one host easily holds a whole /64).
  const std::string address(request.peer_address());
  if (auto wait = device_throttle_->retry_after("", address)) {
    http::Response r = device_page(ctx, typed, "Too many attempts. Try again later.", 429);
    r.headers.set("Retry-After", std::to_string(*wait));
    return r;
  }
  auto code = normalize_user_code(typed);
  std::optional<store::DeviceAuthorization> device;
  if (code) {
    auto found = store_.grants().find_device_by_user_code(*code);
    if (!found) return error_page(ctx, 503, "Temporarily unavailable", "Try again.");
    device = std::move(*found);
  }
  if (!device || device->status != store::DeviceStatus::kPending) {
    device_throttle_->record_failure("", address);
    return device_page(ctx, typed, "That code is not valid, or it has expired.", 400);
  }
  auto asked = DeviceRequest::from_json(device->params_json);
  auto client = clients_.find(device->client_id);
  if (!client) return error_page(ctx, 503, "Temporarily unavailable", "Try again.");
  if (!asked || !*client) {
    return error_page(ctx, 400, "Unknown application", "The application is no longer registered.");
  }
  auto session = current_session(request);
  if (!session) return error_page(ctx, 503, "Temporarily unavailable", "Try again.");
  AuthorizationRequest r;
  r.client_id = device->client_id;
  r.scopes = std::move(asked->scopes);
  r.audiences = std::move(asked->audiences);
  r.issued_at = clock_.now();
  r.device_code_hash = base64url::encode(device->device_code_sha256);
  r.device_user_code = device->user_code;
  // §5.4: the user confirms every device, remembered consent or not (remote phishing).
  r.prompt = {"consent"};
  // CIBA §7.1: only the user the client named may decide (another user signed in here signs in
  // again, see proceed()), at the level asked for.
  if (asked->backchannel()) {
    r.backchannel = true;
    r.hint_subject = asked->subject;
    r.binding_message = asked->binding_message;
    r.acr_values = asked->acr_values;
  }
  return proceed(ctx, Flow{std::move(r), *client, std::move(*session)});
}

std::optional<http::Response> AuthorizeEndpoint::check_form(Context& ctx,
                                                            const http::Request& request,
                                                            const http::Params& form) const {
  if (form.size() > kMaxFormParameters || form.first_duplicate()) {
    return error_page(ctx, 400, "Invalid form", "The form was not sent correctly.");
  }
  // Fetch metadata / Origin: a cross-site POST is refused before anything else (OWASP CSRF
  // cheat sheet, "verifying origin"); the HMAC token below is the main defence.
  // "null" is let through: browsers send it for our own forms, whose pages have
  // Referrer-Policy: no-referrer (Fetch §3.1 "serializing a request origin").
  if (auto origin = request.header("Origin"); origin && *origin != "null") {
    std::string expected = options_.issuer.substr(0, options_.issuer.find('/', 8));
    if (*origin != expected) {
      return error_page(ctx, 403, "Request refused", "The form was sent from another site.");
    }
  }
  auto csrf = form.get("csrf");
  if (!csrf || !sealer_.csrf_matches(ctx.browser_id, *csrf)) {
    return error_page(ctx, 403, "This page has expired",
                      "Go back to the application and sign in again.");
  }
  return std::nullopt;
}

Result<store::Session, std::string> AuthorizeEndpoint::start_session(
    Context& ctx, const store::User& user, std::string_view acr,
    std::vector<std::string> amr) const {
  // A new cookie value at every login (OWASP session management: no fixation). The same user
  // signing in again keeps the session's sid, so logout still ends every grant given in it;
  // another user signing in on this browser ends the previous user's session and its grants.
  std::string sid = crypto::random_identifier(16);
  auto current = current_session(ctx.request);
  if (!current) return Err(current.error());
  if (const auto& old = *current) {
    if (old->user_id == user.id) {
      sid = old->sid;
      if (!store_.sessions().remove_by_sid(old->sid)) {
        return Err(std::string("store unavailable"));
      }
    } else if (auto ended = sessions_.end(*old); !ended) {
      return Err(ended.error());  // the clients of the previous user's session are told
    }
  }
  const int64_t now = clock_.now();
  const std::string cookie = crypto::random_token(32);
  store::Session session;
  session.id_sha256 = crypto::sha256(cookie);
  session.sid = std::move(sid);
  session.user_id = user.id;
  session.auth_time = now;
  session.acr = std::string(acr);
  session.amr = std::move(amr);
  session.created_at = now;
  session.expires_at = now + options_.session_lifetime;
  if (auto created = store_.sessions().create(session); !created) {
    return Err(created.error().message);
  }
  ctx.set_cookies.push_back(cookies_.set(cookies_.session, cookie, std::nullopt));
  audit::emit("login.succeeded", {{"user_id", user.id},
                                  {"sid", session.sid},
                                  {"acr", session.acr},
                                  {"amr", session.amr},
                                  {"address", ctx.request.peer_address()}});
  return session;
}

std::variant<http::Response, AuthorizeEndpoint::LoginAttempt> AuthorizeEndpoint::prepare_login(
    const http::Request& request) const {
  Context ctx{request, http::request_cookie(request, cookies_.browser).value_or(""), {}};
  auto form = request.form();
  if (!form) return error_page(ctx, 400, "Invalid form", "The form was not sent correctly.");
  if (auto refused = check_form(ctx, request, *form)) return std::move(*refused);
  auto state = sealer_.open("authorize", form->get("interaction").value_or(""), ctx.browser_id);
  auto authz = state ? AuthorizationRequest::from_json(*state) : std::nullopt;
  if (!authz) {
    return error_page(ctx, 400, "This page has expired",
                      "Go back to the application and sign in again.");
  }
  auto client = clients_.find(authz->client_id);
  if (!client || !*client) {
    return error_page(ctx, 400, "Unknown application", "The application is no longer registered.");
  }
  return LoginAttempt{ctx.browser_id, std::move(*form), std::move(*authz), *client};
}

http::Response AuthorizeEndpoint::login(const http::Request& request) const {
  auto prepared = prepare_login(request);
  if (auto* response = std::get_if<http::Response>(&prepared)) return std::move(*response);
  return finish_login(request, std::get<LoginAttempt>(prepared));
}

http::Response AuthorizeEndpoint::finish_login(const http::Request& request,
                                               LoginAttempt& attempt) const {
  Context ctx{request, attempt.browser_id, {}};
  const http::Params* form = &attempt.form;
  AuthorizationRequest* authz = &attempt.authz;
  auto user =
      authenticator_.authenticate(form->get("username").value_or(""),
                                  form->get("password").value_or(""), request.peer_address());
  if (!user) {
    audit::emit("login.failed", {{"username", form->get("username").value_or("").substr(0, 128)},
                                 {"reason", identity::to_string(user.error().error)},
                                 {"client_id", authz->client_id},
                                 {"address", request.peer_address()}});
    switch (user.error().error) {
      case identity::AuthError::kInvalidCredentials:
        return login_page(ctx, *authz, "Incorrect username or password.", 401,
                          form->get("username").value_or("").substr(0, 128));
      case identity::AuthError::kThrottled:
        return login_page(ctx, *authz,
                          "Too many failed attempts. Try again in " +
                              std::to_string((user.error().retry_after + 59) / 60) + " minutes.",
                          429, form->get("username").value_or("").substr(0, 128));
      case identity::AuthError::kInternal:
        return error_page(ctx, 503, "Temporarily unavailable", "Please try again in a moment.");
    }
  }
  // The second factor, when enrolled, is always asked: a password alone never signs in a user
  // who has one (RFC 8176 mfa).
  if (user->totp_secret_encrypted) {
    return otp_page(ctx, *authz, user->id, std::nullopt, std::nullopt, 200);
  }
  if (wants_mfa(*authz)) {
    return redirect_error(ctx, *authz, "unmet_authentication_requirements",
                          "the user has no second factor enrolled");
  }
  auto session = start_session(ctx, *user, kAcrPassword, {"pwd"});
  if (!session) return error_page(ctx, 503, "Temporarily unavailable", "Try again.");
  satisfied_by_fresh_login(*authz);
  return proceed(ctx, Flow{std::move(*authz), attempt.client, std::move(*session)});
}

http::Response AuthorizeEndpoint::otp(const http::Request& request) const {
  Context ctx{request, http::request_cookie(request, cookies_.browser).value_or(""), {}};
  auto form = request.form();
  if (!form) return error_page(ctx, 400, "Invalid form", "The form was not sent correctly.");
  if (auto refused = check_form(ctx, request, *form)) return std::move(*refused);
  auto state = sealer_.open("otp", form->get("interaction").value_or(""), ctx.browser_id);
  std::optional<AuthorizationRequest> authz;
  std::string user_id;
  std::optional<std::string> sid;
  if (state && state->is_object() && state->contains("request") && state->contains("user_id")) {
    authz = AuthorizationRequest::from_json((*state)["request"]);
    if ((*state)["user_id"].is_string()) user_id = (*state)["user_id"].get<std::string>();
    if (state->contains("sid") && (*state)["sid"].is_string()) {
      sid = (*state)["sid"].get<std::string>();
    }
  }
  if (!authz || user_id.empty()) {
    return error_page(ctx, 400, "This page has expired",
                      "Go back to the application and sign in again.");
  }
  auto client = clients_.find(authz->client_id);
  auto user = store_.users().find_by_id(user_id);
  if (!client || !*client || !user || !*user || (*user)->disabled) {
    return error_page(ctx, 400, "This page has expired",
                      "Go back to the application and sign in again.");
  }
  auto verified = authenticator_.verify_second_factor(**user, form->get("code").value_or(""));
  if (!verified) {
    audit::emit("login.second_factor_failed",
                {{"user_id", user_id},
                 {"reason", identity::to_string(verified.error().error)},
                 {"address", request.peer_address()}});
    switch (verified.error().error) {
      case identity::SecondFactorError::kInvalidCode:
        return otp_page(ctx, *authz, user_id, sid, "That code is not valid. Try the next one.",
                        401);
      case identity::SecondFactorError::kThrottled:
        return otp_page(ctx, *authz, user_id, sid,
                        "Too many failed attempts. Try again in " +
                            std::to_string((verified.error().retry_after + 59) / 60) + " minutes.",
                        429);
      case identity::SecondFactorError::kNotEnrolled:
      case identity::SecondFactorError::kInternal:
        return error_page(ctx, 503, "Temporarily unavailable", "Please try again in a moment.");
    }
  }
  const std::vector<std::string> amr = {"pwd", "otp", "mfa"};  // RFC 8176 §2
  std::optional<store::Session> session;
  auto found = current_session(request);
  if (!found) {
    return error_page(ctx, 503, "Temporarily unavailable", "Please try again in a moment.");
  }
  std::optional<store::Session> existing = std::move(*found);
  // A code page reached by step-up (sid set) only ever upgrades that live session: a code alone
  // never starts one.
  if (sid && (!existing || existing->sid != *sid || existing->user_id != user_id)) {
    return error_page(ctx, 400, "This page has expired",
                      "Go back to the application and sign in again.");
  }
  if (sid) {
    // Step-up in the same session (acr_values asked for more than it had).
    const int64_t now = clock_.now();
    if (!store_.sessions().update_authentication(existing->id_sha256, now, kAcrMfa, amr)) {
      return error_page(ctx, 503, "Temporarily unavailable", "Try again.");
    }
    existing->auth_time = now;
    existing->acr = std::string(kAcrMfa);
    existing->amr = amr;
    session = std::move(existing);
  } else {
    auto started = start_session(ctx, **user, kAcrMfa, amr);
    if (!started) return error_page(ctx, 503, "Temporarily unavailable", "Try again.");
    session = std::move(*started);
  }
  satisfied_by_fresh_login(*authz);
  return proceed(ctx, Flow{std::move(*authz), *client, std::move(session)});
}

http::Response AuthorizeEndpoint::consent(const http::Request& request) const {
  Context ctx{request, http::request_cookie(request, cookies_.browser).value_or(""), {}};
  auto form = request.form();
  if (!form) return error_page(ctx, 400, "Invalid form", "The form was not sent correctly.");
  if (auto refused = check_form(ctx, request, *form)) return std::move(*refused);
  auto state = sealer_.open("consent", form->get("interaction").value_or(""), ctx.browser_id);
  std::optional<AuthorizationRequest> authz;
  if (state && state->is_object() && state->contains("request") && state->contains("sid")) {
    authz = AuthorizationRequest::from_json((*state)["request"]);
  }
  auto found = current_session(request);
  if (!found) {
    return error_page(ctx, 503, "Temporarily unavailable", "Please try again in a moment.");
  }
  const std::optional<store::Session>& session = *found;
  // The consent belongs to the session it was asked in: a user who signed out or switched
  // accounts in another tab starts again.
  if (!authz || !session || !(*state)["sid"].is_string() ||
      (*state)["sid"].get<std::string>() != session->sid) {
    return error_page(ctx, 400, "This page has expired",
                      "Go back to the application and sign in again.");
  }
  auto client = clients_.find(authz->client_id);
  if (!client || !*client) {
    return error_page(ctx, 400, "Unknown application", "The application is no longer registered.");
  }
  auto decision = form->get("decision");
  if (decision && *decision == "deny") {
    // RFC 6749 §4.1.2.1 access_denied.
    return redirect_error(ctx, *authz, "access_denied", "the user denied the request");
  }
  if (!decision || *decision != "allow") {
    return error_page(ctx, 400, "Invalid form", "The form was not sent correctly.");
  }
  if (!store_.consents().grant(session->user_id, authz->client_id, authz->scopes)) {
    return error_page(ctx, 503, "Temporarily unavailable", "Try again.");
  }
  // Consent given just now: proceed() finds it. prompt=consent is satisfied by this answer.
  authz->prompt.erase(std::remove(authz->prompt.begin(), authz->prompt.end(), "consent"),
                      authz->prompt.end());
  return proceed(ctx, Flow{std::move(*authz), *client, session});
}

namespace {

// "2026-11-24 19:40 UTC".
std::string utc_minute(int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm);
  return text;
}

}  // namespace

http::Response AuthorizeEndpoint::account(const http::Request& request) const {
  Context ctx = start(request);
  auto found = current_session(request);
  if (!found) return error_page(ctx, 503, "Temporarily unavailable", "Try again in a moment.");
  if (!*found) {
    return error_page(ctx, 401, "Not signed in",
                      "Sign in to an application first, then come back to this page.");
  }
  const store::Session& session = **found;
  if (request.method() == "POST") {
    auto form = request.form();
    if (!form) return error_page(ctx, 400, "Invalid form", "The form was not sent correctly.");
    if (auto refused = check_form(ctx, request, *form)) return std::move(*refused);
    const auto sid = form->get("sid");
    const auto client_id = form->get("client_id");
    if (sid && !sid->empty()) {
      // Only a session of this user; ending it is the logout path (grants revoked, back-channel
      // logout tokens sent).
      auto target = store_.sessions().find_by_sid(*sid);
      if (!target) return error_page(ctx, 503, "Temporarily unavailable", "Try again.");
      if (!*target || (*target)->user_id != session.user_id) {
        return error_page(ctx, 400, "Unknown session", "That session has already ended.");
      }
      auto ended = sessions_.end(**target);
      if (!ended) return error_page(ctx, 503, "Temporarily unavailable", "Try again.");
      audit::emit("session.ended_by_user", {{"user_id", session.user_id}, {"sid", *sid}});
      if (*sid == session.sid) {
        // This browser: signed out here, so its clients' front-channel logout pages can be
        // framed too (Front-Channel Logout §3), as at /end_session.
        ctx.set_cookies.push_back(cookies_.clear(cookies_.session));
        auto frames = frontchannel_frames(*ended, options_.issuer, session.sid);
        return finish(ctx, frames.empty() ? pages::html(200, pages::logged_out())
                                          : pages::logged_out_response(frames, ""));
      }
    } else if (client_id && !client_id->empty()) {
      auto withdrawn = store::withdraw_consent(store_, session.user_id, *client_id);
      if (!withdrawn) return error_page(ctx, 503, "Temporarily unavailable", "Try again.");
      if (!*withdrawn) {
        return error_page(ctx, 400, "Unknown application", "You had not allowed that application.");
      }
      audit::emit("consent.withdrawn_by_user",
                  {{"user_id", session.user_id}, {"client_id", *client_id}});
    } else {
      return error_page(ctx, 400, "Invalid form", "The form was not sent correctly.");
    }
    // Post/redirect/get: a reload does not send the form again.
    http::Response again(303);
    again.headers.set("Location", endpoint_url(options_.issuer, "/account"));
    again.headers.set("Cache-Control", "no-store");
    return finish(ctx, std::move(again));
  }
  auto sessions = store_.sessions().list_for_user(session.user_id);
  auto consents = store_.consents().list_for_user(session.user_id);
  auto user = store_.users().find_by_id(session.user_id);
  if (!sessions || !consents || !user || !*user) {
    return error_page(ctx, 503, "Temporarily unavailable", "Try again.");
  }
  pages::AccountPage page;
  page.action = prefix_ + "/account";
  page.csrf = sealer_.csrf_token(ctx.browser_id);
  page.username = (*user)->username;
  for (const store::Session& s : *sessions) {
    page.sessions.push_back({s.sid, utc_minute(s.auth_time),
                             s.acr == kAcrMfa ? "password and one-time code" : "password",
                             s.sid == session.sid});
  }
  for (const store::Consent& c : *consents) page.consents.push_back({c.client_id, c.scopes});
  return finish(ctx, pages::html(200, pages::account(page)));
}

}  // namespace tessera::oauth
