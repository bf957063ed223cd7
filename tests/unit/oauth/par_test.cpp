// Pushed authorization requests (RFC 9126), driven through the routes AuthorizationServer
// registers: POST /par with client authentication (§2.1), its success and error answers (§2.2,
// §2.3), the request_uri at /authorize (§4: the pushed parameters only, used once, for the client
// that pushed it, short-lived), PAR required by the server or per client (§5, §6), DPoP proofs at
// the PAR endpoint (RFC 9449 §10.1) and the metadata (§5).
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "as_fixture.h"
#include "core/base64url.h"
#include "core/crypto.h"
#include "http/client.h"
#include "oauth/authorization_server.h"
#include "oauth/authorize_request.h"
#include "oauth/discovery.h"
#include "oauth/par_endpoint.h"
#include "oauth/tokens.h"
#include "tessera/dpop.h"

namespace tessera::oauth::testing {
namespace {

constexpr char kParUrl[] = "https://as.example/par";
constexpr char kOtherRedirectUri[] = "https://app.example/other";
constexpr char kOtherVerifier[] = "Xz0m3Kq9LrT5vW8yB2cD4fG6hJ1kN7pQ0sU3wY5aE9i";

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
class ParTest : public AuthorizationServerTest {
 protected:
  void populate() override {
    add_browser_client("web", /*is_public=*/false, {kRedirectUri, kOtherRedirectUri});
    add_browser_client("other", /*is_public=*/false, {kRedirectUri, kOtherRedirectUri});
    add_browser_client("spa", /*is_public=*/true, {kRedirectUri, kOtherRedirectUri});
    sign_in_alice();
  }

  // POST /par with `body`; `id`/`secret` by HTTP Basic unless the secret is empty; each of
  // `proofs` as a DPoP field.
  http::Response par_raw(const std::string& body, const std::string& id, const std::string& secret,
                         const std::vector<std::string>& proofs = {}) {
    return call(form_post("/par", body, id, secret, proofs));
  }
  // POST /par for client `id` with `params`: confidential clients authenticate with their
  // secret by HTTP Basic, public ones ("spa") name themselves with client_id.
  http::Response par(const std::string& id, Pairs params = request_params(),
                     const std::vector<std::string>& proofs = {}) {
    const bool public_client = is_public_client(id);
    if (public_client) params.emplace_back("client_id", id);
    return par_raw(encoded(params), id, public_client ? "" : id + "-secret", proofs);
  }
  // The request_uri of a successful push.
  std::string pushed(const std::string& id, const Pairs& params = request_params(),
                     const std::vector<std::string>& proofs = {}) {
    auto r = par(id, params, proofs);
    EXPECT_EQ(r.status, 201) << r.body;
    return body(r).value("request_uri", "");
  }
  // A push of request_params() by "web", registered for client_secret_post, with its client_id
  // and secret in the body.
  http::Response par_with_client_secret_post() {
    update_client("web", [](store::Client& c) {
      c.auth_method = store::ClientAuthMethod::kClientSecretPost;
    });
    Pairs form = request_params();
    form.emplace_back("client_id", "web");
    form.emplace_back("client_secret", "web-secret");
    return par_raw(encoded(form), "web", "");
  }

  // GET /authorize?client_id=...&request_uri=... in alice's session.
  http::Response authorize_pushed(const std::string& client_id, const std::string& request_uri,
                                  const Pairs& extra = {}) {
    Pairs query = {{"client_id", client_id}, {"request_uri", request_uri}};
    query.insert(query.end(), extra.begin(), extra.end());
    return authorize_query(query);
  }

  // RFC 6749 §4.1.2.1: an error shown to the user, never sent to a redirect URI.
  static void expect_error_page(const http::Response& r) {
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_FALSE(r.headers.get("Location")) << *r.headers.get("Location");
    EXPECT_EQ(header(r, "Content-Type").rfind("text/html", 0), 0u) << header(r, "Content-Type");
  }

  // A DPoP proof (RFC 9449 §4.2) of `key` for POST `url` now, with a fresh jti (or `jti`) and
  // `nonce` when not empty.
  std::string proof(const jose::Jwk& key, const std::string& url = kParUrl,
                    const std::string& jti = crypto::random_token(16),
                    const std::string& nonce = "") const {
    json::Json claims = proof_claims("POST", url);
    claims["jti"] = jti;
    if (!nonce.empty()) claims["nonce"] = nonce;
    return sign_proof(key, claims);
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
  auto r = par_with_client_secret_post();
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_FALSE(code_of(authorize_pushed("web", body(r)["request_uri"])).empty());
}

TEST_F(ParTest, ClientAuthenticationParametersAreNotStored) {
  auto r = par_with_client_secret_post();
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
  const std::string request_uri = pushed("web");
  expect_error_page(authorize_query({{"request_uri", request_uri}}));
  expect_error_page(authorize_pushed("nobody", request_uri));
  // None of these spent it.
  EXPECT_FALSE(code_of(authorize_pushed("web", request_uri)).empty());
}

// RFC 6749 §3.1: an empty request_uri is an omitted one; the request is read as a plain one.
TEST_F(ParTest, EmptyRequestUriIsTreatedAsOmitted) {
  Pairs query = {{"client_id", "web"}, {"request_uri", ""}};
  const Pairs request = request_params();
  query.insert(query.end(), request.begin(), request.end());
  EXPECT_FALSE(code_of(authorize_query(query)).empty());
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
  http::Params refused = redirect_params(authorize("web"));
  EXPECT_EQ(refused.get("error").value_or("<none>"), "invalid_request");
  EXPECT_EQ(refused.get("state").value_or(""), "s1");
  EXPECT_EQ(refused.get("iss").value_or(""), kIssuer);
  EXPECT_FALSE(refused.get("code"));
  // Pushed, it goes through.
  EXPECT_EQ(redeem("web", code_of(authorize_pushed("web", pushed("web")))).status, 200);
  // Other clients are not concerned.
  EXPECT_FALSE(code_of(authorize("other")).empty());
  // The server does not advertise a global requirement.
  EXPECT_EQ(body(fetch(oauth_metadata_path(kIssuer)))["require_pushed_authorization_requests"],
            false);
}

class ParRequiredTest : public ParTest {
 protected:
  AuthorizationServerOptions server_options() override {
    AuthorizationServerOptions options = ParTest::server_options();
    options.require_pushed_authorization_requests = true;
    return options;
  }
};

TEST_F(ParRequiredTest, EveryClientMustPush) {
  for (const char* client : {"web", "other", "spa"}) {
    http::Params refused = redirect_params(authorize(client));
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
    json::Json m = body(fetch(path));
    EXPECT_EQ(m["require_pushed_authorization_requests"], true) << path;
    EXPECT_EQ(m["pushed_authorization_request_endpoint"], kParUrl) << path;
  }
}

// --- Metadata (§5) ---------------------------------------------------------------------------

TEST_F(ParTest, MetadataAdvertisesTheParEndpoint) {
  for (const std::string& path :
       {oauth_metadata_path(kIssuer), openid_configuration_path(kIssuer)}) {
    auto r = fetch(path);
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

class ParNonceTest : public WithDpopNonces<ParTest> {};

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
