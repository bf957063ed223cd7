#include "tessera/validator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/base64url.h"
#include "core/crypto.h"
#include "core/json.h"
#include "issuer_fixture.h"
#include "jose/jose.h"

namespace tessera::resource {
namespace {

using jose::Alg;
using jose::Json;
using test::FakeIssuer;
using test::make_key;
using test::sign_token;

constexpr int64_t kStart = 1'700'000'000;
constexpr const char* kAudience = "https://api.example.com";
constexpr const char* kRealm = "api";

std::string describe(const Validation& v) {
  if (v.ok()) return "ok";
  return std::string(to_string(v.error.failure)) + ": " + v.error.description;
}

// A compact JWS with the same header and signature but another payload.
std::string with_payload(const std::string& compact, const Json& payload) {
  const size_t first = compact.find('.');
  const size_t second = compact.find('.', first + 1);
  return compact.substr(0, first + 1) + base64url::encode(payload.dump()) + compact.substr(second);
}

// The issuer's view: a clock the test moves, keys, and options pointing at the fake issuer.
class ValidatorTest : public ::testing::Test {
 protected:
  ValidatorTest() : es256_(make_key(Alg::kES256, "es256-1")) { issuer_.publish(es256_); }

  ValidatorOptions options() const {
    ValidatorOptions o;
    o.issuer = issuer_.url();
    o.audiences = {kAudience};
    o.http_timeout_ms = 2'000;
    o.introspection_client_id = issuer_.client_id();
    o.introspection_client_secret = issuer_.client_secret();
    o.now = [clock = clock_] { return clock->load(); };
    return o;
  }
  ValidatorOptions opaque_options() const {
    ValidatorOptions o = options();
    o.accept = TokenForm::kOpaque;
    return o;
  }

  int64_t now() const { return clock_->load(); }
  void advance(int64_t seconds) { clock_->fetch_add(seconds); }

  Json claims() const {
    return {{"iss", issuer_.url()}, {"sub", "alice"},
            {"aud", kAudience},     {"client_id", "spa"},
            {"iat", now()},         {"exp", now() + 600},
            {"jti", "jti-1"},       {"scope", "invoices:read invoices:write"}};
  }
  std::string token(const Json& payload) const { return sign_token(payload, es256_, Alg::kES256); }
  std::string token() const { return token(claims()); }

  // An RFC 7662 §2.2 answer for an opaque token of this issuer.
  Json active_response() const {
    return {{"iss", issuer_.url()},    {"sub", "bob"},          {"client_id", "service"},
            {"scope", "reports:read"}, {"aud", kAudience},      {"iat", now()},
            {"exp", now() + 600},      {"token_type", "Bearer"}};
  }

  FakeIssuer issuer_;
  jose::Jwk es256_;
  std::shared_ptr<std::atomic<int64_t>> clock_ = std::make_shared<std::atomic<int64_t>>(kStart);
};

// ---------------------------------------------------------------------------------------------
// Configuration (RFC 8725 §3.1: asymmetric algorithms only; RFC 9068 §4: issuer and audience).

TEST_F(ValidatorTest, SymmetricOrNoneAlgorithmInOptionsThrows) {
  for (const std::vector<std::string>& algorithms :
       {std::vector<std::string>{"HS256"}, std::vector<std::string>{"ES256", "none"},
        std::vector<std::string>{"ES256", "HS512"}, std::vector<std::string>{"ES999"}}) {
    ValidatorOptions o = options();
    o.algorithms = algorithms;
    EXPECT_THROW(Validator{o}, std::invalid_argument) << algorithms.back();
  }
}

TEST_F(ValidatorTest, EmptyIssuerOrAudiencesThrows) {
  ValidatorOptions no_issuer = options();
  no_issuer.issuer.clear();
  EXPECT_THROW(Validator{no_issuer}, std::invalid_argument);
  ValidatorOptions no_audience = options();
  no_audience.audiences.clear();
  EXPECT_THROW(Validator{no_audience}, std::invalid_argument);
}

TEST_F(ValidatorTest, ConstructionFetchesNothing) {
  Validator validator(options());
  EXPECT_EQ(issuer_.metadata_requests(), 0);
  EXPECT_EQ(issuer_.jwks_requests(), 0);
  EXPECT_EQ(validator.stats().jwks_fetches, 0u);
  EXPECT_EQ(validator.now(), kStart);
}

// ---------------------------------------------------------------------------------------------
// A valid token and the Principal it gives (RFC 9068 §2.2, RFC 8693 §4.1, RFC 7800).

TEST_F(ValidatorTest, ValidEs256TokenGivesEveryPrincipalField) {
  Json payload = claims();
  payload["aud"] = Json::array({"https://other.example.com", kAudience});
  payload["auth_time"] = now() - 120;
  payload["acr"] = "urn:tessera:acr:mfa";
  payload["amr"] = Json::array({"pwd", "otp"});
  payload["act"] = {{"sub", "svc-b"},
                    {"client_id", "svc-b-client"},
                    {"act", {{"sub", "svc-a"}, {"client_id", "svc-a-client"}}}};
  payload["cnf"] = {{"jkt", "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"},
                    {"x5t#S256", "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}};
  payload["tenant"] = "acme";

  Validator validator(options());
  const Validation v = validator.validate(token(payload));
  ASSERT_TRUE(v.ok()) << describe(v);
  const Principal& p = *v.principal;
  EXPECT_EQ(p.issuer, issuer_.url());
  EXPECT_EQ(p.subject, "alice");
  EXPECT_EQ(p.client_id, "spa");
  EXPECT_EQ(p.scopes, (std::vector<std::string>{"invoices:read", "invoices:write"}));
  EXPECT_EQ(p.audiences, (std::vector<std::string>{"https://other.example.com", kAudience}));
  EXPECT_EQ(p.token_id, "jti-1");
  EXPECT_EQ(p.issued_at, kStart);
  EXPECT_EQ(p.expires_at, kStart + 600);
  ASSERT_TRUE(p.auth_time.has_value());
  EXPECT_EQ(*p.auth_time, kStart - 120);
  EXPECT_EQ(p.acr, "urn:tessera:acr:mfa");
  EXPECT_EQ(p.amr, (std::vector<std::string>{"pwd", "otp"}));
  ASSERT_EQ(p.actors.size(), 2u);
  EXPECT_EQ(p.actors[0].subject, "svc-b");
  EXPECT_EQ(p.actors[0].client_id, "svc-b-client");
  EXPECT_EQ(p.actors[1].subject, "svc-a");
  EXPECT_EQ(p.actors[1].client_id, "svc-a-client");
  EXPECT_TRUE(p.delegated());
  EXPECT_EQ(p.dpop_jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
  EXPECT_EQ(p.certificate_thumbprint, "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2");
  EXPECT_EQ(p.claims, payload);
  EXPECT_EQ(p.claims.json().at("tenant"), "acme");
  EXPECT_TRUE(p.domain_claims.is_object());
  EXPECT_TRUE(p.domain_claims.empty());
  EXPECT_TRUE(p.has_scope("invoices:write"));
}

// The claims are read in one pass over the payload's text (no JSON tree), exactly as a strict
// parse reads them: escaped member names and values, fractional dates, nested act and cnf; and
// Principal::claims is that text, parsed only when asked.
TEST_F(ValidatorTest, ClaimsAreReadFromThePayloadTextAsAStrictParseReadsThem) {
  Validator validator(options());
  const std::string iat = std::to_string(now());
  const std::string text =
      R"({"\u0069ss":")" + issuer_.url() + R"(","s\u0075b":"al\u0069ce","aud":[")" + kAudience +
      R"("],"client_id":"spa","iat":)" + iat + R"(,"exp":)" + std::to_string(now() + 600) +
      R"(.75,"jti":"j\"1","scope":"a  b",)"
      R"("act":{"sub":"svc-b","act":{"sub":"svc-a","client_id":"c"}},)"
      R"("cnf":{"x5t#S256":"thumb"},"deep":{"list":[1,2.5,{"x":null}]}})";
  const auto signed_text = jose::sign(text, es256_, Alg::kES256, [] {
    jose::SignOptions o;
    o.typ = "at+jwt";
    return o;
  }());
  ASSERT_TRUE(signed_text);
  const Validation v = validator.validate(*signed_text);
  ASSERT_TRUE(v.ok()) << describe(v);
  const Principal& p = *v.principal;
  EXPECT_EQ(p.issuer, issuer_.url());
  EXPECT_EQ(p.subject, "alice");
  EXPECT_EQ(p.token_id, "j\"1");
  EXPECT_EQ(p.scopes, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p.audiences, std::vector<std::string>{kAudience});
  EXPECT_EQ(p.expires_at, now() + 600);
  ASSERT_EQ(p.actors.size(), 2u);
  EXPECT_EQ(p.actors[1].client_id, "c");
  EXPECT_EQ(p.certificate_thumbprint, "thumb");
  EXPECT_EQ(p.claims.text(), text);
  EXPECT_EQ(p.claims.json(), *tessera::json::parse_strict(text));
  EXPECT_EQ(p.claims.json().at("deep").at("list").at(1), 2.5);

