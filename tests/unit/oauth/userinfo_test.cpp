// UserInfo (OpenID Core §5.3) and the RFC 6750 helpers it is built on: token extraction, each
// error with its WWW-Authenticate challenge, and claims filtered by scope (§5.4).
#include "oauth/userinfo.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "http/bearer.h"
#include "oauth/scope.h"
#include "oauth/tokens.h"
#include "oauth_fixture.h"
#include "store/store.h"

namespace tessera::oauth {
namespace {
using http::bearer_challenge;
using http::bearer_error;
using http::BearerOptions;
using http::BearerSource;
using http::extract_bearer_token;

constexpr char kIssuer[] = "https://as.example";
constexpr char kChallengeNoError[] = "Bearer realm=\"https://as.example\"";

constexpr char kProfile[] = R"({
  "name": "Alice Liddell", "given_name": "Alice", "family_name": "Liddell",
  "nickname": "al", "picture": "https://img.example/a.png", "locale": "en-GB",
  "birthdate": "1852-05-04", "updated_at": 1690000000,
  "email": "alice@example.com", "email_verified": true,
  "address": {"locality": "Oxford", "country": "UK"},
  "phone_number": "+44 1865 000000", "phone_number_verified": false,
  "sub": "not-the-subject", "role": "admin"
})";

class UserInfoTest : public testing::OAuthTest {
 protected:
  void SetUp() override {
    OAuthTest::SetUp();
    ASSERT_NO_FATAL_FAILURE(start_tokens(kIssuer));
    dpop_ = std::make_unique<DpopProofs>(DpopServerOptions{},
                                         EndpointUrls{"https://as.example/token"}, clock_);
    endpoint_ = std::make_unique<UserInfoEndpoint>(kIssuer, *resolver_, store_->users(), *dpop_);
    auto alice = store_->users().create({"Alice", "$argon2id$placeholder", kProfile});
    ASSERT_TRUE(alice) << alice.error().message;
    alice_ = *alice;
    auto bob = store_->users().create({"bob", "$argon2id$placeholder", "{}"});
    ASSERT_TRUE(bob) << bob.error().message;
    bob_ = *bob;
  }
  void TearDown() override {
    endpoint_.reset();
    dpop_.reset();
    OAuthTest::TearDown();
  }

  std::string token(const std::string& scope, const std::string& subject = "",
                    store::AccessTokenFormat format = store::AccessTokenFormat::kJwt,
                    json::Json extra = json::Json::object()) {
    store::Client c;
    c.client_id = "app";
    c.access_token_format = format;
    c.access_token_lifetime = 600;
    TokenSubject s;
    s.subject = subject.empty() ? alice_.id : subject;
    s.client_id = "app";
    s.scopes = *parse_scope(scope);
    s.audiences = {"https://api.example"};
    s.extra = std::move(extra);
    auto minted = service_->access_token(c, s);
    EXPECT_TRUE(minted);
    if (minted->record) insert_tokens({&*minted->record, 1});
    return minted->value;
  }
  static http::Request get(std::optional<std::string> bearer) {
    http::Request r;
    r.set_method("GET");
    r.set_target("/userinfo");
    if (bearer) r.mutable_headers().add("Authorization", "Bearer " + *bearer);
    return r;
  }
  static http::Request post_form(const std::string& body) {
    http::Request r = form_request(body);
    r.set_target("/userinfo");
    return r;
  }
  json::Json claims(const std::string& scope) {
    auto r = endpoint_->handle(get(token(scope)));
    EXPECT_EQ(r.status, 200) << r.body;
    return json::Json::parse(r.body);
  }
  static std::string challenge(const http::Response& r) {
    auto h = r.headers.get("WWW-Authenticate");
    return h ? std::string(*h) : std::string();
  }
  static std::string error(const http::Response& r) {
    return json::Json::parse(r.body).value("error", "");
  }

  std::unique_ptr<DpopProofs> dpop_;
  std::unique_ptr<UserInfoEndpoint> endpoint_;
  store::User alice_;
  store::User bob_;
};

