// What the tests that drive the whole authorization server share: an AuthorizationServer on the
// OAuthTest store and clock with its routes in an http::Router, requests sent through the router,
// browser clients and a signed-in user (a session row and its cookie), authorization requests,
// code redemption, DPoP proofs, and the checks of what comes back (JSON bodies, header fields,
// access tokens verified against the server's JWKS).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base64url.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/result.h"
#include "http/client.h"
#include "http/message.h"
#include "http/router.h"
#include "jose/jose.h"
#include "oauth/authorization_server.h"
#include "oauth/authorize_endpoint.h"
#include "oauth/authorize_request.h"
#include "oauth_fixture.h"
#include "store/store.h"
#include "tessera/dpop.h"

namespace tessera::oauth::testing {

// Name/value pairs of a form or a query, in order.
using Pairs = std::vector<std::pair<std::string, std::string>>;

// The whole authorization server on an SQLite store and a fixed clock, opened with
// server_options() in SetUp, then populate()d. Subclasses that hold objects built on the server
// reset them first in TearDown, then call this one's.
class AuthorizationServerTest : public OAuthTest {
 protected:
  static constexpr char kIssuer[] = "https://as.example";
  static constexpr char kTokenUrl[] = "https://as.example/token";
  static constexpr char kRedirectUri[] = "https://app.example/cb";
  static constexpr char kApiA[] = "urn:tessera:api:a";
  static constexpr char kSessionCookie[] = "__Host-tessera_session";  // https issuer: __Host-
  static constexpr char kVerifier[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r0wJtEqDoGLKTBp";

  void SetUp() override {
    OAuthTest::SetUp();
    ASSERT_NO_FATAL_FAILURE(open_server());
  }
  void TearDown() override {
    as_.reset();
    OAuthTest::TearDown();
  }

  // How the server is configured: issuer kIssuer, the fixture's secret key, the scopes openid,
  // invoices:read and invoices:write, no background key refresher. Overrides start from these.
  virtual AuthorizationServerOptions server_options() {
    AuthorizationServerOptions options;
    options.issuer = kIssuer;
    options.secret_key = secret_key_;
    options.scopes_supported = {"openid", "invoices:read", "invoices:write"};
    options.key_refresh_seconds = 0;
    return options;
  }
  // The clients, users and sessions the server starts with; none here.
  virtual void populate() {}

  void open_server() {
    auto as = AuthorizationServer::open(*store_, server_options(), clock_);
    ASSERT_TRUE(as) << as.error();
    as_ = std::move(*as);
    as_->add_routes(router_);
    populate();
  }

  // The user alice, signed in: a session row whose cookie is session_cookie_ (password, now).
  void sign_in_alice() {
    auto alice = store_->users().create({"alice", "$argon2id$placeholder", "{}"});
    ASSERT_TRUE(alice) << alice.error().message;
    alice_ = *alice;
    store::Session session;
    session.id_sha256 = crypto::sha256(session_cookie_);
    session.sid = "sid-1";
    session.user_id = alice_.id;
    session.auth_time = clock_.now();
    session.acr = std::string(kAcrPassword);
    session.amr = {"pwd"};
    session.created_at = clock_.now();
    session.expires_at = clock_.now() + 3600;
    auto created = store_->sessions().create(session);
    ASSERT_TRUE(created) << created.error().message;
  }

  // A code client (openid, invoices:read, refresh tokens) of API A with `redirect_uris` that
  // skips consent: public, or confidential with the secret "ID-secret" (client_secret_basic).
  void add_browser_client(const std::string& id, bool is_public,
                          std::vector<std::string> redirect_uris = {kRedirectUri}) {
    store::Client c = add_code_client(id, {kApiA}, is_public);
    c.redirect_uris = std::move(redirect_uris);
    c.skip_consent = true;
    if (is_public) public_clients_.insert(id);
    auto updated = store_->clients().update(c);
    ASSERT_TRUE(updated) << updated.error().message;
  }
  // Whether `client_id` is a public client of add_browser_client(): one that names itself with
  // client_id instead of authenticating.
  bool is_public_client(const std::string& client_id) const {
    return public_clients_.contains(client_id);
  }

  // Changes a stored client; the server's client cache forgets it.
  void update_client(const std::string& id, const std::function<void(store::Client&)>& change) {
    auto found = store_->clients().find(id);
    ASSERT_TRUE(found && *found);
    store::Client c = **found;
    change(c);
    ASSERT_TRUE(store_->clients().update(c));
    as_->clients().invalidate(id);
  }

  // The response of the route `r` matches, 404 when none does.
  http::Response call(http::Request r) {
    // Request keeps views into its own target; refresh them after the copy.
    r.set_target(std::string(r.target()));
    auto match = router_.match(r.method(), r.path(), r);
    if (match.kind != http::Router::Match::Kind::kFound) return http::Response(404);
    return match.route->handler(r);
  }
  // GET `target`.
  http::Response fetch(const std::string& target) {
    http::Request get;
    get.set_method("GET");
    get.set_target(target);
    return call(get);
  }
  // A POST of the form `body` to `target`: client `id` authenticated by HTTP Basic with `secret`
  // (none for an empty secret), each of `proofs` as a DPoP field and client_cert_ as the TLS
  // client certificate.
  http::Request form_post(const std::string& target, const std::string& body, const std::string& id,
                          const std::string& secret, const std::vector<std::string>& proofs) const {
    auto r = form_request(body);
    r.set_target(target);
    if (!secret.empty()) r.mutable_headers().add("Authorization", basic(id, secret));
    for (const std::string& p : proofs) r.mutable_headers().add("DPoP", p);
    if (client_cert_) r.mutable_tls().client_certificate = client_cert_;
    return r;
  }

  // The form encoding of `pairs`, in order.
  static std::string encoded(const Pairs& pairs) {
    http::Params params;
    for (const auto& [name, value] : pairs) params.add(name, value);
    return http::form_encode(params);
  }
  // The PKCE S256 code challenge of `verifier` (RFC 7636 §4.2).
  static std::string challenge_of(const std::string& verifier) {
    return base64url::encode(crypto::sha256(verifier));
  }

  // An authorization request: code + PKCE S256 to kRedirectUri, scope openid invoices:read,
  // state s1.
  static Pairs request_params(const std::string& verifier = kVerifier) {
    return {{"response_type", "code"},
            {"redirect_uri", kRedirectUri},
            {"scope", "openid invoices:read"},
            {"state", "s1"},
            {"code_challenge", challenge_of(verifier)},
            {"code_challenge_method", "S256"}};
  }
  // GET /authorize with `query` in alice's session.
  http::Response authorize_query(const Pairs& query) {
    http::Request r;
    r.set_method("GET");
    r.set_target(redirect_with("/authorize", query));
    r.mutable_headers().add("Cookie", std::string(kSessionCookie) + "=" + session_cookie_);
    return call(std::move(r));
  }
  // A plain (not pushed) authorization request of `client_id`, request_params() with `extra`
  // parameters, in alice's session.
  http::Response authorize(const std::string& client_id, const Pairs& extra = {}) {
    Pairs query = {{"client_id", client_id}};
    const Pairs request = request_params();
    query.insert(query.end(), request.begin(), request.end());
    query.insert(query.end(), extra.begin(), extra.end());
    return authorize_query(query);
  }
  // The query of the redirect a /authorize response sends the browser to, which must go to
  // `redirect_uri`.
  static http::Params redirect_params(const http::Response& r,
                                      const std::string& redirect_uri = kRedirectUri) {
    EXPECT_EQ(r.status, 303) << r.body;
    auto location = r.headers.get("Location");
    if (!location) {
      ADD_FAILURE() << "no Location";
      return {};
    }
    EXPECT_TRUE(location->starts_with(redirect_uri + "?")) << *location;
    auto query = http::parse_form(location->substr(location->find('?') + 1));
    EXPECT_TRUE(query);
    return query ? *query : http::Params();
  }
  // The code of a successful /authorize response.
  static std::string code_of(const http::Response& r) {
    http::Params params = redirect_params(r);
    EXPECT_FALSE(params.get("error")) << params.get("error_description").value_or("");
    return std::string(params.get("code").value_or(""));
  }

  // The consent page's form answered with `decision` ("allow", "deny") by the browser of cookie
  // `browser` (the browser-id cookie the interaction began with), in alice's session.
  http::Response answer_consent(const http::Response& consent_page, const std::string& decision,
                                const std::string& browser) {
    auto r = form_request(encoded({{"csrf", hidden_field(consent_page.body, "csrf")},
                                   {"interaction", hidden_field(consent_page.body, "interaction")},
                                   {"decision", decision}}));
    r.set_target("/consent");
    r.mutable_headers().add("Cookie",
                            browser + "; " + std::string(kSessionCookie) + "=" + session_cookie_);
    return call(std::move(r));
  }

  // The browser: GET /device?user_code=`shown`, then POST the code typed as `typed` with the
  // page's CSRF token, in alice's session when `signed_in`. Returns the POST's answer; the
  // browser cookie is kept in browser_.
  http::Response enter_code(const std::string& shown, const std::string& typed,
                            bool signed_in = true, const std::string& peer = "192.0.2.7") {
    auto page = fetch("/device?user_code=" + shown);
    EXPECT_EQ(page.status, 200) << page.body;
    browser_ = browser_cookie(page);
    auto r = form_request(encoded(
        {{"csrf", hidden_field(page.body, "csrf")}, {"interaction", ""}, {"user_code", typed}}));
    r.set_target("/device");
    r.set_peer(peer, 50000);
    std::string cookies = browser_;
    if (signed_in) cookies += "; " + std::string(kSessionCookie) + "=" + session_cookie_;
    r.mutable_headers().add("Cookie", cookies);
    return call(std::move(r));
  }
  // The consent page's form answered with `decision` by this test's browser.
  http::Response decide(const http::Response& consent_page, const std::string& decision) {
    return answer_consent(consent_page, decision, browser_);
  }

  // Redeems `code` (issued for kRedirectUri) at the token endpoint as `client_id` with
  // `verifier`: confidential clients authenticate with their secret "ID-secret" by HTTP Basic,
  // public ones name themselves with client_id.
  http::Response redeem(const std::string& client_id, const std::string& code,
                        const std::vector<std::string>& proofs = {},
                        const std::string& verifier = kVerifier) {
    const bool public_client = is_public_client(client_id);
    Pairs form = {{"grant_type", "authorization_code"},
                  {"code", code},
                  {"redirect_uri", kRedirectUri},
                  {"code_verifier", verifier}};
    if (public_client) form.emplace_back("client_id", client_id);
    return call(form_post("/token", encoded(form), client_id,
                          public_client ? "" : client_id + "-secret", proofs));
  }

  // A generated key of `alg`; throws when there is none.
  static jose::Jwk generated(jose::Alg alg) {
    auto key = jose::Jwk::generate(alg);
    if (!key) {
      throw std::runtime_error(std::string("key generation: ") + jose::to_string(key.error()));
    }
    return *key;
  }
  // The claims of a DPoP proof for `method` `url` now, with a fresh jti.
  json::Json proof_claims(const std::string& method = "POST",
                          const std::string& url = kTokenUrl) const {
    return {
        {"jti", crypto::random_token(16)}, {"htm", method}, {"htu", url}, {"iat", clock_.now()}};
  }
  // A DPoP proof (RFC 9449 §4.2) signed by `key` carrying its public half in the header.
  static std::string sign_proof(const jose::Jwk& key, const json::Json& claims,
                                jose::Alg alg = jose::Alg::kES256) {
    jose::SignOptions options;
    options.include_kid = false;
    options.extra_header = {{"typ", "dpop+jwt"}, {"jwk", key.public_key().to_json()}};
    auto jws = jose::sign(claims.dump(), key, alg, options);
    EXPECT_TRUE(jws) << (jws ? "" : jose::to_string(jws.error()));
    return jws ? *jws : std::string();
  }

  // An access token this server signed, verified for `audience` against its JWKS (GET /jwks).
  Result<jose::Jwt, jose::Status> verify(const std::string& jwt, const std::string& audience) {
    auto jwks = jose::Jwks::parse(fetch("/jwks").body);
    EXPECT_TRUE(jwks);
    if (!jwks) return Err(jwks.error());
    jose::ClaimsPolicy policy;
    policy.issuer = kIssuer;
    policy.audiences = {audience};
    policy.typ = "at+jwt";
    policy.clock = &clock_;
    return jose::verify_jwt(jwt, *jwks, {}, policy);
  }
  // The claims of an access token this server signed, checked against its JWKS.
  json::Json access_claims(const std::string& jwt, const std::string& audience) {
    auto verified = verify(jwt, audience);
    EXPECT_TRUE(verified) << (verified ? "" : jose::to_string(verified.error()));
    return verified ? verified->claims : json::Json();
  }
  // The cnf.jkt of the JWT access token of a token response, "" when it has none.
  std::string jkt_of(const json::Json& response, const std::string& audience = kApiA) {
    json::Json claims = access_claims(response.value("access_token", ""), audience);
    if (!claims.contains("cnf")) return "";
    return claims["cnf"].value("jkt", "<cnf without jkt>");
  }

  // The value of the hidden input `name` of an HTML page, "" when absent.
  static std::string hidden_field(const std::string& html, const std::string& name) {
    const std::string open = "name=\"" + name + "\" value=\"";
    const size_t at = html.find(open);
    if (at == std::string::npos) return "";
    const size_t start = at + open.size();
    return html.substr(start, html.find('"', start) - start);
  }
  // The browser cookie ("name=value") a page response sets, "" when it sets none.
  static std::string browser_cookie(const http::Response& r) {
    for (const auto& [name, value] : r.headers) {
      if (http::iequals(name, "Set-Cookie") && value.starts_with("__Host-tessera_browser=")) {
        return value.substr(0, value.find(';'));
      }
    }
    return "";
  }

  static json::Json body(const http::Response& r) {
    auto parsed = json::parse_strict(r.body);
    EXPECT_TRUE(parsed) << r.body;
    return parsed ? *parsed : json::Json();
  }
  static std::string error(const http::Response& r) { return body(r).value("error", ""); }
  // The field `name` of `r`, "<absent>" when it has none.
  static std::string header(const http::Response& r, std::string_view name) {
    auto h = r.headers.get(name);
    return h ? std::string(*h) : std::string("<absent>");
  }

  http::Router router_;
  std::unique_ptr<AuthorizationServer> as_;
  store::User alice_;  // set by sign_in_alice()
  std::string session_cookie_ = crypto::random_token(32);
  jose::Jwk key_a_ = generated(jose::Alg::kES256);
  jose::Jwk key_b_ = generated(jose::Alg::kES256);
  // The TLS client certificate form_post() requests arrive with (RFC 8705); null: none.
  std::shared_ptr<const http::ClientCertificate> client_cert_;
  std::string browser_;  // the browser cookie of enter_code() and of the tests' own pages

 private:
  std::set<std::string> public_clients_;  // by add_browser_client()
};

// The fixture `Base` (an AuthorizationServerTest) with the server's DPoP nonces (RFC 9449 §8) on
// the fixture's clock, in windows of 60 seconds: nonces_.
template <class Base>
class WithDpopNonces : public Base {
 protected:
  AuthorizationServerOptions server_options() override {
    AuthorizationServerOptions options = Base::server_options();
    nonces_ = std::make_shared<const resource::DpopNonces>(resource::DpopNonceOptions{
        .secret = std::string(32, 'n'), .period_seconds = 60, .now = [this] {
          return this->clock_.now();
        }});
    options.dpop.nonces = nonces_;
    return options;
  }

  std::shared_ptr<const resource::DpopNonces> nonces_;
};

}  // namespace tessera::oauth::testing
