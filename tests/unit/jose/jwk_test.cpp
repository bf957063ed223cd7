// JWK / JWKS import and export (RFC 7517, RFC 7518 §6, RFC 8037 §2), PEM.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "test_keys.h"

namespace tessera::jose {
namespace {

Status parse_status(const Json& j) {
  auto k = Jwk::from_json(j);
  return k ? Status::kOk : k.error();
}

TEST(Jwk, EveryKeyTypeRoundTripsThroughJsonWithTheSameThumbprint) {
  for (Alg a : {Alg::kRS256, Alg::kES256, Alg::kES384, Alg::kES512, Alg::kEdDSA, Alg::kHS256}) {
    auto key = Jwk::generate(a);
    ASSERT_TRUE(key.ok()) << to_string(a);
    EXPECT_EQ(key->kid(), key->thumbprint());
    EXPECT_EQ(key->alg(), a);
    auto priv = Jwk::from_json(key->to_json(true));
    ASSERT_TRUE(priv.ok()) << to_string(a) << ": " << to_string(priv.error());
    EXPECT_TRUE(priv->is_private());
    EXPECT_EQ(priv->thumbprint(), key->thumbprint());
    // The re-imported private key still signs something the original verifies.
    auto token = sign("x", *priv, a);
    ASSERT_TRUE(token.ok());
    EXPECT_TRUE(verify(*token, *key).ok());
  }
}

TEST(Jwk, PublicExportCarriesNoPrivateMembers) {
  for (Alg a : {Alg::kRS256, Alg::kES256, Alg::kEdDSA}) {
    auto key = Jwk::generate(a);
    ASSERT_TRUE(key.ok());
    Json pub = key->to_json();
    for (const char* m : {"d", "p", "q", "dp", "dq", "qi"}) EXPECT_FALSE(pub.contains(m)) << m;
    auto imported = Jwk::from_json(pub);
    ASSERT_TRUE(imported.ok());
    EXPECT_FALSE(imported->is_private());
    EXPECT_FALSE(key->public_key().is_private());
    EXPECT_EQ(key->public_key().thumbprint(), key->thumbprint());
  }
}

TEST(Jwk, RsaModulusUnder2048BitsIsTooSmall) {
  std::string n(128, '\xC3');  // 1024-bit odd modulus
  Json j = {{"kty", "RSA"}, {"n", testing::b64(n)}, {"e", "AQAB"}};
  EXPECT_EQ(parse_status(j), Status::kKeyTooSmall);
  std::string n2047(256, '\x43');  // top bit clear: 2047 bits
  j["n"] = testing::b64(n2047);
  EXPECT_EQ(parse_status(j), Status::kKeyTooSmall);
}

TEST(Jwk, RsaPemUnder2048BitsIsTooSmall) {
  EVP_PKEY* raw = EVP_RSA_gen(1024);
  ASSERT_NE(raw, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, raw);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(raw);
  auto k = Jwk::from_pem(pem);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error(), Status::kKeyTooSmall);
}

TEST(Jwk, EcPointNotOnTheCurveIsRejected) {
  Json j = testing::p256_key().to_json();
  std::string y = *base64url::decode(j["y"].get<std::string>());
  y[31] ^= 0x01;
  j["y"] = testing::b64(y);
  EXPECT_EQ(parse_status(j), Status::kKeyInvalid);
}

TEST(Jwk, EcCoordinatesMustBeTheFullFieldSize) {
  Json j = testing::p256_key().to_json();
  std::string x = *base64url::decode(j["x"].get<std::string>());
  j["x"] = testing::b64(std::string(1, '\0') + x);
  EXPECT_EQ(parse_status(j), Status::kKeyInvalid);
}

TEST(Jwk, EcPrivateKeyThatDoesNotMatchThePublicPointIsRejected) {
  Json j = testing::p256_key().to_json(true);
  j["d"] = testing::p384_key().to_json(true)["d"].get<std::string>().substr(0, 43);
  EXPECT_NE(parse_status(j), Status::kOk);
  Json other = Jwk::generate(Alg::kES256)->to_json(true);
  j["d"] = other["d"];
  EXPECT_EQ(parse_status(j), Status::kKeyInvalid);
}

TEST(Jwk, Ed25519PrivateKeyMustMatchX) {
  Json j = testing::ed_key().to_json(true);
  j["x"] = Jwk::generate(Alg::kEdDSA)->to_json()["x"];
  EXPECT_EQ(parse_status(j), Status::kKeyInvalid);
}

TEST(Jwk, UnsupportedKeyTypesAndCurvesAreNamedAsSuch) {
  EXPECT_EQ(parse_status({{"kty", "EC"}, {"crv", "secp256k1"}, {"x", "AA"}, {"y", "AA"}}),
            Status::kKeyUnsupported);
  EXPECT_EQ(parse_status({{"kty", "DSA"}}), Status::kKeyUnsupported);
  EXPECT_EQ(parse_status({{"kty", 1}}), Status::kKeyInvalid);
  EXPECT_EQ(parse_status(Json::array()), Status::kKeyInvalid);
}

TEST(Jwk, MembersOfTheWrongTypeAreInvalidNotExceptions) {
  Json j = testing::p256_key().to_json();
  j["x"] = 42;
  EXPECT_EQ(parse_status(j), Status::kKeyInvalid);
  j = testing::p256_key().to_json();
  j["kid"] = Json::object();
  EXPECT_EQ(parse_status(j), Status::kKeyInvalid);
  j = testing::p256_key().to_json();
  j["key_ops"] = "sign";
  EXPECT_EQ(parse_status(j), Status::kKeyInvalid);
}

TEST(Jwk, KeyAlgThatContradictsKeyTypeIsRejected) {
  Json j = testing::p256_key().to_json();
  j["alg"] = "RS256";
  EXPECT_EQ(parse_status(j), Status::kAlgKeyMismatch);
  j["alg"] = "ES384";
  EXPECT_EQ(parse_status(j), Status::kAlgKeyMismatch);
  j["alg"] = "none";
  EXPECT_EQ(parse_status(j), Status::kAlgNone);
}

TEST(Jwk, RsaPrivateKeyWithPartialCrtMembersIsRejected) {
  Json j = testing::rsa_key().to_json(true);
  j.erase("qi");
  EXPECT_EQ(parse_status(j), Status::kKeyInvalid);
}

TEST(Jwk, NonStrictBase64InAMemberIsRejected) {
  Json j = testing::p256_key().to_json();
  j["x"] = j["x"].get<std::string>() + "=";
  EXPECT_EQ(parse_status(j), Status::kKeyInvalid);
}

TEST(Jwk, UseEncKeyIsNotUsableForSignatures) {
  Json j = testing::p256_key().to_json();
  j["use"] = "enc";
  auto k = Jwk::from_json(j);
  ASSERT_TRUE(k.ok());
  EXPECT_FALSE(k->allows(Alg::kES256));
}

TEST(Jwk, PemPkcs8AndSpkiImportTheSameKey) {
  EVP_PKEY* raw = EVP_EC_gen("P-256");
  ASSERT_NE(raw, nullptr);
  auto pem_of = [&](bool priv) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (priv) {
      PEM_write_bio_PrivateKey(bio, raw, nullptr, nullptr, 0, nullptr, nullptr);  // PKCS#8
    } else {
      PEM_write_bio_PUBKEY(bio, raw);
    }
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string s(data, static_cast<size_t>(len));
    BIO_free(bio);
    return s;
  };
  const std::string spki = pem_of(false);
  auto priv = Jwk::from_pem(pem_of(true), Alg::kES256);
  auto pub = Jwk::from_pem(spki);
  EVP_PKEY_free(raw);
  ASSERT_TRUE(priv.ok() && pub.ok());
  EXPECT_TRUE(priv->is_private());
  EXPECT_FALSE(pub->is_private());
  EXPECT_EQ(priv->thumbprint(), pub->thumbprint());
  auto token = sign("pem", *priv, Alg::kES256);
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(verify(*token, *pub).ok());
  auto wrong_alg = Jwk::from_pem(spki, Alg::kRS256);
  ASSERT_FALSE(wrong_alg.ok());
  EXPECT_EQ(wrong_alg.error(), Status::kAlgKeyMismatch);
}

