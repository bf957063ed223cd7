// RFC 8725 (JWT BCP) defences, one test each: every hostile token here is
// otherwise valid (signed by the right key) so only the defence can stop it.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <set>

#include "test_keys.h"

namespace tessera::jose {
namespace {

using testing::b64;
using testing::signed_with_header;
using testing::verify_status;

constexpr const char* kPayload = R"({"sub":"alice"})";

// RFC 8725 §2.1 / §3.1: the classic RS256 -> HS256 confusion. An attacker
// MACs a token with the RSA public key's bytes as the secret; a verifier that
// let the header pick the algorithm would check it with that same public key.
TEST(Defences, HmacVerifyWithRsaPublicKeyIsImpossible) {
  Jwk pub = testing::rsa_key().public_key();
  for (const std::string& secret : {pub.to_json().dump(), pub.to_json()["n"].get<std::string>()}) {
    Jwk attacker = Jwk::from_secret(secret);
    std::string token = signed_with_header(R"({"alg":"HS256"})", kPayload, attacker, Alg::kHS256);
    EXPECT_EQ(verify_status(token, pub), Status::kAlgKeyMismatch);
    EXPECT_FALSE(pub.allows(Alg::kHS256));
    EXPECT_EQ(internal::verify_signature(pub, Alg::kHS256, "a.b", "sig"), Status::kAlgKeyMismatch);
    Jwks set;
    set.add(pub);
    auto r = verify(token, set);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Status::kKidNotFound);  // no key in the set may verify HS256
  }
}

TEST(Defences, AlgNoneIsRejectedInEverySpelling) {
  Jwk key = Jwk::from_secret(std::string(32, 'k'));
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    std::string token = b64(std::string(R"({"alg":")") + alg + "\"}") + "." + b64(kPayload) + ".";
    EXPECT_EQ(verify_status(token, key), Status::kAlgNone) << alg;
  }
  EXPECT_FALSE(alg_from_string("none").has_value());
}

TEST(Defences, AlgOutsideTheAllowListIsRejected) {
  std::string token =
      signed_with_header(R"({"alg":"ES256"})", kPayload, testing::p256_key(), Alg::kES256);
  EXPECT_EQ(verify_status(token, testing::p256_key(), testing::only(Alg::kRS256)),
            Status::kAlgNotAllowed);
  EXPECT_EQ(verify_status(token, testing::p256_key(), testing::only(Alg::kES256)), Status::kOk);
}

TEST(Defences, KeyPinnedToOneAlgRefusesAnother) {
  Jwk pinned = testing::rsa_key().with_alg(Alg::kPS256);
  std::string token =
      signed_with_header(R"({"alg":"RS256"})", kPayload, testing::rsa_key(), Alg::kRS256);
  EXPECT_EQ(verify_status(token, pinned), Status::kAlgKeyMismatch);
}

TEST(Defences, UnknownAlgIsRejected) {
  std::string token = b64(R"({"alg":"HS1"})") + "." + b64(kPayload) + "." + b64("sig");
  EXPECT_EQ(verify_status(token, testing::p256_key()), Status::kAlgUnknown);
  token = b64(R"({"alg":["ES256"]})") + "." + b64(kPayload) + "." + b64("sig");
  EXPECT_EQ(verify_status(token, testing::p256_key()), Status::kAlgUnknown);
  token = b64(R"({"typ":"JWT"})") + "." + b64(kPayload) + "." + b64("sig");
  EXPECT_EQ(verify_status(token, testing::p256_key()), Status::kAlgMissing);
}

// RFC 8725 §3.10, RFC 7515 §10.3: keys supplied by the token are never trusted,
// even when the token is validly signed by the verifier's own key.
TEST(Defences, EmbeddedKeyHeadersAreRejected) {
  Json jwk = testing::p256_key().to_json();
  const std::string headers[] = {
      R"({"alg":"ES256","jwk":)" + jwk.dump() + "}",
      R"({"alg":"ES256","jku":"https://evil.example/jwks"})",
      R"({"alg":"ES256","x5u":"https://evil.example/cert.pem"})",
      R"({"alg":"ES256","x5c":["MIIB"]})",
  };
  for (const auto& h : headers) {
    std::string token = signed_with_header(h, kPayload, testing::p256_key(), Alg::kES256);
    EXPECT_EQ(verify_status(token, testing::p256_key()), Status::kEmbeddedKeyRejected) << h;
    Jwks set;
    set.add(testing::p256_key());
    auto r = verify(token, set);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Status::kEmbeddedKeyRejected);
  }
}

