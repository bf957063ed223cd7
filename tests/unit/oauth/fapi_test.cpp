// The FAPI 2.0 Security Profile switch (oauth/fapi.h), per client and server-wide, driven through
// the routes AuthorizationServer registers: PAR required with redirect_uri, private_key_jwt or
// mutual TLS with client assertions made out to the issuer alone, sender-constrained tokens only
// (DPoP or the TLS client certificate), PS256/ES256/EdDSA only; and RFC 9101 §10.5
// require_signed_request_object. A client not under the profile is the control throughout.
#include "oauth/fapi.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "as_fixture.h"
#include "core/crypto.h"

namespace tessera::oauth::testing {
namespace {

constexpr char kParUrl[] = "https://as.example/par";
constexpr char kAssertionType[] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

class FapiTest : public AuthorizationServerTest {
 protected:
  void populate() override {
    // "bank": private_key_jwt with an ES256 key and an RS256 key, held to FAPI 2.0.
    store::Client bank = add_key_client("bank", {es256_.with_kid("es"), rs256_.with_kid("rs")});
    bank.grant_types = {"authorization_code", "refresh_token", "client_credentials"};
    bank.redirect_uris = {kRedirectUri};
    bank.scopes = {"openid", "invoices:read"};
    bank.audiences = {kApiA};
    bank.skip_consent = true;
    bank.fapi2 = true;
    ASSERT_TRUE(store_->clients().update(bank));
    // "plain": the same client without the profile, the control.
    store::Client plain = bank;
    plain.client_id = "plain";
    plain.fapi2 = false;
    ASSERT_TRUE(store_->clients().insert(plain));
    add_browser_client("web", /*is_public=*/false);
    sign_in_alice();
  }

  // A client assertion (RFC 7523 §2.2) of `id` for `aud`, signed by `key` with `alg`.
  std::string assertion(const std::string& id, const json::Json& aud = kIssuer,
                        const jose::Jwk* key = nullptr, jose::Alg alg = jose::Alg::kES256) const {
    json::Json claims = {{"iss", id},
                         {"sub", id},
                         {"aud", aud},
                         {"exp", clock_.now() + 60},
                         {"jti", crypto::random_token(16)}};
    const jose::Jwk signer = key != nullptr ? *key : es256_.with_kid("es");
    auto jwt = jose::sign(claims.dump(), signer, alg);
    EXPECT_TRUE(jwt);
    return jwt ? *jwt : std::string();
  }
  // `pairs` with client authentication by `client_assertion`.
  static Pairs authenticated(Pairs pairs, const std::string& client_assertion) {
    pairs.emplace_back("client_assertion_type", kAssertionType);
    pairs.emplace_back("client_assertion", client_assertion);
    return pairs;
  }
  // POST `target` with `pairs` authenticated as `id` by a good assertion, with `proofs`.
  http::Response post(const std::string& target, const Pairs& pairs, const std::string& id,
                      const std::vector<std::string>& proofs = {}) {
    return call(form_post(target, encoded(authenticated(pairs, assertion(id))), id, "", proofs));
  }
  static Pairs credentials() { return {{"grant_type", "client_credentials"}, {"scope", "openid"}}; }

  // A DPoP proof of `key` with `alg` for POST `url`.
  std::string proof(const std::string& url = kTokenUrl, const jose::Jwk* key = nullptr,
                    jose::Alg alg = jose::Alg::kES256) const {
    return sign_proof(key != nullptr ? *key : key_a_, proof_claims("POST", url), alg);
  }

  // The request_uri of a push by `id` of `params` (201 expected).
  std::string pushed(const std::string& id, const Pairs& params = request_params()) {
    auto r = post("/par", params, id);
    EXPECT_EQ(r.status, 201) << r.body;
    return body(r).value("request_uri", "");
  }

