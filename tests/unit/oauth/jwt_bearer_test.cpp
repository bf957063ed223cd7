// The JWT bearer grant (RFC 7523 §2.1) through the routes AuthorizationServer registers, with a
// partner issuer whose JWKS the test serves through JwtBearerOptions::fetch: every check of §3
// (trusted iss, sub among the allowed subjects, aud naming this server, exp required and not too
// far, nbf, the signature, asymmetric algorithms, jti once), scopes within the client's and the
// issuer's, the issuer's key rotation picked up on an unknown kid (at most once per 30 s), and no
// grant offered without a trusted issuer.
#include "oauth/jwt_bearer.h"

#include <gtest/gtest.h>

#include <string>

#include "as_fixture.h"
#include "core/crypto.h"

namespace tessera::oauth::testing {
namespace {

constexpr char kPartner[] = "https://partner.example";
constexpr char kPartnerJwks[] = "https://partner.example/jwks";

class JwtBearerTest : public AuthorizationServerTest {
 protected:
  AuthorizationServerOptions server_options() override {
    AuthorizationServerOptions options = AuthorizationServerTest::server_options();
    options.jwt_bearer.issuers = {{kPartner, kPartnerJwks, {"user-1", "user-2"}, {"invoices:read"}},
                                  {"https://any.example", "https://any.example/jwks", {}, {}}};
    options.jwt_bearer.fetch = [this](const std::string& uri) -> Result<jose::Jwks, std::string> {
      ++fetches_;
      if (uri == "https://any.example/jwks" && any_keys_) return *any_keys_;
      if (uri != kPartnerJwks) return Err(std::string("unknown JWKS ") + uri);
      jose::Jwks set;
      set.add(partner_key_.public_key());
      return set;
    };
    return options;
  }
  void populate() override {
    store::Client c = add_client("svc", "svc-secret");
    c.grant_types = {std::string(kJwtBearerGrantType)};
    c.scopes = {"openid", "invoices:read", "invoices:write"};
    c.audiences = {kApiA};
    ASSERT_TRUE(store_->clients().update(c));
  }

  // The claims of a good assertion: partner-issued, for user-1, aud the issuer, 5 minutes.
  json::Json claims() const {
    return {{"iss", kPartner},           {"sub", "user-1"},     {"aud", kIssuer},
            {"exp", clock_.now() + 300}, {"iat", clock_.now()}, {"jti", crypto::random_token(16)}};
  }
  std::string sign(const json::Json& c, jose::Alg alg = jose::Alg::kES256) const {
    auto jwt = jose::sign(c.dump(), partner_key_, alg);
    EXPECT_TRUE(jwt);
    return jwt ? *jwt : std::string();
  }
  // The token request of "svc" with `assertion` and `extra` parameters.
  http::Response exchange(const std::string& assertion, const Pairs& extra = {}) {
    Pairs form = {{"grant_type", std::string(kJwtBearerGrantType)}, {"assertion", assertion}};
    form.insert(form.end(), extra.begin(), extra.end());
    return call(form_post("/token", encoded(form), "svc", "svc-secret", {}));
  }
  void expect_invalid_grant(const http::Response& r, const std::string& why) {
    EXPECT_EQ(r.status, 400) << why << ": " << r.body;
    EXPECT_EQ(error(r), "invalid_grant") << why << ": " << r.body;
    EXPECT_FALSE(body(r).contains("access_token")) << why;
  }