TEST(Defences, DpopJwkHeaderOptionStillRejectsKeyUrls) {
  VerifyOptions dpop;
  dpop.accept_jwk_header = true;
  Json jwk = testing::p256_key().to_json();
  std::string with_jwk =
      signed_with_header(R"({"alg":"ES256","typ":"dpop+jwt","jwk":)" + jwk.dump() + "}", kPayload,
                         testing::p256_key(), Alg::kES256);
  EXPECT_EQ(verify_status(with_jwk, testing::p256_key(), dpop), Status::kOk);
  // The same header again without the option: the per-thread header memo
  // must not carry the earlier acceptance over.
  EXPECT_EQ(verify_status(with_jwk, testing::p256_key()), Status::kEmbeddedKeyRejected);
  std::string with_jku = signed_with_header(R"({"alg":"ES256","jku":"https://evil.example"})",
                                            kPayload, testing::p256_key(), Alg::kES256);
  EXPECT_EQ(verify_status(with_jku, testing::p256_key(), dpop), Status::kEmbeddedKeyRejected);
}

// RFC 7515 §4.1.11.
TEST(Defences, UnknownCritExtensionIsRejected) {
  std::string token = signed_with_header(R"({"alg":"ES256","crit":["exp"],"exp":1})", kPayload,
                                         testing::p256_key(), Alg::kES256);
  EXPECT_EQ(verify_status(token, testing::p256_key()), Status::kCritUnsupported);
  VerifyOptions understood;
  understood.understood_crit = {"exp"};
  EXPECT_EQ(verify_status(token, testing::p256_key(), understood), Status::kOk);
}

TEST(Defences, MalformedCritIsRejected) {
  VerifyOptions understood;
  understood.understood_crit = {"exp", "alg"};
  for (const char* h : {R"({"alg":"ES256","crit":[]})", R"({"alg":"ES256","crit":"exp","exp":1})",
                        R"({"alg":"ES256","crit":[1]})", R"({"alg":"ES256","crit":["alg"]})",
                        R"({"alg":"ES256","crit":["exp"]})"}) {
    std::string token = signed_with_header(h, kPayload, testing::p256_key(), Alg::kES256);
    EXPECT_EQ(verify_status(token, testing::p256_key(), understood), Status::kCritMalformed) << h;
  }
}

TEST(Defences, DuplicateHeaderMemberIsRejected) {
  // Two "alg" members: parsers disagree which one wins, so neither may.
  std::string token = signed_with_header(R"({"alg":"ES256","alg":"none"})", kPayload,
                                         testing::p256_key(), Alg::kES256);
  EXPECT_EQ(verify_status(token, testing::p256_key()), Status::kDuplicateMember);
  token = signed_with_header(R"({"alg":"ES256","kid":"a","kid":"b"})", kPayload,
                             testing::p256_key(), Alg::kES256);
  EXPECT_EQ(verify_status(token, testing::p256_key()), Status::kDuplicateMember);
}

TEST(Defences, DuplicatePayloadMemberIsRejected) {
  std::string token =
      signed_with_header(R"({"alg":"ES256"})", R"({"sub":"alice","exp":9999999999,"sub":"admin"})",
                         testing::p256_key(), Alg::kES256);
  Jwks set;
  set.add(testing::p256_key());
  ClaimsPolicy policy;
  auto r = verify_jwt(token, set, {}, policy);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Status::kDuplicateMember);
}

TEST(Defences, DuplicateJwkMemberIsRejected) {
  std::string text = testing::p256_key().to_json().dump();
  text.insert(text.size() - 1, R"(,"kty":"oct")");
  auto k = Jwk::parse(text);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error(), Status::kDuplicateMember);
  auto set = Jwks::parse(R"({"keys":[],"keys":[]})");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error(), Status::kDuplicateMember);
}