  // Payloads a strict parse refuses, or whose registered claims have the wrong JSON types
  // (RFC 7519 §4.1), or that lack a claim RFC 9068 §2.2 requires, are refused.
  const std::string base = R"("aud":")" + std::string(kAudience) + R"(","client_id":"spa","iat":)" +
                           iat + R"(,"exp":)" + std::to_string(now() + 600) + R"(,"jti":"j")";
  const std::string iss = R"("iss":")" + issuer_.url() + R"(")";
  for (const std::string& bad :
       {"{" + iss + R"(,"\u0069ss":"https://evil.example","sub":"a",)" + base + "}",
        "{" + iss + R"(,"sub":"a","sub":"b",)" + base + "}",
        "{" + iss + R"(,"sub":5,)" + base + "}",
        "{" + iss + R"(,"sub":"a","nbf":"soon",)" + base + "}",
        "{" + iss + R"(,"sub":"a",)" + base + R"(,"aud":[")" + kAudience + R"(",1]})",
        "{" + iss + R"(,)" + base + "}", "{" + iss + R"(,"sub":"a",)" + base + R"(,"x":[1,})",
        "{" + iss + R"(,"sub":"a",)" + base + "}" + std::string(1, '\0'), "[" + iss + "]"}) {
    jose::SignOptions o;
    o.typ = "at+jwt";
    const auto refused = jose::sign(bad, es256_, Alg::kES256, o);
    ASSERT_TRUE(refused);
    const Validation r = validator.validate(*refused);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error.failure, Failure::kBadSignature) << bad;
  }
}

TEST_F(ValidatorTest, AudienceStringIsOneAudienceAndPlainTokenHasNoActorsOrBinding) {
  Validator validator(options());
  const Validation v = validator.validate(token());
  ASSERT_TRUE(v.ok()) << describe(v);
  EXPECT_EQ(v.principal->audiences, std::vector<std::string>{kAudience});
  EXPECT_TRUE(v.principal->actors.empty());
  EXPECT_FALSE(v.principal->delegated());
  EXPECT_TRUE(v.principal->dpop_jkt.empty());
  EXPECT_TRUE(v.principal->certificate_thumbprint.empty());
  EXPECT_FALSE(v.principal->auth_time.has_value());
  EXPECT_TRUE(v.principal->amr.empty());
  EXPECT_EQ(issuer_.metadata_requests(), 1);
  EXPECT_EQ(issuer_.jwks_requests(), 1);
  EXPECT_EQ(issuer_.introspection_requests(), 0);
}

TEST_F(ValidatorTest, SecondTokenUsesTheCachedJwks) {
  Validator validator(options());
  ASSERT_TRUE(validator.validate(token()).ok());
  Json other = claims();
  other["sub"] = "carol";
  const Validation v = validator.validate(token(other));
  ASSERT_TRUE(v.ok()) << describe(v);
  EXPECT_EQ(v.principal->subject, "carol");
  EXPECT_EQ(issuer_.jwks_requests(), 1);
  EXPECT_EQ(validator.stats().jwks_fetches, 1u);
}

TEST_F(ValidatorTest, ValidatesWithoutWaitingOnlyWhenTheKeyIsAtHand) {
  ValidatorOptions o = options();
  o.jwks_refresh_seconds = 300;
  Validator validator(o);
  // No JWKS yet: validating would fetch it.
  EXPECT_FALSE(validator.validates_without_waiting(token()));
  // Refused before any key is needed: garbage, a disallowed alg.
  EXPECT_TRUE(validator.validates_without_waiting("not-a-jwt"));
  EXPECT_TRUE(validator.validates_without_waiting(
      sign_token(claims(), make_key(Alg::kES384, "es384-1"), Alg::kES384)));
  EXPECT_EQ(issuer_.jwks_requests(), 0);
  ASSERT_EQ(validator.prefetch(), "");
  EXPECT_TRUE(validator.validates_without_waiting(token()));
  // A kid the set lacks may be the next key: validate() would fetch the set again.
  EXPECT_FALSE(validator.validates_without_waiting(
      sign_token(claims(), make_key(Alg::kES256, "es256-next"), Alg::kES256)));
  // Due for its periodic refresh: validate() would fetch.
  advance(301);
  EXPECT_FALSE(validator.validates_without_waiting(token()));
  EXPECT_EQ(issuer_.jwks_requests(), 1);  // asking never fetches
  // Opaque tokens always go to the issuer.
  Validator opaque(opaque_options());
  EXPECT_FALSE(opaque.validates_without_waiting("opaque-token-value"));
}

void expect_algorithm_validates(FakeIssuer& issuer, const ValidatorOptions& options,
                                const Json& payload, Alg alg, const std::string& kid) {
  const jose::Jwk key = make_key(alg, kid);
  issuer.publish(key);
  Validator validator(options);
  const Validation v = validator.validate(sign_token(payload, key, alg));
  ASSERT_TRUE(v.ok()) << jose::to_string(alg) << ": " << describe(v);
  EXPECT_EQ(v.principal->subject, "alice");
}

TEST_F(ValidatorTest, Rs256TokenValidates) {
  expect_algorithm_validates(issuer_, options(), claims(), Alg::kRS256, "rs256-1");
}

TEST_F(ValidatorTest, Ps256TokenValidates) {
  expect_algorithm_validates(issuer_, options(), claims(), Alg::kPS256, "ps256-1");
}

TEST_F(ValidatorTest, EdDsaTokenValidates) {
  expect_algorithm_validates(issuer_, options(), claims(), Alg::kEdDSA, "ed25519-1");
}

// ---------------------------------------------------------------------------------------------
// Algorithms (RFC 8725 §3.1).

TEST_F(ValidatorTest, AlgorithmOutsideTheAllowListIsRefused) {
  const jose::Jwk es384 = make_key(Alg::kES384, "es384-1");
  issuer_.publish(es384);
  ValidatorOptions o = options();
  o.algorithms = {"ES256"};
  Validator validator(o);
  const Validation v = validator.validate(sign_token(claims(), es384, Alg::kES384));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kAlgorithm) << describe(v);
  // The same validator still takes what it allows.
  EXPECT_TRUE(validator.validate(token()).ok());
}

