// scan_strict() against parse_strict(): the same answer (accepted, or the same error) for every
// text of a hand-written corpus covering each rule, and for a few hundred thousand mutations of
// it; and the raw readers (for_each_member, for_each_element, string_value, the numbers) rebuild
// exactly the tree parse_strict() builds.
#include <gtest/gtest.h>
#include <unistd.h>

#include <clocale>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/json.h"

namespace tessera::json {
namespace {

// The tree the raw readers describe.
Json rebuild(RawValue v) {
  switch (v.kind) {
    case Kind::kNull:
      return nullptr;
    case Kind::kBoolean:
      return v.text == "true";
    case Kind::kNumber: {
      if (auto i = integer_value(v)) return *i;
      return double_value(v);
    }
    case Kind::kString:
      return string_value(v);
    case Kind::kArray: {
      Json out = Json::array();
      for_each_element(v, [&](RawValue e) { out.push_back(rebuild(e)); });
      return out;
    }
    case Kind::kObject: {
      Json out = Json::object();
      for_each_member(
          v, [&](std::string_view name, RawValue m) { out[std::string(name)] = rebuild(m); });
      return out;
    }
  }
  return nullptr;
}

// Numbers compare by value (nlohmann keeps non-negative integers unsigned; rebuild() signed or
// double), everything else structurally.
bool same(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_number_float() || b.is_number_float()) return a.get<double>() == b.get<double>();
    if (a.is_number_unsigned() && a.get<uint64_t>() > INT64_MAX) {
      return b.is_number_float() && b.get<double>() == a.get<double>();
    }
    return a.get<int64_t>() == b.get<int64_t>();
  }
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !same(*it, *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!same(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

// The two agree on `text`: both accept it (and the readers rebuild the same tree, the root
// members reported in order), or both refuse it with the same error.
void expect_agree(const std::string& text, Limits limits = {}) {
  auto tree = parse_strict(text, limits);
  std::vector<std::string> names;
  auto scanned =
      scan_strict(text, limits, [&](std::string_view name, RawValue) { names.emplace_back(name); });
  ASSERT_EQ(static_cast<bool>(scanned), static_cast<bool>(tree)) << "text: " << text;
  if (!tree) {
    EXPECT_EQ(scanned.error(), tree.error()) << "text: " << text;
    return;
  }
  const Json rebuilt = rebuild(*scanned);
  EXPECT_TRUE(same(*tree, rebuilt))
      << "text: " << text << "\ntree: " << tree->dump() << "\nrebuilt: " << rebuilt.dump();
  if (tree->is_object()) {
    EXPECT_EQ(names.size(), tree->size()) << text;
  } else {
    EXPECT_TRUE(names.empty()) << text;
  }
}

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> texts = {
      // Values of every kind, whitespace, nesting.
      R"({"iss":"https://as.example","sub":"alice","aud":["a","b"],"exp":1700000000,"iat":1.5e9,)"
      R"("nbf":-1,"act":{"sub":"api-a","act":{"sub":"api-b"}},"cnf":{"jkt":"x"},"n":null,)"
      R"("t":true,"f":false,"e":{},"ea":[],"z":0,"neg":-0,"frac":0.25,"exp2":1E+2,"exp3":2e-3})",
      " \t\r\n[1, 2 ,3]\n ",
      "\"just a string\"",
      "42",
      "-7",
      "true",
      "false",
      "null",
      R"([[[[[[]]]]]])",
      R"({"a":{"b":{"c":{"d":[1,{"e":null}]}}}})",
      // Numbers: range, int64/uint64 limits, doubles, malformed.
      "9223372036854775807",
      "9223372036854775808",
      "-9223372036854775808",
      "-9223372036854775809",
      "18446744073709551615",
      "18446744073709551616",
      "123456789012345678901234567890",
      "1e308",
      "1e309",
      "-1e309",
      "1e-400",
      "0.0",
      "-0.0",
      "01",
      "-",
      "+1",
      "1.",
      ".5",
      "1e",
      "1e+",
      "0x10",
      "1.5.2",
      "--1",
      "1 2",
      "Infinity",
      "NaN",
      std::string(400, '9'),
      "[" + std::string(400, '9') + "]",
      // Strings: escapes, surrogates, UTF-8, control characters.
      R"("a\"b\\c\/d\be\ff\ng\rh\ti")",
      R"("\u0041\u00e9\u20AC")",
      R"("\ud83d\ude00")",
      R"("\ud83d")",
      R"("\ude00")",
      R"("\ud83d\u0041")",
      R"("\ud83dx")",
      R"("\u12")",
      R"("\u12G4")",
      R"("\x")",
      R"("\u0000")",
      "\"tab\there\"",
      "\"nl\nhere\"",
      "\"\x01\"",
      "\"\x7f\"",
      "\"\xc3\xa9\"",
      "\"\xe2\x82\xac\"",
      "\"\xf0\x9f\x98\x80\"",
      "\"\xc0\xaf\"",
      "\"\xc1\xbf\"",
      "\"\xe0\x80\xaf\"",
      "\"\xed\xa0\x80\"",
      "\"\xf4\x90\x80\x80\"",
      "\"\xf5\x80\x80\x80\"",
      "\"\xff\"",
      "\"\x80\"",
      "\"\xc3\"",
      "\"\xe2\x82\"",
      "\"unterminated",
      "\"a\\",
      "\"",
      // Names: duplicates plain and escaped, escaped names, many members.
      R"({"a":1,"a":2})",
      R"({"a":1,"\u0061":2})",
      R"({"\u0061":1,"b":{"a":1,"a":2}})",
      R"({"a\u0000b":1,"a":2})",
      R"({"":1,"":2})",
      R"({"x":1,"a":2,"x":3})",
      R"({"a":1,"a"})",
      R"({"a":1,"a":tru})",
      R"({"a" 1})",
      R"({"a":1,})",
      R"({,})",
      R"({"a":1}})",
      R"({"a":1)",
      R"({1:2})",
      R"({"a":})",
      R"([1,])",
      R"([,1])",
      R"([1 2])",
      R"([)",
      R"(])",
      R"({})",
      R"({ })",
      R"([ ])",
      // Literals and the end of input.
      "tru",
      "nul",
      "fals",
      "truex",
      "true false",
      "nullnull",
      "",
      " ",
      "{} {}",
      "[]]",
      std::string("{\"a\":1}\0", 8),
      std::string("\0", 1),
      // The byte order mark (nlohmann skips one at the start).
      "\xef\xbb\xbf{\"a\":1}",
      "\xef\xbb{}",
      "\xef{}",
      " \xef\xbb\xbf{}",
      "\xef\xbb\xbf",
  };
  return texts;
}

TEST(JsonScanTest, AgreesWithParseStrictOnTheCorpus) {
  for (const std::string& text : corpus()) expect_agree(text);
}

TEST(JsonScanTest, AgreesOnManyMembers) {
  // Past the inline name slots: the hash set takes over, and still finds a duplicate.
  std::string many = "{";
  for (int i = 0; i < 100; ++i) many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  expect_agree(many + "\"k99\":1}");
  expect_agree(many + "\"k\\u0039\":1}");
  expect_agree(many + "\"last\":1}");
}

TEST(JsonScanTest, AgreesOnLimits) {
  for (int depth : {0, 1, 2, 3, 5}) {
    Limits limits;
    limits.max_depth = depth;
    for (const std::string& text :
         {std::string("1"), std::string("[]"), std::string("[1]"), std::string("{}"),
          std::string(R"({"a":1})"), std::string("[[1]]"), std::string(R"([{"a":[]}])"),
          std::string(R"({"a":{"b":{"c":{"d":1}}}})"), std::string("[[[[[[\"x\"]]]]]]"),
          std::string("[[[[[[\"\x01\"]]]]]]"), std::string("[[[[[[1e999]]]]]]"),
          std::string("[[[[[[tru]]]]]]"), std::string(R"({"a":{"a":{"a":{"a":1,"a":2}}}})"),
          std::string(R"([[[[{"a" 1}]]]])")}) {
      expect_agree(text, limits);
    }
  }
  Limits small;
  small.max_bytes = 8;
  expect_agree("[1,2,3]", small);
  expect_agree("[1,2,3,4]", small);
  // Deeper than the default limit.
  expect_agree(std::string(40, '[') + std::string(40, ']'));
}

// Mutations of the corpus (a byte changed, inserted, removed; a cut; two texts spliced) with a
// fixed seed: every one gets the same answer from both.
TEST(JsonScanTest, AgreesOnMutations) {
  std::mt19937 rng(20261125);
  const std::string alphabet = "{}[]\":,\\ .-+eE0123456789abfnrtu\x01\x7f\x80\xbf\xc3\xe2\xed\xf0";
  const auto& texts = corpus();
  for (int round = 0; round < 200000; ++round) {
    std::string text = texts[rng() % texts.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = text.empty() ? 0 : rng() % (text.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 5) {
        case 0:
          if (at < text.size()) text[at] = c;
          break;
        case 1:
          text.insert(at, 1, c);
          break;
        case 2:
          if (at < text.size()) text.erase(at, 1);
          break;
        case 3:
          text.resize(at);
          break;
        default: {
          const std::string& other = texts[rng() % texts.size()];
          text.insert(at, other.substr(0, other.size() / 2));
        }
      }
    }
    expect_agree(text);
    if (::testing::Test::HasFailure()) break;  // one reported mutation is enough
  }
}

// A host program may set a locale whose decimal point is a comma (de_DE): JSON numbers still use
// '.', in both readers. The locale is compiled from Debian's `locales` sources into a temporary
// directory (scripts/bootstrap.sh installs them).
TEST(JsonScanTest, NumbersIgnoreTheHostLocale) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("tessera-locale-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string make =
      "localedef -i de_DE -f UTF-8 '" + (dir / "de_DE.UTF-8").string() + "' >/dev/null 2>&1";
  std::system(make.c_str());  // NOLINT(cert-env33-c): a fixed command line
  ::setenv("LOCPATH", dir.c_str(), 1);
  ASSERT_NE(std::setlocale(LC_ALL, "de_DE.UTF-8"), nullptr) << "could not build the de_DE locale";
  EXPECT_EQ(std::strtod("1.5", nullptr), 1.0);  // the locale is in force
  for (const std::string& text : {std::string("1.5e400"), std::string("[1.5, -2.25e3, 1e-400]"),
                                  std::string(R"({"exp":1700000000.5,"nbf":2e9})")}) {
    expect_agree(text);
  }
  EXPECT_EQ(double_value(RawValue{Kind::kNumber, "1.7e9"}), 1.7e9);
  EXPECT_EQ(double_value(RawValue{Kind::kNumber, "1700000000.5"}), 1700000000.5);
  std::setlocale(LC_ALL, "C");
  ::unsetenv("LOCPATH");
  std::filesystem::remove_all(dir);
}

TEST(JsonScanTest, ReportsRootMembersInOrderWithUnescapedNames) {
  std::vector<std::pair<std::string, std::string>> seen;
  auto root = scan_strict(R"( {"iss" : "x", "\u0073ub":{"a":[1]}, "n": -2.5e1 } )", {},
                          [&](std::string_view name, RawValue v) {
                            seen.emplace_back(std::string(name), std::string(v.text));
                          });
  ASSERT_TRUE(root);
  EXPECT_EQ(root->kind, Kind::kObject);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], (std::pair<std::string, std::string>{"iss", "\"x\""}));
  EXPECT_EQ(seen[1], (std::pair<std::string, std::string>{"sub", R"({"a":[1]})"}));
  EXPECT_EQ(seen[2], (std::pair<std::string, std::string>{"n", "-2.5e1"}));
  EXPECT_EQ(double_value(RawValue{Kind::kNumber, "-2.5e1"}), -25.0);
  EXPECT_FALSE(integer_value(RawValue{Kind::kNumber, "-2.5e1"}));
  EXPECT_EQ(integer_value(RawValue{Kind::kNumber, "-25"}), -25);
  EXPECT_EQ(string_value(RawValue{Kind::kString, R"("\ud83d\ude00 \u00e9")"}),
            "\xf0\x9f\x98\x80 \xc3\xa9");
}

}  // namespace
}  // namespace tessera::json
