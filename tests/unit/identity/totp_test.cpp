// HOTP and TOTP against the RFC 4226 Appendix D and RFC 6238 Appendix B vectors, skew, replay
// and the provisioning URI.
#include "identity/totp.h"

#include <gtest/gtest.h>

#include "identity/base32.h"

namespace tessera::identity {
namespace {

const std::string kSeed20 = "12345678901234567890";
const std::string kSeed32 = "12345678901234567890123456789012";
const std::string kSeed64 = "1234567890123456789012345678901234567890123456789012345678901234";

TEST(Hotp, MatchesRfc4226AppendixD) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t counter = 0; counter < 10; ++counter) {
    EXPECT_EQ(hotp(kSeed20, counter), expected[counter]) << "counter " << counter;
  }
}

TEST(Hotp, RefusesDigitCountsOutsideSixToEight) {
  EXPECT_EQ(hotp(kSeed20, 0, 5), "");
  EXPECT_EQ(hotp(kSeed20, 0, 9), "");
}

struct Rfc6238Vector {
  int64_t time;
  TotpAlgorithm algorithm;
  const char* code;
};

const Rfc6238Vector kRfc6238Vectors[] = {
    {59, TotpAlgorithm::kSha1, "94287082"},
    {59, TotpAlgorithm::kSha256, "46119246"},
    {59, TotpAlgorithm::kSha512, "90693936"},
    {1111111109, TotpAlgorithm::kSha1, "07081804"},
    {1111111109, TotpAlgorithm::kSha256, "68084774"},
    {1111111109, TotpAlgorithm::kSha512, "25091201"},
    {1111111111, TotpAlgorithm::kSha1, "14050471"},
    {1111111111, TotpAlgorithm::kSha256, "67062674"},
    {1111111111, TotpAlgorithm::kSha512, "99943326"},
    {1234567890, TotpAlgorithm::kSha1, "89005924"},
    {1234567890, TotpAlgorithm::kSha256, "91819424"},
    {1234567890, TotpAlgorithm::kSha512, "93441116"},
    {2000000000, TotpAlgorithm::kSha1, "69279037"},
    {2000000000, TotpAlgorithm::kSha256, "90698825"},
    {2000000000, TotpAlgorithm::kSha512, "38618901"},
    {20000000000, TotpAlgorithm::kSha1, "65353130"},
    {20000000000, TotpAlgorithm::kSha256, "77737706"},
    {20000000000, TotpAlgorithm::kSha512, "47863826"},
};

// RFC 6238 Appendix A: the seed's length matches the hash (20, 32, 64 bytes).
const std::string& seed_for(TotpAlgorithm algorithm) {
  switch (algorithm) {
    case TotpAlgorithm::kSha1:
      return kSeed20;
    case TotpAlgorithm::kSha256:
      return kSeed32;
    case TotpAlgorithm::kSha512:
      return kSeed64;
  }
  return kSeed20;
}

TEST(Totp, MatchesRfc6238AppendixBForEveryAlgorithm) {
  for (const auto& v : kRfc6238Vectors) {
    TotpParams params{v.algorithm, 8, 30, 1};
    EXPECT_EQ(totp(seed_for(v.algorithm), v.time, params), v.code)
        << to_string(v.algorithm) << " at " << v.time;
  }
}

TEST(Totp, VerifiesTheRfc6238VectorsAndReturnsTheirStep) {
  for (const auto& v : kRfc6238Vectors) {
    TotpParams params{v.algorithm, 8, 30, 1};
    auto step = verify_totp(seed_for(v.algorithm), v.code, v.time, params);
    ASSERT_TRUE(step) << v.code;
    EXPECT_EQ(*step, v.time / 30);
  }
}

TEST(Totp, AcceptsOneStepOfSkewEitherSideButNotTwo) {
  const int64_t now = 1'700'000'000;
  const std::string current = totp(kSeed20, now);
  EXPECT_EQ(verify_totp(kSeed20, current, now + 30), std::optional<int64_t>(now / 30));
  EXPECT_EQ(verify_totp(kSeed20, current, now - 30), std::optional<int64_t>(now / 30));
  EXPECT_FALSE(verify_totp(kSeed20, current, now + 60));
  EXPECT_FALSE(verify_totp(kSeed20, current, now - 60));
}

TEST(Totp, RefusesACodeAtOrBeforeTheLastUsedStep) {
  const int64_t now = 1'700'000'000;
  const std::string code = totp(kSeed20, now);
  auto step = verify_totp(kSeed20, code, now);
  ASSERT_TRUE(step);
  EXPECT_FALSE(verify_totp(kSeed20, code, now, {}, *step));      // replay
  EXPECT_FALSE(verify_totp(kSeed20, code, now, {}, *step + 1));  // older than the last one used
  // The next step's code is still good.
  EXPECT_EQ(verify_totp(kSeed20, totp(kSeed20, now + 30), now + 30, {}, *step),
            std::optional<int64_t>(*step + 1));
}

TEST(Totp, RefusesWrongCodesAndWrongLengths) {
  const int64_t now = 1'700'000'000;
  std::string code = totp(kSeed20, now);
  std::string wrong = code;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  EXPECT_FALSE(verify_totp(kSeed20, wrong, now));
  EXPECT_FALSE(verify_totp(kSeed20, code + "0", now));
  EXPECT_FALSE(verify_totp(kSeed20, "", now));
  EXPECT_FALSE(verify_totp("another seed 1234567", code, now));
}

TEST(Totp, SixDigitCodesAreTheLastSixOfTheEightDigitOnes) {
  // Dynamic truncation keeps the low digits, so the 6-digit code is a suffix of the 8-digit one.
  TotpParams eight{TotpAlgorithm::kSha1, 8, 30, 1};
  EXPECT_EQ(totp(kSeed20, 59), "287082");
  EXPECT_EQ(totp(kSeed20, 59, eight).substr(2), "287082");
}

TEST(Totp, NewSecretsAreRandomAndTwentyBytes) {
  const std::string a = new_totp_secret(), b = new_totp_secret();
  EXPECT_EQ(a.size(), 20u);
  EXPECT_NE(a, b);
}

TEST(Totp, ProvisioningUriCarriesEveryParameter) {
  TotpParams params{TotpAlgorithm::kSha256, 8, 60, 1};
  EXPECT_EQ(otpauth_uri("Tessera Demo", "alice@example.com", "foobar", params),
            "otpauth://totp/Tessera%20Demo:alice%40example.com?secret=MZXW6YTBOI"
            "&issuer=Tessera%20Demo&algorithm=SHA256&digits=8&period=60");
  EXPECT_EQ(base32::decode("MZXW6YTBOI"), std::optional<std::string>("foobar"));
}

}  // namespace
}  // namespace tessera::identity
