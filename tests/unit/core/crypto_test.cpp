#include "core/crypto.h"

#include <gtest/gtest.h>

#include <set>

using namespace tessera::crypto;

TEST(Crypto, Sha256KnownAnswer) {
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Crypto, HmacSha256Rfc4231Case2) {
  EXPECT_EQ(to_hex(hmac(Digest::kSha256, "Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, RandomTokensAreDistinctAndSized) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(random_token(32));
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(random_token(32).size(), 43u);  // 256 bits, base64url without padding
}

// Ids go on command lines: none begins with '-' (a random_token does once in 64 draws, so 2,000
// draws of one that did not redraw would all but surely show one).
TEST(Crypto, RandomIdentifiersNeverBeginWithADash) {
  std::set<char> first;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = random_identifier(16);
    ASSERT_EQ(id.size(), 22u);
    first.insert(id.front());
  }
  EXPECT_EQ(first.count('-'), 0u);
  EXPECT_GT(first.size(), 60u);  // the other 63 first characters all turn up
}

TEST(Crypto, ConstantTimeEqual) {
  EXPECT_TRUE(equal_ct("secret", "secret"));
  EXPECT_FALSE(equal_ct("secret", "secreT"));
  EXPECT_FALSE(equal_ct("secret", "secret2"));
  EXPECT_TRUE(equal_ct("", ""));
}

namespace tessera::crypto {
namespace {

// RFC 4231 §4.3 (test case 2), then alternating keys on one thread: the kept key schedule must
// never answer for another key.
TEST(CryptoHmacReusedKey, MatchesRfc4231AndTheOneShotHmacAcrossKeyChanges) {
  EXPECT_EQ(to_hex(hmac_sha256_reused_key("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const std::string a(32, 'a');
  const std::string b(64, 'b');
  const std::string a_prefix(31, 'a');
  for (int i = 0; i < 3; ++i) {
    for (const std::string* key : {&a, &b, &a_prefix, &a}) {
      const std::string data = "message " + std::to_string(i);
      EXPECT_EQ(hmac_sha256_reused_key(*key, data), hmac(Digest::kSha256, *key, data));
    }
  }
}

}  // namespace
}  // namespace tessera::crypto
