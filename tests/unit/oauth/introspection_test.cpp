// Introspection (RFC 7662, RFC 9701) and revocation (RFC 7009) endpoints, driven through
// handle() on an SQLite store with real clients, keys and tokens.
#include "oauth/introspection.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base64url.h"
#include "core/crypto.h"
#include "oauth/client_auth.h"
#include "oauth/client_cache.h"
#include "oauth/revocation.h"
#include "oauth/tokens.h"
#include "oauth_fixture.h"
#include "store/store.h"

namespace tessera::oauth {
namespace {

constexpr char kIssuer[] = "https://as.example";
constexpr char kApi[] = "https://api.example";

class TokenEndpointsTest : public testing::OAuthTest {
 protected:
  void SetUp() override {
    OAuthTest::SetUp();
    ASSERT_NO_FATAL_FAILURE(start_tokens(kIssuer));
    cache_ = std::make_unique<ClientCache>(store_->clients(), clock_);
    ClientAuthOptions auth_options;
    auth_options.issuer = kIssuer;
    auth_options.token_endpoint = std::string(kIssuer) + "/token";
    authenticator_ = std::make_unique<ClientAuthenticator>(*cache_, store_->replay_cache(), clock_,
                                                           auth_options);
    introspection_ =
        std::make_unique<IntrospectionEndpoint>(*resolver_, *authenticator_, *keys_, clock_);
    revocation_ =
        std::make_unique<RevocationEndpoint>(*resolver_, *authenticator_, store_->grants());

    add_code_client("app", {});                           // owns the tokens below
    add_code_client("rs", {kApi});                        // the resource server tokens are for
    add_code_client("other", {"https://other.example"});  // neither
    add_code_client("spa", {}, /*is_public=*/true);
  }
  void TearDown() override {
    revocation_.reset();
    introspection_.reset();
    authenticator_.reset();
    cache_.reset();
    OAuthTest::TearDown();
  }

  static TokenSubject subject(const std::string& client_id,
                              std::optional<std::string> grant_id = std::nullopt) {
    TokenSubject s;
    s.subject = "user-1";
    s.client_id = client_id;
    s.scopes = {"openid", "invoices:read"};
    s.audiences = {kApi};
    s.grant_id = std::move(grant_id);
    s.auth_time = 1'699'999'000;
    s.acr = "urn:tessera:acr:mfa";
    s.amr = {"pwd"};
    return s;
  }
  static store::Client format(const std::string& client_id, store::AccessTokenFormat f) {
    store::Client c;
    c.client_id = client_id;
    c.access_token_format = f;
    c.access_token_lifetime = 600;
    return c;
  }
  std::string jwt_access(const std::string& client_id = "app", json::Json extra = {}) {
    TokenSubject s = subject(client_id);
    if (extra.is_object()) s.extra = std::move(extra);
    auto minted = service_->access_token(format(client_id, store::AccessTokenFormat::kJwt), s);
    EXPECT_TRUE(minted);
    return minted->value;
  }
  void create_grant(const std::string& id, const std::string& client_id = "app") {
    OAuthTest::create_grant(id, client_id, "user-1", {});
  }
  // An opaque access token and a refresh token of one grant, stored.
  struct Pair {
    std::string access;
    std::string refresh;
  };
  Pair stored_pair(const std::string& grant_id, const std::string& client_id = "app") {
    create_grant(grant_id, client_id);
    auto access = service_->access_token(format(client_id, store::AccessTokenFormat::kOpaque),
                                         subject(client_id, grant_id));
    EXPECT_TRUE(access);
    auto refresh = service_->refresh_token(subject(client_id, grant_id), clock_.now() + 3600);
    insert_tokens(std::vector<store::TokenRecord>{*access->record, *refresh.record});
    return {access->value, refresh.value};
  }