// With the issuer's keys already at hand a token goes straight to jose::verify; without them the
// validator decodes the header first and fetches the keys. Both paths must refuse a bad header
// with the same failure: an alg outside the allow-list is kAlgorithm on either, whatever else
// the header says (an embedded key, a key URL, an unknown crit extension).
TEST_F(ValidatorTest, BadHeadersAreRefusedAlikeWithAndWithoutKeysAtHand) {
  const jose::Jwk es384 = make_key(Alg::kES384, "es384-1");
  issuer_.publish(es384);
  auto signed_with = [&](const jose::Jwk& key, Alg alg, const Json& extra) {
    jose::SignOptions so;
    so.typ = "at+jwt";
    so.extra_header = extra;
    auto t = jose::sign(claims().dump(), key, alg, so);
    if (!t) throw std::runtime_error("sign failed");
    return *t;
  };
  const Json embedded = {{"jwk", es256_.public_key().to_json()}};
  const Json key_url = {{"jku", "https://attacker.example/jwks"}};
  const Json unknown_crit = {{"crit", {"urn:example:unknown"}}, {"urn:example:unknown", true}};
  const struct {
    const char* what;
    std::string token;
    Failure expected;
  } cases[] = {
      {"ES384 outside the list", signed_with(es384, Alg::kES384, Json::object()),
       Failure::kAlgorithm},
      {"ES384 outside the list, with a jku", signed_with(es384, Alg::kES384, key_url),
       Failure::kAlgorithm},
      {"ES384 outside the list, with a jwk", signed_with(es384, Alg::kES384, embedded),
       Failure::kAlgorithm},
      {"ES384 outside the list, with an unknown crit",
       signed_with(es384, Alg::kES384, unknown_crit), Failure::kAlgorithm},
      {"ES256 with a jku", signed_with(es256_, Alg::kES256, key_url), Failure::kMalformed},
      {"ES256 with a jwk", signed_with(es256_, Alg::kES256, embedded), Failure::kMalformed},
      {"ES256 with an unknown crit", signed_with(es256_, Alg::kES256, unknown_crit),
       Failure::kMalformed},
  };
  ValidatorOptions o = options();
  o.algorithms = {"ES256"};
  Validator warm(o);
  ASSERT_TRUE(warm.validate(token()).ok());  // the issuer's keys are now at hand
  for (const auto& c : cases) {
    Validator cold(o);  // a fresh validator: header first, keys fetched if it gets that far
    const Validation first = cold.validate(c.token);
    const Validation at_hand = warm.validate(c.token);
    ASSERT_FALSE(first.ok()) << c.what;
    ASSERT_FALSE(at_hand.ok()) << c.what;
    EXPECT_EQ(first.error.failure, at_hand.error.failure)
        << c.what << ": without keys " << describe(first) << "; with keys " << describe(at_hand);
    EXPECT_EQ(at_hand.error.failure, c.expected) << c.what << ": " << describe(at_hand);
  }
}

TEST_F(ValidatorTest, Hs256TokenKeyedWithThePublicKeyIsRefused) {
  // The classic confusion attack: HMAC keyed with the issuer's public key, under its kid.
  const std::string public_jwk = es256_.public_key().to_json().dump();
  const jose::Jwk hmac = jose::Jwk::from_secret(public_jwk, Alg::kHS256).with_kid("es256-1");
  Validator validator(options());
  const Validation v = validator.validate(sign_token(claims(), hmac, Alg::kHS256));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kAlgorithm) << describe(v);
}

TEST_F(ValidatorTest, AlgNoneIsRefused) {
  const std::string header = R"({"alg":"none","typ":"at+jwt","kid":"es256-1"})";
  const std::string unsigned_token =
      base64url::encode(header) + "." + base64url::encode(claims().dump()) + ".";
  Validator validator(options());
  const Validation v = validator.validate(unsigned_token);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kAlgorithm) << describe(v);
}

TEST_F(ValidatorTest, KeyPinnedToRs256RefusesPs256Signature) {
  const jose::Jwk rsa = make_key(Alg::kRS256, "rsa-1");
  issuer_.publish(rsa);
  Validator validator(options());
  // The same RSA key, but the token claims PS256 while the JWK says alg RS256 (RFC 8725 §3.1).
  const jose::Jwk unpinned = rsa.with_alg(Alg::kPS256);
  const Validation v = validator.validate(sign_token(claims(), unpinned, Alg::kPS256));
  EXPECT_FALSE(v.ok());
}

// ---------------------------------------------------------------------------------------------
// Claims (RFC 9068 §4, RFC 7519 §4.1).

TEST_F(ValidatorTest, WrongIssuerIsRefused) {
  Validator validator(options());
  for (const std::string& iss : {std::string("https://evil.example.com"), issuer_.url() + "/"}) {
    Json payload = claims();
    payload["iss"] = iss;
    const Validation v = validator.validate(token(payload));
    ASSERT_FALSE(v.ok()) << iss;
    EXPECT_EQ(v.error.failure, Failure::kWrongIssuer) << iss << " " << describe(v);
  }
}

TEST_F(ValidatorTest, WrongAudienceIsRefused) {
  Validator validator(options());
  Json payload = claims();
  payload["aud"] = Json::array({"https://other.example.com", "https://api.example.com/"});
  const Validation v = validator.validate(token(payload));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kWrongAudience) << describe(v);
}

TEST_F(ValidatorTest, MissingAudienceIsRefused) {
  Validator validator(options());
  Json payload = claims();
  payload.erase("aud");
  const Validation v = validator.validate(token(payload));
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(v.error.failure == Failure::kWrongAudience || v.error.failure == Failure::kMalformed)
      << describe(v);
}

TEST_F(ValidatorTest, AnyConfiguredAudienceIsAccepted) {
  ValidatorOptions o = options();
  o.audiences = {"https://first.example.com", kAudience};
  Validator validator(o);
  const Validation v = validator.validate(token());
  EXPECT_TRUE(v.ok()) << describe(v);
}

TEST_F(ValidatorTest, TypJwtIsWrongType) {
  Validator validator(options());
  const Validation v = validator.validate(sign_token(claims(), es256_, Alg::kES256, "JWT"));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kWrongType) << describe(v);
  const Validation untyped =
      validator.validate(sign_token(claims(), es256_, Alg::kES256, std::nullopt));
  ASSERT_FALSE(untyped.ok());
  EXPECT_EQ(untyped.error.failure, Failure::kWrongType) << describe(untyped);
}

TEST_F(ValidatorTest, TypJwtAcceptedWhenAtJwtNotRequired) {
  ValidatorOptions o = options();
  o.require_at_jwt = false;
  Validator validator(o);
  const Validation v = validator.validate(sign_token(claims(), es256_, Alg::kES256, "JWT"));
  EXPECT_TRUE(v.ok()) << describe(v);
}

TEST_F(ValidatorTest, TypApplicationAtJwtIsAccepted) {
  // RFC 9068 §4: "at+jwt" or "application/at+jwt".
  Validator validator(options());
  const Validation v =
      validator.validate(sign_token(claims(), es256_, Alg::kES256, "application/at+jwt"));
  EXPECT_TRUE(v.ok()) << describe(v);
}

TEST_F(ValidatorTest, ExpiredBeyondLeewayIsRefused) {
  Validator validator(options());  // leeway 30 s
  Json payload = claims();
  payload["iat"] = now() - 600;
  payload["exp"] = now() - 31;
  const Validation v = validator.validate(token(payload));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kExpired) << describe(v);
}

TEST_F(ValidatorTest, ExpiredWithinLeewayIsAccepted) {
  Validator validator(options());
  Json payload = claims();
  payload["iat"] = now() - 600;
  payload["exp"] = now() - 20;
  const Validation v = validator.validate(token(payload));
  EXPECT_TRUE(v.ok()) << describe(v);
}

