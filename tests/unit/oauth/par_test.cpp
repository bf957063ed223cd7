// Pushed authorization requests (RFC 9126), driven through the routes AuthorizationServer
// registers: POST /par with client authentication (§2.1), its success and error answers (§2.2,
// §2.3), the request_uri at /authorize (§4: the pushed parameters only, used once, for the client
// that pushed it, short-lived), PAR required by the server or per client (§5, §6), DPoP proofs at
// the PAR endpoint (RFC 9449 §10.1) and the metadata (§5).
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base64url.h"
#include "core/crypto.h"
#include "http/client.h"
#include "oauth/authorization_server.h"
#include "oauth/authorize_request.h"
#include "oauth/discovery.h"
#include "oauth/par_endpoint.h"
#include "oauth/tokens.h"
#include "oauth_fixture.h"
#include "tessera/dpop.h"

namespace tessera::oauth::testing {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

constexpr char kIssuer[] = "https://as.example";
constexpr char kParUrl[] = "https://as.example/par";
constexpr char kTokenUrl[] = "https://as.example/token";
constexpr char kRedirectUri[] = "https://app.example/cb";
constexpr char kOtherRedirectUri[] = "https://app.example/other";
constexpr char kApiA[] = "urn:tessera:api:a";
constexpr char kSessionCookie[] = "__Host-tessera_session";  // https issuer: __Host- names
constexpr char kVerifier[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r0wJtEqDoGLKTBp";
constexpr char kOtherVerifier[] = "Xz0m3Kq9LrT5vW8yB2cD4fG6hJ1kN7pQ0sU3wY5aE9i";

jose::Jwk generated(jose::Alg alg) {
  auto key = jose::Jwk::generate(alg);
  EXPECT_TRUE(key) << (key ? "" : jose::to_string(key.error()));
  return *key;
}

std::string challenge_of(const std::string& verifier) {
  return base64url::encode(crypto::sha256(verifier));
}

// The form encoding of `pairs`, in order.
std::string encoded(const Pairs& pairs) {
  http::Params params;
  for (const auto& [name, value] : pairs) params.add(name, value);
  return http::form_encode(params);
}

// Sets `name` to `value` in `pairs` (replacing it, or appending it); std::nullopt removes it.
Pairs with(Pairs pairs, const std::string& name, const std::optional<std::string>& value) {
  std::erase_if(pairs, [&](const auto& p) { return p.first == name; });
  if (value) pairs.emplace_back(name, *value);
  return pairs;
}

// The whole authorization server on an SQLite store and a fixed clock, with a signed-in user
// (a session row and its cookie) and the code clients "web" and "other" (confidential,
// client_secret_basic, secret "ID-secret") and "spa" (public), all skipping consent, with the
// redirect URIs kRedirectUri and kOtherRedirectUri.
class ParTest : public OAuthTest {
 protected:
  struct ServerSettings {
    bool require_par = false;
    std::shared_ptr<const resource::DpopNonces> nonces;
  };

  void SetUp() override {
    OAuthTest::SetUp();
    ASSERT_NO_FATAL_FAILURE(open_server(server_settings()));
  }
  // How the server is configured; the defaults here.
  virtual ServerSettings server_settings() { return {}; }
  void TearDown() override {
    as_.reset();
    OAuthTest::TearDown();
  }

  void open_server(const ServerSettings& settings) {
    AuthorizationServerOptions options;
    options.issuer = kIssuer;
    options.secret_key = secret_key_;
    options.scopes_supported = {"openid", "invoices:read", "invoices:write"};
    options.key_refresh_seconds = 0;
    options.require_pushed_authorization_requests = settings.require_par;
    options.dpop.nonces = settings.nonces;
    auto as = AuthorizationServer::open(*store_, options, clock_);
    ASSERT_TRUE(as) << as.error();
    as_ = std::move(*as);
    as_->add_routes(router_);
    add_browser_client("web", /*is_public=*/false);
    add_browser_client("other", /*is_public=*/false);
    add_browser_client("spa", /*is_public=*/true);
    auto alice = store_->users().create({"alice", "$argon2id$placeholder", "{}"});
    ASSERT_TRUE(alice) << alice.error().message;
    store::Session session;
    session.id_sha256 = crypto::sha256(session_cookie_);
    session.sid = "sid-1";
    session.user_id = alice->id;
    session.auth_time = clock_.now();
    session.acr = std::string(kAcrPassword);
    session.amr = {"pwd"};
    session.created_at = clock_.now();
    session.expires_at = clock_.now() + 3600;
    auto created = store_->sessions().create(session);
    ASSERT_TRUE(created) << created.error().message;
  }

  void add_browser_client(const std::string& id, bool is_public) {
    store::Client c = add_code_client(id, {kApiA}, is_public);
    c.redirect_uris = {kRedirectUri, kOtherRedirectUri};
    c.skip_consent = true;
    auto updated = store_->clients().update(c);
    ASSERT_TRUE(updated) << updated.error().message;
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

  http::Response call(http::Request r) {
    // Request keeps views into its own target; refresh them after the copy.
    r.set_target(std::string(r.target()));
    auto match = router_.match(r.method(), r.path(), r);
    if (match.kind != http::Router::Match::Kind::kFound) return http::Response(404);
    return match.route->handler(r);
  }

  // The authorization request a client would push: code + PKCE S256 to kRedirectUri, scope
  // openid invoices:read, state s1.
  static Pairs request_params(const std::string& verifier = kVerifier) {
    return {{"response_type", "code"},
            {"redirect_uri", kRedirectUri},
            {"scope", "openid invoices:read"},
            {"state", "s1"},
            {"code_challenge", challenge_of(verifier)},
            {"code_challenge_method", "S256"}};
  }

  // POST /par with `body`; `id`/`secret` by HTTP Basic unless the secret is empty; each of
  // `proofs` as a DPoP field.
  http::Response par_raw(const std::string& body, const std::string& id, const std::string& secret,
                         const std::vector<std::string>& proofs = {}) {
    auto r = form_request(body);
    r.set_target("/par");
    if (!secret.empty()) r.mutable_headers().add("Authorization", basic(id, secret));
    for (const std::string& p : proofs) r.mutable_headers().add("DPoP", p);
    return call(std::move(r));
  }
  // POST /par for client `id` with `params`: confidential clients authenticate with their
  // secret by HTTP Basic, "spa" names itself with client_id.
  http::Response par(const std::string& id, Pairs params = request_params(),
                     const std::vector<std::string>& proofs = {}) {
    const bool is_public = id == "spa";
    if (is_public) params.emplace_back("client_id", id);
    return par_raw(encoded(params), id, is_public ? "" : id + "-secret", proofs);
  }
  // The request_uri of a successful push.
  std::string pushed(const std::string& id, const Pairs& params = request_params(),
                     const std::vector<std::string>& proofs = {}) {
    auto r = par(id, params, proofs);
    EXPECT_EQ(r.status, 201) << r.body;
    return body(r).value("request_uri", "");
  }

  // GET /authorize with `query` in alice's session.
  http::Response authorize_query(const Pairs& query) {
    http::Request r;
    r.set_method("GET");
    r.set_target(redirect_with("/authorize", query));
    r.mutable_headers().add("Cookie", std::string(kSessionCookie) + "=" + session_cookie_);
    return call(std::move(r));
  }
  // GET /authorize?client_id=...&request_uri=... in alice's session.
  http::Response authorize_pushed(const std::string& client_id, const std::string& request_uri,
                                  const Pairs& extra = {}) {
    Pairs query = {{"client_id", client_id}, {"request_uri", request_uri}};
    query.insert(query.end(), extra.begin(), extra.end());
    return authorize_query(query);
  }
  // A plain (not pushed) authorization request of `client_id` in alice's session.
  http::Response authorize_plain(const std::string& client_id) {
    Pairs query = request_params();
    query.emplace_back("client_id", client_id);
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
  // RFC 6749 §4.1.2.1: an error shown to the user, never sent to a redirect URI.
  static void expect_error_page(const http::Response& r) {
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_FALSE(r.headers.get("Location")) << *r.headers.get("Location");
    EXPECT_EQ(header(r, "Content-Type").rfind("text/html", 0), 0u) << header(r, "Content-Type");
  }

  // Redeems `code` at the token endpoint as `client_id` with `verifier`.
  http::Response redeem(const std::string& client_id, const std::string& code,
                        const std::vector<std::string>& proofs = {},
                        const std::string& verifier = kVerifier) {
    const bool is_public = client_id == "spa";
    Pairs form = {{"grant_type", "authorization_code"},
                  {"code", code},
                  {"redirect_uri", kRedirectUri},
                  {"code_verifier", verifier}};
    if (is_public) form.emplace_back("client_id", client_id);
    auto r = form_request(encoded(form));
    if (!is_public) {
      r.mutable_headers().add("Authorization", basic(client_id, client_id + "-secret"));
    }
    for (const std::string& p : proofs) r.mutable_headers().add("DPoP", p);
    return call(std::move(r));
  }

  // A DPoP proof (RFC 9449 §4.2) of `key` for POST `url` now, with a fresh jti (or `jti`) and
  // `nonce` when not empty.
  std::string proof(const jose::Jwk& key, const std::string& url = kParUrl,
                    const std::string& jti = crypto::random_token(16),
                    const std::string& nonce = "") const {
    json::Json claims = {{"jti", jti}, {"htm", "POST"}, {"htu", url}, {"iat", clock_.now()}};
    if (!nonce.empty()) claims["nonce"] = nonce;
    jose::SignOptions options;
    options.include_kid = false;
    options.extra_header = {{"typ", "dpop+jwt"}, {"jwk", key.public_key().to_json()}};
    auto jws = jose::sign(claims.dump(), key, jose::Alg::kES256, options);
    EXPECT_TRUE(jws) << (jws ? "" : jose::to_string(jws.error()));
    return jws ? *jws : std::string();
  }

  // The cnf.jkt of the JWT access token of a token response, "" when it has none.
  std::string jkt_of(const json::Json& response) {
    http::Request get;
    get.set_method("GET");
    get.set_target("/jwks");
    auto jwks = jose::Jwks::parse(call(get).body);
    EXPECT_TRUE(jwks);
    if (!jwks) return "";
    jose::ClaimsPolicy policy;
    policy.issuer = kIssuer;
    policy.audiences = {kApiA};
    policy.typ = "at+jwt";
    policy.clock = &clock_;
    auto verified = jose::verify_jwt(response.value("access_token", ""), *jwks, {}, policy);
    EXPECT_TRUE(verified) << (verified ? "" : jose::to_string(verified.error()));
    if (!verified || !verified->claims.contains("cnf")) return "";
    return verified->claims["cnf"].value("jkt", "<cnf without jkt>");
  }

  http::Response metadata(const std::string& path) {
    http::Request get;
    get.set_method("GET");
    get.set_target(path);
    return call(get);
  }

  static json::Json body(const http::Response& r) {
    auto parsed = json::parse_strict(r.body);
    EXPECT_TRUE(parsed) << r.body;
    return parsed ? *parsed : json::Json();
  }
  static std::string error(const http::Response& r) { return body(r).value("error", ""); }
  static std::string header(const http::Response& r, std::string_view name) {
    auto h = r.headers.get(name);
    return h ? std::string(*h) : std::string("<absent>");
  }
  // RFC 9126 §2.3: `status` with an RFC 6749 §5.2 JSON body naming `code`, no request_uri, and
  // never a redirect.
  static void expect_par_error(const http::Response& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(error(r), code) << r.body;
    EXPECT_TRUE(body(r).contains("error_description")) << r.body;
    EXPECT_FALSE(body(r).contains("request_uri")) << r.body;
    EXPECT_FALSE(r.headers.get("Location"));
    EXPECT_EQ(header(r, "Content-Type").rfind("application/json", 0), 0u)
        << header(r, "Content-Type");
  }

  http::Router router_;
  std::unique_ptr<AuthorizationServer> as_;
  std::string session_cookie_ = crypto::random_token(32);
  jose::Jwk key_a_ = generated(jose::Alg::kES256);
  jose::Jwk key_b_ = generated(jose::Alg::kES256);
};

// --- The PAR endpoint (§2) -------------------------------------------------------------------

TEST_F(ParTest, PushAuthorizeAndRedeemIssuesTokens) {
  auto r = par("web");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  json::Json b = body(r);
  EXPECT_EQ(b["expires_in"], 60);
  const std::string request_uri = b.value("request_uri", "");
  ASSERT_TRUE(request_uri.starts_with("urn:ietf:params:oauth:request_uri:")) << request_uri;
  EXPECT_GT(request_uri.size(), std::string("urn:ietf:params:oauth:request_uri:").size() + 20);

  http::Params redirect = redirect_params(authorize_pushed("web", request_uri));
  EXPECT_EQ(redirect.get("state").value_or(""), "s1");
  EXPECT_EQ(redirect.get("iss").value_or(""), kIssuer);
  const std::string code(redirect.get("code").value_or(""));
  ASSERT_FALSE(code.empty());

  auto tokens = redeem("web", code);
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  json::Json t = body(tokens);
  EXPECT_EQ(t["token_type"], "Bearer");
  EXPECT_EQ(t["scope"], "openid invoices:read");
  EXPECT_TRUE(t.contains("access_token"));
  EXPECT_TRUE(t.contains("id_token"));
  EXPECT_TRUE(t.contains("refresh_token"));
}

TEST_F(ParTest, EveryPushGetsItsOwnRequestUri) {
  const std::string first = pushed("web");
  const std::string second = pushed("web");
  EXPECT_NE(first, second);
  EXPECT_FALSE(code_of(authorize_pushed("web", second)).empty());
  EXPECT_FALSE(code_of(authorize_pushed("web", first)).empty());
}

TEST_F(ParTest, PublicClientPushesWithItsClientId) {
  const std::string request_uri = pushed("spa");
  auto tokens = redeem("spa", code_of(authorize_pushed("spa", request_uri)));
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  EXPECT_TRUE(body(tokens).contains("access_token"));
}

TEST_F(ParTest, ClientSecretPostAndABodyClientIdOfTheSameClientAreAccepted) {
  update_client(
      "web", [](store::Client& c) { c.auth_method = store::ClientAuthMethod::kClientSecretPost; });
  Pairs form = request_params();
  form.emplace_back("client_id", "web");
  form.emplace_back("client_secret", "web-secret");
  auto r = par_raw(encoded(form), "web", "");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_FALSE(code_of(authorize_pushed("web", body(r)["request_uri"])).empty());
}

TEST_F(ParTest, ClientAuthenticationParametersAreNotStored) {
  update_client(
      "web", [](store::Client& c) { c.auth_method = store::ClientAuthMethod::kClientSecretPost; });
  Pairs form = request_params();
  form.emplace_back("client_id", "web");
  form.emplace_back("client_secret", "web-secret");
  auto r = par_raw(encoded(form), "web", "");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string request_uri = body(r)["request_uri"];
  auto stored = store_->grants().take_pushed_request(token_hash(request_uri), "web");
  ASSERT_TRUE(stored) << stored.error().message;
  ASSERT_TRUE(*stored);
  EXPECT_EQ((*stored)->params_json.find("web-secret"), std::string::npos) << (*stored)->params_json;
  EXPECT_EQ((*stored)->params_json.find("client_secret"), std::string::npos);
  // The request itself is kept, client_id with it.
  EXPECT_NE((*stored)->params_json.find(challenge_of(kVerifier)), std::string::npos);
  EXPECT_NE((*stored)->params_json.find("\"client_id\""), std::string::npos);
  EXPECT_EQ((*stored)->expires_at, clock_.now() + 60);
}

TEST_F(ParTest, RequestUriInThePushIsInvalidRequest) {
  // §2.1: "The request_uri authorization request parameter MUST NOT be provided".
  const std::string earlier = pushed("web");
  expect_par_error(par("web", with(request_params(), "request_uri", earlier)), 400,
                   "invalid_request");
  expect_par_error(par("web", with(request_params(), "request_uri",
                                   "urn:ietf:params:oauth:request_uri:made-up")),
                   400, "invalid_request");
  // The earlier request_uri is untouched.
  EXPECT_FALSE(code_of(authorize_pushed("web", earlier)).empty());
}

TEST_F(ParTest, ClientIdOtherThanTheAuthenticatedClientIsInvalidRequest) {
  expect_par_error(par("web", with(request_params(), "client_id", "other")), 400,
                   "invalid_request");
  expect_par_error(par("web", with(request_params(), "client_id", "spa")), 400, "invalid_request");
}

TEST_F(ParTest, WrongOrMissingClientAuthenticationIsInvalidClient) {
  const std::string body = encoded(request_params());
  for (const auto& r : {par_raw(body, "web", "wrong-secret"), par_raw(body, "nobody", "x"),
                        par_raw(body, "web", "other-secret")}) {
    expect_par_error(r, 401, "invalid_client");
  }
  // A confidential client naming itself without a secret.
  expect_par_error(par_raw(encoded(with(request_params(), "client_id", "web")), "web", ""), 401,
                   "invalid_client");
  // No client at all.
  expect_par_error(par_raw(body, "", ""), 401, "invalid_client");
}

TEST_F(ParTest, UnregisteredRedirectUriIs400JsonNotARedirect) {
  expect_par_error(par("web", with(request_params(), "redirect_uri", "https://evil.example/cb")),
                   400, "invalid_request");
  // Two redirect URIs are registered: one must be named.
  expect_par_error(par("web", with(request_params(), "redirect_uri", std::nullopt)), 400,
                   "invalid_request");
}

TEST_F(ParTest, MissingOrPlainCodeChallengeIs400Json) {
  expect_par_error(par("web", with(request_params(), "code_challenge", std::nullopt)), 400,
                   "invalid_request");
  expect_par_error(par("web", with(with(request_params(), "code_challenge", kVerifier),
                                   "code_challenge_method", "plain")),
                   400, "invalid_request");
}

TEST_F(ParTest, OtherAuthorizationRequestErrorsKeepTheirCodes) {
  expect_par_error(par("web", with(request_params(), "scope", "openid invoices:write")), 400,
                   "invalid_scope");
  expect_par_error(par("web", with(request_params(), "response_type", "token")), 400,
                   "unsupported_response_type");
  expect_par_error(par("web", with(request_params(), "resource", "urn:tessera:api:unknown")), 400,
                   "invalid_target");
  expect_par_error(par("web", with(request_params(), "dpop_jkt", "short")), 400, "invalid_request");
}

TEST_F(ParTest, RepeatedOrMalformedParametersAreInvalidRequest) {
  expect_par_error(par_raw(encoded(request_params()) + "&state=s2", "web", "web-secret"), 400,
                   "invalid_request");
  expect_par_error(par_raw(encoded(request_params()) + "&x=%zz", "web", "web-secret"), 400,
                   "invalid_request");
  auto json_body = form_request("{}", "application/json");
  json_body.set_target("/par");
  json_body.mutable_headers().add("Authorization", basic("web", "web-secret"));
  expect_par_error(call(std::move(json_body)), 400, "invalid_request");
}

// --- request_uri at /authorize (§4) ----------------------------------------------------------

TEST_F(ParTest, RequestUriIsSingleUse) {
  const std::string request_uri = pushed("web");
  EXPECT_FALSE(code_of(authorize_pushed("web", request_uri)).empty());
  expect_error_page(authorize_pushed("web", request_uri));
}

TEST_F(ParTest, RequestUriExpiresAfterSixtySeconds) {
  const std::string fresh = pushed("web");
  const std::string stale = pushed("web");
  clock_.advance(59);
  EXPECT_FALSE(code_of(authorize_pushed("web", fresh)).empty());
  clock_.advance(2);
  expect_error_page(authorize_pushed("web", stale));
}

TEST_F(ParTest, AnotherClientsRequestUriIsRefusedAndNotSpent) {
  const std::string request_uri = pushed("web");
  expect_error_page(authorize_pushed("other", request_uri));
  expect_error_page(authorize_pushed("spa", request_uri));
  // The right client still has it.
  auto tokens = redeem("web", code_of(authorize_pushed("web", request_uri)));
  EXPECT_EQ(tokens.status, 200) << tokens.body;
}

TEST_F(ParTest, UnknownOrMalformedRequestUriOrNoClientIdIsAnErrorPage) {
  expect_error_page(
      authorize_pushed("web", "urn:ietf:params:oauth:request_uri:" + crypto::random_token(32)));
  expect_error_page(authorize_pushed("web", "https://app.example/request.jwt"));
  expect_error_page(authorize_pushed("web", ""));
  const std::string request_uri = pushed("web");
  expect_error_page(authorize_query({{"request_uri", request_uri}}));
  expect_error_page(authorize_pushed("nobody", request_uri));
  // None of these spent it.
  EXPECT_FALSE(code_of(authorize_pushed("web", request_uri)).empty());
}

TEST_F(ParTest, QueryParametersBesideRequestUriAreIgnored) {
  const std::string request_uri = pushed("web", with(request_params(), "scope", "openid"));
  // Another scope, redirect URI, state, PKCE challenge and response type in the query: the
  // pushed ones win.
  auto r = authorize_pushed("web", request_uri,
                            {{"scope", "openid invoices:read"},
                             {"redirect_uri", kOtherRedirectUri},
                             {"state", "from-the-query"},
                             {"code_challenge", challenge_of(kOtherVerifier)},
                             {"code_challenge_method", "S256"},
                             {"response_type", "token"},
                             {"prompt", "none"}});
  http::Params redirect = redirect_params(r, kRedirectUri);
  EXPECT_EQ(redirect.get("state").value_or(""), "s1");
  const std::string code(redirect.get("code").value_or(""));
  ASSERT_FALSE(code.empty()) << redirect.get("error").value_or("");
  // The query's verifier does not redeem it (the code may be spent by the try: push again).
  auto wrong = redeem("web", code, {}, kOtherVerifier);
  EXPECT_EQ(wrong.status, 400) << wrong.body;
  EXPECT_EQ(error(wrong), "invalid_grant");

  const std::string again = pushed("web", with(request_params(), "scope", "openid"));
  const std::string code2 =
      code_of(authorize_pushed("web", again, {{"scope", "openid invoices:read"}, {"state", "x"}}));
  auto tokens = redeem("web", code2);
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  EXPECT_EQ(body(tokens)["scope"], "openid");
}

TEST_F(ParTest, PushedRequestIsCheckedAgainstTheRegistrationAtAuthorize) {
  // §4: the request is validated at /authorize as any other; the client's registration changed
  // after the push.
  const std::string request_uri = pushed("web");
  update_client("web", [](store::Client& c) { c.redirect_uris = {kOtherRedirectUri}; });
  expect_error_page(authorize_pushed("web", request_uri));
}

// --- PAR required (§5, §6) -------------------------------------------------------------------

TEST_F(ParTest, ClientFlaggedToRequireParMustPush) {
  update_client("web", [](store::Client& c) { c.require_pushed_authorization_requests = true; });
  http::Params refused = redirect_params(authorize_plain("web"));
  EXPECT_EQ(refused.get("error").value_or("<none>"), "invalid_request");
  EXPECT_EQ(refused.get("state").value_or(""), "s1");
  EXPECT_EQ(refused.get("iss").value_or(""), kIssuer);
  EXPECT_FALSE(refused.get("code"));
  // Pushed, it goes through.
  EXPECT_EQ(redeem("web", code_of(authorize_pushed("web", pushed("web")))).status, 200);
  // Other clients are not concerned.
  EXPECT_FALSE(code_of(authorize_plain("other")).empty());
  // The server does not advertise a global requirement.
  EXPECT_EQ(body(metadata(oauth_metadata_path(kIssuer)))["require_pushed_authorization_requests"],
            false);
}

class ParRequiredTest : public ParTest {
 protected:
  ServerSettings server_settings() override { return {.require_par = true, .nonces = nullptr}; }
};

TEST_F(ParRequiredTest, EveryClientMustPush) {
  for (const char* client : {"web", "other", "spa"}) {
    http::Params refused = redirect_params(authorize_plain(client));
    EXPECT_EQ(refused.get("error").value_or("<none>"), "invalid_request") << client;
    EXPECT_EQ(refused.get("state").value_or(""), "s1") << client;
    EXPECT_FALSE(refused.get("code")) << client;
  }
  EXPECT_EQ(redeem("web", code_of(authorize_pushed("web", pushed("web")))).status, 200);
  EXPECT_EQ(redeem("spa", code_of(authorize_pushed("spa", pushed("spa")))).status, 200);
}

TEST_F(ParRequiredTest, MetadataSaysParIsRequired) {
  for (const std::string& path :
       {oauth_metadata_path(kIssuer), openid_configuration_path(kIssuer)}) {
    json::Json m = body(metadata(path));
    EXPECT_EQ(m["require_pushed_authorization_requests"], true) << path;
    EXPECT_EQ(m["pushed_authorization_request_endpoint"], kParUrl) << path;
  }
}

// --- Metadata (§5) ---------------------------------------------------------------------------

TEST_F(ParTest, MetadataAdvertisesTheParEndpoint) {
  for (const std::string& path :
       {oauth_metadata_path(kIssuer), openid_configuration_path(kIssuer)}) {
    auto r = metadata(path);
    ASSERT_EQ(r.status, 200) << path;
    json::Json m = body(r);
    EXPECT_EQ(m["pushed_authorization_request_endpoint"], kParUrl) << path;
    ASSERT_TRUE(m.contains("require_pushed_authorization_requests")) << path;
    EXPECT_TRUE(m["require_pushed_authorization_requests"].is_boolean()) << path;
    EXPECT_EQ(m["require_pushed_authorization_requests"], false) << path;
  }
}

// --- Client assertions (§2: the audience) ----------------------------------------------------

class ParKeyClientTest : public ParTest {
 protected:
  void SetUp() override {
    ParTest::SetUp();
    store::Client c = add_key_client("rp", {key_.with_kid("rp-1")});
    c.grant_types = {"authorization_code"};
    c.redirect_uris = {kRedirectUri};
    c.scopes = {"openid", "invoices:read"};
    c.audiences = {kApiA};
    c.skip_consent = true;
    ASSERT_TRUE(store_->clients().update(c));
  }
  // A private_key_jwt push (RFC 7523 §2.2) whose assertion names `audience`.
  http::Response push_with_assertion(const std::string& audience) {
    json::Json claims = {{"iss", "rp"},
                         {"sub", "rp"},
                         {"aud", audience},
                         {"exp", clock_.now() + 60},
                         {"jti", crypto::random_token(16)}};
    auto jwt = jose::sign(claims.dump(), key_.with_kid("rp-1"), jose::Alg::kES256);
    EXPECT_TRUE(jwt);
    Pairs form = request_params();
    form.emplace_back("client_assertion_type",
                      "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    form.emplace_back("client_assertion", jwt ? *jwt : "");
    return par_raw(encoded(form), "rp", "");
  }

  jose::Jwk key_ = generated(jose::Alg::kES256);
};

TEST_F(ParKeyClientTest, AssertionForTheIssuerOrTheTokenEndpointIsAccepted) {
  for (const std::string& aud : {std::string(kIssuer), std::string(kTokenUrl)}) {
    auto r = push_with_assertion(aud);
    ASSERT_EQ(r.status, 201) << aud << ": " << r.body;
    const std::string request_uri = body(r)["request_uri"];
    // The assertion is client authentication: not part of the stored request.
    auto stored = store_->grants().take_pushed_request(token_hash(request_uri), "rp");
    ASSERT_TRUE(stored && *stored);
    EXPECT_EQ((*stored)->params_json.find("client_assertion"), std::string::npos);
  }
}

TEST_F(ParKeyClientTest, AssertionForTheParEndpointIsAccepted) {
  // RFC 9126 §2: "the authorization server MUST accept its issuer identifier, token endpoint
  // URL, or pushed authorization request endpoint URL as values that identify it as an
  // intended audience".
  auto r = push_with_assertion(kParUrl);
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST_F(ParKeyClientTest, AssertionForAnotherAudienceIsInvalidClient) {
  expect_par_error(push_with_assertion("https://other.example"), 401, "invalid_client");
}

// --- DPoP at the PAR endpoint (RFC 9449 §10.1) -----------------------------------------------

TEST_F(ParTest, DpopProofAtParBindsTheCode) {
  for (const char* client : {"spa", "web"}) {
    auto other_key =
        redeem(client,
               code_of(authorize_pushed(client, pushed(client, request_params(), {proof(key_a_)}))),
               {proof(key_b_, kTokenUrl)});
    EXPECT_EQ(other_key.status, 400) << client << ": " << other_key.body;
    EXPECT_EQ(error(other_key), "invalid_grant") << client;
    auto no_proof = redeem(client, code_of(authorize_pushed(
                                       client, pushed(client, request_params(), {proof(key_a_)}))));
    EXPECT_EQ(no_proof.status, 400) << client << ": " << no_proof.body;
    EXPECT_EQ(error(no_proof), "invalid_grant") << client;

    auto same_key =
        redeem(client,
               code_of(authorize_pushed(client, pushed(client, request_params(), {proof(key_a_)}))),
               {proof(key_a_, kTokenUrl)});
    ASSERT_EQ(same_key.status, 200) << client << ": " << same_key.body;
    EXPECT_EQ(body(same_key)["token_type"], "DPoP") << client;
    EXPECT_EQ(jkt_of(body(same_key)), key_a_.thumbprint()) << client;
  }
}

TEST_F(ParTest, PushWithoutAProofLeavesTheCodeUnbound) {
  auto r =
      redeem("web", code_of(authorize_pushed("web", pushed("web"))), {proof(key_b_, kTokenUrl)});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(jkt_of(body(r)), key_b_.thumbprint());
}

TEST_F(ParTest, DpopJktMatchingTheProofIsAccepted) {
  const std::string request_uri =
      pushed("web", with(request_params(), "dpop_jkt", key_a_.thumbprint()), {proof(key_a_)});
  auto r = redeem("web", code_of(authorize_pushed("web", request_uri)), {proof(key_a_, kTokenUrl)});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(jkt_of(body(r)), key_a_.thumbprint());
}

TEST_F(ParTest, DpopJktOtherThanTheProofsKeyIsInvalidDpopProof) {
  expect_par_error(
      par("web", with(request_params(), "dpop_jkt", key_b_.thumbprint()), {proof(key_a_)}), 400,
      "invalid_dpop_proof");
}

TEST_F(ParTest, DpopJktWithoutAProofBindsTheCode) {
  const std::string request_uri =
      pushed("spa", with(request_params(), "dpop_jkt", key_a_.thumbprint()));
  const std::string code = code_of(authorize_pushed("spa", request_uri));
  auto other = redeem("spa", code, {proof(key_b_, kTokenUrl)});
  EXPECT_EQ(other.status, 400) << other.body;
  EXPECT_EQ(error(other), "invalid_grant");
  const std::string code2 = code_of(authorize_pushed(
      "spa", pushed("spa", with(request_params(), "dpop_jkt", key_a_.thumbprint()))));
  EXPECT_EQ(redeem("spa", code2, {proof(key_a_, kTokenUrl)}).status, 200);
}

TEST_F(ParTest, EmptyDpopJktBesideAProofIsTreatedAsOmitted) {
  // RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were omitted from
  // the request" (an empty dpop_jkt is an omitted one at /authorize too); the proof then binds
  // the code (RFC 9449 §10.1).
  auto r = par("spa", with(request_params(), "dpop_jkt", ""), {proof(key_a_)});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string code = code_of(authorize_pushed("spa", body(r)["request_uri"]));
  auto other = redeem("spa", code, {proof(key_b_, kTokenUrl)});
  EXPECT_EQ(error(other), "invalid_grant") << other.body;
}

TEST_F(ParTest, BadProofsAtParAreInvalidDpopProof) {
  // A proof for the token endpoint, for GET, two proofs, a replayed jti.
  expect_par_error(par("web", request_params(), {proof(key_a_, kTokenUrl)}), 400,
                   "invalid_dpop_proof");
  expect_par_error(par("web", request_params(), {proof(key_a_), proof(key_a_)}), 400,
                   "invalid_dpop_proof");
  const std::string jti = crypto::random_token(16);
  EXPECT_EQ(par("web", request_params(), {proof(key_a_, kParUrl, jti)}).status, 201);
  expect_par_error(par("web", request_params(), {proof(key_a_, kParUrl, jti)}), 400,
                   "invalid_dpop_proof");
  expect_par_error(par("web", request_params(), {"not-a-jwt"}), 400, "invalid_dpop_proof");
}

class ParNonceTest : public ParTest {
 protected:
  ServerSettings server_settings() override {
    nonces_ = std::make_shared<const resource::DpopNonces>(resource::DpopNonceOptions{
        .secret = std::string(32, 'n'), .period_seconds = 60, .now = [this] {
          return clock_.now();
        }});
    return {.require_par = false, .nonces = nonces_};
  }
  std::shared_ptr<const resource::DpopNonces> nonces_;
};

TEST_F(ParNonceTest, ProofWithoutTheServersNonceGetsUseDpopNonce) {
  // RFC 9449 §8, §10.1: the PAR endpoint asks for the nonce like the token endpoint.
  auto r = par("web", request_params(), {proof(key_a_)});
  expect_par_error(r, 400, "use_dpop_nonce");
  EXPECT_EQ(header(r, "DPoP-Nonce"), nonces_->current());
  // With the nonce the push goes through and binds the code.
  const std::string request_uri =
      pushed("web", request_params(),
             {proof(key_a_, kParUrl, crypto::random_token(16), nonces_->current())});
  const std::string code = code_of(authorize_pushed("web", request_uri));
  auto redeemed =
      redeem("web", code, {proof(key_a_, kTokenUrl, crypto::random_token(16), nonces_->current())});
  ASSERT_EQ(redeemed.status, 200) << redeemed.body;
  EXPECT_EQ(jkt_of(body(redeemed)), key_a_.thumbprint());
  // Without a proof there is nothing to ask a nonce of.
  EXPECT_EQ(par("web").status, 201);
}

}  // namespace
}  // namespace tessera::oauth::testing
