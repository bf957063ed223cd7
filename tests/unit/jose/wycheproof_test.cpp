// Wycheproof (C2SP) vectors run through the layer under the JWS framing,
// internal::verify_signature: Wycheproof signs arbitrary messages, not JWS
// signing inputs, but the key import, the alg binding, the length and range
// checks and the OpenSSL call are exactly those jws verify() uses.
//
// "acceptable" decisions (the only flag present in these files):
// - MissingNull (rsa_signature_2048_sha256, PKCS#1 v1.5 DigestInfo without the
//   NULL parameters): REJECTED. RFC 8017 §9.2 note 2 allows it, but we want
//   one accepted encoding per signature; OpenSSL re-encodes DigestInfo with the
//   NULL and compares, so it does not verify.
#include <map>

#include "test_keys.h"

namespace tessera::jose {
namespace {

using testing::hex_decode;

// Every case in a file is counted, so a skipped group cannot pass silently.
struct Tally {
  int valid = 0;
  int invalid = 0;
  int acceptable = 0;
};

std::string path_of(const char* name) {
  return std::string(TESSERA_SHARED_DIR) + "/testdata/wycheproof/" + name;
}

Json load(const char* name) {
  std::string text = testing::read_file(path_of(name));
  EXPECT_FALSE(text.empty()) << "missing " << path_of(name);
  return Json::parse(text);
}

// Imports the group's public key the way a relying party would: from the JWK
// when the file has one, otherwise from the SubjectPublicKeyInfo PEM.
Jwk group_key(const Json& g) {
  for (const char* member : {"publicKeyJwk", "keyJwk"}) {
    if (g.contains(member)) {
      auto k = Jwk::from_json(g[member]);
      EXPECT_TRUE(k.ok()) << member << ": " << to_string(k.ok() ? Status::kOk : k.error());
      if (k) return *k;
    }
  }
  auto k = Jwk::from_pem(g["publicKeyPem"].get<std::string>());
  EXPECT_TRUE(k.ok()) << "publicKeyPem: " << to_string(k.ok() ? Status::kOk : k.error());
  return *k;
}

bool has_flag(const Json& t, std::string_view flag) {
  for (const auto& f : t["flags"]) {
    if (f.get<std::string>() == flag) return true;
  }
  return false;
}

Tally run_file(const char* name, Alg alg, const std::map<std::string, bool>& acceptable) {
  Json doc = load(name);
  Tally tally;
  for (const auto& g : doc["testGroups"]) {
    Jwk key = group_key(g);
    for (const auto& t : g["tests"]) {
      std::string msg = hex_decode(t["msg"].get<std::string>());
      std::string sig = hex_decode(t["sig"].get<std::string>());
      const std::string result = t["result"].get<std::string>();
      Status st = internal::verify_signature(key, alg, msg, sig);
      std::string where = std::string(name) + " tcId " + std::to_string(t["tcId"].get<int>()) +
                          " (" + t["comment"].get<std::string>() + "): " + to_string(st);
      if (result == "valid") {
        ++tally.valid;
        EXPECT_EQ(st, Status::kOk) << where;
      } else if (result == "invalid") {
        ++tally.invalid;
        EXPECT_NE(st, Status::kOk) << where;
      } else {
        ++tally.acceptable;
        bool decided = false;
        for (const auto& [flag, accept] : acceptable) {
          if (!has_flag(t, flag)) continue;
          decided = true;
          EXPECT_EQ(st == Status::kOk, accept) << where << " flag " << flag;
        }
        EXPECT_TRUE(decided) << where << ": acceptable case with no documented decision";
      }
    }
  }
  return tally;
}

TEST(Wycheproof, EcdsaP256Sha256P1363) {
  Tally t = run_file("ecdsa_secp256r1_sha256_p1363_test.json", Alg::kES256, {});
  EXPECT_EQ(t.valid, 173);
  EXPECT_EQ(t.invalid, 89);
}

TEST(Wycheproof, EcdsaP384Sha384P1363) {
  Tally t = run_file("ecdsa_secp384r1_sha384_p1363_test.json", Alg::kES384, {});
  EXPECT_EQ(t.valid, 193);
  EXPECT_EQ(t.invalid, 87);
}

TEST(Wycheproof, Ed25519) {
  Tally t = run_file("ed25519_test.json", Alg::kEdDSA, {});
  EXPECT_EQ(t.valid, 88);
  EXPECT_EQ(t.invalid, 63);
}

TEST(Wycheproof, RsaPkcs1v15Sha256With2048BitKeys) {
  Tally t = run_file("rsa_signature_2048_sha256_test.json", Alg::kRS256, {{"MissingNull", false}});
  EXPECT_EQ(t.valid, 9);
  EXPECT_EQ(t.invalid, 249);
  EXPECT_EQ(t.acceptable, 1);
}

TEST(Wycheproof, RsaPssSha256Mgf1Salt32) {
  Tally t = run_file("rsa_pss_2048_sha256_mgf1_32_test.json", Alg::kPS256, {});
  EXPECT_EQ(t.valid, 63);
  EXPECT_EQ(t.invalid, 45);
}

}  // namespace
}  // namespace tessera::jose