TEST(Jwk, PemCertificateYieldsItsPublicKey) {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  ASSERT_NE(raw, nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, raw);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("tessera"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  ASSERT_GT(X509_sign(cert, raw, nullptr), 0);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  X509_free(cert);

  unsigned char x[32];
  size_t xlen = sizeof(x);
  EVP_PKEY_get_raw_public_key(raw, x, &xlen);
  EVP_PKEY_free(raw);
  auto k = Jwk::from_pem(pem);
  ASSERT_TRUE(k.ok()) << to_string(k.error());
  EXPECT_EQ(k->kty(), KeyType::kOKP);
  EXPECT_FALSE(k->is_private());
  EXPECT_EQ(k->to_json()["x"], testing::b64(std::string(reinterpret_cast<char*>(x), xlen)));
}

TEST(Jwk, GarbagePemIsPemInvalid) {
  auto k = Jwk::from_pem("-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n");
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error(), Status::kPemInvalid);
  EXPECT_EQ(Jwk::from_pem("").error(), Status::kPemInvalid);
}

TEST(Jwks, CandidatesMatchKidAndAlg) {
  Jwks set;
  set.add(testing::p256_key().with_kid("ec"));
  set.add(testing::rsa_key().with_kid("rsa"));
  set.add(testing::rsa_key().with_kid("rsa-pinned").with_alg(Alg::kRS256));
  EXPECT_EQ(set.candidates("ec", Alg::kES256).size(), 1u);
  EXPECT_EQ(set.candidates("ec", Alg::kRS256).size(), 0u);
  EXPECT_EQ(set.candidates(std::nullopt, Alg::kPS256).size(), 1u);
  EXPECT_EQ(set.candidates(std::nullopt, Alg::kRS256).size(), 2u);
  EXPECT_EQ(set.candidates("nope", Alg::kES256).size(), 0u);
}