  jose::Jwk partner_key_ = generated(jose::Alg::kES256).with_kid("p1");
  int fetches_ = 0;
  std::optional<jose::Jwks> any_keys_;  // what https://any.example/jwks serves; none: unreachable
};

TEST_F(JwtBearerTest, AGoodAssertionGetsAnAccessTokenForItsSubject) {
  auto r = exchange(sign(claims()), {{"scope", "invoices:read"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json::Json b = body(r);
  EXPECT_EQ(b["token_type"], "Bearer");
  EXPECT_EQ(b["scope"], "invoices:read");
  EXPECT_FALSE(b.contains("refresh_token"));
  EXPECT_FALSE(b.contains("id_token"));
  json::Json at = access_claims(b["access_token"], kApiA);
  EXPECT_EQ(at["sub"], "user-1");
  EXPECT_EQ(at["client_id"], "svc");
  // The token endpoint URL is an accepted audience too (§3 item 3).
  json::Json c = claims();
  c["aud"] = kTokenUrl;
  EXPECT_EQ(exchange(sign(c)).status, 200);
  // Discovery lists the grant.
  json::Json m = body(fetch("/.well-known/openid-configuration"));
  EXPECT_NE(m["grant_types_supported"].dump().find(kJwtBearerGrantType), std::string::npos);
}

TEST_F(JwtBearerTest, EveryCheckOfSection3) {
  const jose::Jwk other = generated(jose::Alg::kES256).with_kid("p1");
  struct Case {
    std::string why;
    std::function<std::string()> assertion;
  };
  const auto with = [&](const std::function<void(json::Json&)>& change) {
    json::Json c = claims();
    change(c);
    return sign(c);
  };
  const std::vector<Case> cases = {
      {"an untrusted issuer", [&] { return with([](json::Json& c) { c["iss"] = "https://x"; }); }},
      {"no iss", [&] { return with([](json::Json& c) { c.erase("iss"); }); }},
      {"a subject the issuer may not assert",
       [&] { return with([](json::Json& c) { c["sub"] = "user-9"; }); }},
      {"no sub", [&] { return with([](json::Json& c) { c.erase("sub"); }); }},
      {"aud of another server",
       [&] { return with([](json::Json& c) { c["aud"] = "https://other.example"; }); }},
      {"no exp", [&] { return with([](json::Json& c) { c.erase("exp"); }); }},
      {"expired", [&] { return with([&](json::Json& c) { c["exp"] = clock_.now() - 60; }); }},
      {"lives too long",
       [&] { return with([&](json::Json& c) { c["exp"] = clock_.now() + 7200; }); }},
      {"not valid yet",
       [&] { return with([&](json::Json& c) { c["nbf"] = clock_.now() + 600; }); }},
      {"no jti", [&] { return with([](json::Json& c) { c.erase("jti"); }); }},
      {"signed by another key",
       [&] {
         auto jwt = jose::sign(claims().dump(), other, jose::Alg::kES256);
         return jwt ? *jwt : std::string();
       }},
      {"HMAC",
       [&] {
         auto jwt = jose::sign(claims().dump(), jose::Jwk::from_secret(std::string(32, 'k')),
                               jose::Alg::kHS256);
         return jwt ? *jwt : std::string();
       }},
      {"not a JWT", [] { return std::string("not.a.jwt"); }},
      {"an access token of the partner (typ at+jwt)",
       [&] {
         jose::SignOptions options;
         options.typ = "at+jwt";
         auto jwt = jose::sign(claims().dump(), partner_key_, jose::Alg::kES256, options);
         return jwt ? *jwt : std::string();
       }},
  };
  for (const Case& k : cases) expect_invalid_grant(exchange(k.assertion()), k.why);
  auto missing = exchange("");
  EXPECT_EQ(error(missing), "invalid_request") << missing.body;
}

TEST_F(JwtBearerTest, APartnerCannotAssertALocalUser) {
  auto alice = store_->users().create({"alice", "$argon2id$placeholder", "{}"});
  ASSERT_TRUE(alice);
  // The issuer that may assert any subject still cannot assert this server's own user.
  json::Json c = claims();
  c["iss"] = "https://any.example";
  c["sub"] = alice->id;
  jose::Jwks any;
  any.add(partner_key_.public_key());
  any_keys_ = any;
  auto r = exchange(sign(c));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error(r), "invalid_grant");
  EXPECT_NE(body(r).value("error_description", "").find("user of this server"), std::string::npos);
  // The control: another subject of that issuer goes through.
  c["sub"] = "someone@any";
  c["jti"] = crypto::random_token(16);
  EXPECT_EQ(exchange(sign(c)).status, 200);
}

TEST_F(JwtBearerTest, AnUnreachableJwksIs503) {
  json::Json c = claims();
  c["iss"] = "https://any.example";
  auto r = exchange(sign(c));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(error(r), "temporarily_unavailable");
}

TEST_F(JwtBearerTest, AJtiIsAcceptedOnce) {
  const std::string assertion = sign(claims());
  EXPECT_EQ(exchange(assertion).status, 200);
  expect_invalid_grant(exchange(assertion), "replayed");
  // A request refused for its scope does not spend the assertion.
  const std::string other = sign(claims());
  EXPECT_EQ(error(exchange(other, {{"scope", "invoices:write"}})), "invalid_scope");
  EXPECT_EQ(exchange(other).status, 200);
}

TEST_F(JwtBearerTest, ScopesWithinTheClientsAndTheIssuers) {
  // invoices:write is the client's but not the partner's to grant.
  EXPECT_EQ(error(exchange(sign(claims()), {{"scope", "invoices:write"}})), "invalid_scope");
  // Omitted: what both allow.
  auto r = exchange(sign(claims()));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["scope"], "invoices:read");
}

TEST_F(JwtBearerTest, TheIssuersKeyRotationIsPickedUpOnAnUnknownKid) {
  ASSERT_EQ(exchange(sign(claims())).status, 200);
  EXPECT_EQ(fetches_, 1);
  // The partner rotates: its new key's kid is unknown here, so the JWKS is fetched again...
  partner_key_ = generated(jose::Alg::kES256).with_kid("p2");
  clock_.advance(31);
  EXPECT_EQ(exchange(sign(claims())).status, 200);
  EXPECT_EQ(fetches_, 2);
  // ... but not more than once per 30 s, whatever kids assertions name.
  partner_key_ = generated(jose::Alg::kES256).with_kid("p3");
  expect_invalid_grant(exchange(sign(claims())), "a kid fetched too recently");
  EXPECT_EQ(fetches_, 2);
}

TEST_F(JwtBearerTest, AClientNotRegisteredForTheGrantIsRefused) {
  add_client("other", "other-secret");
  Pairs form = {{"grant_type", std::string(kJwtBearerGrantType)}, {"assertion", sign(claims())}};
  auto r = call(form_post("/token", encoded(form), "other", "other-secret", {}));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error(r), "unauthorized_client");
}

class JwtBearerOffTest : public AuthorizationServerTest {};

TEST_F(JwtBearerOffTest, WithoutATrustedIssuerTheGrantIsNotOffered) {
  json::Json m = body(fetch("/.well-known/openid-configuration"));
  EXPECT_EQ(m["grant_types_supported"].dump().find(kJwtBearerGrantType), std::string::npos);
  add_client("svc", "svc-secret");
  Pairs form = {{"grant_type", std::string(kJwtBearerGrantType)}, {"assertion", "a.b.c"}};
  auto r = call(form_post("/token", encoded(form), "svc", "svc-secret", {}));
  EXPECT_EQ(error(r), "unsupported_grant_type") << r.body;
}

}  // namespace
}  // namespace tessera::oauth::testing
