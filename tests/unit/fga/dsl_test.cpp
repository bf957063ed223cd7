// parse_dsl / to_dsl: every model of OpenFGA's conformance suite parses, validates and round
// trips (DSL and JSON); the JSON shapes are syntax-transformer's; operators, comments,
// conditions and names as OpenFGA's grammar has them; syntax errors name line and column.
#include "fga/dsl.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <string>
#include <vector>

namespace tessera::fga {
namespace {

using nlohmann::json;

Model parse_ok(std::string_view text) {
  auto m = parse_dsl(text);
  EXPECT_TRUE(m.ok()) << (m.ok() ? ""
                                 : std::to_string(m.error().line) + ":" +
                                       std::to_string(m.error().column) + ": " + m.error().message)
                      << "\n"
                      << text;
  return m.ok() ? *m : Model{};
}

DslError parse_error(std::string_view text) {
  auto m = parse_dsl(text);
  EXPECT_FALSE(m.ok()) << "parsed:\n" << text;
  return m.ok() ? DslError{} : m.error();
}

// The JSON form orders relations by name; the DSL keeps declaration order.
Model sorted_relations(Model m) {
  for (auto& t : m.types) {
    std::sort(t.relations.begin(), t.relations.end(),
              [](const Relation& a, const Relation& b) { return a.name < b.name; });
  }
  return m;
}

// The rewrite of `define x: <def>` in a fixed model with relations a, b, c, parent.
json rewrite_of(const std::string& def) {
  const std::string text = R"(model
  schema 1.1
type user
type document
  relations
    define a: [user]
    define b: [user]
    define c: [user]
    define parent: [document]
    define x: )" + def + "\n";
  Model m = parse_ok(text);
  if (m.types.size() != 2 || m.types[1].relation("x") == nullptr) return nullptr;
  return to_json(m)["type_definitions"][1]["relations"]["x"];
}

json cu(const char* r) { return json{{"computedUserset", {{"relation", r}}}}; }

TEST(DslConformance, EveryModelParsesValidatesAndRoundTrips) {
  const std::string path =
      std::string(TESSERA_SHARED_DIR) + "/testdata/openfga/consolidated_1_1_tests.yaml";
  YAML::Node doc;
  ASSERT_NO_THROW(doc = YAML::LoadFile(path)) << path;
  ASSERT_TRUE(doc["tests"].IsSequence());
  size_t models = 0;
  for (const auto& test : doc["tests"]) {
    const std::string name = test["name"].as<std::string>();
    for (const auto& stage : test["stages"]) {
      if (!stage["model"]) continue;
      const std::string text = stage["model"].as<std::string>();
      ++models;
      SCOPED_TRACE(name);
      auto parsed = parse_dsl(text);
      ASSERT_TRUE(parsed.ok()) << name << ": " << parsed.error().line << ":"
                               << parsed.error().column << ": " << parsed.error().message;
      const Model& m = *parsed;
      EXPECT_FALSE(m.types.empty());
      auto valid = validate_model(m);
      EXPECT_TRUE(valid.ok()) << name << ": " << (valid.ok() ? "" : valid.error().message);

      const std::string dsl = to_dsl(m);
      auto again = parse_dsl(dsl);
      ASSERT_TRUE(again.ok()) << name << ": to_dsl gave unparsable text:\n"
                              << dsl << "\n"
                              << again.error().line << ":" << again.error().column << ": "
                              << again.error().message;
      EXPECT_EQ(*again, m) << name << ":\n" << dsl;
      EXPECT_EQ(to_dsl(*again), dsl);

      const json j = to_json(m);
      auto loaded = model_from_json(json::parse(j.dump()));
      ASSERT_TRUE(loaded.ok()) << name << ": " << loaded.error().message;
      EXPECT_EQ(sorted_relations(*loaded), sorted_relations(m)) << name << "\n" << j.dump(2);
      EXPECT_EQ(to_json(*loaded), j);
    }
  }
  // 137 tests in the suite, most with several stages: a short count means the file was not
  // read as expected.
  EXPECT_GE(models, 137U);
}

TEST(DslJson, ShapeIsSyntaxTransformers) {
  // Expected: @openfga/syntax-transformer 0.2.2 transformDSLToJSONObject on the same text.
  const Model m = parse_ok(R"(model
  schema 1.1
type user
type document
  relations
    define parent: [document]
    define viewer: [user, user:*, group#member with c] or editor or viewer from parent
condition c(x: int, l: list<string>) {
  x < 10 && "a b" in l
}
)");
  const json expected = json::parse(R"({
    "schema_version": "1.1",
    "type_definitions": [
      {"type": "user", "relations": {}, "metadata": null},
      {"type": "document",
       "relations": {
         "parent": {"this": {}},
         "viewer": {"union": {"child": [
           {"this": {}},
           {"computedUserset": {"relation": "editor"}},
           {"tupleToUserset": {"computedUserset": {"relation": "viewer"},
                               "tupleset": {"relation": "parent"}}}]}}},
       "metadata": {"relations": {
         "parent": {"directly_related_user_types": [{"type": "document"}]},
         "viewer": {"directly_related_user_types": [
           {"type": "user"},
           {"type": "user", "wildcard": {}},
           {"type": "group", "condition": "c", "relation": "member"}]}}}}],
    "conditions": {"c": {"name": "c", "expression": "x < 10 && \"a b\" in l",
      "parameters": {"x": {"type_name": "TYPE_NAME_INT"},
                     "l": {"type_name": "TYPE_NAME_LIST",
                           "generic_types": [{"type_name": "TYPE_NAME_STRING"}]}}}}
  })");
  EXPECT_EQ(to_json(m), expected) << to_json(m).dump(2);
}

TEST(DslOperators, OneKindPerExpressionGroupsNotFlattened) {
  EXPECT_EQ(rewrite_of("a or b or c"), json({{"union", {{"child", {cu("a"), cu("b"), cu("c")}}}}}));
  EXPECT_EQ(rewrite_of("a or (b and c)"),
            json({{"union",
                   {{"child", {cu("a"), {{"intersection", {{"child", {cu("b"), cu("c")}}}}}}}}}}));
  EXPECT_EQ(
      rewrite_of("(a or b) but not c"),
      json({{"difference",
             {{"base", {{"union", {{"child", {cu("a"), cu("b")}}}}}}, {"subtract", cu("c")}}}}));
  EXPECT_EQ(rewrite_of("a but not (b but not c)"),
            json({{"difference",
                   {{"base", cu("a")},
                    {"subtract", {{"difference", {{"base", cu("b")}, {"subtract", cu("c")}}}}}}}}));
  // Nested groups stay nested (syntax-transformer does not flatten `a or (b or c)`).
  EXPECT_EQ(
      rewrite_of("a or b or (c or a)"),
      json({{"union",
             {{"child", {cu("a"), cu("b"), {{"union", {{"child", {cu("c"), cu("a")}}}}}}}}}}));
  // A group of one is its operand.
  EXPECT_EQ(rewrite_of("(a)"), cu("a"));
  EXPECT_EQ(rewrite_of("( a )"), cu("a"));
  EXPECT_EQ(rewrite_of("((a or b))"), json({{"union", {{"child", {cu("a"), cu("b")}}}}}));
  EXPECT_EQ(rewrite_of("a or (b)"), json({{"union", {{"child", {cu("a"), cu("b")}}}}}));
  // `[...]` is `this`, a child of the union like any operand.
  EXPECT_EQ(rewrite_of("[user] or a from parent"),
            json({{"union",
                   {{"child",
                     {{{"this", json::object()}},
                      {{"tupleToUserset",
                        {{"computedUserset", {{"relation", "a"}}},
                         {"tupleset", {{"relation", "parent"}}}}}}}}}}}));
  EXPECT_EQ(rewrite_of("[user] but not a"),
            json({{"difference", {{"base", {{"this", json::object()}}}, {"subtract", cu("a")}}}}));
  EXPECT_EQ(
      rewrite_of("([user] or a) and b"),
      json({{"intersection",
             {{"child",
               {{{"union", {{"child", {{{"this", json::object()}}, cu("a")}}}}}, cu("b")}}}}}));
  EXPECT_EQ(rewrite_of("([user])"), json({{"this", json::object()}}));
  // Blanks: any run of spaces or tabs where the grammar has WHITESPACE.
  EXPECT_EQ(rewrite_of("[user]  or\ta"),
            json({{"union", {{"child", {{{"this", json::object()}}, cu("a")}}}}}));
}

TEST(DslOperators, MixingWithoutParenthesesIsAnError) {
  const std::string head =
      "model\n  schema 1.1\ntype user\ntype doc\n  relations\n"
      "    define a: [user]\n    define b: [user]\n    define c: [user]\n";
  // OpenFGA's grammar has no precedence: `a or b and c` is refused, as is chaining but not.
  auto e = parse_error(head + "    define x: a or b and c\n");
  EXPECT_EQ(e.line, 9);
  EXPECT_EQ(e.column, 22);  // the `and`
  EXPECT_NE(e.message.find("parentheses"), std::string::npos) << e.message;
  e = parse_error(head + "    define x: a but not b or c\n");
  EXPECT_EQ(e.line, 9);
  EXPECT_EQ(e.column, 27);
  EXPECT_NE(e.message.find("parentheses"), std::string::npos) << e.message;
  e = parse_error(head + "    define x: a but not b but not c\n");
  EXPECT_EQ(e.column, 27);
  EXPECT_NE(e.message.find("but not"), std::string::npos) << e.message;
  e = parse_error(head + "    define x: (a or b and c)\n");
  EXPECT_EQ(e.column, 23);
  // Direct assignment only as the first operand.
  e = parse_error(head + "    define x: a or [user]\n");
  EXPECT_EQ(e.column, 20);
  EXPECT_NE(e.message.find("first operand"), std::string::npos) << e.message;
  e = parse_error(head + "    define x: [user] or ([user])\n");
  EXPECT_EQ(e.column, 26);
  e = parse_error(head + "    define x: a but not [user]\n");
  EXPECT_EQ(e.column, 25);
}

TEST(DslSyntax, ErrorsNameLineAndColumn) {
  struct Case {
    std::string text;
    int line;
    int column;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {"", 1, 1, "expected 'model'"},
      {"type user\n", 1, 1, "expected 'model'"},
      {"model\ntype user\n", 2, 1, "'schema'"},
      {"model\n  schema\n", 2, 9, "space after 'schema'"},
      {"model\n  schema 1\n", 2, 10, "schema version"},
      {"model\n  schema 1.1 x\n", 2, 14, "end of line"},
      {"model\n  schema 1.1\ntype\n", 3, 5, "space after 'type'"},
      {"model\n  schema 1.1\ntype user relations\n", 3, 11,
       "expected end of line, found 'relations'"},
      {"model\n  schema 1.1\ntype user\n  relations\n", 5, 1, "'define' after 'relations'"},
      {"model\n  schema 1.1\ntype user\n  relations\n    define in: [user]\n", 5, 12, "keyword"},
      {"model\n  schema 1.1\ntype user\n  relations\n    define a [user]\n", 5, 14, "':'"},
      {"model\n  schema 1.1\ntype user\n  relations\n    define a: []\n", 5, 16, "type name"},
      {"model\n  schema 1.1\ntype user\n  relations\n    define a: [user,]\n", 5, 21, "type name"},
      {"model\n  schema 1.1\ntype user\n  relations\n    define a: [user:x]\n", 5, 21, "'*'"},
      {"model\n  schema 1.1\ntype user\n  relations\n    define a: [user\n", 6, 1, "',' or ']'"},
      {"model\n  schema 1.1\ntype user\n  relations\n    define a: (b\n", 5, 17, "')'"},
      {"model\n  schema 1.1\ntype user\n  relations\n    define a: b from\n", 5, 21,
       "space after 'from'"},
      // `#` only starts a comment after a blank.
      {"model\n  schema 1.1\ntype user\n  relations\n    define a: [user]# c\n", 5, 21,
       "end of line"},
      {"model\n  schema 1.1\ntype user\n  relations\n    define a: [user]\n    define a: [user]\n",
       6, 12, "'a' is already defined in 'user'"},
      {"model\n  schema 1.1\ntype user\ndefine a: [user]\n", 4, 1, "must follow a type"},
      {"model\n  schema 1.1\ncondition c(x: int) {\n  x < 1\n}\ntype user\n", 6, 1,
       "before conditions"},
      {"model\n  schema 1.1\ntype user\ncondition c(x: any) {\n  x\n}\n", 4, 16, "parameter type"},
      {"model\n  schema 1.1\ntype user\ncondition c(x: list<map<int>>) {\n  x\n}\n", 4, 21,
       "inside < >"},
      {"model\n  schema 1.1\ntype user\ncondition c(x: list) {\n  x\n}\n", 4, 20, "'<'"},
      {"model\n  schema 1.1\ntype user\ncondition c(x: int, x: int) {\n  x\n}\n", 4, 21,
       "parameter 'x' is already defined"},
      {"model\n  schema 1.1\ntype user\ncondition c(x: int) {\n  x = 1\n}\n", 5, 5, "=="},
      {"model\n  schema 1.1\ntype user\ncondition c(x: int) {\n  x < 1 @\n}\n", 5, 9,
       "unexpected character"},
      {"model\n  schema 1.1\ntype user\ncondition c(x: int) {\n  x < 1\n", 6, 1, "'}'"},
      {"model\n  schema 1.1\ntype user\ncondition c(x: string) {\n  x == \"a\n}\n", 5, 8,
       "unterminated string"},
      {"model\n  schema 1.1\ntype user\ncondition c(x: int) {\n  x\n}\ncondition c(y: int) {\n"
       "  y\n}\n",
       7, 11, "condition 'c' is already defined"},
      {"model\n  schema 1.1\ntype user\ncondition c(x: int) {\n  x\n} x\n", 6, 3, "end of line"},
      {"module foo\n", 1, 1, "modular"},
      {"model\n  schema 1.1\nextend type user\n", 3, 1, "modular"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const DslError e = parse_error(c.text);
    EXPECT_EQ(e.line, c.line) << e.message;
    EXPECT_EQ(e.column, c.column) << e.message;
    EXPECT_NE(e.message.find(c.message_part), std::string::npos) << e.message;
  }
}

TEST(DslSyntax, ColumnsCountCharactersNotBytes) {
  // "é" is two bytes of UTF-8, one column.
  const DslError e = parse_error(
      "model\n  schema 1.1\ntype user\ncondition c(x: string) {\n"
      "  x == \"é\" @\n}\n");
  EXPECT_EQ(e.line, 5);
  EXPECT_EQ(e.column, 12);
}

TEST(DslSyntax, LimitsStopHostileInput) {
  // Deep parentheses: an error, not a stack overflow.
  std::string deep =
      "model\n  schema 1.1\ntype user\n  relations\n    define a: [user]\n"
      "    define b: ";
  for (int i = 0; i < 100000; ++i) deep += "(";
  deep += "a";
  for (int i = 0; i < 100000; ++i) deep += ")";
  auto e = parse_error(deep);
  EXPECT_EQ(e.line, 6);
  EXPECT_NE(e.message.find("nested too deeply"), std::string::npos) << e.message;
  // 64 levels are fine.
  std::string ok =
      "model\n  schema 1.1\ntype user\n  relations\n    define a: [user]\n"
      "    define b: ";
  for (int i = 0; i < 64; ++i) ok += "(";
  ok += "a";
  for (int i = 0; i < 64; ++i) ok += ")";
  parse_ok(ok);
  // Text size.
  std::string big = "model\n  schema 1.1\n" + std::string(size_t{2} << 20, '\n');
  e = parse_error(big);
  EXPECT_NE(e.message.find("larger than"), std::string::npos) << e.message;
  // Many types.
  std::string many = "model\n  schema 1.1\n";
  for (int i = 0; i < 1001; ++i) many += "type t" + std::to_string(i) + "\n";
  e = parse_error(many);
  EXPECT_EQ(e.line, 1003);
  EXPECT_NE(e.message.find("too many type definitions"), std::string::npos) << e.message;
}

TEST(DslSyntax, CommentsBlankLinesIndentationAndLineEndings) {
  const Model expected = parse_ok(
      "model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define a: [user]\n"
      "    define b: a\n");
  // Whole-line comments, trailing ` #` comments, blank lines, no indentation, tabs, CRLF:
  // all the same model (indentation is not significant in OpenFGA's grammar).
  EXPECT_EQ(parse_ok("# header\nmodel\n  schema 1.1 # version\n\n# types\ntype user\n\n"
                     "type doc # a doc\n  relations\n  # the relations\n    define a: [user] # "
                     "or b\n    define b: a\n\n"),
            expected);
  // CEL-style `//` comments are hidden tokens anywhere in OpenFGA's lexer.
  EXPECT_EQ(parse_ok("model//c\n  schema 1.1\ntype user//x\ntype doc\n  relations\n    define a: "
                     "[ //x\n user]\n    define b: a//x"),
            expected);
  EXPECT_EQ(parse_ok("model\nschema 1.1\ntype user\ntype doc\nrelations\ndefine a: [user]\n"
                     "define b: a"),
            expected);
  EXPECT_EQ(parse_ok("model\n\tschema 1.1\ntype user\ntype doc\n\trelations\n\t\tdefine a: "
                     "[user]\n\t\tdefine b: a\n"),
            expected);
  EXPECT_EQ(parse_ok("model\r\n  schema 1.1\r\ntype user\r\ntype doc\r\n  relations\r\n    "
                     "define a: [user]\r\n    define b: a\r\n"),
            expected);
  EXPECT_EQ(parse_ok("\n\n  model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define a "
                     ": [user]\n    define b:a\n"),
            expected);
  // Restrictions may span lines.
  const Model multi = parse_ok(
      "model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define a: [\n      user,\n"
      "      user:*\n    ]\n");
  ASSERT_EQ(multi.types.size(), 2U);
  EXPECT_EQ(multi.types[1].relations[0].directly_related.size(), 2U);
}

TEST(DslConditions, ExpressionTextAsWritten) {
  const Model m = parse_ok(R"(model
  schema 1.1
type user
type doc
  relations
    define a: [user with c, user with d, user with e]
condition c(x: string, y: int) {
  x == "a" #comment
   && y > 2 // cel comment
}
condition d(s: string) { s == "}" || s == '{' || s == """x
}""" }
condition e (m:map<bool>,t: timestamp ,  u: uint,w: duration, i: ipaddress, f: double, b: bool){
m["k"] && r"\" != ""}
)");
  ASSERT_EQ(m.conditions.size(), 3U);
  const Condition& c = m.conditions.at("c");
  EXPECT_EQ(c.name, "c");
  // syntax-transformer: ` #comment` cut, `// ...` dropped, line break and indent kept.
  EXPECT_EQ(c.expression, "x == \"a\"\n   && y > 2");
  EXPECT_EQ(c.parameters.at("x"), (ParamTypeRef{ParamType::String, {}}));
  EXPECT_EQ(c.parameters.at("y"), (ParamTypeRef{ParamType::Int, {}}));
  EXPECT_EQ(m.conditions.at("d").expression, "s == \"}\" || s == '{' || s == \"\"\"x\n}\"\"\"");
  const Condition& e = m.conditions.at("e");
  EXPECT_EQ(e.expression, "m[\"k\"] && r\"\\\" != \"\"");
  EXPECT_EQ(e.parameters.at("m"), (ParamTypeRef{ParamType::Map, {{ParamType::Bool, {}}}}));
  EXPECT_EQ(e.parameters.at("t").type, ParamType::Timestamp);
  EXPECT_EQ(e.parameters.at("u").type, ParamType::Uint);
  EXPECT_EQ(e.parameters.at("w").type, ParamType::Duration);
  EXPECT_EQ(e.parameters.at("i").type, ParamType::IpAddress);
  EXPECT_EQ(e.parameters.at("f").type, ParamType::Double);
  EXPECT_EQ(e.parameters.at("b").type, ParamType::Bool);
  const auto& refs = m.types[1].relations[0].directly_related;
  ASSERT_EQ(refs.size(), 3U);
  EXPECT_EQ(refs[0], (RelationReference{"user", "", false, "c"}));
  // A string holding ` #` is cut like any line (syntax-transformer does the same): an error.
  auto err =
      parse_error("model\n  schema 1.1\ntype user\ncondition c(x: string) {\n  x == \"a #b\"\n}\n");
  EXPECT_EQ(err.line, 5);
  // Round trip through the DSL writer.
  EXPECT_EQ(parse_ok(to_dsl(m)), m);
}

TEST(DslNames, KeywordsAllowedAsNamesAndExtendedIdentifiers) {
  const Model m = parse_ok(R"(model
  schema 1.1
type model
  relations
    define type: [model]
    define schema: type from type
type a.b/c
  relations
    define x-y: [a.b/c#x-y, model]
    define order: x-y
)");
  ASSERT_EQ(m.types.size(), 2U);
  EXPECT_EQ(m.types[0].name, "model");
  EXPECT_EQ(m.types[0].relations[1].rewrite.kind, Rewrite::Kind::TupleToUserset);
  EXPECT_EQ(m.types[0].relations[1].rewrite.tupleset, "type");
  EXPECT_EQ(m.types[1].name, "a.b/c");
  EXPECT_EQ(m.types[1].relations[0].directly_related[0],
            (RelationReference{"a.b/c", "x-y", false, ""}));
  for (const char* reserved : {"and", "or", "from", "define", "with", "true", "condition"}) {
    auto e = parse_error(std::string("model\n  schema 1.1\ntype user\n  relations\n    define ") +
                         reserved + ": [user]\n");
    EXPECT_EQ(e.line, 5) << reserved;
    EXPECT_EQ(e.column, 12) << reserved;
  }
}

TEST(DslWriter, LayoutAndDirectAssignmentFirst) {
  Model m;
  TypeDefinition user{"user", {}};
  TypeDefinition doc{"doc", {}};
  Relation owner{"owner", Rewrite{}, {RelationReference{"user", "", false, ""}}};
  // `this` last in a JSON union: the DSL can only write it first (same set).
  Rewrite viewer{Rewrite::Kind::Union,
                 "",
                 "",
                 {Rewrite{Rewrite::Kind::Computed, "owner", "", {}},
                  Rewrite{Rewrite::Kind::This, "", "", {}}}};
  Relation viewer_rel{
      "viewer",
      viewer,
      {RelationReference{"user", "", true, ""}, RelationReference{"doc", "owner", false, "c"}}};
  Rewrite nested{Rewrite::Kind::Difference,
                 "",
                 "",
                 {Rewrite{Rewrite::Kind::Intersection,
                          "",
                          "",
                          {Rewrite{Rewrite::Kind::Computed, "owner", "", {}},
                           Rewrite{Rewrite::Kind::Computed, "viewer", "", {}}}},
                  Rewrite{Rewrite::Kind::TupleToUserset, "viewer", "parent", {}}}};
  doc.relations = {owner, viewer_rel, Relation{"editor", nested, {}}};
  m.types = {user, doc};
  m.conditions["c"] = Condition{"c",
                                "x < 1",
                                {{"x", ParamTypeRef{ParamType::Int, {}}},
                                 {"l", ParamTypeRef{ParamType::List, {{ParamType::String, {}}}}}}};
  EXPECT_EQ(to_dsl(m), R"(model
  schema 1.1

type user

type doc
  relations
    define owner: [user]
    define viewer: [user:*, doc#owner with c] or owner
    define editor: (owner and viewer) but not viewer from parent

condition c(l: list<string>, x: int) {
  x < 1
}
)");
  const Model back = parse_ok(to_dsl(m));
  ASSERT_EQ(back.types.size(), 2U);
  EXPECT_EQ(back.types[1].relations[1].rewrite.children[0].kind, Rewrite::Kind::This);
  EXPECT_EQ(back.types[1].relations[2], m.types[1].relations[2]);
  EXPECT_EQ(back.conditions, m.conditions);
}

}  // namespace
}  // namespace tessera::fga