TEST(Defences, EcdsaSignatureOfTheWrongLengthIsRejected) {
  std::string input = b64(R"({"alg":"ES256"})") + "." + b64(kPayload);
  auto sig = internal::create_signature(testing::p256_key(), Alg::kES256, input);
  ASSERT_TRUE(sig.ok());
  for (const std::string& s :
       {sig->substr(0, 63), *sig + '\0', std::string(1, '\0') + *sig, std::string()}) {
    EXPECT_EQ(internal::verify_signature(testing::p256_key(), Alg::kES256, input, s),
              Status::kSignatureBadLength);
  }
}

// SEC 1 §4.1.4 step 1: r and s must be in [1, n-1]; (0, 0) once verified
// everything in broken implementations (CVE-2022-21449, "psychic signatures").
TEST(Defences, EcdsaROrSOutsideOneToNMinusOneIsRejected) {
  const std::string n = testing::hex_decode(
      "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");  // P-256 order
  const std::string one = std::string(31, '\0') + '\x01';
  const std::string zero(32, '\0');
  const std::string ff(32, '\xff');
  std::string input = "eyJhbGciOiJFUzI1NiJ9.eA";
  for (const std::string& s : {zero + zero, zero + one, one + zero, n + one, one + n, ff + one}) {
    EXPECT_EQ(internal::verify_signature(testing::p256_key(), Alg::kES256, input, s),
              Status::kSignatureOutOfRange);
  }
  EXPECT_EQ(internal::verify_signature(testing::p256_key(), Alg::kES256, input, one + one),
            Status::kSignatureInvalid);
  std::string token = b64(R"({"alg":"ES256"})") + "." + b64(kPayload) + "." + b64(zero + zero);
  EXPECT_EQ(verify_status(token, testing::p256_key()), Status::kSignatureOutOfRange);
}

TEST(Defences, RsaKeysUnder2048BitsAreRejected) {
  EVP_PKEY* raw = EVP_RSA_gen(1024);
  ASSERT_NE(raw, nullptr);
  BIGNUM* n = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(raw, OSSL_PKEY_PARAM_RSA_N, &n), 1);
  std::string nbytes(static_cast<size_t>(BN_num_bytes(n)), '\0');
  BN_bn2bin(n, reinterpret_cast<unsigned char*>(nbytes.data()));
  BN_free(n);
  EVP_PKEY_free(raw);
  auto k = Jwk::from_json({{"kty", "RSA"}, {"n", b64(nbytes)}, {"e", "AQAB"}});
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error(), Status::kKeyTooSmall);
}

TEST(Defences, SizeCapIsCheckedBeforeAnyParsing) {
  VerifyOptions opts;
  opts.max_size = 100;
  std::string garbage(101, '!');  // not even base64: the cap must answer first
  EXPECT_EQ(verify_status(garbage, testing::p256_key(), opts), Status::kTooLarge);
  EXPECT_EQ(verify_status(garbage.substr(0, 100), testing::p256_key(), opts), Status::kMalformed);
  auto d = decode_unverified(garbage, 100);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), Status::kTooLarge);
}

TEST(Defences, DecodeHeaderReadsOnlyTheHeaderAndKeepsTheShapeChecks) {
  const std::string token = signed_with_header(R"({"alg":"ES256","kid":"k1","typ":"at+jwt"})",
                                               kPayload, testing::p256_key(), Alg::kES256);
  auto h = decode_header(token);
  ASSERT_TRUE(h.ok()) << to_string(h.error());
  EXPECT_EQ((*h)["kid"], "k1");
  EXPECT_EQ((*h)["typ"], "at+jwt");
  // The payload and signature are not decoded: verify() refuses them, decode_header does not.
  const size_t d1 = token.find('.');
  const std::string bad_payload = token.substr(0, d1 + 1) + "!!!" + token.substr(token.rfind('.'));
  EXPECT_TRUE(decode_header(bad_payload).ok());
  EXPECT_EQ(verify_status(bad_payload, testing::p256_key()), Status::kBadBase64);
  // The shape and the header itself are checked as verify() checks them.
  EXPECT_EQ(decode_header(token + ".x").error(), Status::kMalformed);
  EXPECT_EQ(decode_header(token.substr(0, d1)).error(), Status::kMalformed);
  EXPECT_EQ(decode_header(token, token.size() - 1).error(), Status::kTooLarge);
  EXPECT_EQ(decode_header("e30!." + token.substr(d1 + 1)).error(), Status::kBadBase64);
  EXPECT_EQ(decode_header(b64("[1]") + "." + token.substr(d1 + 1)).error(), Status::kHeaderNotJson);
}

