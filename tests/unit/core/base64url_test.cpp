#include "core/base64url.h"

#include <gtest/gtest.h>

using tessera::base64url::decode;
using tessera::base64url::encode;

TEST(Base64Url, Rfc4648TestVectorsRoundTrip) {
  // RFC 4648 §10, in the URL alphabet without padding.
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (auto [plain, enc] : cases) {
    EXPECT_EQ(encode(plain), enc);
    auto d = decode(enc);
    ASSERT_TRUE(d.has_value()) << enc;
    EXPECT_EQ(*d, plain);
  }
}

TEST(Base64Url, UsesUrlAlphabet) {
  EXPECT_EQ(encode(std::string("\xfb\xff", 2)), "-_8");
  EXPECT_EQ(decode("-_8").value(), std::string("\xfb\xff", 2));
}

TEST(Base64Url, RejectsPaddingAndForeignCharacters) {
  EXPECT_FALSE(decode("Zg==").has_value());
  EXPECT_FALSE(decode("Zm9v+g").has_value());
  EXPECT_FALSE(decode("Zm9v/g").has_value());
  EXPECT_FALSE(decode("Zm 9v").has_value());
  EXPECT_FALSE(decode("Zm9v\n").has_value());
  EXPECT_FALSE(decode(std::string("Zm\0v", 4)).has_value());
}

TEST(Base64Url, RejectsImpossibleLengthAndNonCanonicalTrailingBits) {
  EXPECT_FALSE(decode("Z").has_value());
  EXPECT_FALSE(decode("Zh").has_value());   // "Zg" with a non-zero unused bit
  EXPECT_FALSE(decode("Zm9").has_value());  // "Zm8" with non-zero unused bits
}

TEST(Base64Std, PaddedRoundTrip) {
  EXPECT_EQ(tessera::base64::encode("fo"), "Zm8=");
  EXPECT_EQ(tessera::base64::decode("Zm8=").value(), "fo");
  EXPECT_FALSE(tessera::base64::decode("Zm8").has_value());
}

TEST(Base64Url, RoundTripsEveryLengthAndRejectsAnyForeignByte) {
  std::string data;
  for (int len = 0; len < 70; ++len) {
    auto enc = encode(data);
    ASSERT_EQ(decode(enc).value(), data) << len;
    if (!enc.empty()) {
      for (size_t pos : {size_t{0}, enc.size() / 2, enc.size() - 1}) {
        std::string bad = enc;
        bad[pos] = '=';
        EXPECT_FALSE(decode(bad).has_value()) << len << " at " << pos;
      }
    }
    data += static_cast<char>(len * 37 + 11);
  }
}