// --- Claims by scope (OpenID Core §5.4) ----------------------------------------------------

TEST_F(UserInfoTest, OpenidAloneGivesSubOnly) {
  auto r = endpoint_->handle(get(token("openid")));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(*r.headers.get("Content-Type"), "application/json");
  EXPECT_EQ(*r.headers.get("Cache-Control"), "no-store");
  EXPECT_EQ(json::Json::parse(r.body), json::Json({{"sub", alice_.id}}));
}

TEST_F(UserInfoTest, ProfileScopeGivesProfileClaimsOnly) {
  auto c = claims("openid profile");
  EXPECT_EQ(c["sub"], alice_.id);  // never the profile's own "sub"
  EXPECT_EQ(c["name"], "Alice Liddell");
  EXPECT_EQ(c["given_name"], "Alice");
  EXPECT_EQ(c["family_name"], "Liddell");
  EXPECT_EQ(c["nickname"], "al");
  EXPECT_EQ(c["picture"], "https://img.example/a.png");
  EXPECT_EQ(c["locale"], "en-GB");
  EXPECT_EQ(c["birthdate"], "1852-05-04");
  EXPECT_EQ(c["updated_at"], 1690000000);
  EXPECT_EQ(c["preferred_username"], "Alice");  // the username, as no profile value is set
  for (const char* absent : {"email", "email_verified", "address", "phone_number", "role"}) {
    EXPECT_FALSE(c.contains(absent)) << absent;
  }
}

TEST_F(UserInfoTest, EmailAddressAndPhoneScopes) {
  auto email = claims("openid email");
  EXPECT_EQ(
      email,
      json::Json({{"sub", alice_.id}, {"email", "alice@example.com"}, {"email_verified", true}}));
  auto address = claims("openid address");
  EXPECT_EQ(address["address"]["locality"], "Oxford");
  EXPECT_FALSE(address.contains("email"));
  auto phone = claims("openid phone");
  EXPECT_EQ(phone["phone_number"], "+44 1865 000000");
  EXPECT_EQ(phone["phone_number_verified"], false);
  EXPECT_FALSE(phone.contains("name"));
  auto all = claims("openid profile email address phone");
  EXPECT_EQ(all.size(), 15u);  // sub, 8 profile + preferred_username, 2 email, address, 2 phone
}

TEST_F(UserInfoTest, EmptyProfileStillHasPreferredUsername) {
  auto r = endpoint_->handle(get(token("openid profile email", bob_.id)));
  ASSERT_EQ(r.status, 200);
  auto c = json::Json::parse(r.body);
  EXPECT_EQ(c["sub"], bob_.id);
  EXPECT_EQ(c["preferred_username"], "bob");
  EXPECT_FALSE(c.contains("email"));
}

TEST_F(UserInfoTest, OpaqueTokenInAFormBody) {
  // RFC 6750 §2.2 / OpenID Core §5.3.1: POST with access_token in the body.
  auto r = endpoint_->handle(
      post_form("access_token=" + token("openid email", "", store::AccessTokenFormat::kOpaque)));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::Json::parse(r.body)["email"], "alice@example.com");
}

// --- RFC 6750 §3 errors -------------------------------------------------------------------

TEST_F(UserInfoTest, NoTokenIs401WithAChallengeWithoutError) {
  auto r = endpoint_->handle(get(std::nullopt));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(challenge(r), kChallengeNoError);
  // An unsupported scheme counts as no token (RFC 6750 §3.1).
  auto basic = get(std::nullopt);
  basic.mutable_headers().add("Authorization", "Basic YTpi");
  r = endpoint_->handle(basic);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(challenge(r), kChallengeNoError);
  // A GET body is not a place for a token (RFC 6750 §2.2).
  auto get_with_body = post_form("access_token=" + token("openid"));
  get_with_body.set_method("GET");
  EXPECT_EQ(challenge(endpoint_->handle(get_with_body)), kChallengeNoError);
}