TEST(Jwks, ParsingSkipsUnsupportedKeysButNotMalformedOnes) {
  Json pub = testing::p256_key().with_kid("a").to_json();
  Json enc = {{"kty", "RSA"}, {"alg", "RSA-OAEP"}, {"n", "AQAB"}, {"e", "AQAB"}};
  Json k1 = {{"kty", "EC"}, {"crv", "secp256k1"}, {"x", "AA"}, {"y", "AA"}};
  auto set = Jwks::from_json({{"keys", {pub, enc, k1}}});
  ASSERT_TRUE(set.ok()) << to_string(set.error());
  EXPECT_EQ(set->keys().size(), 1u);
  Json broken = pub;
  broken["x"] = "!!";
  auto bad = Jwks::from_json({{"keys", {pub, broken}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), Status::kKeyInvalid);
  EXPECT_EQ(Jwks::parse(R"({"keys": 1})").error(), Status::kKeyInvalid);
}

TEST(Jwks, PublishedSetNeverContainsSymmetricOrPrivateMaterial) {
  Jwks set;
  set.add(testing::p256_key().with_kid("ec"));
  set.add(Jwk::from_secret(std::string(32, 's')).with_kid("hmac"));
  Json j = set.to_json();
  ASSERT_EQ(j["keys"].size(), 1u);
  EXPECT_FALSE(j["keys"][0].contains("d"));
  auto back = Jwks::parse(j.dump());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->keys()[0].thumbprint(), testing::p256_key().thumbprint());
}

TEST(Jwks, ParseKeyOrSetAcceptsASingleJwk) {
  auto one = Jwks::parse_key_or_set(testing::ed_key().to_json().dump());
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->keys().size(), 1u);
  auto set = Jwks::parse_key_or_set(R"({"keys":[]})");
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->keys().empty());
}

}  // namespace
}  // namespace tessera::jose