TEST(Defences, NonStrictBase64urlIsRejectedInEveryPart) {
  std::string token =
      signed_with_header(R"({"alg":"ES256"})", kPayload, testing::p256_key(), Alg::kES256);
  ASSERT_EQ(verify_status(token, testing::p256_key()), Status::kOk);
  size_t d1 = token.find('.');
  size_t d2 = token.find('.', d1 + 1);
  std::string padded_sig = token + "==";
  std::string std_alphabet_header = token;
  std_alphabet_header.replace(0, 1, "+");
  std::string padded_payload = token.substr(0, d2) + "=" + token.substr(d2);
  std::string space_in_sig = token.substr(0, d2 + 2) + " " + token.substr(d2 + 2);
  for (const auto& t : {padded_sig, std_alphabet_header, padded_payload, space_in_sig}) {
    EXPECT_EQ(verify_status(t, testing::p256_key()), Status::kBadBase64) << t;
  }
}

TEST(Defences, NotThreePartsIsMalformed) {
  std::string token =
      signed_with_header(R"({"alg":"ES256"})", kPayload, testing::p256_key(), Alg::kES256);
  EXPECT_EQ(verify_status(token + ".x", testing::p256_key()), Status::kMalformed);
  EXPECT_EQ(verify_status(token.substr(0, token.rfind('.')), testing::p256_key()),
            Status::kMalformed);
  EXPECT_EQ(verify_status("", testing::p256_key()), Status::kMalformed);
  EXPECT_EQ(verify_status("..", testing::p256_key()), Status::kMalformed);
}

TEST(Defences, HeaderThatIsNotAJsonObjectIsRejected) {
  for (const char* h : {"[]", "\"alg\"", "{", "{\"alg\":\"ES256\"} x"}) {
    std::string token = b64(h) + "." + b64(kPayload) + "." + b64("sig");
    EXPECT_EQ(verify_status(token, testing::p256_key()), Status::kHeaderNotJson) << h;
  }
}

TEST(Defences, JwksLookupNamesUnknownKidAndKidAlgMismatch) {
  Jwks set;
  set.add(testing::p256_key().with_kid("ec"));
  std::string unknown = signed_with_header(R"({"alg":"ES256","kid":"other"})", kPayload,
                                           testing::p256_key(), Alg::kES256);
  EXPECT_EQ(verify(unknown, set).error(), Status::kKidNotFound);
  std::string mismatch = signed_with_header(R"({"alg":"ES384","kid":"ec"})", kPayload,
                                            testing::p384_key(), Alg::kES384);
  EXPECT_EQ(verify(mismatch, set).error(), Status::kAlgKeyMismatch);
  std::string kid_number =
      signed_with_header(R"({"alg":"ES256","kid":7})", kPayload, testing::p256_key(), Alg::kES256);
  EXPECT_EQ(verify(kid_number, set).error(), Status::kKidNotFound);
}

TEST(Defences, EveryStatusHasItsOwnString) {
  std::set<std::string> seen;
  for (int s = 0; s <= static_cast<int>(Status::kInternal); ++s) {
    std::string str = to_string(static_cast<Status>(s));
    EXPECT_FALSE(str.empty());
    EXPECT_TRUE(seen.insert(str).second) << "duplicate string: " << str;
  }
}

}  // namespace
}  // namespace tessera::jose