TEST_F(UserInfoTest, InvalidTokensAre401InvalidToken) {
  const std::string expected_prefix =
      "Bearer realm=\"https://as.example\", error=\"invalid_token\", error_description=\"";
  const std::string jwt = token("openid");
  const std::string opaque = token("openid", "", store::AccessTokenFormat::kOpaque);
  ASSERT_TRUE(store_->grants().revoke_token(token_hash(opaque)));
  std::string tampered = jwt;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  for (const auto& bad : {crypto::random_token(32), opaque, tampered}) {
    auto r = endpoint_->handle(get(bad));
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(error(r), "invalid_token");
    EXPECT_EQ(challenge(r).rfind(expected_prefix, 0), 0u) << challenge(r);
  }
  clock_.advance(600 + 30);
  auto expired = endpoint_->handle(get(jwt));
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(challenge(expired), expected_prefix + "token expired\"");
}

TEST_F(UserInfoTest, TokenWithoutOpenidIs403InsufficientScope) {
  auto r = endpoint_->handle(get(token("profile email")));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(error(r), "insufficient_scope");
  EXPECT_EQ(challenge(r),
            "Bearer realm=\"https://as.example\", error=\"insufficient_scope\", "
            "error_description=\"the openid scope is required\", scope=\"openid\"");
}

TEST_F(UserInfoTest, MalformedRequestsAre400InvalidRequest) {
  const std::string t = token("openid");
  auto both = post_form("access_token=" + t);
  both.mutable_headers().add("Authorization", "Bearer " + t);
  auto in_query = get(std::nullopt);
  in_query.set_target("/userinfo?access_token=" + t);
  auto two_headers = get(t);
  two_headers.mutable_headers().add("Authorization", "Bearer " + t);
  auto not_b64token = get(std::nullopt);
  not_b64token.mutable_headers().add("Authorization", "Bearer a b");
  auto empty_bearer = get(std::nullopt);
  empty_bearer.mutable_headers().add("Authorization", "Bearer");
  auto repeated_body = post_form("access_token=" + t + "&access_token=" + t);
  for (const auto& request :
       {both, in_query, two_headers, not_b64token, empty_bearer, repeated_body}) {
    http::Request r = request;
    r.set_target(std::string(request.target()));  // Request keeps views into its own target
    auto response = endpoint_->handle(r);
    EXPECT_EQ(response.status, 400) << request.target();
    EXPECT_EQ(error(response), "invalid_request");
    EXPECT_EQ(challenge(response).rfind(
                  "Bearer realm=\"https://as.example\", error=\"invalid_request\"", 0),
              0u)
        << challenge(response);
  }
}

TEST_F(UserInfoTest, DisabledOrMissingUserIs401) {
  const std::string t = token("openid profile");
  ASSERT_TRUE(store_->users().set_disabled(alice_.id, true));
  auto r = endpoint_->handle(get(t));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(error(r), "invalid_token");
  // A client credentials token: the subject is the client, not a user.
  r = endpoint_->handle(get(token("openid", "app")));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(error(r), "invalid_token");
}

TEST_F(UserInfoTest, RefreshTokenIsNotAnAccessToken) {
  TokenSubject s;
  s.subject = alice_.id;
  s.client_id = "app";
  s.scopes = {"openid"};
  auto refresh = service_->refresh_token(s, clock_.now() + 3600);
  std::vector<store::TokenRecord> records{*refresh.record};
  ASSERT_TRUE(store_->grants().insert_tokens(records));
  auto r = endpoint_->handle(get(refresh.value));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(error(r), "invalid_token");
}

TEST_F(UserInfoTest, SenderConstrainedTokensNeedTheirKey) {
  // RFC 9449 §7.1: a DPoP-bound token presented as a bearer token is refused.
  auto dpop = endpoint_->handle(
      get(token("openid", "", store::AccessTokenFormat::kJwt, {{"cnf", {{"jkt", "abc"}}}})));
  EXPECT_EQ(dpop.status, 401);
  EXPECT_EQ(error(dpop), "invalid_token");
  // RFC 8705 §3: a certificate-bound token without that certificate.
  auto mtls = endpoint_->handle(
      get(token("openid", "", store::AccessTokenFormat::kJwt, {{"cnf", {{"x5t#S256", "xyz"}}}})));
  EXPECT_EQ(mtls.status, 401);
  EXPECT_EQ(error(mtls), "invalid_token");
}