  static http::Request post(const std::string& path, const std::string& body,
                            const std::string& client_id,
                            const std::string& content_type = "application/x-www-form-urlencoded") {
    http::Request r = form_request(body, content_type);
    r.set_target(path);
    if (!client_id.empty()) {
      r.mutable_headers().add("Authorization", basic(client_id, client_id + "-secret"));
    }
    return r;
  }
  http::Response introspect(const std::string& token, const std::string& caller = "app",
                            const std::string& more = "") {
    return introspection_->handle(post("/introspect", "token=" + token + more, caller));
  }
  json::Json introspect_json(const std::string& token, const std::string& caller = "app") {
    auto r = introspect(token, caller);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::Json::parse(r.body);
  }
  bool active(const std::string& token, const std::string& caller = "app") {
    return introspect_json(token, caller).value("active", false);
  }
  http::Response revoke(const std::string& token, const std::string& caller = "app") {
    return revocation_->handle(post("/revoke", "token=" + token, caller));
  }
  static std::string error(const http::Response& r) {
    return json::Json::parse(r.body).value("error", "");
  }

  std::unique_ptr<ClientCache> cache_;
  std::unique_ptr<ClientAuthenticator> authenticator_;
  std::unique_ptr<IntrospectionEndpoint> introspection_;
  std::unique_ptr<RevocationEndpoint> revocation_;
};

const json::Json kInactive = {{"active", false}};

// --- Introspection -------------------------------------------------------------------------

TEST_F(TokenEndpointsTest, ActiveJwtAccessTokenHasTheRfc7662Members) {
  const std::string token = jwt_access();
  auto r = introspect(token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(*r.headers.get("Content-Type"), "application/json");
  EXPECT_EQ(*r.headers.get("Cache-Control"), "no-store");
  auto b = json::Json::parse(r.body);
  EXPECT_EQ(b["active"], true);
  EXPECT_EQ(b["scope"], "openid invoices:read");
  EXPECT_EQ(b["client_id"], "app");
  EXPECT_EQ(b["sub"], "user-1");
  EXPECT_EQ(b["aud"], kApi);
  EXPECT_EQ(b["iss"], kIssuer);
  EXPECT_EQ(b["iat"], clock_.now());
  EXPECT_EQ(b["exp"], clock_.now() + 600);
  EXPECT_TRUE(b["jti"].is_string());
  EXPECT_EQ(b["token_type"], "Bearer");
  EXPECT_EQ(b["auth_time"], 1'699'999'000);
  EXPECT_EQ(b["acr"], "urn:tessera:acr:mfa");
  EXPECT_EQ(b["amr"], json::Json({"pwd"}));
  EXPECT_FALSE(b.contains("nbf"));
}

TEST_F(TokenEndpointsTest, DpopBoundTokenHasTokenTypeDpopAndItsCnf) {
  const json::Json extra = {{"cnf", {{"jkt", "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}},
                            {"act", {{"sub", "svc"}}}};
  auto b = introspect_json(jwt_access("app", extra));
  EXPECT_EQ(b["token_type"], "DPoP");
  EXPECT_EQ(b["cnf"], extra["cnf"]);
  EXPECT_EQ(b["act"], extra["act"]);
}

TEST_F(TokenEndpointsTest, OpaqueAndRefreshTokensAreActive) {
  auto pair = stored_pair("g1");
  auto access = introspect_json(pair.access);
  EXPECT_EQ(access["active"], true);
  EXPECT_EQ(access["token_type"], "Bearer");
  EXPECT_EQ(access["client_id"], "app");
  EXPECT_FALSE(access.contains("jti"));
  auto refresh = introspect_json(pair.refresh);
  EXPECT_EQ(refresh["active"], true);
  EXPECT_EQ(refresh["exp"], clock_.now() + 3600);
  // RFC 7662 §2.2 token_type is an access token type; token_use says which kind it is, so a
  // resource server can refuse a refresh token (RFC 6749 §1.5).
  EXPECT_FALSE(refresh.contains("token_type"));
  EXPECT_EQ(refresh["token_use"], "refresh_token");
  EXPECT_EQ(access["token_use"], "access_token");
}

TEST_F(TokenEndpointsTest, InactiveTokensAnswerActiveFalseAlone) {
  auto pair = stored_pair("g1");
  const std::string jwt = jwt_access();
  // Unknown and garbage.
  EXPECT_EQ(introspect_json(crypto::random_token(32)), kInactive);
  EXPECT_EQ(introspect_json("a.b.c"), kInactive);
  // Revoked.
  ASSERT_TRUE(store_->grants().revoke_token(token_hash(pair.access)));
  EXPECT_EQ(introspect_json(pair.access), kInactive);
  EXPECT_TRUE(active(pair.refresh));  // revoking an access token leaves its grant alone
  // Expired: the JWT past exp + leeway, the refresh token past its expires_at.
  clock_.advance(3600);
  EXPECT_EQ(introspect_json(jwt), kInactive);
  EXPECT_EQ(introspect_json(pair.refresh), kInactive);
}

TEST_F(TokenEndpointsTest, WrongSignatureIsInactive) {
  const std::string token = jwt_access();
  std::string forged = token;
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_TRUE(active(token));
  EXPECT_EQ(introspect_json(forged), kInactive);
}

TEST_F(TokenEndpointsTest, OnlyTheClientOrAnAudienceMaySeeAToken) {
  const std::string jwt = jwt_access();
  auto pair = stored_pair("g1");
  for (const auto& token : {jwt, pair.access, pair.refresh}) {
    EXPECT_TRUE(active(token, "app"));  // the token's client
    EXPECT_TRUE(active(token, "rs"));   // aud contains one of rs's audiences
    // RFC 7662 §4: to anyone else the token does not exist.
    EXPECT_EQ(introspect_json(token, "other"), kInactive);
  }
}

TEST_F(TokenEndpointsTest, CallerMustAuthenticate) {
  const std::string token = jwt_access();
  auto none = introspection_->handle(post("/introspect", "token=" + token, ""));
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(error(none), "invalid_client");
  EXPECT_TRUE(none.headers.get("WWW-Authenticate"));
  auto bad = post("/introspect", "token=" + token, "");
  bad.mutable_headers().add("Authorization", "Basic " + base64::encode("rs:wrong"));
  EXPECT_EQ(introspection_->handle(bad).status, 401);
  // A public client could be anyone (RFC 7662 §4).
  auto spa = introspection_->handle(post("/introspect", "token=" + token + "&client_id=spa", ""));
  EXPECT_EQ(spa.status, 401);
  EXPECT_EQ(error(spa), "invalid_client");
}

TEST_F(TokenEndpointsTest, MalformedIntrospectionRequestsAreInvalidRequest) {
  const std::string token = jwt_access();
  auto missing = introspection_->handle(post("/introspect", "token_type_hint=access_token", "rs"));
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(error(missing), "invalid_request");
  auto empty = introspection_->handle(post("/introspect", "token=", "rs"));
  EXPECT_EQ(error(empty), "invalid_request");
  auto repeated = introspection_->handle(post("/introspect", "token=a&token=b", "rs"));
  EXPECT_EQ(error(repeated), "invalid_request");
  auto json_body =
      introspection_->handle(post("/introspect", "{\"token\":\"x\"}", "rs", "application/json"));
  EXPECT_EQ(json_body.status, 400);
  EXPECT_EQ(error(json_body), "invalid_request");
  auto bad_escape = introspection_->handle(post("/introspect", "token=%zz", "rs"));
  EXPECT_EQ(error(bad_escape), "invalid_request");
}

TEST_F(TokenEndpointsTest, TokenTypeHintIsOptionalAndUnknownValuesAreIgnored) {
  auto pair = stored_pair("g1");
  // A wrong hint does not hide the token (RFC 7662 §2.1: the server extends its search).
  auto r = introspect(pair.refresh, "app", "&token_type_hint=access_token");
  EXPECT_EQ(json::Json::parse(r.body)["active"], true);
  r = introspect(pair.access, "app", "&token_type_hint=something_else");
  EXPECT_EQ(json::Json::parse(r.body)["active"], true);
}

Result<jose::Jwt, jose::Status> verify_response(const http::Response& r, const SigningKeys& keys,
                                                const Clock& clock, const std::string& aud) {
  jose::ClaimsPolicy policy;
  policy.issuer = kIssuer;
  policy.audiences = {aud};
  policy.typ = "token-introspection+jwt";
  policy.require_exp = false;  // RFC 9701 §5 response JWTs carry iat, not exp
  policy.clock = &clock;
  return jose::verify_jwt(r.body, keys.jwks(), {}, policy);
}

TEST_F(TokenEndpointsTest, JwtResponseIsSignedWithTheServerKey) {
  const std::string token = jwt_access();
  auto request = post("/introspect", "token=" + token, "rs");
  request.mutable_headers().add("Accept", "application/token-introspection+jwt");
  auto r = introspection_->handle(request);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(*r.headers.get("Content-Type"), "application/token-introspection+jwt");
  EXPECT_EQ(*r.headers.get("Cache-Control"), "no-store");
  auto jwt = verify_response(r, *keys_, clock_, "rs");
  ASSERT_TRUE(jwt) << jose::to_string(jwt.error());
  EXPECT_EQ(jwt->header["typ"], "token-introspection+jwt");
  EXPECT_EQ(jwt->kid, keys_->active()->kid);
  EXPECT_EQ(jwt->claims["aud"], "rs");
  EXPECT_EQ(jwt->claims["iss"], kIssuer);
  EXPECT_EQ(jwt->claims["iat"], clock_.now());
  // The same object the JSON answer holds.
  EXPECT_EQ(jwt->claims["token_introspection"], introspect_json(token, "rs"));
  EXPECT_EQ(jwt->claims["token_introspection"]["sub"], "user-1");
  // Another audience does not accept it.
  EXPECT_FALSE(verify_response(r, *keys_, clock_, "app"));
}

TEST_F(TokenEndpointsTest, JwtResponseForAnInactiveToken) {
  auto request = post("/introspect", "token=" + crypto::random_token(32), "other");
  request.mutable_headers().add("Accept",
                                "application/json;q=0.5, "
                                "application/token-introspection+jwt");
  auto r = introspection_->handle(request);
  ASSERT_EQ(r.status, 200);
  auto jwt = verify_response(r, *keys_, clock_, "other");
  ASSERT_TRUE(jwt) << jose::to_string(jwt.error());
  EXPECT_EQ(jwt->claims["token_introspection"], kInactive);
}

TEST_F(TokenEndpointsTest, AcceptHeaderSelectsTheResponseFormat) {
  auto with_accept = [](const std::string& value) {
    http::Request r;
    r.mutable_headers().add("Accept", value);
    return accepts_introspection_jwt(r);
  };
  EXPECT_TRUE(with_accept("application/token-introspection+jwt"));
  EXPECT_TRUE(with_accept("Application/Token-Introspection+JWT ; charset=utf-8"));
  EXPECT_TRUE(with_accept("application/json, application/token-introspection+jwt;q=0.9"));
  EXPECT_FALSE(with_accept("application/json"));
  EXPECT_FALSE(with_accept("*/*"));
  EXPECT_FALSE(with_accept("application/token-introspection+jwt;q=0"));
  EXPECT_FALSE(accepts_introspection_jwt(http::Request()));
}

// --- Revocation ----------------------------------------------------------------------------

TEST_F(TokenEndpointsTest, RevokingARefreshTokenRevokesItsFamily) {
  auto pair = stored_pair("g1");
  auto r = revoke(pair.refresh);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(*r.headers.get("Cache-Control"), "no-store");
  EXPECT_FALSE(resolver_->resolve(pair.refresh));
  // RFC 7009 §2.1: and the access tokens of the same grant.
  EXPECT_FALSE(resolver_->resolve(pair.access));
  auto grant = store_->grants().find_grant("g1");
  ASSERT_TRUE(grant);
  ASSERT_TRUE(*grant);
  EXPECT_TRUE((*grant)->revoked_at);
}

TEST_F(TokenEndpointsTest, RevokingAnOpaqueAccessTokenRevokesThatTokenOnly) {
  auto pair = stored_pair("g1");
  auto hinted = revocation_->handle(
      post("/revoke", "token=" + pair.access + "&token_type_hint=access_token", "app"));
  EXPECT_EQ(hinted.status, 200);
  EXPECT_FALSE(resolver_->resolve(pair.access));
  EXPECT_TRUE(resolver_->resolve(pair.refresh));
}

TEST_F(TokenEndpointsTest, RevocationByAnotherClientChangesNothing) {
  auto pair = stored_pair("g1");
  for (const auto& caller : {"rs", "other"}) {
    auto r = revoke(pair.refresh, caller);
    EXPECT_EQ(r.status, 200);  // the answer does not tell whether the token exists
    EXPECT_TRUE(r.body.empty());
    auto outcome = revocation_->revoke(post("/revoke", "token=" + pair.access, caller));
    ASSERT_TRUE(outcome);
    EXPECT_EQ(*outcome, RevocationOutcome::kNotOwned);
  }
  EXPECT_TRUE(resolver_->resolve(pair.refresh));
  EXPECT_TRUE(resolver_->resolve(pair.access));
}

TEST_F(TokenEndpointsTest, PublicClientRevokesItsOwnTokensWithItsClientId) {
  auto pair = stored_pair("g-spa", "spa");
  auto theirs = stored_pair("g-app", "app");
  auto r = revocation_->handle(post("/revoke", "token=" + theirs.refresh + "&client_id=spa", ""));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(resolver_->resolve(theirs.refresh));
  r = revocation_->handle(post("/revoke", "token=" + pair.refresh + "&client_id=spa", ""));
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(resolver_->resolve(pair.refresh));
  EXPECT_FALSE(resolver_->resolve(pair.access));
}

TEST_F(TokenEndpointsTest, UnknownAndInactiveTokensAnswer200) {
  auto pair = stored_pair("g1");
  auto outcome = revocation_->revoke(post("/revoke", "token=" + crypto::random_token(32), "app"));
  ASSERT_TRUE(outcome);
  EXPECT_EQ(*outcome, RevocationOutcome::kNotActive);
  EXPECT_EQ(revoke(crypto::random_token(32)).status, 200);
  EXPECT_EQ(revoke(pair.refresh).status, 200);
  EXPECT_EQ(revoke(pair.refresh).status, 200);  // twice: still 200 (RFC 7009 §2.2)
}

TEST_F(TokenEndpointsTest, JwtAccessTokenCannotBeRecalled) {
  const std::string token = jwt_access();
  auto outcome = revocation_->revoke(post("/revoke", "token=" + token, "app"));
  ASSERT_TRUE(outcome);
  EXPECT_EQ(*outcome, RevocationOutcome::kNotRevocable);
  EXPECT_EQ(revoke(token).status, 200);
  EXPECT_TRUE(resolver_->resolve(token));  // valid until exp, documented in revocation.h
}

TEST_F(TokenEndpointsTest, RevocationRequestsAreChecked) {
  auto pair = stored_pair("g1");
  auto missing = revocation_->handle(post("/revoke", "token_type_hint=refresh_token", "app"));
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(error(missing), "invalid_request");
  auto unauthenticated = revocation_->handle(post("/revoke", "token=" + pair.refresh, ""));
  EXPECT_EQ(unauthenticated.status, 401);
  EXPECT_EQ(error(unauthenticated), "invalid_client");
  auto wrong_secret = post("/revoke", "token=" + pair.refresh, "");
  wrong_secret.mutable_headers().add("Authorization", "Basic " + base64::encode("app:nope"));
  EXPECT_EQ(revocation_->handle(wrong_secret).status, 401);
  auto query_only = post("/revoke?token=" + pair.refresh, "", "app");
  EXPECT_EQ(revocation_->handle(query_only).status, 400);
  EXPECT_TRUE(resolver_->resolve(pair.refresh));  // none of these revoked anything
}

}  // namespace
}  // namespace tessera::oauth
