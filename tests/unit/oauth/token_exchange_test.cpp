// Token exchange (RFC 8693) through the Grant interface, with the server's own TokenService and
// TokenResolver on an SQLite store in a temporary directory under a FixedClock: the seeds' "API
// to API" chain, where API A trades the user's token for one aimed at API B.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "oauth/grant.h"
#include "oauth/token_resolver.h"
#include "oauth/tokens.h"
#include "oauth_fixture.h"
#include "store/store.h"

namespace tessera::oauth {
namespace {

constexpr char kIssuer[] = "https://as.example";
constexpr char kGrantType[] = "urn:ietf:params:oauth:grant-type:token-exchange";
constexpr char kAccessType[] = "urn:ietf:params:oauth:token-type:access_token";
constexpr char kJwtType[] = "urn:ietf:params:oauth:token-type:jwt";
constexpr char kApiA[] = "urn:tessera:api:a";
constexpr char kApiB[] = "urn:tessera:api:b";
constexpr char kApiC[] = "urn:tessera:api:c";
constexpr int64_t kUserAuthTime = 1'699'999'000;

class TokenExchangeTest : public testing::OAuthTest {
 protected:
  void SetUp() override {
    OAuthTest::SetUp();
    ASSERT_NO_FATAL_FAILURE(start_tokens(kIssuer, /*leeway_seconds=*/30));
    context_ = std::make_unique<GrantContext>(
        GrantContext{*service_, store_->grants(), clock_, *resolver_, store_->users()});
    grant_ = make_token_exchange_grant(*context_);
  }
  void TearDown() override {
    grant_.reset();
    context_.reset();
    OAuthTest::TearDown();
  }

  // The SPA the user signed in to: it holds the user's token, aimed at API A.
  static store::Client spa(store::AccessTokenFormat format = store::AccessTokenFormat::kJwt) {
    store::Client c;
    c.client_id = "spa";
    c.type = store::ClientType::kPublic;
    c.auth_method = store::ClientAuthMethod::kNone;
    c.grant_types = {"authorization_code", kGrantType};
    c.scopes = {"openid", "invoices:read", "invoices:write"};
    c.audiences = {kApiA};
    c.access_token_format = format;
    c.access_token_lifetime = 3600;
    return c;
  }
  // A confidential service: receives tokens for `own` and may ask for `targets`.
  static store::Client service(const std::string& id, const std::string& own,
                               std::vector<std::string> targets) {
    store::Client c;
    c.client_id = id;
    c.type = store::ClientType::kConfidential;
    c.grant_types = {kGrantType};
    c.scopes = {"invoices:read", "invoices:write"};
    c.audiences = {own};
    for (auto& t : targets) c.audiences.push_back(std::move(t));
    c.access_token_lifetime = 600;
    return c;
  }
  static store::Client api_a() { return service("api-a", kApiA, {kApiB}); }
  static store::Client api_b() { return service("api-b", kApiB, {kApiC}); }

  static TokenSubject user(std::vector<std::string> scopes = {"openid", "invoices:read",
                                                              "invoices:write"}) {
    TokenSubject s;
    s.subject = "alice";
    s.client_id = "spa";
    s.scopes = std::move(scopes);
    s.audiences = {kApiA};
    s.auth_time = kUserAuthTime;
    s.acr = "urn:tessera:acr:mfa";
    s.amr = {"pwd", "otp"};
    return s;
  }
  // Mints `subject` for `client`; opaque ones are stored as the token endpoint would.
  std::string mint(const store::Client& client, const TokenSubject& subject) {
    auto minted = service_->access_token(client, subject);
    EXPECT_TRUE(minted) << (minted ? "" : minted.error().description);
    if (!minted) return {};
    if (minted->record) insert_tokens({&*minted->record, 1});
    return minted->value;
  }
  std::string user_token() { return mint(spa(), user()); }
  void create_grant(const std::string& id) {
    OAuthTest::create_grant(id, "spa", "alice", {"openid", "invoices:read", "invoices:write"});
  }