TEST_F(ValidatorTest, TokenExpiresWhenTheClockMoves) {
  Validator validator(options());
  const std::string t = token();  // exp = now + 600
  ASSERT_TRUE(validator.validate(t).ok());
  advance(600 + 31);
  const Validation v = validator.validate(t);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kExpired) << describe(v);
}

TEST_F(ValidatorTest, MissingExpIsRefused) {
  Validator validator(options());
  Json payload = claims();
  payload.erase("exp");
  EXPECT_FALSE(validator.validate(token(payload)).ok());
}

TEST_F(ValidatorTest, NbfInTheFutureIsNotYetValid) {
  Validator validator(options());
  Json payload = claims();
  payload["nbf"] = now() + 120;
  const Validation v = validator.validate(token(payload));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kNotYetValid) << describe(v);
  payload["nbf"] = now() + 10;  // within the leeway
  EXPECT_TRUE(validator.validate(token(payload)).ok());
}

TEST_F(ValidatorTest, IatInTheFutureIsNotYetValid) {
  Validator validator(options());
  Json payload = claims();
  payload["iat"] = now() + 120;
  const Validation v = validator.validate(token(payload));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kNotYetValid) << describe(v);
}

TEST_F(ValidatorTest, TamperedPayloadIsBadSignature) {
  Validator validator(options());
  const std::string original = token();
  ASSERT_TRUE(validator.validate(original).ok());
  Json forged = claims();
  forged["scope"] = "invoices:read invoices:write admin";
  const Validation v = validator.validate(with_payload(original, forged));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kBadSignature) << describe(v);
}

TEST_F(ValidatorTest, SignatureByAnotherKeyUnderTheSameKidIsBadSignature) {
  const jose::Jwk impostor = make_key(Alg::kES256, "es256-1");
  Validator validator(options());
  const Validation v = validator.validate(sign_token(claims(), impostor, Alg::kES256));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kBadSignature) << describe(v);
}

TEST_F(ValidatorTest, GarbageIsMalformed) {
  Validator validator(options());
  std::vector<std::string> garbage = {
      "garbage",
      "a.b.c",
      "....",
      "eyJhbGciOiJFUzI1NiJ9",
      base64url::encode("not json") + "." + base64url::encode("{}") + ".c2ln",
  };
  // Signed by the issuer's key, but the payload is not a JSON object (RFC 7519 §7.2 step 10).
  jose::SignOptions at_jwt;
  at_jwt.typ = "at+jwt";
  auto array_payload = jose::sign("[1,2,3]", es256_, Alg::kES256, at_jwt);
  ASSERT_TRUE(array_payload.ok());
  garbage.push_back(*array_payload);
  for (const std::string& t : garbage) {
    const Validation v = validator.validate(t);
    ASSERT_FALSE(v.ok()) << t;
    EXPECT_EQ(v.error.failure, Failure::kMalformed) << t << " " << describe(v);
    EXPECT_EQ(v.error.description.find(t), std::string::npos) << "the token is echoed back";
  }
  // Oversized input is refused, not parsed.
  EXPECT_FALSE(validator.validate(std::string(size_t{64} * 1024, 'a') + ".b.c").ok());
}

TEST_F(ValidatorTest, ErrorDescriptionNeverHoldsTheToken) {
  Validator validator(options());
  Json payload = claims();
  payload["aud"] = "https://other.example.com";
  const std::string t = token(payload);
  const Validation v = validator.validate(t);
  ASSERT_FALSE(v.ok());
  EXPECT_FALSE(v.error.description.empty());
  EXPECT_EQ(v.error.description.find(t.substr(t.rfind('.') + 1)), std::string::npos);
  EXPECT_EQ(v.error.description.find('\n'), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// The JWKS cache: rotation, floods of unknown kids, periodic refresh (RFC 7517 §4.5).

TEST_F(ValidatorTest, NewKidTriggersOneRefetchAndThenValidates) {
  Validator validator(options());
  ASSERT_TRUE(validator.validate(token()).ok());
  ASSERT_EQ(issuer_.jwks_requests(), 1);

  const jose::Jwk next = make_key(Alg::kES256, "es256-2");
  issuer_.publish(next);
  advance(60);  // past jwks_min_refetch_seconds, well within jwks_refresh_seconds
  const Validation v = validator.validate(sign_token(claims(), next, Alg::kES256));
  ASSERT_TRUE(v.ok()) << describe(v);
  EXPECT_EQ(issuer_.jwks_requests(), 2);

  // Both keys are now known: neither needs another fetch.
  EXPECT_TRUE(validator.validate(sign_token(claims(), next, Alg::kES256)).ok());
  EXPECT_TRUE(validator.validate(token()).ok());
  EXPECT_EQ(issuer_.jwks_requests(), 2);
  EXPECT_EQ(validator.stats().jwks_fetches, 2u);
}

TEST_F(ValidatorTest, FloodOfUnknownKidsFetchesAtMostOncePerInterval) {
  Validator validator(options());  // jwks_min_refetch_seconds = 30
  ASSERT_TRUE(validator.validate(token()).ok());
  ASSERT_EQ(issuer_.jwks_requests(), 1);
  advance(60);

  const jose::Jwk rogue = make_key(Alg::kES256, "rogue");
  std::vector<std::string> flood;
  flood.reserve(100);
  for (int i = 0; i < 100; ++i) {
    flood.push_back(
        sign_token(claims(), rogue.with_kid("rogue-" + std::to_string(i)), Alg::kES256));
  }
  std::atomic<int> unknown_key{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 100; i += 4) {
        const Validation v = validator.validate(flood[static_cast<size_t>(i)]);
        (!v.ok() && v.error.failure == Failure::kUnknownKey ? unknown_key : other).fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(unknown_key.load(), 100);
  EXPECT_EQ(other.load(), 0);
  EXPECT_LE(issuer_.jwks_requests(), 2) << "more than one JWKS fetch within the interval";
  // The issuer's real key still validates during and after the flood, without a fetch.
  const int after_flood = issuer_.jwks_requests();
  EXPECT_TRUE(validator.validate(token()).ok());
  EXPECT_EQ(issuer_.jwks_requests(), after_flood);

  // Past the interval one more fetch may happen, and only one.
  advance(31);
  for (int i = 0; i < 50; ++i) {
    const Validation v = validator.validate(
        sign_token(claims(), rogue.with_kid("later-" + std::to_string(i)), Alg::kES256));
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error.failure, Failure::kUnknownKey) << describe(v);
  }
  EXPECT_LE(issuer_.jwks_requests(), after_flood + 1);
  EXPECT_EQ(validator.stats().jwks_fetches, static_cast<uint64_t>(issuer_.jwks_requests()));
}

TEST_F(ValidatorTest, JwksIsRefreshedAfterTheRefreshInterval) {
  ValidatorOptions o = options();
  o.jwks_refresh_seconds = 300;
  Validator validator(o);
  ASSERT_TRUE(validator.validate(token()).ok());
  EXPECT_EQ(issuer_.jwks_requests(), 1);
  advance(299);
  ASSERT_TRUE(validator.validate(token()).ok());
  EXPECT_EQ(issuer_.jwks_requests(), 1);
  advance(2);
  ASSERT_TRUE(validator.validate(token()).ok());
  EXPECT_EQ(issuer_.jwks_requests(), 2);

  // The issuer retires the old key; the next periodic refresh picks up the new one.
  const jose::Jwk next = make_key(Alg::kES256, "es256-2");
  issuer_.publish_only(next);
  advance(301);
  const Validation v = validator.validate(sign_token(claims(), next, Alg::kES256));
  ASSERT_TRUE(v.ok()) << describe(v);
  EXPECT_EQ(issuer_.jwks_requests(), 3);
  // The retired key no longer validates (and the refetch it asks for is inside the interval).
  const Validation old = validator.validate(token());
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error.failure, Failure::kUnknownKey) << describe(old);
  EXPECT_EQ(issuer_.jwks_requests(), 3);
}

// ---------------------------------------------------------------------------------------------
// Discovery (RFC 8414) and an issuer that cannot be reached.

TEST_F(ValidatorTest, IssuerOnAClosedPortIsUnavailableWith503) {
  ValidatorOptions o = options();
  o.issuer = "http://127.0.0.1:" + std::to_string(test::closed_port());
  Validator validator(o);
  Json payload = claims();
  payload["iss"] = o.issuer;
  const Validation v = validator.validate(token(payload));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kUnavailable) << describe(v);
  EXPECT_EQ(challenge_for(kRealm, v.error).status, 503);
}

