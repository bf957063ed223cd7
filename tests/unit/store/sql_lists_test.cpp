// List columns: the fast reader of plain lists must agree with the JSON parser on every input,
// and hand everything it does not fully understand to it.
#include "store/sql_lists.h"

#include <gtest/gtest.h>

namespace tessera::store {
namespace {

using List = std::vector<std::string>;

// What the JSON parser alone makes of `text`: the reference the fast path must match.
std::optional<List> reference(const std::string& text) {
  auto parsed = json::parse_strict(text);
  if (!parsed || !parsed->is_array()) return std::nullopt;
  List out;
  for (const auto& v : *parsed) {
    if (!v.is_string()) return std::nullopt;
    out.push_back(v.get<std::string>());
  }
  return out;
}

TEST(SqlLists, WrittenListsReadBackUnchanged) {
  const std::vector<List> lists = {
      {},
      {""},
      {"openid"},
      {"openid", "profile", "invoices:read"},
      {"https://api.example/x?a=1&b=2", "urn:tessera:api:invoices"},
      {"quote\"inside", "back\\slash", "tab\there", "new\nline"},
      {"caf\xc3\xa9", "\xe2\x82\xac", "del\x7f"},
      {"[", "]", ",", "\",\""},
  };
  for (const List& list : lists) {
    const std::string text = list_to_text(list);
    auto read = list_from_text(text);
    ASSERT_TRUE(read.has_value()) << text;
    EXPECT_EQ(*read, list) << text;
  }
}

TEST(SqlLists, PlainListsTakeTheFastPathOthersDoNot) {
  EXPECT_EQ(detail::plain_list_from_text(R"([])"), List{});
  EXPECT_EQ(detail::plain_list_from_text(R"(["a","b c"])"), (List{"a", "b c"}));
  // Escapes, non-ASCII and whitespace between items go to the JSON parser.
  EXPECT_FALSE(detail::plain_list_from_text(R"(["a\"b"])"));
  EXPECT_FALSE(detail::plain_list_from_text("[\"caf\xc3\xa9\"]"));
  EXPECT_FALSE(detail::plain_list_from_text(R"(["a", "b"])"));
}

TEST(SqlLists, EveryInputAgreesWithTheJsonParser) {
  const std::vector<std::string> inputs = {
      "",
      "[",
      "]",
      "[]",
      "[\"\"]",
      "[\"a\"]",
      "[\"a\",]",
      "[,\"a\"]",
      "[\"a\"\"b\"]",
      "[\"a\",\"b\"",
      "\"a\"",
      "[1]",
      "[\"a\",1]",
      "[null]",
      "[\"a]",
      "[\"a\\\"]",
      "[\"a\\n\"]",
      "[\"\x01\"]",
      "{}",
      "[[\"a\"]]",
      " [\"a\"]",
      "[\"a\"] ",
      "[ ]",
      "[\"a\" ,\"b\"]",
      "[\"\xff\"]",
      "[\"a\",\"\"]",
      "[\"]\"]",
      "[\",\"]",
      "[\"a\"],",
      "[]]",
  };
  for (const std::string& text : inputs) {
    EXPECT_EQ(list_from_text(text), reference(text)) << "input: " << text;
  }
}

}  // namespace
}  // namespace tessera::store