  Result<TokenResponse, OAuthError> exchange(const store::Client& client,
                                             const std::vector<http::Params::Param>& form) const {
    http::Params params;
    params.add("grant_type", kGrantType);
    for (const auto& [name, value] : form) params.add(name, value);
    http::Request http;
    return grant_->exchange(TokenRequest{http, params, client});
  }
  // The usual request: the subject token as an access token, for API B.
  Result<TokenResponse, OAuthError> exchange_for_b(const store::Client& client,
                                                   const std::string& subject_token,
                                                   std::vector<http::Params::Param> more = {}) {
    std::vector<http::Params::Param> form = {
        {"subject_token", subject_token}, {"subject_token_type", kAccessType}, {"audience", kApiB}};
    for (auto& p : more) form.push_back(std::move(p));
    return exchange(client, form);
  }
  // The issued token, resolved; fails the test when it is not active.
  ResolvedToken issued(const Result<TokenResponse, OAuthError>& response) const {
    EXPECT_TRUE(response) << (response ? "" : response.error().description);
    if (!response) return {};
    auto resolved = resolver_->inspect(response->access_token);
    EXPECT_TRUE(resolved) << (resolved ? "" : to_string(resolved.error()));
    return resolved ? *resolved : ResolvedToken{};
  }
  static void expect_error(const Result<TokenResponse, OAuthError>& response,
                           const std::string& code) {
    ASSERT_FALSE(response) << "exchange unexpectedly succeeded";
    EXPECT_EQ(response.error().code, code) << response.error().description;
    EXPECT_EQ(response.error().status, 400);
  }

