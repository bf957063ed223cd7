// JWT claims (RFC 7519 §4.1), explicit typing (RFC 8725 §3.11), size cap.
#include "test_keys.h"

namespace tessera::jose {
namespace {

constexpr int64_t kNow = 1'700'000'000;

class Claims : public ::testing::Test {
 protected:
  Claims() : clock_(kNow) {
    policy_.issuer = "https://as.example";
    policy_.audiences = {"api://invoices"};
    policy_.clock = &clock_;
    policy_.leeway_seconds = 30;
  }
  Json claims() const {
    return {{"iss", "https://as.example"},
            {"aud", "api://invoices"},
            {"sub", "alice"},
            {"exp", kNow + 300},
            {"iat", kNow},
            {"nbf", kNow}};
  }
  Status check(const Json& c, const Json& header = {{"alg", "ES256"}, {"typ", "at+jwt"}}) const {
    return validate_claims(header, c, policy_);
  }
  FixedClock clock_;
  ClaimsPolicy policy_;
};

TEST_F(Claims, ValidTokenPasses) { EXPECT_EQ(check(claims()), Status::kOk); }

TEST_F(Claims, WrongIssuerIsRejectedAndMissingIssuerIsMissing) {
  Json c = claims();
  c["iss"] = "https://evil.example";
  EXPECT_EQ(check(c), Status::kIssuerMismatch);
  c.erase("iss");
  EXPECT_EQ(check(c), Status::kClaimMissing);
}

TEST_F(Claims, AudienceMayBeAStringOrAnArray) {
  Json c = claims();
  c["aud"] = Json::array({"other", "api://invoices"});
  EXPECT_EQ(check(c), Status::kOk);
  c["aud"] = Json::array({"other"});
  EXPECT_EQ(check(c), Status::kAudienceMismatch);
  c["aud"] = "other";
  EXPECT_EQ(check(c), Status::kAudienceMismatch);
  c["aud"] = Json::array({"api://invoices", 7});
  EXPECT_EQ(check(c), Status::kClaimInvalid);
}

TEST_F(Claims, ExpiryHonoursLeewayOnBothSides) {
  Json c = claims();
  c["exp"] = kNow - 29;  // expired 29 s ago, leeway 30 s
  EXPECT_EQ(check(c), Status::kOk);
  c["exp"] = kNow - 30;  // now >= exp + leeway
  EXPECT_EQ(check(c), Status::kExpired);
}

TEST_F(Claims, NotBeforeHonoursLeeway) {
  Json c = claims();
  c["nbf"] = kNow + 30;
  EXPECT_EQ(check(c), Status::kOk);
  c["nbf"] = kNow + 31;
  EXPECT_EQ(check(c), Status::kNotYetValid);
}

TEST_F(Claims, IssuedInTheFutureBeyondLeewayIsRejected) {
  Json c = claims();
  c["iat"] = kNow + 30;
  EXPECT_EQ(check(c), Status::kOk);
  c["iat"] = kNow + 31;
  EXPECT_EQ(check(c), Status::kIssuedInFuture);
}

TEST_F(Claims, ExpIsRequiredUnlessThePolicySaysOtherwise) {
  Json c = claims();
  c.erase("exp");
  EXPECT_EQ(check(c), Status::kClaimMissing);
  policy_.require_exp = false;
  EXPECT_EQ(check(c), Status::kOk);
}

TEST_F(Claims, FractionalNumericDatesAreAccepted) {
  Json c = claims();
  c["exp"] = static_cast<double>(kNow) - 30.5;
  EXPECT_EQ(check(c), Status::kExpired);
  c["exp"] = static_cast<double>(kNow) + 0.5;
  EXPECT_EQ(check(c), Status::kOk);
}

TEST_F(Claims, RegisteredClaimsOfTheWrongTypeAreInvalid) {
  for (const char* name : {"exp", "nbf", "iat"}) {
    Json c = claims();
    c[name] = "1700000000";
    EXPECT_EQ(check(c), Status::kClaimInvalid) << name;
  }
  Json c = claims();
  c["sub"] = 5;
  EXPECT_EQ(check(c), Status::kClaimInvalid);
  c = claims();
  c["iss"] = Json::array({"https://as.example"});
  EXPECT_EQ(check(c), Status::kClaimInvalid);
}

TEST_F(Claims, RequiredClaimsMustBePresent) {
  policy_.required_claims = {"sub", "client_id"};
  Json c = claims();
  EXPECT_EQ(check(c), Status::kClaimMissing);
  c["client_id"] = "spa";
  EXPECT_EQ(check(c), Status::kOk);
}

TEST_F(Claims, TypIsComparedCaseInsensitivelyWithOptionalApplicationPrefix) {
  policy_.typ = "at+jwt";  // RFC 9068 §4
  EXPECT_EQ(check(claims(), {{"typ", "at+jwt"}}), Status::kOk);
  EXPECT_EQ(check(claims(), {{"typ", "application/AT+JWT"}}), Status::kOk);
  EXPECT_EQ(check(claims(), {{"typ", "JWT"}}), Status::kTypMismatch);
  EXPECT_EQ(check(claims(), Json::object()), Status::kTypMismatch);
  EXPECT_EQ(check(claims(), {{"typ", 1}}), Status::kTypMismatch);
}

TEST_F(Claims, VerifyJwtChecksSignatureThenClaims) {
  Jwks keys;
  keys.add(testing::p256_key().with_kid("k1"));
  VerifyOptions vopts = testing::only(Alg::kES256);
  SignOptions sopts;
  sopts.typ = "at+jwt";
  policy_.typ = "at+jwt";
  auto good = sign(claims().dump(), keys.keys()[0], Alg::kES256, sopts);
  ASSERT_TRUE(good.ok());
  auto jwt = verify_jwt(*good, keys, vopts, policy_);
  ASSERT_TRUE(jwt.ok()) << to_string(jwt.error());
  EXPECT_EQ(jwt->claims["sub"], "alice");
  EXPECT_EQ(jwt->kid, "k1");

  clock_.advance(400);
  auto late = verify_jwt(*good, keys, vopts, policy_);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error(), Status::kExpired);
}

TEST_F(Claims, PayloadThatIsNotAJsonObjectIsRejected) {
  Jwks keys;
  keys.add(testing::p256_key());
  for (const char* payload : {"[1,2]", "not json", "\"str\""}) {
    auto token = sign(payload, testing::p256_key(), Alg::kES256);
    ASSERT_TRUE(token.ok());
    auto r = verify_jwt(*token, keys, {}, policy_);
    ASSERT_FALSE(r.ok()) << payload;
    EXPECT_EQ(r.error(), Status::kPayloadNotJson) << payload;
  }
}

TEST_F(Claims, TokenOverTheSizeCapIsRejected) {
  Jwks keys;
  keys.add(testing::p256_key());
  Json c = claims();
  c["pad"] = std::string(2000, 'x');
  auto token = sign(c.dump(), testing::p256_key(), Alg::kES256);
  ASSERT_TRUE(token.ok());
  VerifyOptions small;
  small.max_size = 1024;
  auto r = verify_jwt(*token, keys, small, policy_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Status::kTooLarge);
  EXPECT_TRUE(verify_jwt(*token, keys, {}, policy_).ok());
}

}  // namespace
}  // namespace tessera::jose
