// TokenService: the access token's format and lifetime follow the client unless an audience (a
// resource server) asks otherwise.
#include "oauth/tokens.h"

#include <gtest/gtest.h>

#include <string>

#include "oauth_fixture.h"

namespace tessera::oauth {
namespace {

constexpr char kIssuer[] = "https://as.example";

class AudiencePolicyTest : public testing::OAuthTest {
 protected:
  void SetUp() override {
    OAuthTest::SetUp();
    ASSERT_NO_FATAL_FAILURE(start_tokens(kIssuer));
    AudiencePolicies policies;
    policies["urn:api:ledger"].access_token_format = store::AccessTokenFormat::kOpaque;
    policies["urn:api:reports"].access_token_format = store::AccessTokenFormat::kJwt;
    policies["urn:api:reports"].max_access_token_lifetime = 120;
    policies["urn:api:short"].max_access_token_lifetime = 60;
    tokens_ = std::make_unique<TokenService>(kIssuer, *keys_, clock_, policies);
  }

  static store::Client client(store::AccessTokenFormat format) {
    store::Client c;
    c.client_id = "app";
    c.access_token_format = format;
    c.access_token_lifetime = 600;
    return c;
  }
  MintedToken mint(store::AccessTokenFormat client_format,
                   const std::vector<std::string>& audiences) {
    TokenSubject s;
    s.subject = "user-1";
    s.client_id = "app";
    s.audiences = audiences;
    auto minted = tokens_->access_token(client(client_format), s);
    EXPECT_TRUE(minted) << (minted ? "" : minted.error().description);
    return minted ? *minted : MintedToken{};
  }

  std::unique_ptr<TokenService> tokens_;
};

TEST_F(AudiencePolicyTest, AudienceWithoutPolicyFollowsTheClient) {
  EXPECT_TRUE(looks_like_jwt(mint(store::AccessTokenFormat::kJwt, {"urn:api:other"}).value));
  EXPECT_FALSE(looks_like_jwt(mint(store::AccessTokenFormat::kOpaque, {"urn:api:other"}).value));
  EXPECT_EQ(mint(store::AccessTokenFormat::kJwt, {"urn:api:other"}).expires_in, 600);
}

TEST_F(AudiencePolicyTest, AudienceAskingForOpaqueTokensGetsThemFromAJwtClient) {
  MintedToken t = mint(store::AccessTokenFormat::kJwt, {"urn:api:ledger"});
  EXPECT_FALSE(looks_like_jwt(t.value));
  ASSERT_TRUE(t.record);  // opaque tokens are stored, JWTs are not
  EXPECT_EQ(t.record->audiences, std::vector<std::string>{"urn:api:ledger"});
}

TEST_F(AudiencePolicyTest, AudienceAskingForJwtsGetsThemFromAnOpaqueClient) {
  MintedToken t = mint(store::AccessTokenFormat::kOpaque, {"urn:api:reports"});
  EXPECT_TRUE(looks_like_jwt(t.value));
  EXPECT_FALSE(t.record);
  EXPECT_EQ(t.expires_in, 120);  // its cap, below the client's 600
}

TEST_F(AudiencePolicyTest, OneAudienceAskingForOpaqueMakesAMultiAudienceTokenOpaque) {
  EXPECT_FALSE(looks_like_jwt(
      mint(store::AccessTokenFormat::kJwt, {"urn:api:reports", "urn:api:ledger"}).value));
}

TEST_F(AudiencePolicyTest, TheShortestLifetimeCapWins) {
  EXPECT_EQ(mint(store::AccessTokenFormat::kJwt, {"urn:api:reports", "urn:api:short"}).expires_in,
            60);
  EXPECT_EQ(mint(store::AccessTokenFormat::kJwt, {"urn:api:short"}).expires_in, 60);
}

}  // namespace
}  // namespace tessera::oauth
