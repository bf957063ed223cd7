// The token endpoint with the client credentials grant, discovery and JWKS, driven through the
// routes AuthorizationServer registers.
#include "oauth/token_endpoint.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "as_fixture.h"
#include "oauth/authorization_server.h"
#include "oauth/discovery.h"

namespace tessera::oauth::testing {
namespace {

// The server with the service client "svc" (client_credentials, secret "secret").
class TokenEndpointTest : public AuthorizationServerTest {
 protected:
  // The scopes invoices:read and invoices:write only, and the default key refresher.
  AuthorizationServerOptions server_options() override {
    AuthorizationServerOptions options = AuthorizationServerTest::server_options();
    options.scopes_supported = {"invoices:read", "invoices:write"};
    options.key_refresh_seconds = AuthorizationServerOptions().key_refresh_seconds;
    return options;
  }
  void populate() override { add_client("svc", "secret"); }

  http::Response token(const std::string& body, const std::string& id = "svc",
                       const std::string& secret = "secret") {
    auto r = form_request(body);
    if (!id.empty()) r.mutable_headers().add("Authorization", basic(id, secret));
    return call(std::move(r));
  }
  // body(), where a local `body` hides it.
  static json::Json body_of(const http::Response& r) { return body(r); }
};

TEST_F(TokenEndpointTest, ClientCredentialsIssuesAnRfc9068AccessToken) {
  auto r = token("grant_type=client_credentials&scope=invoices%3Aread");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(*r.headers.get("Cache-Control"), "no-store");
  EXPECT_EQ(*r.headers.get("Pragma"), "no-cache");
  auto b = body(r);
  EXPECT_EQ(b["token_type"], "Bearer");
  EXPECT_EQ(b["expires_in"], 600);
  EXPECT_EQ(b["scope"], "invoices:read");
  EXPECT_FALSE(b.contains("refresh_token"));  // RFC 6749 §4.4.3
  auto jwt = verify(b["access_token"].get<std::string>(), "https://api.example");
  ASSERT_TRUE(jwt) << jose::to_string(jwt.error());
  EXPECT_EQ(jwt->header["typ"], "at+jwt");
  EXPECT_EQ(jwt->header["alg"], "ES256");
  EXPECT_EQ(jwt->kid, as_->signing_keys().active()->kid);
  const auto& c = jwt->claims;
  EXPECT_EQ(c["iss"], kIssuer);
  EXPECT_EQ(c["sub"], "svc");
  EXPECT_EQ(c["client_id"], "svc");
  EXPECT_EQ(c["scope"], "invoices:read");
  EXPECT_EQ(c["iat"], clock_.now());
  EXPECT_EQ(c["exp"], clock_.now() + 600);
  EXPECT_EQ(c["aud"], json::Json({"https://api.example", "urn:tessera:invoices"}));
  EXPECT_EQ(c["jti"].get<std::string>().size(), 22u);
}

TEST_F(TokenEndpointTest, EveryTokenHasItsOwnJti) {
  auto a = body(token("grant_type=client_credentials"));
  auto b = body(token("grant_type=client_credentials"));
  auto ja = verify(a["access_token"], "urn:tessera:invoices");
  auto jb = verify(b["access_token"], "urn:tessera:invoices");
  ASSERT_TRUE(ja && jb);
  EXPECT_NE(ja->claims["jti"], jb->claims["jti"]);
}

TEST_F(TokenEndpointTest, OmittedScopeIsTheClientsDefault) {
  auto r = token("grant_type=client_credentials");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["scope"], "invoices:read invoices:write");
}

TEST_F(TokenEndpointTest, ScopeOutsideTheAllowListIsInvalidScope) {
  auto r = token("grant_type=client_credentials&scope=invoices%3Aread+admin");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error(r), "invalid_scope");
}

TEST_F(TokenEndpointTest, ResourceNarrowsTheAudience) {
  auto r = token("grant_type=client_credentials&resource=https%3A%2F%2Fapi.example");
  ASSERT_EQ(r.status, 200) << r.body;
  auto jwt = verify(body(r)["access_token"], "https://api.example");
  ASSERT_TRUE(jwt);
  EXPECT_EQ(jwt->claims["aud"], "https://api.example");
}

TEST_F(TokenEndpointTest, ResourceMayRepeat) {
  auto r = token(
      "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example"
      "&resource=urn%3Atessera%3Ainvoices");
  ASSERT_EQ(r.status, 200) << r.body;
}

