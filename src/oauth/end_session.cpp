#include "oauth/end_session.h"

#include <algorithm>

#include "core/audit.h"
#include "core/crypto.h"
#include "oauth/pages.h"
#include "oauth/tokens.h"

namespace tessera::oauth {
namespace {

constexpr int64_t kConfirmLifetime = 600;

http::Response page_error(int status, std::string_view message) {
  return pages::html(status, pages::error({"Sign-out failed", std::string(message)}));
}

}  // namespace

// Where the user goes once signed out, checked before anything happens.
struct EndSessionEndpoint::Target {
  std::optional<std::string> client_id;
  std::optional<std::string> redirect_uri;  // registered for client_id
  std::optional<std::string> state;
  std::optional<std::string> hint_sid;  // sid of a valid id_token_hint
};

EndSessionEndpoint::EndSessionEndpoint(std::string issuer, const AuthorizeEndpoint& authorize,
                                       ClientCache& clients, store::Store& store,
                                       const SigningKeys& keys, const InteractionSealer& sealer,
                                       SessionEnder& sessions, const Clock& clock)
    : issuer_(std::move(issuer)),
      authorize_(authorize),
      clients_(clients),
      store_(store),
      keys_(keys),
      sealer_(sealer),
      sessions_(sessions),
      clock_(clock) {}

void EndSessionEndpoint::add_routes(http::Router& router, const std::string& prefix) {
  prefix_ = prefix;
  auto handler = [this](const http::Request& r) { return end_session(r); };
  router.get(prefix + "/end_session", handler);
  router.post(prefix + "/end_session", handler);
  router.post(prefix + "/logout", [this](const http::Request& r) { return logout(r); });
}

http::Response EndSessionEndpoint::end_session(const http::Request& request) const {
  http::Params params;
  if (request.method() == "POST") {
    auto form = request.form();
    if (!form) return page_error(400, "The request was malformed.");
    params = std::move(*form);
  } else {
    if (request.query_error()) return page_error(400, "The request was malformed.");
    params = request.query();
  }
  if (params.size() > 16 || params.first_duplicate()) {
    return page_error(400, "The request was malformed.");
  }
  Target target;
  auto get = [&](std::string_view name) -> std::optional<std::string> {
    auto v = params.get(name);
    if (!v || v->empty()) return std::nullopt;
    return std::string(*v);
  };
  target.state = get("state");
  target.client_id = get("client_id");
  // RP-Initiated Logout §2: id_token_hint, an ID token we issued; an expired one is still a
  // valid hint (the RP may log out long after login), so exp is not required here.
  if (auto token = get("id_token_hint")) {
    auto hint = verify_id_token_hint(*token, keys_, issuer_, clock_);
    if (!hint) return page_error(400, "The id_token_hint was not issued by this server.");
    // §2: client_id, when given with a hint, must be its audience.
    if (target.client_id && *target.client_id != hint->client_id) {
      return page_error(400, "The id_token_hint does not belong to this client.");
    }
    target.client_id = hint->client_id;
    target.hint_sid = hint->sid;
  }
  // §3: post_logout_redirect_uri must be registered for the client (exact match), and the
  // client must be identified; otherwise no redirect at all.
  if (auto uri = get("post_logout_redirect_uri")) {
    if (!target.client_id) {
      return page_error(400, "post_logout_redirect_uri needs id_token_hint or client_id.");
    }
    auto client = clients_.find(*target.client_id);
    if (!client) return page_error(503, "Please try again in a moment.");
    const auto& registered =
        *client ? (*client)->post_logout_redirect_uris : std::vector<std::string>{};
    if (std::find(registered.begin(), registered.end(), *uri) == registered.end()) {
      return page_error(400, "post_logout_redirect_uri is not registered for this client.");
    }
    target.redirect_uri = *uri;
  }
  std::vector<std::string> cookies;
  auto browser = http::request_cookie(request, authorize_.cookies().browser);
  std::string browser_id;
  if (browser && browser->size() == 43) {
    browser_id = *browser;
  } else {
    browser_id = crypto::random_token(32);
    cookies.push_back(authorize_.cookies().set(authorize_.cookies().browser, browser_id, {}));
  }
  auto found = authorize_.current_session(request);
  if (!found) return page_error(503, "Please try again in a moment.");
  const std::optional<store::Session>& session = *found;
  // A hint naming this very session proves the request comes from its relying party: sign out
  // at once. Otherwise (§2: "the OP SHOULD ask the End-User") ask first.
  if (!session || (target.hint_sid && *target.hint_sid == session->sid)) {
    return sign_out(request, target, std::move(cookies));
  }
  json::Json state = json::Json::object();
  if (target.client_id) state["client_id"] = *target.client_id;
  if (target.redirect_uri) state["redirect_uri"] = *target.redirect_uri;
  if (target.state) state["state"] = *target.state;
  pages::LogoutPage page;
  page.form = {prefix_ + "/logout", sealer_.csrf_token(browser_id),
               sealer_.seal("logout", state, browser_id, kConfirmLifetime)};
  page.client_name = target.client_id;
  http::Response r = target.redirect_uri
                         ? pages::html(200, pages::logout_confirm(page), *target.redirect_uri)
                         : pages::html(200, pages::logout_confirm(page));
  for (const auto& c : cookies) r.headers.add("Set-Cookie", c);
  return r;
}

http::Response EndSessionEndpoint::logout(const http::Request& request) const {
  auto form = request.form();
  if (!form || form->size() > 8 || form->first_duplicate()) {
    return page_error(400, "The form was not sent correctly.");
  }
  std::string browser_id = http::request_cookie(request, authorize_.cookies().browser).value_or("");
  auto csrf = form->get("csrf");
  if (!csrf || !sealer_.csrf_matches(browser_id, *csrf)) {
    return page_error(403, "This page has expired. Sign out again from the application.");
  }
  auto state = sealer_.open("logout", form->get("interaction").value_or(""), browser_id);
  if (!state || !state->is_object()) {
    return page_error(400, "This page has expired. Sign out again from the application.");
  }
  Target target;
  auto field = [&](const char* name) -> std::optional<std::string> {
    if (!state->contains(name) || !(*state)[name].is_string()) return std::nullopt;
    return (*state)[name].get<std::string>();
  };
  target.client_id = field("client_id");
  target.redirect_uri = field("redirect_uri");
  target.state = field("state");
  if (form->get("decision").value_or("") != "logout") {
    return pages::html(200, pages::error({"Still signed in", "You did not sign out."}));
  }
  return sign_out(request, target, {});
}

http::Response EndSessionEndpoint::sign_out(const http::Request& request, const Target& target,
                                            std::vector<std::string> cookies) const {
  auto found = authorize_.current_session(request);
  if (!found) return page_error(503, "Please try again in a moment.");
  // OpenID Connect Front-Channel Logout 1.0 §3: the session's clients' logout pages, framed by
  // the signed-out page, each told the issuer and the session (§2, always sent).
  std::vector<std::string> frames;
  if (const auto& session = *found) {
    // The session ends and so does everything authorized in it (refresh tokens and opaque
    // access tokens; JWT access tokens end with their short lifetime).
    auto ended = sessions_.end(*session);
    if (!ended) return page_error(503, "Please try again in a moment.");
    frames = frontchannel_frames(*ended, issuer_, session->sid);
    audit::emit("session.ended", {{"user_id", session->user_id},
                                  {"sid", session->sid},
                                  {"client_id", target.client_id.value_or("")}});
  }
  cookies.push_back(authorize_.cookies().clear(authorize_.cookies().session));
  http::Response r;
  std::string continue_to;
  if (target.redirect_uri) {
    std::vector<std::pair<std::string, std::string>> params;
    if (target.state) params.emplace_back("state", *target.state);
    continue_to = redirect_with(*target.redirect_uri, params);
  }
  if (!frames.empty()) {
    // The frames must load before the browser leaves: the page, then on to the client.
    r = pages::logged_out_response(frames, continue_to);
  } else if (!continue_to.empty()) {
    r = http::Response(303);
    r.headers.set("Location", continue_to);
    r.headers.set("Cache-Control", "no-store");
  } else {
    r = pages::html(200, pages::logged_out());
  }
  for (const auto& c : cookies) r.headers.add("Set-Cookie", c);
  return r;
}

}  // namespace tessera::oauth