TEST_F(ValidatorTest, TokensRefusableWithoutKeysAreRefusedBeforeAnyFetch) {
  // Garbage, alg none and HS256 need no key to refuse: a 401 even while the issuer is down,
  // and no request to the issuer at all.
  ValidatorOptions down = options();
  down.issuer = "http://127.0.0.1:" + std::to_string(test::closed_port());
  Validator unreachable(down);
  EXPECT_EQ(unreachable.validate("not-a-jwt").error.failure, Failure::kMalformed);
  const std::string none = base64url::encode(R"({"alg":"none","typ":"at+jwt"})") + "." +
                           base64url::encode(claims().dump()) + ".";
  EXPECT_EQ(unreachable.validate(none).error.failure, Failure::kAlgorithm);

  Validator validator(options());
  const std::string hs = base64url::encode(R"({"alg":"HS256","typ":"at+jwt"})") + "." +
                         base64url::encode(claims().dump()) + "." + base64url::encode("sig");
  EXPECT_EQ(validator.validate(hs).error.failure, Failure::kAlgorithm);
  EXPECT_EQ(validator.validate("a.b.c").error.failure, Failure::kMalformed);
  EXPECT_EQ(issuer_.metadata_requests(), 0);
  EXPECT_EQ(issuer_.jwks_requests(), 0);
}

TEST_F(ValidatorTest, StoppedIssuerIsUnavailable) {
  Validator validator(options());
  const std::string t = token();
  issuer_.stop();
  const Validation v = validator.validate(t);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kUnavailable) << describe(v);
  const Challenge c = challenge_for(kRealm, v.error);
  EXPECT_EQ(c.status, 503);
  EXPECT_TRUE(json::parse_strict(c.body).ok()) << c.body;
  EXPECT_FALSE(validator.prefetch().empty());
}

TEST_F(ValidatorTest, KeysFetchedBeforeTheIssuerWentDownKeepServing) {
  Validator validator(options());
  ASSERT_TRUE(validator.validate(token()).ok());
  issuer_.stop();
  advance(301);  // a periodic refresh is due and fails
  const Validation v = validator.validate(token());
  EXPECT_TRUE(v.ok()) << describe(v);
}

TEST_F(ValidatorTest, MetadataNamingAnotherIssuerIsUnavailable) {
  // RFC 8414 §3.3: the metadata's issuer must be identical to the issuer it was fetched for.
  issuer_.set_metadata_issuer("https://evil.example.com");
  Validator validator(options());
  const Validation v = validator.validate(token());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kUnavailable) << describe(v);
  EXPECT_EQ(issuer_.metadata_requests(), 1);
  EXPECT_EQ(issuer_.jwks_requests(), 0) << "a JWKS named by untrusted metadata was fetched";
}

TEST_F(ValidatorTest, ExplicitJwksUriSkipsDiscovery) {
  ValidatorOptions o = options();
  o.jwks_uri = issuer_.jwks_uri();
  Validator validator(o);
  const Validation v = validator.validate(token());
  ASSERT_TRUE(v.ok()) << describe(v);
  EXPECT_EQ(issuer_.metadata_requests(), 0);
  EXPECT_EQ(issuer_.jwks_requests(), 1);
}

TEST_F(ValidatorTest, PrefetchFetchesMetadataAndKeysUpFront) {
  Validator validator(options());
  EXPECT_EQ(validator.prefetch(), "");
  EXPECT_EQ(issuer_.metadata_requests(), 1);
  EXPECT_EQ(issuer_.jwks_requests(), 1);
  ASSERT_TRUE(validator.validate(token()).ok());
  EXPECT_EQ(issuer_.jwks_requests(), 1);
  EXPECT_EQ(issuer_.metadata_requests(), 1);
}

// ---------------------------------------------------------------------------------------------
// Introspection (RFC 7662).

TEST_F(ValidatorTest, ActiveOpaqueTokenGivesPrincipal) {
  const std::string opaque = "opaque-" + crypto::random_token(16);
  issuer_.set_active(opaque, active_response());
  Validator validator(opaque_options());
  const Validation v = validator.validate(opaque);
  ASSERT_TRUE(v.ok()) << describe(v);
  const Principal& p = *v.principal;
  EXPECT_EQ(p.issuer, issuer_.url());
  EXPECT_EQ(p.subject, "bob");
  EXPECT_EQ(p.client_id, "service");
  EXPECT_EQ(p.scopes, std::vector<std::string>{"reports:read"});
  EXPECT_EQ(p.audiences, std::vector<std::string>{kAudience});
  EXPECT_EQ(p.issued_at, kStart);
  EXPECT_EQ(p.expires_at, kStart + 600);
  EXPECT_EQ(p.claims.json().at("token_type"), "Bearer");
  EXPECT_EQ(p.claims.json().at("active"), true);
  EXPECT_EQ(issuer_.last_introspected_token(), opaque);
  EXPECT_EQ(issuer_.introspection_requests(), 1);
  EXPECT_EQ(issuer_.introspection_auth_failures(), 0);
  EXPECT_EQ(issuer_.jwks_requests(), 0);
  EXPECT_EQ(validator.stats().introspections, 1u);
}

TEST_F(ValidatorTest, InactiveOpaqueTokenIsInactive) {
  Validator validator(opaque_options());
  const Validation v = validator.validate("revoked-or-unknown-token");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kInactive) << describe(v);
  EXPECT_EQ(issuer_.introspection_requests(), 1);
  EXPECT_EQ(challenge_for(kRealm, v.error).status, 401);
}

TEST_F(ValidatorTest, WrongIntrospectionCredentialsAreUnavailable) {
  issuer_.set_active("opaque-token", active_response());
  ValidatorOptions o = opaque_options();
  o.introspection_client_secret = "not-the-secret";
  Validator validator(o);
  const Validation v = validator.validate("opaque-token");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kUnavailable) << describe(v);
  EXPECT_EQ(issuer_.introspection_auth_failures(), 1);
  EXPECT_EQ(challenge_for(kRealm, v.error).status, 503);
}

TEST_F(ValidatorTest, IntrospectionCredentialsAreFormEncodedBeforeBase64) {
  // RFC 6749 §2.3.1: client_secret_basic form-urlencodes the id and the secret first.
  issuer_.set_client_credentials("resource api", "p@ss:w/rd+%");
  issuer_.set_active("opaque-token", active_response());
  ValidatorOptions o = opaque_options();
  o.introspection_client_id = "resource api";
  o.introspection_client_secret = "p@ss:w/rd+%";
  Validator validator(o);
  const Validation v = validator.validate("opaque-token");
  EXPECT_TRUE(v.ok()) << describe(v);
  EXPECT_EQ(issuer_.introspection_auth_failures(), 0);
}

TEST_F(ValidatorTest, IntrospectionNamingAnotherIssuerIsWrongIssuer) {
  Json response = active_response();
  response["iss"] = "https://evil.example.com";
  issuer_.set_active("opaque-token", response);
  Validator validator(opaque_options());
  const Validation v = validator.validate("opaque-token");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kWrongIssuer) << describe(v);
}