TEST_F(TokenEndpointTest, ResourceOutsideTheAllowListIsInvalidTarget) {
  for (const char* p : {"resource=https%3A%2F%2Fevil.example", "resource=relative%2Fpath",
                        "resource=https%3A%2F%2Fapi.example%23frag", "audience=other"}) {
    auto r = token(std::string("grant_type=client_credentials&") + p);
    EXPECT_EQ(r.status, 400) << p;
    EXPECT_EQ(error(r), "invalid_target") << p;
  }
}

TEST_F(TokenEndpointTest, AudienceParameterIsAcceptedWhenAllowed) {
  auto r = token("grant_type=client_credentials&audience=urn%3Atessera%3Ainvoices");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(verify(body(r)["access_token"], "urn:tessera:invoices"));
}

TEST_F(TokenEndpointTest, RepeatedParameterIsInvalidRequest) {
  auto r = token("grant_type=client_credentials&scope=invoices%3Aread&scope=invoices%3Aread");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error(r), "invalid_request");
  auto g = token("grant_type=client_credentials&grant_type=client_credentials");
  EXPECT_EQ(error(g), "invalid_request");
}

TEST_F(TokenEndpointTest, OnlyFormBodiesAreAccepted) {
  for (const char* type : {"application/json", "", "text/plain"}) {
    auto r = form_request("grant_type=client_credentials", type);
    r.mutable_headers().add("Authorization", basic("svc", "secret"));
    auto resp = call(std::move(r));
    EXPECT_EQ(resp.status, 400) << type;
    EXPECT_EQ(error(resp), "invalid_request") << type;
  }
  auto r = form_request("grant_type=client_credentials",
                        "application/x-www-form-urlencoded; charset=UTF-8");
  r.mutable_headers().add("Authorization", basic("svc", "secret"));
  EXPECT_EQ(call(std::move(r)).status, 200);
}

TEST_F(TokenEndpointTest, MalformedBodyIsInvalidRequest) {
  auto r = token("grant_type=client_credentials&scope=%zz");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error(r), "invalid_request");
}

TEST_F(TokenEndpointTest, MissingGrantTypeIsInvalidRequest) {
  EXPECT_EQ(error(token("scope=invoices%3Aread")), "invalid_request");
}

TEST_F(TokenEndpointTest, PasswordImplicitAndUnknownGrantsAreUnsupported) {
  for (const char* g : {"password", "implicit", "token", "urn:example:nothing"}) {
    auto r = token(std::string("grant_type=") + g + "&username=a&password=b");
    EXPECT_EQ(r.status, 400) << g;
    EXPECT_EQ(error(r), "unsupported_grant_type") << g;
  }
}

TEST_F(TokenEndpointTest, ClientNotAllowedTheGrantIsUnauthorizedClient) {
  store::Client c = add_client("other", "pw");
  c.grant_types = {"authorization_code"};
  ASSERT_TRUE(store_->clients().update(c));
  as_->clients().invalidate("other");
  auto r = token("grant_type=client_credentials", "other", "pw");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error(r), "unauthorized_client");
}

TEST_F(TokenEndpointTest, WrongSecretIs401InvalidClient) {
  auto r = token("grant_type=client_credentials", "svc", "wrong");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(error(r), "invalid_client");
  EXPECT_TRUE(r.headers.get("WWW-Authenticate"));
}

