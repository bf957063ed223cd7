// RSA: RS256/384/512 (RFC 7518 §3.3) and PS256/384/512 (§3.5).
#include <thread>

#include "test_keys.h"

namespace tessera::jose {
namespace {

using testing::rsa_key;
using testing::verify_status;

constexpr Alg kRsaAlgs[] = {Alg::kRS256, Alg::kRS384, Alg::kRS512,
                            Alg::kPS256, Alg::kPS384, Alg::kPS512};

TEST(VerifyRsa, EveryRsaAlgSignsAndVerifiesWithThePublicKey) {
  for (Alg a : kRsaAlgs) {
    auto token = sign("hello", rsa_key(), a);
    ASSERT_TRUE(token.ok()) << to_string(a);
    auto v = verify(*token, rsa_key().public_key(), testing::only(a));
    ASSERT_TRUE(v.ok()) << to_string(a) << ": " << to_string(v.error());
    EXPECT_EQ(v->payload, "hello");
    EXPECT_EQ(v->alg, a);
    EXPECT_EQ(v->header["alg"], to_string(a));
  }
}

TEST(VerifyRsa, TamperedPayloadFailsTheSignature) {
  auto token = sign(R"({"sub":"alice"})", rsa_key(), Alg::kRS256);
  ASSERT_TRUE(token.ok());
  size_t d1 = token->find('.');
  size_t d2 = token->find('.', d1 + 1);
  std::string forged =
      token->substr(0, d1 + 1) + testing::b64(R"({"sub":"admin"})") + token->substr(d2);
  EXPECT_EQ(verify_status(forged, rsa_key().public_key()), Status::kSignatureInvalid);
}

TEST(VerifyRsa, AnotherRsaKeyDoesNotVerify) {
  auto other = Jwk::generate(Alg::kRS256);
  ASSERT_TRUE(other.ok());
  auto token = sign("x", rsa_key(), Alg::kRS256);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(verify_status(*token, other->public_key()), Status::kSignatureInvalid);
}

TEST(VerifyRsa, SignatureShorterThanTheModulusIsRejectedBeforeOpenSsl) {
  auto token = sign("x", rsa_key(), Alg::kPS256);
  ASSERT_TRUE(token.ok());
  std::string sig = *base64url::decode(token->substr(token->rfind('.') + 1));
  std::string input = token->substr(0, token->rfind('.'));
  EXPECT_EQ(internal::verify_signature(rsa_key(), Alg::kPS256, input, sig.substr(1)),
            Status::kSignatureBadLength);
  EXPECT_EQ(internal::verify_signature(rsa_key(), Alg::kPS256, input, sig + '\0'),
            Status::kSignatureBadLength);
}

TEST(VerifyRsa, Pkcs1SignatureDoesNotVerifyAsPssOrWithAnotherHash) {
  std::string input = "eyJhbGciOiJSUzI1NiJ9.eA";
  auto sig = internal::create_signature(rsa_key(), Alg::kRS256, input);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(internal::verify_signature(rsa_key(), Alg::kRS256, input, *sig), Status::kOk);
  EXPECT_EQ(internal::verify_signature(rsa_key(), Alg::kPS256, input, *sig),
            Status::kSignatureInvalid);
  EXPECT_EQ(internal::verify_signature(rsa_key(), Alg::kRS384, input, *sig),
            Status::kSignatureInvalid);
}

TEST(VerifyRsa, PublicKeyCannotSign) {
  auto r = sign("x", rsa_key().public_key(), Alg::kRS256);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Status::kKeyNotPrivate);
}

TEST(VerifyRsa, KeyPinnedToRs256RefusesPs256) {
  Jwk pinned = rsa_key().with_alg(Alg::kRS256);
  auto token = sign("x", rsa_key(), Alg::kPS256);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(verify_status(*token, pinned), Status::kAlgKeyMismatch);
}

TEST(VerifyRsa, ConcurrentVerifiersWithOneKeyAllSucceed) {
  // The per-key context pool is shared by threads; results must stay correct.
  Jwk pub = rsa_key().public_key();
  auto good = sign("payload", rsa_key(), Alg::kRS256);
  ASSERT_TRUE(good.ok());
  std::string bad = *good;
  bad[bad.size() - 2] = bad[bad.size() - 2] == 'A' ? 'B' : 'A';
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (verify_status(*good, pub) != Status::kOk) ++wrong;
        if (verify_status(bad, pub) == Status::kOk) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace tessera::jose