TEST_F(ValidatorTest, IntrospectionOfSomethingOtherThanAnAccessTokenIsInactive) {
  // RFC 7662 §2.2 token_type names an access token type (RFC 6749 §7.1); DPoP's too (RFC 9449
  // §6), in any case; absent is fine (it is optional). Anything else is no API credential.
  for (const auto& [type, accepted] :
       {std::pair{Json("Bearer"), true}, std::pair{Json("dpop"), true},
        std::pair{Json("refresh_token"), false}, std::pair{Json(7), false},
        std::pair{Json(), true}}) {
    Json response = active_response();
    if (type.is_null()) {
      response.erase("token_type");
    } else {
      response["token_type"] = type;
    }
    issuer_.set_active("opaque-token", response);
    Validator validator(opaque_options());
    const Validation v = validator.validate("opaque-token");
    EXPECT_EQ(v.ok(), accepted) << type.dump() << " " << describe(v);
    if (!accepted) {
      EXPECT_EQ(v.error.failure, Failure::kInactive) << type.dump();
    }
  }
  // token_use (Ory Hydra's member, Tessera's too): a refresh token has no token_type, but says
  // what it is.
  for (const auto& [use, accepted] :
       {std::pair{Json("access_token"), true}, std::pair{Json("refresh_token"), false},
        std::pair{Json("access"), true}, std::pair{Json("id"), false},
        std::pair{Json("something-else"), true}, std::pair{Json(3), true}}) {
    Json response = active_response();
    response.erase("token_type");
    response["token_use"] = use;
    issuer_.set_active("opaque-token", response);
    Validator validator(opaque_options());
    EXPECT_EQ(validator.validate("opaque-token").ok(), accepted) << use.dump();
  }
}

TEST_F(ValidatorTest, IntrospectionForAnotherAudienceIsWrongAudience) {
  Json response = active_response();
  response["aud"] = Json::array({"https://other.example.com"});
  issuer_.set_active("opaque-token", response);
  Validator validator(opaque_options());
  const Validation v = validator.validate("opaque-token");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kWrongAudience) << describe(v);
}

// An answer whose numbers print longer than they were written (1E14 → 100000000000000.0) is still
// read whole: its audience is checked, not skipped.
TEST_F(ValidatorTest, IntrospectionAnswerIsCheckedWhateverItsNumbersLookLike) {
  std::string text = R"({"active":true,"iss":")" + issuer_.url() +
                     R"(","sub":"bob","aud":"https://other.example.com","exp":)" +
                     std::to_string(now() + 600) + R"(,"x":[1E14)";
  for (int i = 0; i < 70'000; ++i) text += ",1E14";
  text += "]}";
  ASSERT_LT(text.size(), size_t{1} << 20);  // within the validator's cap on the answer
  issuer_.set_answer_text("opaque-token", text);
  Validator validator(opaque_options());
  const Validation v = validator.validate("opaque-token");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kWrongAudience) << describe(v);
}

TEST_F(ValidatorTest, ExplicitIntrospectionEndpointSkipsDiscovery) {
  issuer_.set_active("opaque-token", active_response());
  ValidatorOptions o = opaque_options();
  o.introspection_endpoint = issuer_.introspection_endpoint();
  Validator validator(o);
  const Validation v = validator.validate("opaque-token");
  EXPECT_TRUE(v.ok()) << describe(v);
  EXPECT_EQ(issuer_.metadata_requests(), 0);
  EXPECT_EQ(issuer_.introspection_requests(), 1);
}

TEST_F(ValidatorTest, OpaqueFormIntrospectsEvenJwtShapedTokens) {
  const std::string jwt = token();
  issuer_.set_active(jwt, active_response());
  Validator validator(opaque_options());
  const Validation v = validator.validate(jwt);
  ASSERT_TRUE(v.ok()) << describe(v);
  EXPECT_EQ(v.principal->subject, "bob");
  EXPECT_EQ(issuer_.introspection_requests(), 1);
  EXPECT_EQ(issuer_.jwks_requests(), 0);
}

TEST_F(ValidatorTest, AnyFormValidatesJwtsLocallyAndIntrospectsTheRest) {
  issuer_.set_active("opaque-token", active_response());
  ValidatorOptions o = options();
  o.accept = TokenForm::kAny;
  Validator validator(o);

  const Validation jwt = validator.validate(token());
  ASSERT_TRUE(jwt.ok()) << describe(jwt);
  EXPECT_EQ(jwt.principal->subject, "alice");
  EXPECT_EQ(issuer_.introspection_requests(), 0);
  EXPECT_EQ(issuer_.jwks_requests(), 1);

  const Validation opaque = validator.validate("opaque-token");
  ASSERT_TRUE(opaque.ok()) << describe(opaque);
  EXPECT_EQ(opaque.principal->subject, "bob");
  EXPECT_EQ(issuer_.introspection_requests(), 1);
  EXPECT_EQ(issuer_.jwks_requests(), 1);
  EXPECT_EQ(validator.stats().introspections, 1u);
}

TEST_F(ValidatorTest, JwtFormNeverIntrospects) {
  issuer_.set_active("opaque-token", active_response());
  Validator validator(options());
  const Validation v = validator.validate("opaque-token");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kMalformed) << describe(v);
  EXPECT_EQ(issuer_.introspection_requests(), 0);
}

// ---------------------------------------------------------------------------------------------
// bearer_token (RFC 6750 §2.1) and challenge_for (RFC 6750 §3).

TEST(BearerToken, AbsentHeaderIsMissing) {
  std::string token = "untouched";
  const auto error = bearer_token(std::nullopt, token);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->failure, Failure::kMissing);
}

TEST(BearerToken, AnotherSchemeIsMissing) {
  std::string token;
  const auto error = bearer_token("Basic abc", token);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->failure, Failure::kMissing);
  EXPECT_TRUE(token.empty());
}

TEST(BearerToken, MalformedBearerCredentialIsInvalidRequest) {
  for (const char* value : {"Bearer", "Bearer a b", "Bearer ", "Bearer tok\"en"}) {
    std::string token;
    const auto error = bearer_token(value, token);
    ASSERT_TRUE(error.has_value()) << value;
    EXPECT_EQ(error->failure, Failure::kInvalidRequest) << value;
  }
}

TEST(BearerToken, SchemeIsCaseInsensitive) {
  for (const char* value :
       {"bearer mF_9.B5f-4.1JqM", "Bearer mF_9.B5f-4.1JqM", "BEARER mF_9.B5f-4.1JqM"}) {
    std::string token;
    const auto error = bearer_token(value, token);
    EXPECT_FALSE(error.has_value()) << value;
    EXPECT_EQ(token, "mF_9.B5f-4.1JqM") << value;
  }
}

