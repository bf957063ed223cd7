// JWT-secured authorization requests (JAR, RFC 9101): request objects at /authorize and in
// pushed authorization requests (RFC 9126 §3), signed with the client's registered keys; the
// object's claims are the whole request (§6.3) and every check of §6 is an
// invalid_request_object shown to the user, never sent to an unverified redirect URI.
#include <gtest/gtest.h>

#include "as_fixture.h"

namespace tessera::oauth::testing {
namespace {

class JarTest : public AuthorizationServerTest {
 protected:
  void populate() override {
    add_browser_client("web", /*is_public=*/false);
    add_browser_client("spa", /*is_public=*/true);
    for (const char* id : {"web", "spa"}) {
      update_client(id, [&](store::Client& c) {
        jose::Jwks jwks;
        jwks.add(key_a_.public_key());
        c.jwks_json = jwks.to_json().dump();
      });
    }
    sign_in_alice();
  }

  // The claims of a good request object of `client_id`: request_params() plus iss, aud, exp
  // (now + 300), nbf, iat and client_id.
  json::Json object_claims(const std::string& client_id) const {
    json::Json claims = {{"iss", client_id},    {"aud", kIssuer},      {"client_id", client_id},
                         {"iat", clock_.now()}, {"nbf", clock_.now()}, {"exp", clock_.now() + 300}};
    for (const auto& [name, value] : request_params()) claims[name] = value;
    return claims;
  }
  static std::string sign_object(const json::Json& claims, const jose::Jwk& key,
                                 jose::Alg alg = jose::Alg::kES256,
                                 std::optional<std::string> typ = "oauth-authz-req+jwt") {
    jose::SignOptions options;
    options.typ = std::move(typ);
    auto jws = jose::sign(claims.dump(), key, alg, options);
    EXPECT_TRUE(jws) << (jws ? "" : jose::to_string(jws.error()));
    return jws ? *jws : std::string();
  }
  // GET /authorize?client_id=ID&request=OBJECT plus `extra` in alice's session.
  http::Response authorize_object(const std::string& client_id, const std::string& object,
                                  const Pairs& extra = {}) {
    Pairs query = {{"client_id", client_id}, {"request", object}};
    query.insert(query.end(), extra.begin(), extra.end());
    return authorize_query(query);
  }
  // An error page naming `code` (RFC 6749 §4.1.2.1: never a redirect).
  static void expect_error_page(const http::Response& r, const std::string& code,
                                const std::string& why) {
    EXPECT_EQ(r.status, 400) << why << ": " << r.body;
    EXPECT_FALSE(r.headers.get("Location")) << why;
    EXPECT_NE(r.body.find(code), std::string::npos) << why << ": " << r.body;
  }
};

TEST_F(JarTest, SignedRequestObjectStartsTheCodeFlow) {
  json::Json claims = object_claims("web");
  claims["state"] = "from-the-object";
  auto r = authorize_object("web", sign_object(claims, key_a_));
  http::Params params = redirect_params(r);
  EXPECT_TRUE(params.get("code")) << r.body;
  EXPECT_EQ(params.get("state").value_or(""), "from-the-object");
  // The code redeems with the object's PKCE challenge.
  auto tokens = redeem("web", std::string(params.get("code").value_or("")));
  EXPECT_EQ(tokens.status, 200) << tokens.body;
}

TEST_F(JarTest, ParametersOutsideTheObjectAreIgnored) {
  json::Json claims = object_claims("web");
  claims["state"] = "inside";
  // RFC 9101 §6.3: the query's state and redirect URI do not count.
  auto r = authorize_object("web", sign_object(claims, key_a_),
                            {{"state", "outside"},
                             {"redirect_uri", "https://evil.example/cb"},
                             {"scope", "openid invoices:write"}});
  http::Params params = redirect_params(r);
  EXPECT_TRUE(params.get("code"));
  EXPECT_EQ(params.get("state").value_or(""), "inside");
}

TEST_F(JarTest, EveryCheckOfTheObjectIsAnInvalidRequestObjectPage) {
  const jose::Jwk other = generated(jose::Alg::kES256);
  struct Case {
    std::string why;
    std::function<std::string()> object;
  };
  const auto with = [&](const std::function<void(json::Json&)>& change) {
    json::Json c = object_claims("web");
    change(c);
    return sign_object(c, key_a_);
  };
  const std::vector<Case> cases = {
      {"signed by another key", [&] { return sign_object(object_claims("web"), other); }},
      {"unsigned (alg none)",
       [&] {
         const std::string header = base64url::encode(R"({"alg":"none"})");
         return header + "." + base64url::encode(object_claims("web").dump()) + ".";
       }},
      {"HMAC",
       [&] {
         return sign_object(object_claims("web"), jose::Jwk::from_secret(std::string(32, 'k')),
                            jose::Alg::kHS256);
       }},
      {"a JWE", [] { return std::string("a.b.c.d.e"); }},
      {"typ of another JWT",
       [&] { return sign_object(object_claims("web"), key_a_, jose::Alg::kES256, "at+jwt"); }},
      {"iss of another client", [&] { return with([](json::Json& c) { c["iss"] = "spa"; }); }},
      {"no iss", [&] { return with([](json::Json& c) { c.erase("iss"); }); }},
      {"aud of another server",
       [&] { return with([](json::Json& c) { c["aud"] = "https://other.example"; }); }},
      {"no aud", [&] { return with([](json::Json& c) { c.erase("aud"); }); }},
      {"client_id of another client",
       [&] { return with([](json::Json& c) { c["client_id"] = "spa"; }); }},
      {"no exp", [&] { return with([](json::Json& c) { c.erase("exp"); }); }},
      {"expired", [&] { return with([&](json::Json& c) { c["exp"] = clock_.now() - 120; }); }},
      {"lives too long",
       [&] { return with([&](json::Json& c) { c["exp"] = clock_.now() + 7200; }); }},
      {"not valid yet",
       [&] { return with([&](json::Json& c) { c["nbf"] = clock_.now() + 600; }); }},
      {"a request_uri inside",
       [&] { return with([](json::Json& c) { c["request_uri"] = "urn:x"; }); }},
      {"a request inside", [&] { return with([](json::Json& c) { c["request"] = "x.y.z"; }); }},
  };
  for (const Case& k : cases) {
    expect_error_page(authorize_object("web", k.object()), "invalid_request_object", k.why);
  }
  // The same object with its client_id on the query of another client: signed by web, not spa.
  expect_error_page(authorize_object("spa", sign_object(object_claims("web"), key_a_)),
                    "invalid_request_object", "query client_id of another client");
}

TEST_F(JarTest, ObjectWithAJtiIsSingleUse) {
  json::Json claims = object_claims("web");
  claims["jti"] = "once";
  const std::string object = sign_object(claims, key_a_);
  EXPECT_TRUE(redirect_params(authorize_object("web", object)).get("code"));
  expect_error_page(authorize_object("web", object), "invalid_request_object", "replayed jti");
}

TEST_F(JarTest, ClientWithoutKeysCannotUseRequestObjects) {
  update_client("web", [](store::Client& c) { c.jwks_json.reset(); });
  expect_error_page(authorize_object("web", sign_object(object_claims("web"), key_a_)),
                    "invalid_request_object", "no jwks");
}

TEST_F(JarTest, RequestWithoutClientIdOrWithRequestUriIsRefused) {
  const std::string object = sign_object(object_claims("web"), key_a_);
  Pairs no_client = {{"request", object}};
  expect_error_page(authorize_query(no_client), "invalid_request", "no client_id");
  expect_error_page(authorize_object("web", object, {{"request_uri", "urn:x"}}), "invalid_request",
                    "request and request_uri");
}

TEST_F(JarTest, PushedRequestObjectIsTheWholeRequest) {
  json::Json claims = object_claims("web");
  claims["state"] = "pushed-object";
  Pairs form = {{"request", sign_object(claims, key_a_)}, {"state", "ignored"}};
  auto pushed = call(form_post("/par", encoded(form), "web", "web-secret", {}));
  ASSERT_EQ(pushed.status, 201) << pushed.body;
  const std::string request_uri = body(pushed)["request_uri"];
  auto r = authorize_query({{"client_id", "web"}, {"request_uri", request_uri}});
  http::Params params = redirect_params(r);
  EXPECT_TRUE(params.get("code"));
  EXPECT_EQ(params.get("state").value_or(""), "pushed-object");

  // A bad object is refused at the push, as JSON.
  claims["aud"] = "https://other.example";
  Pairs bad = {{"request", sign_object(claims, key_a_)}};
  auto refused = call(form_post("/par", encoded(bad), "web", "web-secret", {}));
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(error(refused), "invalid_request_object");
}

TEST_F(JarTest, PublicClientMaySignRequestObjects) {
  json::Json claims = object_claims("spa");
  auto r = authorize_object("spa", sign_object(claims, key_a_));
  EXPECT_TRUE(redirect_params(r).get("code")) << r.body;
}

TEST_F(JarTest, ResourceArrayBecomesSeveralResources) {
  json::Json claims = object_claims("web");
  claims["resource"] = json::Json::array({kApiA});
  auto r = authorize_object("web", sign_object(claims, key_a_));
  EXPECT_TRUE(redirect_params(r).get("code")) << r.body;
  claims["resource"] = json::Json::array({kApiA, "urn:tessera:api:not-allowed"});
  // An unknown resource is an error the client hears at its (now verified) redirect URI.
  http::Params refused = redirect_params(authorize_object("web", sign_object(claims, key_a_)));
  EXPECT_EQ(refused.get("error").value_or(""), "invalid_target");
}

TEST_F(JarTest, DiscoveryAdvertisesRequestObjects) {
  json::Json m = body(fetch("/.well-known/openid-configuration"));
  EXPECT_EQ(m["request_parameter_supported"], true);
  const auto& algs = m["request_object_signing_alg_values_supported"];
  EXPECT_NE(std::find(algs.begin(), algs.end(), "ES256"), algs.end());
  EXPECT_EQ(std::find(algs.begin(), algs.end(), "none"), algs.end());
  EXPECT_EQ(std::find(algs.begin(), algs.end(), "HS256"), algs.end());
}

// ---- JARM: JWT-secured authorization responses ---------------------------------------------

class JarmTest : public JarTest {
 protected:
  // The claims of a JARM response JWT, verified against the server's JWKS (typ JWT).
  json::Json response_claims(const std::string& jwt) {
    auto jwks = jose::Jwks::parse(fetch("/jwks").body);
    EXPECT_TRUE(jwks);
    if (!jwks) return {};
    auto verified = jose::verify(jwt, *jwks, {});
    EXPECT_TRUE(verified) << jwt;
    if (!verified) return {};
    return *json::parse_strict(verified->payload);
  }
};

TEST_F(JarmTest, QueryJwtCarriesTheResponseAsOneSignedJwt) {
  for (const char* mode : {"query.jwt", "jwt"}) {
    http::Params params = redirect_params(authorize("web", {{"response_mode", mode}}));
    // Only `response`: code, state and iss travel inside it (RFC 9207 §2.4).
    ASSERT_EQ(params.size(), 1u) << mode;
    ASSERT_TRUE(params.get("response")) << mode;
    json::Json claims = response_claims(std::string(*params.get("response")));
    EXPECT_EQ(claims["iss"], kIssuer) << mode;
    EXPECT_EQ(claims["aud"], "web") << mode;
    EXPECT_EQ(claims["exp"], clock_.now() + 300) << mode;
    EXPECT_EQ(claims["state"], "s1") << mode;
    ASSERT_TRUE(claims.contains("code")) << mode;
    // The code inside redeems as any code.
    EXPECT_EQ(redeem("web", claims["code"]).status, 200) << mode;
  }
}

TEST_F(JarmTest, FormPostJwtPostsTheResponseField) {
  auto r = authorize("web", {{"response_mode", "form_post.jwt"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(kRedirectUri), std::string::npos);
  EXPECT_NE(r.body.find("name=\"response\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("name=\"code\""), std::string::npos) << r.body;
}

TEST_F(JarmTest, ErrorsTravelInsideTheJwtToo) {
  http::Params params =
      redirect_params(authorize("web", {{"response_mode", "query.jwt"}, {"prompt", "bogus"}}));
  ASSERT_TRUE(params.get("response"));
  EXPECT_FALSE(params.get("error"));
  json::Json claims = response_claims(std::string(*params.get("response")));
  EXPECT_EQ(claims["error"], "invalid_request");
  EXPECT_EQ(claims["state"], "s1");
  EXPECT_FALSE(claims.contains("code"));
}

TEST_F(JarmTest, RequestObjectMayAskForJarm) {
  json::Json claims = object_claims("web");
  claims["response_mode"] = "query.jwt";
  http::Params params = redirect_params(authorize_object("web", sign_object(claims, key_a_)));
  ASSERT_TRUE(params.get("response"));
  EXPECT_TRUE(response_claims(std::string(*params.get("response"))).contains("code"));
}

TEST_F(JarmTest, DiscoveryListsTheJwtModes) {
  json::Json m = body(fetch("/.well-known/openid-configuration"));
  EXPECT_EQ(m["response_modes_supported"],
            json::Json({"query", "form_post", "jwt", "query.jwt", "form_post.jwt"}));
  EXPECT_EQ(m["authorization_signing_alg_values_supported"], json::Json({"ES256"}));
}

}  // namespace
}  // namespace tessera::oauth::testing
