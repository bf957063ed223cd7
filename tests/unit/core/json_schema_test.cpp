// The JSON Schema subset of core/json_schema.h: what a schema may say (unknown keywords and
// pattern refused when loaded) and each keyword's check, with the JSON Pointer of the failure.
#include "core/json_schema.h"

#include <gtest/gtest.h>

namespace tessera::json {
namespace {

Json j(std::string_view text) {
  auto parsed = parse_strict(text);
  EXPECT_TRUE(parsed) << text;
  return parsed ? *parsed : Json();
}

std::string violation(std::string_view schema, std::string_view value) {
  return schema_violation(j(schema), j(value)).value_or("");
}

TEST(JsonSchemaProblem, KnownKeywordsAndAnnotationsLoad) {
  EXPECT_FALSE(schema_problem(j(R"({
    "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "t", "description": "d",
    "type": ["object", "null"], "required": ["a"], "additionalProperties": {"type": "string"},
    "properties": {"a": {"type": "array", "items": {"enum": [1, "x"]}, "minItems": 1,
                         "maxItems": 3, "uniqueItems": true},
                   "b": {"type": "number", "minimum": 0, "exclusiveMaximum": 10.5},
                   "c": {"const": {"k": 1}}, "d": {"minLength": 1, "maxLength": 5}, "e": true}})")));
  EXPECT_FALSE(schema_problem(j("true")));
}

TEST(JsonSchemaProblem, UnknownKeywordsPatternAndBadValuesAreRefused) {
  EXPECT_NE(
      schema_problem(j(R"({"oneOf": []})")).value_or("").find("/oneOf: keyword not supported"),
      std::string::npos);
  EXPECT_NE(schema_problem(j(R"({"properties": {"a": {"pattern": "^(a+)+$"}}})"))
                .value_or("")
                .find("/properties/a/pattern: pattern is not supported"),
            std::string::npos);
  EXPECT_TRUE(schema_problem(j(R"({"type": "text"})")));
  EXPECT_TRUE(schema_problem(j(R"({"required": "a"})")));
  EXPECT_TRUE(schema_problem(j(R"({"maxItems": -1})")));
  EXPECT_TRUE(schema_problem(j(R"({"minimum": "0"})")));
  EXPECT_TRUE(schema_problem(j(R"({"enum": []})")));
  EXPECT_TRUE(schema_problem(j("7")));
  std::string deep = "true";
  for (int i = 0; i <= kMaxSchemaDepth; ++i) deep = R"({"items": )" + deep + "}";
  EXPECT_NE(schema_problem(j(deep)).value_or("").find("nested too deeply"), std::string::npos);
}

TEST(JsonSchemaViolation, TypesIncludingIntegersWrittenWithAFraction) {
  EXPECT_EQ(violation(R"({"type": "integer"})", "3"), "");
  EXPECT_EQ(violation(R"({"type": "integer"})", "3.0"), "");
  EXPECT_NE(violation(R"({"type": "integer"})", "3.5"), "");
  EXPECT_EQ(violation(R"({"type": ["string", "null"]})", "null"), "");
  EXPECT_EQ(violation(R"({"type": "string"})", "1"), R"(/: must be of type "string")");
  EXPECT_EQ(violation("false", "1"), "/: no value is allowed here");
}

TEST(JsonSchemaViolation, ObjectsRequiredPropertiesAndAdditional) {
  const char* schema = R"({"type": "object", "required": ["a"], "additionalProperties": false,
                           "properties": {"a": {"type": "string"}, "b/c": {"type": "number"}}})";
  EXPECT_EQ(violation(schema, R"({"a": "x", "b/c": 1})"), "");
  EXPECT_EQ(violation(schema, R"({})"), "/: member a is required");
  EXPECT_EQ(violation(schema, R"({"a": "x", "z": 1})"), "/: member z is not allowed");
  EXPECT_EQ(violation(schema, R"({"a": "x", "b/c": "1"})"), R"(/b~1c: must be of type "number")");
  EXPECT_EQ(violation(R"({"additionalProperties": {"type": "boolean"}})", R"({"q": 1})"),
            R"(/q: must be of type "boolean")");
}

TEST(JsonSchemaViolation, ArraysAndTheirItems) {
  const char* schema =
      R"({"type": "array", "minItems": 1, "maxItems": 2, "uniqueItems": true, "items": {"enum": ["a", "b"]}})";
  EXPECT_EQ(violation(schema, R"(["a", "b"])"), "");
  EXPECT_EQ(violation(schema, "[]"), "/: must have at least 1 items");
  EXPECT_EQ(violation(schema, R"(["a", "b", "a"])"), "/: must have at most 2 items");
  EXPECT_EQ(violation(schema, R"(["a", "a"])"), "/: items must be unique");
  EXPECT_EQ(violation(schema, R"(["a", "c"])"), R"(/1: must be one of ["a","b"])");
}

TEST(JsonSchemaViolation, StringLengthsCountCharactersAndNumbersTheirBounds) {
  EXPECT_EQ(violation(R"({"maxLength": 2})", R"("éé")"), "");  // 2 characters, 4 bytes
  EXPECT_EQ(violation(R"({"maxLength": 2})", R"("abc")"), "/: must be at most 2 characters");
  EXPECT_EQ(violation(R"({"minLength": 1})", R"("")"), "/: must be at least 1 characters");
  EXPECT_EQ(violation(R"({"minimum": 1, "maximum": 3})", "3"), "");
  EXPECT_EQ(violation(R"({"minimum": 1})", "0.5"), "/: must be at least 1");
  EXPECT_EQ(violation(R"({"maximum": 3})", "4"), "/: must be at most 3");
  EXPECT_EQ(violation(R"({"exclusiveMinimum": 1})", "1"), "/: must be more than 1");
  EXPECT_EQ(violation(R"({"exclusiveMaximum": 3})", "3"), "/: must be less than 3");
  EXPECT_EQ(violation(R"({"const": {"k": [1]}})", R"({"k": [1]})"), "");
  EXPECT_EQ(violation(R"({"const": "x"})", R"("y")"), R"(/: must be "x")");
}

}  // namespace
}  // namespace tessera::json
