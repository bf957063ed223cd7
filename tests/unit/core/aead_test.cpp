#include "core/aead.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "core/base64url.h"
#include "core/crypto.h"

using namespace tessera;

TEST(Aead, SealThenOpenRoundTrips) {
  auto key = crypto::random_bytes(32);
  auto blob = aead::seal(key, "private key bytes", "signing_key:k1");
  ASSERT_FALSE(blob.empty());
  EXPECT_EQ(aead::open(key, blob, "signing_key:k1").value(), "private key bytes");
}

TEST(Aead, EverySealUsesAFreshNonce) {
  auto key = crypto::random_bytes(32);
  EXPECT_NE(aead::seal(key, "x", ""), aead::seal(key, "x", ""));
}

TEST(Aead, TamperedBlobWrongKeyOrWrongAadDoNotOpen) {
  auto key = crypto::random_bytes(32);
  auto blob = aead::seal(key, "secret", "row:1");
  for (size_t i = 0; i < blob.size(); ++i) {
    std::string bad = blob;
    bad[i] = static_cast<char>(bad[i] ^ 1);
    EXPECT_FALSE(aead::open(key, bad, "row:1").has_value()) << "byte " << i;
  }
  EXPECT_FALSE(aead::open(crypto::random_bytes(32), blob, "row:1").has_value());
  EXPECT_FALSE(aead::open(key, blob, "row:2").has_value());
  EXPECT_FALSE(aead::open(key, blob.substr(0, 10), "row:1").has_value());
}

TEST(Aead, WrongKeySizeIsRefused) {
  EXPECT_TRUE(aead::seal("short", "x", "").empty());
  EXPECT_FALSE(aead::open("short", std::string(40, 'a'), "").has_value());
}

TEST(Aead, LoadsTheKeyFromTheEnvironmentAndRejectsBadEncodings) {
  auto key = crypto::random_bytes(32);
  setenv("TESSERA_SECRET_KEY", (" " + base64url::encode(key) + "\n").c_str(), 1);
  auto loaded = aead::load_key("");
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(*loaded, key);
  setenv("TESSERA_SECRET_KEY", base64url::encode("too short").c_str(), 1);
  EXPECT_FALSE(aead::load_key("").ok());
  unsetenv("TESSERA_SECRET_KEY");
  EXPECT_FALSE(aead::load_key("").ok());
  EXPECT_FALSE(aead::load_key("/nonexistent/key").ok());
}