TEST_F(UserInfoTest, CertificateBoundTokenWithItsCertificate) {
  auto cert = std::make_shared<http::ClientCertificate>();
  cert->der = "not really DER, but hashed all the same";
  auto request = get(token("openid", "", store::AccessTokenFormat::kJwt,
                           {{"cnf", {{"x5t#S256", cert->sha256_thumbprint()}}}}));
  request.mutable_tls().client_certificate = cert;
  EXPECT_EQ(endpoint_->handle(request).status, 200);
}

// --- bearer.h -----------------------------------------------------------------------------

TEST(BearerChallenge, DropsCharactersRfc6750DoesNotAllow) {
  EXPECT_EQ(bearer_challenge("r\"ealm", std::string_view("invalid_token"),
                             std::string_view("bad \"quote\"\r\nX-Injected: 1\\"), std::nullopt),
            "Bearer realm=\"realm\", error=\"invalid_token\", "
            "error_description=\"bad quoteX-Injected: 1\"");
  EXPECT_EQ(bearer_challenge("api", std::nullopt, std::string_view("ignored without an error"),
                             std::nullopt),
            "Bearer realm=\"api\"");
}

TEST(BearerError, CarriesTheJsonErrorAndNoStore) {
  auto r = bearer_error(401, "api", std::string_view("invalid_token"),
                        std::string_view("token expired"), std::nullopt);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(*r.headers.get("Cache-Control"), "no-store");
  auto b = json::Json::parse(r.body);
  EXPECT_EQ(b["error"], "invalid_token");
  EXPECT_EQ(b["error_description"], "token expired");
  auto bare = bearer_error(401, "api", std::nullopt, std::nullopt, std::nullopt);
  EXPECT_EQ(json::Json::parse(bare.body), json::Json::object());
  EXPECT_EQ(*bare.headers.get("WWW-Authenticate"), "Bearer realm=\"api\"");
}

TEST(BearerToken, ExtractsFromTheHeaderCaseInsensitively) {
  http::Request r;
  r.set_method("GET");
  r.set_target("/x");
  r.mutable_headers().add("Authorization", "bearer  abc-._~+/DEF==");
  auto t = extract_bearer_token(r);
  ASSERT_TRUE(t);
  ASSERT_TRUE(*t);
  EXPECT_EQ((*t)->value, "abc-._~+/DEF==");
  EXPECT_EQ((*t)->source, BearerSource::kAuthorizationHeader);
  // "=" only at the end (RFC 6750 §2.1 b64token).
  r.mutable_headers().set("Authorization", "Bearer ab=c");
  EXPECT_FALSE(extract_bearer_token(r));
}

TEST(BearerToken, FormBodyOnlyWhenAskedFor) {
  http::Request r;
  r.set_method("POST");
  r.set_target("/x");
  r.mutable_headers().add("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8");
  r.mutable_body() = "access_token=tok&other=1";
  auto ignored = extract_bearer_token(r);
  ASSERT_TRUE(ignored);
  EXPECT_FALSE(*ignored);
  auto taken = extract_bearer_token(r, BearerOptions{.accept_form_body = true});
  ASSERT_TRUE(taken);
  ASSERT_TRUE(*taken);
  EXPECT_EQ((*taken)->value, "tok");
  EXPECT_EQ((*taken)->source, BearerSource::kFormBody);
  // Not a form: the body is not looked at.
  r.mutable_headers().set("Content-Type", "application/json");
  auto json_body = extract_bearer_token(r, BearerOptions{.accept_form_body = true});
  ASSERT_TRUE(json_body);
  EXPECT_FALSE(*json_body);
}

}  // namespace
}  // namespace tessera::oauth