TEST(ChallengeFor, MapsEachFailureToItsAnswer) {
  const Challenge missing = challenge_for(kRealm, {Failure::kMissing, "no token"});
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.www_authenticate, "Bearer realm=\"api\"");
  EXPECT_EQ(missing.body, "{}");

  const Challenge bad_request = challenge_for(kRealm, {Failure::kInvalidRequest, "two headers"});
  EXPECT_EQ(bad_request.status, 400);
  EXPECT_EQ(bad_request.www_authenticate,
            "Bearer realm=\"api\", error=\"invalid_request\", error_description=\"two headers\"");

  const Challenge expired = challenge_for(kRealm, {Failure::kExpired, "the token has expired"});
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(
      expired.www_authenticate,
      "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"the token has expired\"");
  auto body = json::parse_strict(expired.body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ((*body)["error"], "invalid_token");
  EXPECT_EQ((*body)["error_description"], "the token has expired");

  const Challenge down = challenge_for(kRealm, {Failure::kUnavailable, "issuer down"});
  EXPECT_EQ(down.status, 503);

  for (Failure f :
       {Failure::kMalformed, Failure::kAlgorithm, Failure::kUnknownKey, Failure::kBadSignature,
        Failure::kWrongType, Failure::kWrongIssuer, Failure::kWrongAudience, Failure::kExpired,
        Failure::kNotYetValid, Failure::kInactive}) {
    const Challenge c = challenge_for(kRealm, {f, "why"});
    EXPECT_EQ(c.status, 401) << to_string(f);
    EXPECT_EQ(c.www_authenticate.rfind("Bearer realm=\"api\", error=\"invalid_token\"", 0), 0u)
        << to_string(f) << ": " << c.www_authenticate;
    auto parsed = json::parse_strict(c.body);
    ASSERT_TRUE(parsed.ok()) << c.body;
    EXPECT_EQ((*parsed)["error"], "invalid_token");
  }
}

TEST(FailureNames, EveryFailureHasItsOwnName) {
  std::set<std::string> names;
  const std::vector<Failure> all = {
      Failure::kMissing,    Failure::kInvalidRequest, Failure::kMalformed,
      Failure::kAlgorithm,  Failure::kUnknownKey,     Failure::kBadSignature,
      Failure::kWrongType,  Failure::kWrongIssuer,    Failure::kWrongAudience,
      Failure::kExpired,    Failure::kNotYetValid,    Failure::kInactive,
      Failure::kUnavailable};
  for (Failure f : all) {
    const std::string name = to_string(f);
    EXPECT_FALSE(name.empty());
    names.insert(name);
  }
  EXPECT_EQ(names.size(), all.size());
}

// ---------------------------------------------------------------------------------------------
// Authenticator: Validator + ClaimsCache + ClaimsProvider.

class AuthenticatorTest : public ValidatorTest {
 protected:
  std::shared_ptr<const Validator> opaque_validator() const {
    return std::make_shared<const Validator>(opaque_options());
  }
};

TEST_F(AuthenticatorTest, CachedTokenDoesNotReachTheIssuerAgain) {
  issuer_.set_active("opaque-token", active_response());
  Authenticator auth(opaque_validator(), std::make_shared<ClaimsCache>());
  const Validation first = auth.authenticate("opaque-token");
  ASSERT_TRUE(first.ok()) << describe(first);
  const Validation second = auth.authenticate("opaque-token");
  ASSERT_TRUE(second.ok()) << describe(second);
  EXPECT_EQ(issuer_.introspection_requests(), 1);
  EXPECT_EQ(auth.validator().stats().introspections, 1u);
  EXPECT_EQ(second.principal.get(), first.principal.get());
  EXPECT_EQ(second.principal->subject, "bob");
  ASSERT_NE(auth.cache(), nullptr);
  EXPECT_EQ(auth.cache()->stats().entries, 1u);
  EXPECT_GE(auth.cache()->stats().hits, 1u);
}

TEST_F(AuthenticatorTest, CachedTokenIsAskedForAgainAfterItsExp) {
  issuer_.set_active("opaque-token", active_response());  // exp = now + 600
  Authenticator auth(opaque_validator(), std::make_shared<ClaimsCache>());
  ASSERT_TRUE(auth.authenticate("opaque-token").ok());
  advance(601);
  (void)auth.authenticate("opaque-token");
  EXPECT_EQ(issuer_.introspection_requests(), 2);
}

TEST_F(AuthenticatorTest, MaxCacheSecondsBoundsHowLongAnAnswerIsTrusted) {
  issuer_.set_active("opaque-token", active_response());  // exp = now + 600
  Authenticator auth(opaque_validator(), std::make_shared<ClaimsCache>(), {}, 60);
  ASSERT_TRUE(auth.authenticate("opaque-token").ok());
  advance(59);
  ASSERT_TRUE(auth.authenticate("opaque-token").ok());
  EXPECT_EQ(issuer_.introspection_requests(), 1);
  // Revoked at the issuer meanwhile: noticed once the 60 s are up, long before exp.
  issuer_.set_inactive("opaque-token");
  advance(1);
  const Validation v = auth.authenticate("opaque-token");
  EXPECT_EQ(issuer_.introspection_requests(), 2);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kInactive);
}

TEST_F(AuthenticatorTest, ProviderThatThrowsIsUnavailableAndNothingIsCached) {
  issuer_.set_active("opaque-token", active_response());
  auto cache = std::make_shared<ClaimsCache>();
  Authenticator auth(opaque_validator(), cache, [](const Principal&) -> Json {
    throw std::runtime_error("tenant database down");
  });
  const Validation v = auth.authenticate("opaque-token");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kUnavailable);
  EXPECT_EQ(cache->stats().entries, 0u);
}

TEST_F(AuthenticatorTest, ProviderIsCalledOncePerTokenAndItsClaimsLandInDomainClaims) {
  issuer_.set_active("token-a", active_response());
  Json other = active_response();
  other["sub"] = "dave";
  issuer_.set_active("token-b", other);
  auto calls = std::make_shared<std::atomic<int>>(0);
  ClaimsProvider provider = [calls](const Principal& p) {
    calls->fetch_add(1);
    return Json{{"tenant", p.subject + "-tenant"}, {"roles", Json::array({"admin"})}};
  };
  Authenticator auth(opaque_validator(), std::make_shared<ClaimsCache>(), provider);

  for (int i = 0; i < 3; ++i) {
    const Validation a = auth.authenticate("token-a");
    ASSERT_TRUE(a.ok()) << describe(a);
    EXPECT_EQ(a.principal->domain_claims["tenant"], "bob-tenant");
    EXPECT_EQ(a.principal->domain_claims["roles"], Json::array({"admin"}));
  }
  EXPECT_EQ(calls->load(), 1);
  const Validation b = auth.authenticate("token-b");
  ASSERT_TRUE(b.ok()) << describe(b);
  EXPECT_EQ(b.principal->domain_claims["tenant"], "dave-tenant");
  EXPECT_EQ(calls->load(), 2);
  EXPECT_EQ(issuer_.introspection_requests(), 2);
}

TEST_F(AuthenticatorTest, ProviderClaimsAlsoLandForJwts) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  Authenticator auth(std::make_shared<const Validator>(options()), std::make_shared<ClaimsCache>(),
                     [calls](const Principal& p) {
                       calls->fetch_add(1);
                       return Json{{"user", p.subject}};
                     });
  const std::string t = token();
  ASSERT_TRUE(auth.authenticate(t).ok());
  const Validation v = auth.authenticate(t);
  ASSERT_TRUE(v.ok()) << describe(v);
  EXPECT_EQ(v.principal->domain_claims, (Json{{"user", "alice"}}));
  EXPECT_EQ(calls->load(), 1);
}

TEST_F(AuthenticatorTest, InactiveTokensAreNotCached) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  Authenticator auth(opaque_validator(), std::make_shared<ClaimsCache>(),
                     [calls](const Principal&) {
                       calls->fetch_add(1);
                       return Json::object();
                     });
  for (int i = 0; i < 2; ++i) {
    const Validation v = auth.authenticate("revoked-token");
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error.failure, Failure::kInactive) << describe(v);
  }
  EXPECT_EQ(issuer_.introspection_requests(), 2);
  EXPECT_EQ(auth.cache()->stats().entries, 0u);
  EXPECT_EQ(calls->load(), 0);
}

TEST_F(AuthenticatorTest, WithoutACacheEveryCallValidates) {
  issuer_.set_active("opaque-token", active_response());
  Authenticator auth(opaque_validator(), nullptr);
  EXPECT_TRUE(auth.authenticate("opaque-token").ok());
  EXPECT_TRUE(auth.authenticate("opaque-token").ok());
  EXPECT_EQ(issuer_.introspection_requests(), 2);
  EXPECT_EQ(auth.cache(), nullptr);
}

