#include "resource/principal_codec.h"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace tessera::resource::detail {
namespace {

using Json = nlohmann::json;

// As the validator builds it from an RFC 9068 access token: the typed fields and the claims agree.
Principal access_token_principal() {
  Principal p;
  p.issuer = "https://as.tessera.example";
  p.subject = "5f8a1c2e-7b3d-4e9a-9c1f-100000000001";
  p.client_id = "spa-web";
  p.scopes = {"invoices:read", "invoices:write", "profile"};
  p.audiences = {"https://api.tessera.example/invoices"};
  p.token_id = "b3c1e9d2-4f6a-4b8c-9d0e-200000000001";
  p.issued_at = 1'700'000'000;
  p.expires_at = 1'700'003'600;
  p.auth_time = 1'699'999'000;
  p.acr = "urn:mace:incommon:iap:silver";
  p.amr = {"pwd", "otp"};
  p.claims = Json::parse(R"({"iss":"https://as.tessera.example",
      "sub":"5f8a1c2e-7b3d-4e9a-9c1f-100000000001","aud":["https://api.tessera.example/invoices"],
      "client_id":"spa-web","scope":"invoices:read invoices:write profile",
      "jti":"b3c1e9d2-4f6a-4b8c-9d0e-200000000001","iat":1700000000,"exp":1700003600,
      "auth_time":1699999000,"acr":"urn:mace:incommon:iap:silver","amr":["pwd","otp"]})");
  return p;
}

void expect_round_trip(const Principal& p) {
  const EncodedPrincipal e = encode_principal(p);
  const Principal back = decode_principal(e.shared, e.own);
  EXPECT_EQ(back, p);
  // Equal as JSON is not enough: the claims must print the same (types kept).
  EXPECT_EQ(back.claims.json().dump(), p.claims.json().dump());
  EXPECT_EQ(back.domain_claims.dump(), p.domain_claims.dump());
}

TEST(PrincipalCodec, AnAccessTokenRoundTripsAndItsRegisteredClaimsAreNotStoredTwice) {
  const Principal p = access_token_principal();
  expect_round_trip(p);
  const EncodedPrincipal e = encode_principal(p);
  // The own part holds the subject and jti once each, the rest as flags and numbers; both parts
  // together are well under the claims as JSON text, and the typed fields are not stored twice.
  EXPECT_EQ(e.own.find("https://as.tessera.example"), std::string::npos);
  EXPECT_EQ(e.own.find("invoices:read"), std::string::npos);
  EXPECT_EQ(e.shared.find("https://as.tessera.example"),
            e.shared.rfind("https://as.tessera.example"));
  EXPECT_LT(e.own.size(), 110U);
  EXPECT_LT(e.own.size() + e.shared.size(), p.claims.json().dump().size() * 3 / 4);
}

TEST(PrincipalCodec, TokensOfOneClientShareTheirSharedPart) {
  Principal a = access_token_principal();
  Principal b = access_token_principal();
  b.subject = b.claims.mutable_json()["sub"] = "someone-else";
  b.token_id = b.claims.mutable_json()["jti"] = "another-jti";
  EXPECT_EQ(encode_principal(a).shared, encode_principal(b).shared);
  EXPECT_NE(encode_principal(a).own, encode_principal(b).own);
  b.scopes.pop_back();
  b.claims.mutable_json()["scope"] = "invoices:read invoices:write";
  EXPECT_NE(encode_principal(a).shared, encode_principal(b).shared);
  expect_round_trip(b);
}

