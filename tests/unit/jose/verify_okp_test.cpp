// EdDSA with Ed25519 (RFC 8037 §3.1).
#include "test_keys.h"

namespace tessera::jose {
namespace {

using testing::ed_key;
using testing::verify_status;

TEST(VerifyOkp, Ed25519SignsDeterministicallyAndVerifies) {
  auto a = sign("hello", ed_key(), Alg::kEdDSA);
  auto b = sign("hello", ed_key(), Alg::kEdDSA);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);  // RFC 8032 §5.1.6: no per-signature randomness
  auto v = verify(*a, ed_key().public_key(), testing::only(Alg::kEdDSA));
  ASSERT_TRUE(v.ok()) << to_string(v.error());
  EXPECT_EQ(v->payload, "hello");
}

// RFC 9864 §2.2: "Ed25519" is the fully-specified name; the signature is EdDSA's, the header
// says which name was used, and each name is allowed on its own.
TEST(VerifyOkp, FullySpecifiedEd25519NameSignsAndVerifies) {
  EXPECT_EQ(alg_from_string("Ed25519"), Alg::kEd25519);
  EXPECT_EQ(std::string(to_string(Alg::kEd25519)), "Ed25519");
  auto named = sign("hello", ed_key(), Alg::kEd25519);
  auto eddsa = sign("hello", ed_key(), Alg::kEdDSA);
  ASSERT_TRUE(named.ok() && eddsa.ok());
  auto header = decode_unverified(*named);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->header["alg"], "Ed25519");
  EXPECT_TRUE(verify(*named, ed_key().public_key(), testing::only(Alg::kEd25519)).ok());
  EXPECT_FALSE(verify(*named, ed_key().public_key(), testing::only(Alg::kEdDSA)).ok());
  EXPECT_FALSE(verify(*eddsa, ed_key().public_key(), testing::only(Alg::kEd25519)).ok());
}

TEST(VerifyOkp, RepeatedVerifiesOnOneKeyKeepGivingTheRightAnswer) {
  // The verify context is reused across calls; a stale state would show here.
  auto good = sign("hello", ed_key(), Alg::kEdDSA);
  ASSERT_TRUE(good.ok());
  std::string bad = *good;
  bad[bad.size() - 5] = bad[bad.size() - 5] == 'A' ? 'B' : 'A';
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(verify_status(*good, ed_key()), Status::kOk);
    EXPECT_EQ(verify_status(bad, ed_key()), Status::kSignatureInvalid);
  }
}

TEST(VerifyOkp, SignatureOfWrongLengthIsRejected) {
  std::string input = "eyJhbGciOiJFZERTQSJ9.eA";
  auto sig = internal::create_signature(ed_key(), Alg::kEdDSA, input);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(internal::verify_signature(ed_key(), Alg::kEdDSA, input, sig->substr(0, 63)),
            Status::kSignatureBadLength);
  EXPECT_EQ(internal::verify_signature(ed_key(), Alg::kEdDSA, input, *sig + "x"),
            Status::kSignatureBadLength);
}

TEST(VerifyOkp, EdDsaTokenWithAnEcKeyIsAnAlgMismatch) {
  auto token = sign("x", ed_key(), Alg::kEdDSA);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(verify_status(*token, testing::p256_key()), Status::kAlgKeyMismatch);
}

TEST(VerifyOkp, UnsupportedOkpCurvesAreRefused) {
  for (const char* crv : {"Ed448", "X25519", "X448"}) {
    Json j = {{"kty", "OKP"}, {"crv", crv}, {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}};
    auto k = Jwk::from_json(j);
    ASSERT_FALSE(k.ok()) << crv;
    EXPECT_EQ(k.error(), Status::kKeyUnsupported) << crv;
  }
}

}  // namespace
}  // namespace tessera::jose
