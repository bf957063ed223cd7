// HMAC: HS256/384/512 (RFC 7518 §3.2).
#include "test_keys.h"

namespace tessera::jose {
namespace {

using testing::verify_status;

TEST(VerifyHmac, EveryHsAlgSignsAndVerifies) {
  for (Alg a : {Alg::kHS256, Alg::kHS384, Alg::kHS512}) {
    auto key = Jwk::generate(a);
    ASSERT_TRUE(key.ok());
    auto token = sign("hello", *key, a);
    ASSERT_TRUE(token.ok()) << to_string(a);
    auto v = verify(*token, *key, testing::only(a));
    ASSERT_TRUE(v.ok()) << to_string(a) << ": " << to_string(v.error());
    EXPECT_EQ(v->payload, "hello");
    EXPECT_EQ(v->kid, key->kid());
  }
}

TEST(VerifyHmac, AnotherSecretDoesNotVerify) {
  Jwk a = Jwk::from_secret(std::string(32, 'a'));
  Jwk b = Jwk::from_secret(std::string(32, 'b'));
  auto token = sign("x", a, Alg::kHS256);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(verify_status(*token, b), Status::kSignatureInvalid);
}

TEST(VerifyHmac, KeyShorterThanTheHashIsTooSmallForSignAndVerify) {
  // RFC 7518 §3.2: a key of the hash size or larger MUST be used.
  Jwk short_key = Jwk::from_secret(std::string(31, 'k'));
  auto r = sign("x", short_key, Alg::kHS256);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Status::kKeyTooSmall);
  Jwk ok_for_256 = Jwk::from_secret(std::string(32, 'k'));
  auto token = sign("x", ok_for_256, Alg::kHS256);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(verify_status(*token, short_key), Status::kKeyTooSmall);
  EXPECT_FALSE(sign("x", ok_for_256, Alg::kHS512).ok());
}

TEST(VerifyHmac, TruncatedMacIsRejected) {
  Jwk key = Jwk::from_secret(std::string(32, 'k'));
  std::string input = "eyJhbGciOiJIUzI1NiJ9.eA";
  auto sig = internal::create_signature(key, Alg::kHS256, input);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(internal::verify_signature(key, Alg::kHS256, input, *sig), Status::kOk);
  EXPECT_EQ(internal::verify_signature(key, Alg::kHS256, input, sig->substr(0, 16)),
            Status::kSignatureBadLength);
}

TEST(VerifyHmac, HmacKeyCannotVerifyAsymmetricAlgs) {
  Jwk key = Jwk::from_secret(std::string(64, 'k'));
  for (Alg a : {Alg::kRS256, Alg::kPS256, Alg::kES256, Alg::kEdDSA}) EXPECT_FALSE(key.allows(a));
  EXPECT_TRUE(key.allows(Alg::kHS512));
}

}  // namespace
}  // namespace tessera::jose