  std::unique_ptr<GrantContext> context_;
  std::unique_ptr<Grant> grant_;
};

TEST_F(TokenExchangeTest, RegistryOffersTheGrant) {
  GrantRegistry registry = make_grant_registry(*context_);
  const Grant* found = registry.find(kGrantType);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->grant_type(), kGrantType);
}

TEST_F(TokenExchangeTest, DelegationKeepsTheUserAndNamesTheCallerInAct) {
  auto response = exchange_for_b(api_a(), user_token(), {{"scope", "invoices:read"}});
  ASSERT_TRUE(response) << response.error().description;
  EXPECT_EQ(response->token_type, "Bearer");
  EXPECT_EQ(response->issued_token_type, kAccessType);  // RFC 8693 §2.2.1
  EXPECT_EQ(response->scope, "invoices:read");
  EXPECT_EQ(response->expires_in, 600);
  EXPECT_FALSE(response->refresh_token);
  EXPECT_FALSE(response->id_token);
  ResolvedToken t = issued(response);
  EXPECT_EQ(t.format, store::AccessTokenFormat::kJwt);
  EXPECT_EQ(t.subject, "alice");
  EXPECT_EQ(t.client_id, "api-a");
  EXPECT_EQ(t.audiences, std::vector<std::string>{kApiB});
  EXPECT_EQ(t.scopes, std::vector<std::string>{"invoices:read"});
  EXPECT_EQ(t.expires_at, clock_.now() + 600);
  EXPECT_EQ(t.extra["act"], json::Json({{"sub", "api-a"}}));
  EXPECT_EQ(t.extra["auth_time"], kUserAuthTime);
  EXPECT_EQ(t.extra["acr"], "urn:tessera:acr:mfa");
  EXPECT_EQ(t.extra["amr"], json::Json({"pwd", "otp"}));
  EXPECT_FALSE(t.extra.contains("may_act"));
}

TEST_F(TokenExchangeTest, TwoHopChainNestsTheEarlierActorInside) {
  auto first = exchange_for_b(api_a(), user_token());
  ASSERT_TRUE(first) << first.error().description;
  auto second = exchange(api_b(), {{"subject_token", first->access_token},
                                   {"subject_token_type", kAccessType},
                                   {"resource", kApiC}});
  ResolvedToken t = issued(second);
  EXPECT_EQ(t.subject, "alice");
  EXPECT_EQ(t.client_id, "api-b");
  EXPECT_EQ(t.audiences, std::vector<std::string>{kApiC});
  // RFC 8693 §4.1: the least recent actor is the most deeply nested.
  EXPECT_EQ(t.extra["act"], json::Json({{"sub", "api-b"}, {"act", {{"sub", "api-a"}}}}));
  EXPECT_EQ(t.extra["acr"], "urn:tessera:acr:mfa");
}

TEST_F(TokenExchangeTest, OmittedScopeIsWhatTheSubjectTokenAndTheClientShare) {
  auto response = exchange_for_b(api_a(), user_token());
  ASSERT_TRUE(response) << response.error().description;
  // openid is the user's but not in api-a's allow-list.
  EXPECT_EQ(response->scope, "invoices:read invoices:write");
  EXPECT_EQ(issued(response).scopes, (std::vector<std::string>{"invoices:read", "invoices:write"}));
}

TEST_F(TokenExchangeTest, NoSharedScopeIsInvalidScope) {
  expect_error(exchange_for_b(api_a(), mint(spa(), user({"openid"}))), "invalid_scope");
}

TEST_F(TokenExchangeTest, ScopeBeyondTheSubjectTokenIsRefused) {
  const std::string token = mint(spa(), user({"invoices:read"}));
  expect_error(exchange_for_b(api_a(), token, {{"scope", "invoices:write"}}), "invalid_scope");
}

TEST_F(TokenExchangeTest, ScopeBeyondTheClientsAllowListIsRefused) {
  // openid is the user's, but api-a may not ask for it.
  expect_error(exchange_for_b(api_a(), user_token(), {{"scope", "openid"}}), "invalid_scope");
  expect_error(exchange_for_b(api_a(), user_token(), {{"scope", "admin"}}), "invalid_scope");
  expect_error(exchange_for_b(api_a(), user_token(), {{"scope", ""}}), "invalid_scope");
}

TEST_F(TokenExchangeTest, AudienceOutsideTheAllowListIsInvalidTarget) {
  expect_error(exchange(api_a(), {{"subject_token", user_token()},
                                  {"subject_token_type", kAccessType},
                                  {"audience", kApiC}}),
               "invalid_target");
  expect_error(exchange(api_a(), {{"subject_token", user_token()},
                                  {"subject_token_type", kAccessType},
                                  {"resource", "https://elsewhere.example/"}}),
               "invalid_target");
}

TEST_F(TokenExchangeTest, OmittedAudienceIsTheClientsAllowList) {
  ResolvedToken t = issued(
      exchange(api_a(), {{"subject_token", user_token()}, {"subject_token_type", kAccessType}}));
  EXPECT_EQ(t.audiences, (std::vector<std::string>{kApiA, kApiB}));
}

TEST_F(TokenExchangeTest, SubjectTokenForAnotherAudienceIsRefused) {
  // api-b never received the user's token for API A and it names no may_act.
  expect_error(exchange(api_b(), {{"subject_token", user_token()},
                                  {"subject_token_type", kAccessType},
                                  {"audience", kApiC}}),
               "invalid_request");
}

TEST_F(TokenExchangeTest, MayActNamingTheCallerIsHonoured) {
  TokenSubject s = user();
  s.audiences = {"urn:tessera:api:elsewhere"};  // not api-b's audience: may_act alone allows it
  s.extra["may_act"] = {{"sub", "api-b"}};
  ResolvedToken t = issued(exchange(api_b(), {{"subject_token", mint(spa(), s)},
                                              {"subject_token_type", kAccessType},
                                              {"audience", kApiC}}));
  EXPECT_EQ(t.subject, "alice");
  EXPECT_EQ(t.extra["act"], json::Json({{"sub", "api-b"}}));
}

TEST_F(TokenExchangeTest, MayActNamingSomeoneElseIsRefused) {
  TokenSubject s = user();  // aimed at API A, so only may_act can stop api-a
  s.extra["may_act"] = {{"sub", "api-z"}};
  expect_error(exchange_for_b(api_a(), mint(spa(), s)), "invalid_request");

  s.extra["may_act"] = {{"sub", "api-a"}, {"client_id", "other-client"}};
  expect_error(exchange_for_b(api_a(), mint(spa(), s)), "invalid_request");

  s.extra["may_act"] = {{"iss", kIssuer}};  // names nobody
  expect_error(exchange_for_b(api_a(), mint(spa(), s)), "invalid_request");

  s.extra["may_act"] = {{"sub", "api-a"}, {"client_id", "api-a"}};
  EXPECT_TRUE(exchange_for_b(api_a(), mint(spa(), s)));
}

TEST_F(TokenExchangeTest, MayImpersonateClientGetsATokenWithoutAct) {
  store::Client client = api_a();
  client.may_impersonate = true;
  ResolvedToken t = issued(exchange_for_b(client, user_token()));
  EXPECT_EQ(t.subject, "alice");
  EXPECT_EQ(t.client_id, "api-a");
  EXPECT_FALSE(t.extra.contains("act"));
  EXPECT_EQ(t.extra["acr"], "urn:tessera:acr:mfa");
}

TEST_F(TokenExchangeTest, ImpersonationKeepsEarlierActors) {
  TokenSubject s = user();
  s.extra["act"] = {{"sub", "gateway"}};
  store::Client client = api_a();
  client.may_impersonate = true;
  ResolvedToken t = issued(exchange_for_b(client, mint(spa(), s)));
  EXPECT_EQ(t.extra["act"], json::Json({{"sub", "gateway"}}));
}

TEST_F(TokenExchangeTest, ActorTokenNamesTheActor) {
  TokenSubject admin;
  admin.subject = "admin@example";
  admin.client_id = "api-a";
  admin.audiences = {kApiA};
  const std::string actor = mint(api_a(), admin);
  store::Client client = api_a();
  client.may_impersonate = true;  // an actor_token means delegation even so
  ResolvedToken t = issued(exchange_for_b(
      client, user_token(), {{"actor_token", actor}, {"actor_token_type", kAccessType}}));
  EXPECT_EQ(t.extra["act"], json::Json({{"sub", "admin@example"}, {"client_id", "api-a"}}));
}

TEST_F(TokenExchangeTest, ActorTokenOfAnotherClientIsRefused) {
  TokenSubject admin;
  admin.subject = "admin@example";
  admin.client_id = "api-b";
  admin.audiences = {kApiB};
  const std::string actor = mint(api_b(), admin);
  expect_error(exchange_for_b(api_a(), user_token(),
                              {{"actor_token", actor}, {"actor_token_type", kAccessType}}),
               "invalid_request");
}

TEST_F(TokenExchangeTest, ActorParametersMustComeTogether) {
  expect_error(exchange_for_b(api_a(), user_token(), {{"actor_token_type", kAccessType}}),
               "invalid_request");
  expect_error(exchange_for_b(api_a(), user_token(), {{"actor_token", user_token()}}),
               "invalid_request");
  expect_error(exchange_for_b(api_a(), user_token(),
                              {{"actor_token", "not-a-token"}, {"actor_token_type", kAccessType}}),
               "invalid_request");
}

TEST_F(TokenExchangeTest, ExpiredSubjectTokenIsRefused) {
  const std::string token = user_token();
  clock_.advance(3600 + 31);  // past exp and the 30 s leeway
  expect_error(exchange_for_b(api_a(), token), "invalid_request");
}

TEST_F(TokenExchangeTest, SubjectTokenWithinTheLeewayButPastExpIsRefused) {
  const std::string token = user_token();
  clock_.advance(3600 + 10);  // the resolver still accepts it; nothing may be issued from it
  auto response = exchange_for_b(api_a(), token);
  expect_error(response, "invalid_request");
}

TEST_F(TokenExchangeTest, RevokedSubjectTokenIsRefused) {
  const std::string token = mint(spa(store::AccessTokenFormat::kOpaque), user());
  ASSERT_TRUE(exchange_for_b(api_a(), token));
  auto revoked = store_->grants().revoke_token(token_hash(token));
  ASSERT_TRUE(revoked);
  ASSERT_EQ(*revoked, 1);
  expect_error(exchange_for_b(api_a(), token), "invalid_request");
}

TEST_F(TokenExchangeTest, UnknownSubjectTokenIsRefused) {
  expect_error(exchange_for_b(api_a(), crypto::random_token(32)), "invalid_request");
  expect_error(exchange_for_b(api_a(), "a.b.c"), "invalid_request");
}

TEST_F(TokenExchangeTest, RefreshTokenAsSubjectIsRefused) {
  create_grant("g1");
  TokenSubject s = user();
  s.grant_id = "g1";
  MintedToken refresh = service_->refresh_token(s, clock_.now() + 3600);
  ASSERT_TRUE(refresh.record);
  ASSERT_TRUE(store_->grants().insert_tokens({&*refresh.record, 1}));
  auto response = exchange_for_b(api_a(), refresh.value);
  expect_error(response, "invalid_request");
  EXPECT_NE(response.error().description.find("not an access token"), std::string::npos);
}

TEST_F(TokenExchangeTest, PublicClientIsUnauthorized) {
  expect_error(exchange_for_b(spa(), user_token()), "unauthorized_client");
}

TEST_F(TokenExchangeTest, MissingOrUnsupportedSubjectTokenTypeIsInvalidRequest) {
  expect_error(exchange(api_a(), {{"subject_token", user_token()}}), "invalid_request");
  expect_error(exchange(api_a(), {{"subject_token_type", kAccessType}}), "invalid_request");
  auto id_token =
      exchange(api_a(), {{"subject_token", user_token()},
                         {"subject_token_type", "urn:ietf:params:oauth:token-type:id_token"}});
  expect_error(id_token, "invalid_request");
  EXPECT_NE(id_token.error().description.find("not supported"), std::string::npos);
  expect_error(
      exchange(api_a(), {{"subject_token", user_token()},
                         {"subject_token_type", "urn:ietf:params:oauth:token-type:refresh_token"}}),
      "invalid_request");
  // A jwt token type must carry a JWT.
  const std::string opaque = mint(spa(store::AccessTokenFormat::kOpaque), user());
  expect_error(exchange(api_a(), {{"subject_token", opaque}, {"subject_token_type", kJwtType}}),
               "invalid_request");
}

TEST_F(TokenExchangeTest, JwtTokenTypeIsAcceptedForOurJwtAccessTokens) {
  ResolvedToken t = issued(exchange(
      api_a(),
      {{"subject_token", user_token()}, {"subject_token_type", kJwtType}, {"audience", kApiB}}));
  EXPECT_EQ(t.subject, "alice");
}

TEST_F(TokenExchangeTest, RequestedTokenTypeOtherThanAccessTokenIsRefused) {
  expect_error(
      exchange_for_b(api_a(), user_token(),
                     {{"requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"}}),
      "invalid_request");
  expect_error(exchange_for_b(api_a(), user_token(), {{"requested_token_type", kJwtType}}),
               "invalid_request");
  EXPECT_TRUE(exchange_for_b(api_a(), user_token(), {{"requested_token_type", kAccessType}}));
}

TEST_F(TokenExchangeTest, LifetimeIsCappedByTheSubjectToken) {
  store::Client short_lived = spa();
  short_lived.access_token_lifetime = 120;
  const std::string token = mint(short_lived, user());
  clock_.advance(20);
  auto response = exchange_for_b(api_a(), token);
  ASSERT_TRUE(response) << response.error().description;
  EXPECT_EQ(response->expires_in, 100);
  EXPECT_EQ(issued(response).expires_at, clock_.now() + 100);
}

TEST_F(TokenExchangeTest, OpaqueTokenIsStoredResolvableAndFallsWithTheUsersGrant) {
  create_grant("g1");
  TokenSubject s = user();
  s.grant_id = "g1";
  const std::string subject = mint(spa(store::AccessTokenFormat::kOpaque), s);
  store::Client client = api_a();
  client.access_token_format = store::AccessTokenFormat::kOpaque;
  auto response = exchange_for_b(client, subject, {{"scope", "invoices:read"}});
  ResolvedToken t = issued(response);
  EXPECT_EQ(t.format, store::AccessTokenFormat::kOpaque);
  EXPECT_EQ(t.subject, "alice");
  EXPECT_EQ(t.client_id, "api-a");
  EXPECT_EQ(t.grant_id, "g1");
  EXPECT_EQ(t.audiences, std::vector<std::string>{kApiB});
  EXPECT_EQ(t.scopes, std::vector<std::string>{"invoices:read"});
  EXPECT_EQ(t.extra["act"], json::Json({{"sub", "api-a"}}));
  EXPECT_EQ(t.extra["amr"], json::Json({"pwd", "otp"}));
  auto record = store_->grants().find_token(token_hash(response->access_token));
  ASSERT_TRUE(record);
  ASSERT_TRUE(*record);
  EXPECT_EQ((*record)->kind, store::TokenKind::kAccess);
  // Logout or refresh-token reuse revokes the user's grant: the exchanged token goes with it.
  ASSERT_TRUE(store_->grants().revoke_grant("g1"));
  auto after = resolver_->inspect(response->access_token);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error(), TokenRejection::kRevoked);
}

TEST_F(TokenExchangeTest, ActorChainHasALimit) {
  json::Json act = {{"sub", "svc-0"}};
  for (int i = 1; i < 8; ++i) act = {{"sub", "svc-" + std::to_string(i)}, {"act", act}};
  TokenSubject s = user();
  s.extra["act"] = act;  // eight actors deep
  expect_error(exchange_for_b(api_a(), mint(spa(), s)), "invalid_request");
  s.extra["act"] = act["act"];  // seven: one more hop is allowed
  ResolvedToken t = issued(exchange_for_b(api_a(), mint(spa(), s)));
  EXPECT_EQ(t.extra["act"]["sub"], "api-a");
  EXPECT_EQ(t.extra["act"]["act"]["sub"], "svc-6");
}

}  // namespace
}  // namespace tessera::oauth