TEST_F(AuthenticatorTest, AuthenticateHeaderMapsMissingAndMalformed) {
  issuer_.set_active("opaque-token", active_response());
  Authenticator auth(opaque_validator(), std::make_shared<ClaimsCache>());

  const Validation none = auth.authenticate_header(std::nullopt);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error.failure, Failure::kMissing);
  EXPECT_EQ(challenge_for(kRealm, none.error).status, 401);

  const Validation basic = auth.authenticate_header("Basic dXNlcjpwYXNz");
  ASSERT_FALSE(basic.ok());
  EXPECT_EQ(basic.error.failure, Failure::kMissing);

  for (const char* malformed : {"Bearer", "Bearer a b"}) {
    const Validation v = auth.authenticate_header(malformed);
    ASSERT_FALSE(v.ok()) << malformed;
    EXPECT_EQ(v.error.failure, Failure::kInvalidRequest) << malformed;
    EXPECT_EQ(challenge_for(kRealm, v.error).status, 400);
  }
  EXPECT_EQ(issuer_.introspection_requests(), 0);

  const Validation ok = auth.authenticate_header("bearer opaque-token");
  ASSERT_TRUE(ok.ok()) << describe(ok);
  EXPECT_EQ(ok.principal->subject, "bob");
  EXPECT_EQ(issuer_.introspection_requests(), 1);
}

TEST_F(AuthenticatorTest, MalformedJwtInTheHeaderIsMalformed) {
  Authenticator auth(std::make_shared<const Validator>(options()), std::make_shared<ClaimsCache>());
  const Validation v = auth.authenticate_header("Bearer not-a-jwt");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kMalformed) << describe(v);
  EXPECT_EQ(challenge_for(kRealm, v.error).status, 401);
}

// ---------------------------------------------------------------------------------------------
// RFC 9701 signed introspection responses: asked for by a phantom-token gateway, and accepted
// from a trusted gateway by the API behind it.

class SignedIntrospectionTest : public ValidatorTest {
 protected:
  SignedIntrospectionTest() {
    issuer_.set_active("opaque-token", active_response());
    issuer_.sign_introspection(es256_, now());
  }
  ValidatorOptions gateway_options() const {
    ValidatorOptions o = opaque_options();
    o.introspection_jwt = true;
    return o;
  }
  ValidatorOptions api_options(std::vector<std::string> trusted) const {
    ValidatorOptions o = options();
    o.introspection_jwt_audiences = std::move(trusted);
    return o;
  }
  // What the introspection endpoint answers for an active token (RFC 7662 §2.2).
  Json active_answer() const {
    Json a = active_response();
    a["active"] = true;
    return a;
  }
  // A response signed as the issuer would sign it for `gateway`, around `introspection`.
  std::string signed_response(const Json& introspection, const std::string& gateway) const {
    return sign_token({{"iss", issuer_.url()},
                       {"aud", gateway},
                       {"iat", now()},
                       {"token_introspection", introspection}},
                      es256_, Alg::kES256, "token-introspection+jwt");
  }
};

TEST_F(SignedIntrospectionTest, GatewayVerifiesTheSignedAnswerAndKeepsIt) {
  Validator validator(gateway_options());
  const Validation v = validator.validate("opaque-token");
  ASSERT_TRUE(v.ok()) << describe(v);
  EXPECT_EQ(v.principal->subject, "bob");
  ASSERT_FALSE(v.principal->signed_introspection.empty());
  auto decoded = jose::decode_unverified(v.principal->signed_introspection, 16384);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->header["typ"], "token-introspection+jwt");
  EXPECT_EQ(Json::parse(decoded->payload)["token_introspection"]["sub"], "bob");
  // A plain introspection validator neither asks for nor keeps the signed form.
  Validator plain(opaque_options());
  const Validation p = plain.validate("opaque-token");
  ASSERT_TRUE(p.ok()) << describe(p);
  EXPECT_TRUE(p.principal->signed_introspection.empty());
}

TEST_F(SignedIntrospectionTest, GatewayRefusesAnAnswerSignedByAnUnknownKey) {
  issuer_.sign_introspection(make_key(Alg::kES256, "rogue"), now());
  Validator validator(gateway_options());
  const Validation v = validator.validate("opaque-token");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kUnavailable) << describe(v);
}

TEST_F(SignedIntrospectionTest, GatewaySeesSignedInactiveAnswersAsInactive) {
  issuer_.set_inactive("opaque-token");
  Validator validator(gateway_options());
  const Validation v = validator.validate("opaque-token");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, Failure::kInactive) << describe(v);
}

TEST_F(SignedIntrospectionTest, SignedAnswersNeedIntrospection) {
  ValidatorOptions o = options();  // JWT only
  o.introspection_jwt = true;
  EXPECT_THROW(Validator{o}, std::invalid_argument);
}

TEST_F(SignedIntrospectionTest, ApiAcceptsWhatATrustedGatewayForwards) {
  Validator gateway(gateway_options());
  const Validation g = gateway.validate("opaque-token");
  ASSERT_TRUE(g.ok()) << describe(g);
  Validator api(api_options({issuer_.client_id()}));
  const Validation v = api.validate(g.principal->signed_introspection);
  ASSERT_TRUE(v.ok()) << describe(v);
  EXPECT_EQ(v.principal->subject, "bob");
  EXPECT_EQ(v.principal->client_id, "service");
  EXPECT_TRUE(v.principal->has_scope("reports:read"));
  // Ordinary JWT access tokens still pass the same validator.
  EXPECT_TRUE(api.validate(token()).ok());
}

TEST_F(SignedIntrospectionTest, ApiRefusesForwardedAnswersUnlessConfigured) {
  const std::string forwarded = signed_response(active_answer(), issuer_.client_id());
  const Validation none = Validator(options()).validate(forwarded);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error.failure, Failure::kWrongType) << describe(none);
  const Validation other = Validator(api_options({"another-gateway"})).validate(forwarded);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error.failure, Failure::kWrongAudience) << describe(other);
}

TEST_F(SignedIntrospectionTest, ApiChecksTheForwardedAnswerLikeAnIntrospection) {
  Validator api(api_options({issuer_.client_id()}));
  Json inactive = {{"active", false}};
  EXPECT_EQ(api.validate(signed_response(inactive, issuer_.client_id())).error.failure,
            Failure::kInactive);
  Json elsewhere = active_answer();
  elsewhere["aud"] = "https://other.example.com";
  EXPECT_EQ(api.validate(signed_response(elsewhere, issuer_.client_id())).error.failure,
            Failure::kWrongAudience);
  Json expired = active_answer();
  expired["exp"] = now() - 3600;
  EXPECT_EQ(api.validate(signed_response(expired, issuer_.client_id())).error.failure,
            Failure::kExpired);
  // An access token's claims signed with the introspection typ are not an answer.
  EXPECT_FALSE(
      api.validate(sign_token(claims(), es256_, Alg::kES256, "token-introspection+jwt")).ok());
}

TEST_F(SignedIntrospectionTest, ApiRefusesStaleForwardedAnswers) {
  ValidatorOptions o = api_options({issuer_.client_id()});
  o.introspection_jwt_max_age_seconds = 120;
  Validator api(o);
  const std::string forwarded = signed_response(active_answer(), issuer_.client_id());
  advance(120 + o.leeway_seconds);
  EXPECT_TRUE(api.validate(forwarded).ok());
  advance(1);
  EXPECT_EQ(api.validate(forwarded).error.failure, Failure::kExpired);
}

}  // namespace
}  // namespace tessera::resource