TEST_F(TokenEndpointTest, SecretInTheBodyOfABasicClientIs401) {
  // RFC 7591 §2: svc registered client_secret_basic; the same secret in the body is refused.
  auto r = call(form_request("grant_type=client_credentials&client_id=svc&client_secret=secret"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(error(r), "invalid_client");
}

TEST_F(TokenEndpointTest, TwoAuthenticationMethodsAre400) {
  auto r = form_request("grant_type=client_credentials&client_id=svc&client_secret=secret");
  r.mutable_headers().add("Authorization", basic("svc", "secret"));
  auto resp = call(std::move(r));
  EXPECT_EQ(resp.status, 400);
  EXPECT_EQ(error(resp), "invalid_request");
}

TEST_F(TokenEndpointTest, PrivateKeyJwtClientGetsATokenOncePerAssertion) {
  auto key = jose::Jwk::generate(jose::Alg::kPS256);
  ASSERT_TRUE(key);
  add_key_client("rp", {key->with_kid("rp-1")});
  json::Json claims = {{"iss", "rp"},
                       {"sub", "rp"},
                       {"aud", std::string(kIssuer) + "/token"},
                       {"exp", clock_.now() + 60},
                       {"jti", "assertion-1"}};
  auto jwt = jose::sign(claims.dump(), key->with_kid("rp-1"), jose::Alg::kPS256);
  ASSERT_TRUE(jwt);
  const std::string body =
      "grant_type=client_credentials&scope=invoices%3Aread"
      "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
      "&client_assertion=" +
      *jwt;
  auto r = call(form_request(body));
  ASSERT_EQ(r.status, 200) << r.body;
  auto access = verify(body_of(r)["access_token"], "https://api.example");
  ASSERT_TRUE(access) << jose::to_string(access.error());
  EXPECT_EQ(access->claims["client_id"], "rp");
  // RFC 7523 §3 item 7: the same assertion again is a replay.
  auto replay = call(form_request(body));
  EXPECT_EQ(replay.status, 401);
  EXPECT_EQ(error(replay), "invalid_client");
  EXPECT_NE(body_of(replay)["error_description"].get<std::string>().find("jti"), std::string::npos);
}

TEST_F(TokenEndpointTest, ClientLookupsAreCachedAndInvalidated) {
  ASSERT_EQ(token("grant_type=client_credentials").status, 200);
  ASSERT_TRUE(store_->clients().remove("svc"));
  EXPECT_EQ(token("grant_type=client_credentials").status, 200);  // still cached
  as_->clients().invalidate("svc");
  EXPECT_EQ(token("grant_type=client_credentials").status, 401);
}

TEST_F(TokenEndpointTest, ClientCacheEntriesExpire) {
  ASSERT_EQ(token("grant_type=client_credentials").status, 200);
  ASSERT_TRUE(store_->clients().remove("svc"));
  clock_.advance(31);
  EXPECT_EQ(token("grant_type=client_credentials").status, 401);
}

TEST_F(TokenEndpointTest, MetadataListsWhatIsSupportedNow) {
  for (const char* path :
       {"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"}) {
    http::Request r;
    r.set_method("GET");
    r.set_target(path);
    auto resp = call(std::move(r));
    ASSERT_EQ(resp.status, 200) << path;
    auto m = body(resp);
    EXPECT_EQ(m["issuer"], kIssuer);
    EXPECT_EQ(m["token_endpoint"], "https://as.example/token");
    EXPECT_EQ(m["jwks_uri"], "https://as.example/jwks");
    // The registry's grants (others join as they are written); OAuth 2.1 §10 never the
    // password or implicit grant.
    const auto& grants = m["grant_types_supported"];
    ASSERT_TRUE(grants.is_array());
    EXPECT_NE(std::find(grants.begin(), grants.end(), "client_credentials"), grants.end());
    for (const char* removed : {"password", "implicit"}) {
      EXPECT_EQ(std::find(grants.begin(), grants.end(), removed), grants.end()) << removed;
    }
    EXPECT_EQ(m["token_endpoint_auth_methods_supported"],
              json::Json({"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}));
    // RFC 8414 §2: the algorithms a private_key_jwt assertion may use.
    json::Json algs = json::Json::array();
    for (jose::Alg a : client_assertion_algs()) algs.push_back(jose::to_string(a));
    auto advertised = m["token_endpoint_auth_signing_alg_values_supported"];
    ASSERT_TRUE(advertised.is_array());
    EXPECT_EQ(advertised.size(), algs.size());
    for (const auto& a : algs) {
      EXPECT_NE(std::find(advertised.begin(), advertised.end(), a), advertised.end()) << a;
    }
    EXPECT_EQ(m["scopes_supported"], json::Json({"invoices:read", "invoices:write"}));
    EXPECT_EQ(m["response_types_supported"], json::Json({"code"}));
  }
}

TEST_F(TokenEndpointTest, JwksServesPublicKeysOnly) {
  http::Request r;
  r.set_method("GET");
  r.set_target("/jwks");
  auto resp = call(std::move(r));
  ASSERT_EQ(resp.status, 200);
  EXPECT_EQ(*resp.headers.get("Content-Type"), "application/jwk-set+json");
  EXPECT_EQ(resp.body.find("\"d\""), std::string::npos);
  EXPECT_EQ(body(resp)["keys"].size(), 1u);
}

TEST(DiscoveryPaths, IssuerWithAPathFollowsRfc8414) {
  EXPECT_EQ(oauth_metadata_path("https://as.example/t1"),
            "/.well-known/oauth-authorization-server/t1");
  EXPECT_EQ(openid_configuration_path("https://as.example/t1"),
            "/t1/.well-known/openid-configuration");
  EXPECT_EQ(oauth_metadata_path("https://as.example"), "/.well-known/oauth-authorization-server");
}

}  // namespace
}  // namespace tessera::oauth::testing