  jose::Jwk es256_ = generated(jose::Alg::kES256);
  jose::Jwk rs256_ = generated(jose::Alg::kRS256);
};

TEST_F(FapiTest, PushedRequestAndDpopBoundTokensComplete) {
  const std::string request_uri = pushed("bank");
  auto r = authorize_query({{"client_id", "bank"}, {"request_uri", request_uri}});
  const std::string code = code_of(r);
  ASSERT_FALSE(code.empty());
  EXPECT_EQ(redirect_params(r).get("iss").value_or(""), kIssuer);  // RFC 9207
  auto tokens = post("/token",
                     {{"grant_type", "authorization_code"},
                      {"code", code},
                      {"redirect_uri", kRedirectUri},
                      {"code_verifier", kVerifier}},
                     "bank", {proof()});
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  EXPECT_EQ(body(tokens)["token_type"], "DPoP");
  EXPECT_EQ(jkt_of(body(tokens)), key_a_.thumbprint());
}

TEST_F(FapiTest, AuthorizationRequestsMustBePushed) {
  http::Params refused = redirect_params(authorize("bank"));
  EXPECT_EQ(refused.get("error").value_or(""), "invalid_request");
  EXPECT_FALSE(refused.get("code"));
  EXPECT_TRUE(redirect_params(authorize("plain")).get("code"));
}

TEST_F(FapiTest, PushedRequestsMustNameTheRedirectUri) {
  // FAPI 2.0 §5.3.2.2: this server asks every client for it, one registered URI or several.
  Pairs params = request_params();
  std::erase_if(params, [](const auto& p) { return p.first == "redirect_uri"; });
  for (const char* id : {"bank", "plain"}) {
    auto r = post("/par", params, id);
    EXPECT_EQ(r.status, 400) << id << ": " << r.body;
    EXPECT_EQ(error(r), "invalid_request") << id;
  }
}

TEST_F(FapiTest, TokensAreSenderConstrained) {
  // No proof and no certificate: refused, and nothing is issued.
  auto bearer = post("/token", credentials(), "bank");
  EXPECT_EQ(bearer.status, 400) << bearer.body;
  EXPECT_EQ(error(bearer), "invalid_request");
  EXPECT_FALSE(body(bearer).contains("access_token"));
  EXPECT_EQ(post("/token", credentials(), "plain").status, 200);  // the control: a bearer token

  // DPoP binds to the proof's key.
  auto dpop = post("/token", credentials(), "bank", {proof()});
  ASSERT_EQ(dpop.status, 200) << dpop.body;
  EXPECT_EQ(body(dpop)["token_type"], "DPoP");

  // Over mutual TLS without a proof: bound to the certificate (RFC 8705 §3).
  auto cert = std::make_shared<http::ClientCertificate>();
  cert->der = "certificate of bank";
  client_cert_ = cert;
  auto mtls = post("/token", credentials(), "bank");
  ASSERT_EQ(mtls.status, 200) << mtls.body;
  EXPECT_EQ(body(mtls)["token_type"], "Bearer");
  json::Json claims = access_claims(body(mtls)["access_token"], kApiA);
  EXPECT_EQ(claims["cnf"].value("x5t#S256", ""), cert->sha256_thumbprint()) << claims.dump();
}

TEST_F(FapiTest, ClientAssertionsNameTheIssuerAsAString) {
  // FAPI 2.0 §5.3.2.1: the issuer, a string; the token endpoint URL and arrays are refused.
  const std::vector<json::Json> refused = {kTokenUrl, kParUrl, json::Json::array({kIssuer})};
  for (const json::Json& aud : refused) {
    Pairs form = authenticated(credentials(), assertion("bank", aud));
    auto r = call(form_post("/token", encoded(form), "bank", "", {proof()}));
    EXPECT_EQ(r.status, 401) << aud.dump() << ": " << r.body;
    EXPECT_EQ(error(r), "invalid_client") << aud.dump();
    EXPECT_NE(body(r).value("error_description", "").find("issuer"), std::string::npos) << r.body;
    // The control: the same audience authenticates a client outside the profile.
    Pairs plain = authenticated(credentials(), assertion("plain", aud));
    EXPECT_EQ(call(form_post("/token", encoded(plain), "plain", "", {})).status, 200) << aud.dump();
  }
}

TEST_F(FapiTest, OnlyTheProfilesAlgorithms) {
  // A client assertion signed RS256 by a registered key.
  const jose::Jwk rs256 = rs256_.with_kid("rs");
  Pairs rs = authenticated(credentials(), assertion("bank", kIssuer, &rs256, jose::Alg::kRS256));
  auto r = call(form_post("/token", encoded(rs), "bank", "", {proof()}));
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(error(r), "invalid_client");
  Pairs plain_rs =
      authenticated(credentials(), assertion("plain", kIssuer, &rs256, jose::Alg::kRS256));
  EXPECT_EQ(call(form_post("/token", encoded(plain_rs), "plain", "", {})).status, 200);

  // A DPoP proof signed ES384 (accepted by the server for other clients).
  const jose::Jwk p384 = generated(jose::Alg::kES384);
  auto dpop = post("/token", credentials(), "bank", {proof(kTokenUrl, &p384, jose::Alg::kES384)});
  EXPECT_EQ(dpop.status, 400) << dpop.body;
  EXPECT_EQ(error(dpop), "invalid_dpop_proof");
  EXPECT_EQ(
      post("/token", credentials(), "plain", {proof(kTokenUrl, &p384, jose::Alg::kES384)}).status,
      200);
  // ... and at the PAR endpoint (RFC 9449 §10.1).
  auto par = post("/par", request_params(), "bank", {proof(kParUrl, &p384, jose::Alg::kES384)});
  EXPECT_EQ(par.status, 400) << par.body;
  EXPECT_EQ(error(par), "invalid_dpop_proof");
  // An Ed25519 proof is the profile's.
  const jose::Jwk ed = generated(jose::Alg::kEdDSA);
  EXPECT_EQ(
      post("/token", credentials(), "bank", {proof(kTokenUrl, &ed, jose::Alg::kEdDSA)}).status,
      200);

  // A request object signed RS256.
  json::Json object = {{"iss", "bank"},
                       {"aud", kIssuer},
                       {"client_id", "bank"},
                       {"exp", clock_.now() + 300},
                       {"nbf", clock_.now()}};
  for (const auto& [name, value] : request_params()) object[name] = value;
  auto signed_rs = jose::sign(object.dump(), rs256_.with_kid("rs"), jose::Alg::kRS256);
  ASSERT_TRUE(signed_rs);
  auto pushed_rs = post("/par", {{"request", *signed_rs}}, "bank");
  EXPECT_EQ(pushed_rs.status, 400) << pushed_rs.body;
  EXPECT_EQ(error(pushed_rs), "invalid_request_object");
  auto signed_es = jose::sign(object.dump(), es256_.with_kid("es"), jose::Alg::kES256);
  ASSERT_TRUE(signed_es);
  EXPECT_EQ(post("/par", {{"request", *signed_es}}, "bank").status, 201);
}

TEST_F(FapiTest, SignedRequestObjectsCanBeRequiredPerClient) {
  update_client("plain", [](store::Client& c) { c.require_signed_request_object = true; });
  // Plain parameters: refused at PAR and at /authorize.
  auto r = post("/par", request_params(), "plain");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error(r), "invalid_request");
  EXPECT_EQ(redirect_params(authorize("plain")).get("error").value_or(""), "invalid_request");
  // A signed object: accepted both ways.
  json::Json object = {
      {"iss", "plain"}, {"aud", kIssuer}, {"client_id", "plain"}, {"exp", clock_.now() + 300}};
  for (const auto& [name, value] : request_params()) object[name] = value;
  auto jwt = jose::sign(object.dump(), es256_.with_kid("es"), jose::Alg::kES256);
  ASSERT_TRUE(jwt);
  const std::string request_uri = pushed("plain", {{"request", *jwt}});
  EXPECT_FALSE(
      code_of(authorize_query({{"client_id", "plain"}, {"request_uri", request_uri}})).empty());
  object["jti"] = "by-value";
  auto by_value = jose::sign(object.dump(), es256_.with_kid("es"), jose::Alg::kES256);
  ASSERT_TRUE(by_value);
  EXPECT_FALSE(code_of(authorize_query({{"client_id", "plain"}, {"request", *by_value}})).empty());
}

TEST_F(FapiTest, RefreshTokensAreNotRotatedUnderTheProfile) {
  // The tokens of a code flow of `id` (pushed for bank), redeemed with a DPoP proof.
  const auto code_flow = [&](const std::string& id) {
    auto r = id == "bank" ? authorize_query({{"client_id", id}, {"request_uri", pushed(id)}})
                          : authorize(id);
    auto tokens = post("/token",
                       {{"grant_type", "authorization_code"},
                        {"code", code_of(r)},
                        {"redirect_uri", kRedirectUri},
                        {"code_verifier", kVerifier}},
                       id, {proof()});
    EXPECT_EQ(tokens.status, 200) << tokens.body;
    return body(tokens);
  };
  const auto refresh = [&](const std::string& id, const std::string& token) {
    return post("/token", {{"grant_type", "refresh_token"}, {"refresh_token", token}}, id,
                {proof()});
  };
  // FAPI 2.0 §5.3.2.1: the same refresh token, again and again.
  const std::string original = code_flow("bank")["refresh_token"];
  ASSERT_FALSE(original.empty());
  for (int i = 0; i < 3; ++i) {
    auto r = refresh("bank", original);
    ASSERT_EQ(r.status, 200) << i << ": " << r.body;
    EXPECT_EQ(body(r)["refresh_token"], original);
    EXPECT_EQ(body(r)["token_type"], "DPoP");
  }
  // Revoked (RFC 7009): refused from then on.
  Pairs revoke = authenticated({{"token", original}}, assertion("bank"));
  ASSERT_EQ(call(form_post("/revoke", encoded(revoke), "bank", "", {})).status, 200);
  auto revoked = refresh("bank", original);
  EXPECT_EQ(revoked.status, 400) << revoked.body;
  EXPECT_EQ(error(revoked), "invalid_grant");
  // The control: a client outside the profile rotates, and the old token is spent.
  const std::string plain = code_flow("plain")["refresh_token"];
  auto rotated = refresh("plain", plain);
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  EXPECT_NE(body(rotated)["refresh_token"], plain);
  EXPECT_EQ(error(refresh("plain", plain)), "invalid_grant");

  // Expired with its family: refused.
  const std::string second = code_flow("bank")["refresh_token"];
  clock_.advance(86400 + 1);
  EXPECT_EQ(error(refresh("bank", second)), "invalid_grant");
}

TEST_F(FapiTest, DiscoveryIsUnchangedByAClientLevelProfile) {
  json::Json m = body(fetch("/.well-known/openid-configuration"));
  EXPECT_FALSE(m["require_pushed_authorization_requests"].get<bool>());
  EXPECT_FALSE(m["require_signed_request_object"].get<bool>());
  EXPECT_NE(m["token_endpoint_auth_methods_supported"].dump().find("client_secret_basic"),
            std::string::npos);
}

// --- The server-wide switch ------------------------------------------------------------------

class FapiServerTest : public FapiTest {
 protected:
  AuthorizationServerOptions server_options() override {
    AuthorizationServerOptions options = FapiTest::server_options();
    options.profile.fapi2 = true;
    options.profile.require_signed_request_object = true;
    return options;
  }
};

TEST_F(FapiServerTest, EveryClientIsHeldToTheProfile) {
  // "plain" has no fapi2 flag of its own: the server's applies.
  auto bearer = post("/token", credentials(), "plain");
  EXPECT_EQ(bearer.status, 400) << bearer.body;
  EXPECT_EQ(error(bearer), "invalid_request");
  EXPECT_EQ(post("/token", credentials(), "plain", {proof()}).status, 200);
  // A client with a secret authenticates, then hears that the profile refuses its method.
  Pairs form = {{"grant_type", "authorization_code"}, {"code", "x"}};
  auto web = call(form_post("/token", encoded(form), "web", "web-secret", {proof()}));
  EXPECT_EQ(web.status, 401) << web.body;
  EXPECT_EQ(error(web), "invalid_client");
  EXPECT_NE(body(web).value("error_description", "").find("FAPI 2.0"), std::string::npos);
  // RFC 9101 §10.5 server-wide: plain parameters at PAR are refused.
  EXPECT_EQ(error(post("/par", request_params(), "plain")), "invalid_request");
}

TEST_F(FapiServerTest, DiscoveryListsOnlyWhatTheProfileAllows) {
  json::Json m = body(fetch("/.well-known/openid-configuration"));
  EXPECT_TRUE(m["require_pushed_authorization_requests"].get<bool>());
  EXPECT_TRUE(m["require_signed_request_object"].get<bool>());
  EXPECT_EQ(m["token_endpoint_auth_methods_supported"], json::Json::array({"private_key_jwt"}));
  const json::Json algs = json::Json::array({"PS256", "ES256", "EdDSA", "Ed25519"});
  EXPECT_EQ(m["token_endpoint_auth_signing_alg_values_supported"], algs);
  EXPECT_EQ(m["request_object_signing_alg_values_supported"], algs);
  for (const json::Json& alg : m["dpop_signing_alg_values_supported"]) {
    auto parsed = jose::alg_from_string(alg.get<std::string>());
    ASSERT_TRUE(parsed) << alg;
    EXPECT_TRUE(is_fapi2_alg(*parsed)) << alg;
  }
  EXPECT_FALSE(m["dpop_signing_alg_values_supported"].empty());
}

TEST_F(FapiServerTest, AServerSigningKeyOutsideTheProfileIsRefused) {
  AuthorizationServerOptions options = server_options();
  options.signing_alg = jose::Alg::kRS256;
  auto opened = AuthorizationServer::open(*store_, options, clock_);
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().find("FAPI 2.0"), std::string::npos) << opened.error();
}

}  // namespace
}  // namespace tessera::oauth::testing
