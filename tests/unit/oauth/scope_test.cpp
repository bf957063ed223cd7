// Scope syntax (RFC 6749 §3.3) and the allow-list rule.
#include "oauth/scope.h"

#include <gtest/gtest.h>

namespace tessera::oauth {
namespace {

using V = std::vector<std::string>;

TEST(ParseScope, SplitsOnSingleSpacesAndKeepsOrder) {
  EXPECT_EQ(parse_scope("b a"), V({"b", "a"}));
  EXPECT_EQ(parse_scope("invoices:read"), V({"invoices:read"}));
}

TEST(ParseScope, CollapsesRepeatedTokens) { EXPECT_EQ(parse_scope("a b a"), V({"a", "b"})); }

TEST(ParseScope, RefusesWhatTheGrammarDoesNotAllow) {
  for (const char* bad : {"", " a", "a ", "a  b", "a\"b", "a\\b", "a\tb", "caf\xc3\xa9", "a\x7f"}) {
    EXPECT_FALSE(parse_scope(bad)) << bad;
  }
}

TEST(GrantScopes, OmittedScopeIsTheClientsDefault) {
  auto s = grant_scopes(std::nullopt, {"a", "b"});
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, V({"a", "b"}));
}

TEST(GrantScopes, SubsetOfTheAllowListIsGranted) {
  auto s = grant_scopes("b", {"a", "b"});
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, V({"b"}));
}

TEST(GrantScopes, ScopeOutsideTheAllowListIsInvalidScope) {
  auto s = grant_scopes("a admin", {"a", "b"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "invalid_scope");
  EXPECT_EQ(s.error().status, 400);
}

TEST(GrantScopes, MalformedScopeIsInvalidScope) {
  auto s = grant_scopes("a  b", {"a", "b"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "invalid_scope");
}

}  // namespace
}  // namespace tessera::oauth