TEST(PrincipalCodec, ClaimsThatDisagreeWithTheTypedFieldsAreKeptAsTheyAre) {
  Principal p = access_token_principal();
  p.claims.mutable_json()["iss"] = "https://elsewhere.example";  // differs from p.issuer
  p.claims.mutable_json()["scope"] =
      "invoices:read  invoices:write";  // two spaces: not join(scopes)
  p.claims.mutable_json()["aud"] =
      "https://api.tessera.example/invoices";        // a single string (RFC 7519 §4.1.3)
  p.claims.mutable_json()["exp"] = 1'700'003'600.0;  // a float, not an integer
  p.claims.mutable_json()["iat"] = -5;               // negative: a signed integer
  p.issued_at = -5;
  p.claims.mutable_json()["auth_time"] = nullptr;
  p.auth_time.reset();
  expect_round_trip(p);
  EXPECT_TRUE(decode_principal(encode_principal(p).shared, encode_principal(p).own)
                  .claims.find("exp")
                  ->is_number_float());
}

TEST(PrincipalCodec, EveryFieldRoundTrips) {
  Principal p = access_token_principal();
  p.actors = {{"api-a", "invoices-api"}, {"api-b", ""}};
  p.claims.mutable_json()["act"] = {
      {"sub", "api-a"}, {"client_id", "invoices-api"}, {"act", {{"sub", "api-b"}}}};
  p.dpop_jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
  p.certificate_thumbprint = "A4DtL2JmUMhAsvJj5tKyn64SqzmuXbMrJa0n761y5v0";
  p.claims.mutable_json()["cnf"] = {{"jkt", p.dpop_jkt}};
  p.signed_introspection = std::string(3000, 'j');
  p.domain_claims = {{"tenant", "acme"}, {"roles", {"accountant", "viewer"}}, {"level", 3}};
  p.claims.mutable_json()["custom"] = {{"nested", {1, 2.5, "x", true, nullptr}},
                                       {"big", 18446744073709551615ULL}};
  expect_round_trip(p);

  p.expires_at = std::numeric_limits<int64_t>::max();
  p.claims.mutable_json()["exp"] = p.expires_at;
  p.issued_at = std::numeric_limits<int64_t>::min();
  p.claims.mutable_json()["iat"] = p.issued_at;
  expect_round_trip(p);
}

TEST(PrincipalCodec, EmptyAndUnusualPrincipalsRoundTrip) {
  expect_round_trip(Principal{});
  Principal p;
  p.claims = Json(nullptr);  // not an object: stored whole
  p.domain_claims = Json::array({1, 2});
  expect_round_trip(p);
  Principal q;
  q.audiences = {"a", "b"};
  q.claims = {{"aud", {"a", "b"}}, {"sub", ""}};
  expect_round_trip(q);
  Principal utf8;
  utf8.subject = "Zoë \xF0\x9F\x94\x91";
  utf8.claims = {{"sub", utf8.subject}, {"name", "\xE6\x97\xA5\xE6\x9C\xAC"}};
  expect_round_trip(utf8);
}

TEST(PrincipalCodec, TruncatedOrCorruptedBytesThrowAndNeverReadPastTheBuffer) {
  Principal p = access_token_principal();
  p.domain_claims = {{"tenant", "acme"}};
  const EncodedPrincipal e = encode_principal(p);
  for (size_t n = 0; n < e.own.size(); ++n) {
    EXPECT_THROW(decode_principal(e.shared, std::string_view(e.own).substr(0, n)),
                 std::runtime_error)
        << "own cut at " << n;
  }
  for (size_t n = 0; n < e.shared.size(); ++n) {
    EXPECT_THROW(decode_principal(std::string_view(e.shared).substr(0, n), e.own),
                 std::runtime_error)
        << "shared cut at " << n;
  }
  EXPECT_THROW(decode_principal(e.shared, e.own + "x"), std::runtime_error);
  // A length that claims more than there is.
  std::string bad = e.own;
  const size_t subject_length = e.own.find(p.subject) - 1;
  ASSERT_EQ(static_cast<size_t>(bad[subject_length]), p.subject.size());
  bad[subject_length] = static_cast<char>(0x7f);
  EXPECT_THROW(decode_principal(e.shared, bad), std::runtime_error);
}

}  // namespace
}  // namespace tessera::resource::detail
