// RFC 4648 §6 base32, with the §10 test vectors.
#include "identity/base32.h"

#include <gtest/gtest.h>

namespace tessera::identity {
namespace {

struct Vector {
  const char* bytes;
  const char* encoded;
};
constexpr Vector kRfc4648Vectors[] = {
    {"", ""},
    {"f", "MY======"},
    {"fo", "MZXQ===="},
    {"foo", "MZXW6==="},
    {"foob", "MZXW6YQ="},
    {"fooba", "MZXW6YTB"},
    {"foobar", "MZXW6YTBOI======"},
};

TEST(Base32, EncodesTheRfc4648Vectors) {
  for (const auto& v : kRfc4648Vectors) EXPECT_EQ(base32::encode(v.bytes), v.encoded) << v.bytes;
}

TEST(Base32, DecodesTheRfc4648VectorsWithAndWithoutPadding) {
  for (const auto& v : kRfc4648Vectors) {
    EXPECT_EQ(base32::decode(v.encoded), std::optional<std::string>(v.bytes)) << v.encoded;
    EXPECT_EQ(base32::decode(base32::encode(v.bytes, false)), std::optional<std::string>(v.bytes));
  }
}

TEST(Base32, DecodesLowerCaseAndGroupedSecrets) {
  EXPECT_EQ(base32::decode("mzxw 6ytb oi"), std::optional<std::string>("foobar"));
}

TEST(Base32, RoundTripsEveryByteValue) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  EXPECT_EQ(base32::decode(base32::encode(bytes)), std::optional<std::string>(bytes));
}

TEST(Base32, RefusesMalformedInput) {
  EXPECT_FALSE(base32::decode("MZXW1YTB"));   // 1 is not in the alphabet
  EXPECT_FALSE(base32::decode("MZ=XW6YTB"));  // data after padding
  EXPECT_FALSE(base32::decode("MZXW6Y=="));   // padding to a length that is not a multiple of 8
  EXPECT_FALSE(base32::decode("M"));          // a single symbol cannot hold a byte
  EXPECT_FALSE(base32::decode("MZX"));        // 3 symbols: impossible length
  EXPECT_FALSE(base32::decode("MZ"));         // "f" is MY: MZ leaves a non-zero trailing bit
}

}  // namespace
}  // namespace tessera::identity
