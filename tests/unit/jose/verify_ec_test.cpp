// ECDSA: ES256/384/512 (RFC 7518 §3.4), signatures as fixed-size R || S.
#include "test_keys.h"

namespace tessera::jose {
namespace {

using testing::verify_status;

struct Case {
  Alg alg;
  const Jwk& (*key)();
  size_t sig_len;
};
const Case kCases[] = {{Alg::kES256, testing::p256_key, 64},
                       {Alg::kES384, testing::p384_key, 96},
                       {Alg::kES512, testing::p521_key, 132}};

std::string sig_of(const std::string& token) {
  return *base64url::decode(token.substr(token.rfind('.') + 1));
}
std::string input_of(const std::string& token) { return token.substr(0, token.rfind('.')); }

TEST(VerifyEc, EveryCurveSignsFixedLengthSignaturesThatVerify) {
  for (const Case& c : kCases) {
    auto token = sign("hello", c.key(), c.alg);
    ASSERT_TRUE(token.ok()) << to_string(c.alg);
    EXPECT_EQ(sig_of(*token).size(), c.sig_len) << to_string(c.alg);
    auto v = verify(*token, c.key().public_key(), testing::only(c.alg));
    ASSERT_TRUE(v.ok()) << to_string(c.alg) << ": " << to_string(v.error());
    EXPECT_EQ(v->payload, "hello");
  }
}

TEST(VerifyEc, KeyOnAnotherCurveIsAnAlgMismatch) {
  auto token = sign("x", testing::p256_key(), Alg::kES256);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(verify_status(*token, testing::p384_key().public_key()), Status::kAlgKeyMismatch);
}

TEST(VerifyEc, TamperedSignatureIsInvalid) {
  auto token = sign("x", testing::p256_key(), Alg::kES256);
  ASSERT_TRUE(token.ok());
  std::string sig = sig_of(*token);
  sig[10] ^= 0x01;
  EXPECT_EQ(internal::verify_signature(testing::p256_key(), Alg::kES256, input_of(*token), sig),
            Status::kSignatureInvalid);
}

TEST(VerifyEc, DerEncodedSignatureIsRejected) {
  // RFC 7518 §3.4: JWS carries R || S, never ASN.1 DER.
  auto token = sign("x", testing::p256_key(), Alg::kES256);
  ASSERT_TRUE(token.ok());
  std::string der = internal::p1363_to_der(sig_of(*token));
  EXPECT_EQ(internal::verify_signature(testing::p256_key(), Alg::kES256, input_of(*token), der),
            Status::kSignatureBadLength);
}

TEST(VerifyEc, P1363AndDerConvertBackAndForth) {
  for (const Case& c : kCases) {
    auto token = sign("round trip", c.key(), c.alg);
    ASSERT_TRUE(token.ok());
    std::string p1363 = sig_of(*token);
    std::string der = internal::p1363_to_der(p1363);
    std::string back;
    ASSERT_TRUE(internal::der_to_p1363(reinterpret_cast<const unsigned char*>(der.data()),
                                       der.size(), c.sig_len / 2, back));
    EXPECT_EQ(back, p1363) << to_string(c.alg);
  }
}

TEST(VerifyEc, SignaturesDifferButBothVerify) {
  // ECDSA is randomized: two signatures of one input differ, both verify.
  auto a = sign("same", testing::p256_key(), Alg::kES256);
  auto b = sign("same", testing::p256_key(), Alg::kES256);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(verify_status(*a, testing::p256_key()), Status::kOk);
  EXPECT_EQ(verify_status(*b, testing::p256_key()), Status::kOk);
}

}  // namespace
}  // namespace tessera::jose
