#include "core/json.h"

#include <gtest/gtest.h>

using namespace tessera::json;

TEST(StrictJson, ParsesOrdinaryDocuments) {
  auto r = parse_strict(R"({"a":1,"b":{"c":[1,2,{"d":"x"}]},"e":{"a":2}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["b"]["c"][2]["d"], "x");
  EXPECT_EQ((*r)["e"]["a"], 2);
}

TEST(StrictJson, RejectsDuplicateMemberNames) {
  auto r = parse_strict(R"({"alg":"ES256","alg":"none"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), ParseError::kDuplicateMember);
  EXPECT_FALSE(parse_strict(R"({"x":[{"k":1,"k":2}]})").ok());
}

TEST(StrictJson, RejectsSyntaxErrorsAndTrailingGarbage) {
  EXPECT_EQ(parse_strict("{").error(), ParseError::kSyntax);
  EXPECT_EQ(parse_strict("{} x").error(), ParseError::kSyntax);
  EXPECT_EQ(parse_strict("").error(), ParseError::kSyntax);
  // nlohmann alone would stop at a NUL byte and ignore the rest.
  EXPECT_EQ(parse_strict(std::string("{\"a\":1}\0{\"a\":2}", 15)).error(), ParseError::kSyntax);
  EXPECT_EQ(parse_strict(std::string("{\"a\":1}\0", 8)).error(), ParseError::kSyntax);
}

TEST(StrictJson, EnforcesDepthAndSizeLimits) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_EQ(parse_strict(deep).error(), ParseError::kTooDeep);
  std::string big = "\"" + std::string(100, 'a') + "\"";
  EXPECT_EQ(parse_strict(big, {.max_bytes = 50, .max_depth = 8}).error(), ParseError::kTooLarge);
}
