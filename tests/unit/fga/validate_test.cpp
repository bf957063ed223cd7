// validate_model: each rule of OpenFGA's WriteAuthorizationModel (field rules, then
// typesystem.NewAndValidate) refuses the model it is about with OpenFGA's code and a message
// naming the type and relation; valid models pass; hostile models end quickly.
#include <gtest/gtest.h>

#include <string>

#include "fga/dsl.h"

namespace tessera::fga {
namespace {

const std::string kHead = "model\n  schema 1.1\ntype user\n";

Model parse(const std::string& text) {
  auto m = parse_dsl(text);
  EXPECT_TRUE(m.ok()) << m.error().line << ":" << m.error().column << ": " << m.error().message
                      << "\n"
                      << text;
  return m.ok() ? *m : Model{};
}

Error invalid_model(const Model& m) {
  auto r = validate_model(m);
  EXPECT_FALSE(r.ok()) << to_dsl(m);
  return r.ok() ? Error{} : r.error();
}

Error invalid_dsl(const std::string& text) { return invalid_model(parse(text)); }

void expect_invalid(const std::string& text, const std::string& message) {
  SCOPED_TRACE(text);
  const Error e = invalid_dsl(text);
  EXPECT_EQ(e.code, ErrorCode::invalid_authorization_model) << e.message;
  EXPECT_EQ(e.message, message);
}

TEST(Validate, ValidModelsPass) {
  for (const std::string body : {
           "type doc\n  relations\n    define viewer: [user]\n",
           "type group\n  relations\n    define member: [user, group#member]\n",
           "type folder\n  relations\n    define parent: [folder]\n    define viewer: [user] or "
           "viewer from parent\n",
           "type doc\n  relations\n    define editor: [user, doc#viewer]\n    define viewer: "
           "[doc#editor] or editor\n",
           "type doc\n  relations\n    define a: [user]\n    define b: [user:*] but not a\n    "
           "define c: a and b\n",
           "type doc\n  relations\n    define viewer: [user with x]\ncondition x(n: int) {\n  n < "
           "3\n}\n",
       }) {
    auto r = validate_model(parse(kHead + body));
    EXPECT_TRUE(r.ok()) << body << (r.ok() ? "" : r.error().message);
  }
}

TEST(Validate, SchemaVersionOnly11) {
  // OpenFGA's WriteAuthorizationModel answers invalid_authorization_model (typesystem
  // ErrInvalidSchemaVersion through InvalidAuthorizationModelInput).
  for (const char* v : {"1.0", "1.2", "2.1"}) {
    const Error e = invalid_dsl(std::string("model\n  schema ") + v + "\ntype user\n");
    EXPECT_EQ(e.code, ErrorCode::invalid_authorization_model);
    EXPECT_NE(e.message.find(std::string("'") + v + "'"), std::string::npos) << e.message;
  }
}

TEST(Validate, FieldRulesAreValidationErrors) {
  Error e = invalid_dsl("model\n  schema 1.1\n");
  EXPECT_EQ(e.code, ErrorCode::validation_error);
  EXPECT_NE(e.message.find("type_definitions"), std::string::npos) << e.message;

  Model m = parse(kHead + "type doc\n  relations\n    define viewer: [user]\n");
  Model bad = m;
  bad.types[1].name = "doc:1";
  e = invalid_model(bad);
  EXPECT_EQ(e.code, ErrorCode::validation_error);
  EXPECT_NE(e.message.find("type_definitions[1].type"), std::string::npos) << e.message;
  bad = m;
  bad.types[1].relations[0].name = std::string(51, 'r');
  EXPECT_EQ(invalid_model(bad).code, ErrorCode::validation_error);
  bad = m;
  bad.types[1].relations[0].directly_related[0].type = "us er";
  EXPECT_EQ(invalid_model(bad).code, ErrorCode::validation_error);
  bad = m;
  for (int i = 0; i < 26; ++i) {
    const std::string n = "c" + std::to_string(i);
    bad.conditions[n] = Condition{n, "true", {{"x", ParamTypeRef{ParamType::Int, {}}}}};
  }
  e = invalid_model(bad);
  EXPECT_EQ(e.code, ErrorCode::validation_error);
  EXPECT_NE(e.message.find("25"), std::string::npos) << e.message;
  bad = m;
  bad.conditions["c"] = Condition{"c", std::string(513, 'x'), {}};
  e = invalid_model(bad);
  EXPECT_EQ(e.code, ErrorCode::validation_error);
  EXPECT_NE(e.message.find("512"), std::string::npos) << e.message;
}

TEST(Validate, DuplicateTypesAndRelations) {
  Error e = invalid_dsl(kHead + "type doc\ntype user\n");
  EXPECT_EQ(e.code, ErrorCode::invalid_authorization_model);
  EXPECT_NE(e.message.find("duplicate types: 'user'"), std::string::npos) << e.message;
  Model m = parse(kHead + "type doc\n  relations\n    define viewer: [user]\n");
  m.types[1].relations.push_back(m.types[1].relations[0]);
  e = invalid_model(m);
  EXPECT_EQ(e.code, ErrorCode::invalid_authorization_model);
  EXPECT_EQ(e.message, "'viewer' is already defined in 'doc'");
}

TEST(Validate, ReservedNames) {
  expect_invalid("model\n  schema 1.1\ntype this\n",
                 "the definition of type 'this' is invalid: self and this are reserved keywords");
  expect_invalid(kHead + "type doc\n  relations\n    define self: [user]\n",
                 "the definition of relation 'self' in object type 'doc' is invalid: self and "
                 "this are reserved keywords");
}

TEST(Validate, UndefinedRelationsInRewrites) {
  expect_invalid(kHead + "type doc\n  relations\n    define viewer: editor\n",
                 "'doc#editor' relation is undefined");
  expect_invalid(kHead + "type doc\n  relations\n    define viewer: [user] or viewer\n",
                 "the definition of relation 'viewer' in object type 'doc' is invalid: invalid "
                 "userset rewrite definition");
  expect_invalid(kHead + "type doc\n  relations\n    define viewer: viewer from parent\n",
                 "'doc#parent' relation is undefined");
  expect_invalid(kHead +
                     "type doc\n  relations\n    define a: [user]\n    define b: a and (c or "
                     "a)\n",
                 "'doc#c' relation is undefined");
}

TEST(Validate, TuplesetRelationsMustBeDirectAndPlain) {
  // The tupleset of `x from parent` is a direct relation only.
  expect_invalid(kHead +
                     "type folder\n  relations\n    define owner: [folder]\n    define "
                     "parent: [folder] or owner\n    define viewer: [user] or viewer from "
                     "parent\n",
                 "the 'folder#parent' relation is referenced in at least one tupleset and thus "
                 "must be a direct relation");
  // ... whose types define the computed relation.
  const Error e = invalid_dsl(kHead +
                              "type folder\n  relations\n    define parent: [user]\n    "
                              "define viewer: [user] or viewer from parent\n");
  EXPECT_EQ(e.code, ErrorCode::invalid_authorization_model);
  EXPECT_NE(e.message.find("viewer does not appear as a relation in any of the directly related "
                           "user types [user]"),
            std::string::npos)
      << e.message;
  // ... and relates objects, not usersets or wildcards.
  expect_invalid(kHead +
                     "type folder\n  relations\n    define parent: [folder#viewer]\n    "
                     "define viewer: [user] or viewer from parent\n",
                 "the relation type 'folder#viewer' on 'parent' in object type 'folder' is not "
                 "valid");
  expect_invalid(kHead +
                     "type folder\n  relations\n    define parent: [folder:*]\n    "
                     "define viewer: [user] or viewer from parent\n",
                 "the relation type 'folder' on 'parent' in object type 'folder' is not valid");
}

TEST(Validate, TypeRestrictions) {
  expect_invalid(kHead + "type doc\n  relations\n    define viewer: [nope]\n",
                 "the relation type 'nope' on 'viewer' in object type 'doc' is not valid");
  expect_invalid(kHead +
                     "type group\n  relations\n    define member: [user]\ntype doc\n  "
                     "relations\n    define viewer: [group#admin]\n",
                 "the relation type 'group#admin' on 'viewer' in object type 'doc' is not valid");
  expect_invalid(kHead + "type doc\n  relations\n    define viewer: [user with nope]\n",
                 "condition nope is undefined for relation viewer in object type 'doc'");
  // Only a hand-built model can have `this` without types, or types without `this`.
  Model m = parse(kHead +
                  "type doc\n  relations\n    define viewer: [user]\n    define zed: "
                  "viewer\n");
  Model bad = m;
  bad.types[1].relations[0].directly_related.clear();
  Error e = invalid_model(bad);
  EXPECT_EQ(e.message,
            "the assignable relation 'viewer' in object type 'doc' must contain at least one "
            "relation type");
  bad = m;
  bad.types[1].relations[1].directly_related = {RelationReference{"user", "", false, ""}};
  e = invalid_model(bad);
  EXPECT_EQ(e.message,
            "the non-assignable relation 'zed' in object type 'doc' should not contain a "
            "relation type");
}

TEST(Validate, RelationsThatCannotResolve) {
  // No entry point: nothing ever leads to a concrete user type.
  expect_invalid(kHead + "type doc\n  relations\n    define a: b\n    define b: a\n",
                 "the definition of relation 'a' in object type 'doc' is invalid: potential loop");
  expect_invalid(kHead + "type doc\n  relations\n    define viewer: [doc#viewer]\n",
                 "the definition of relation 'viewer' in object type 'doc' is invalid: no "
                 "entrypoints defined");
  expect_invalid(kHead +
                     "type doc\n  relations\n    define a: [user]\n    define b: [doc#b] "
                     "and a\n",
                 "the definition of relation 'b' in object type 'doc' is invalid: no entrypoints "
                 "defined");
  expect_invalid(kHead +
                     "type doc\n  relations\n    define a: [user]\n    define b: a but not "
                     "c\n    define c: [doc#c]\n",
                 "the definition of relation 'b' in object type 'doc' is invalid: no entrypoints "
                 "defined");
  // Entry points, but a cycle through computed usersets.
  expect_invalid(kHead +
                     "type doc\n  relations\n    define a: [user] or b\n    define b: [user] "
                     "or a\n",
                 "the definition of relation 'a' in object type 'doc' is invalid: an "
                 "authorization model cannot contain a cycle");
}

TEST(Validate, Conditions) {
  Model m = parse(kHead +
                  "type doc\n  relations\n    define viewer: [user with x]\ncondition "
                  "x(n: int) {\n  n < 3\n}\n");
  ASSERT_TRUE(validate_model(m).ok());
  Model bad = m;
  bad.conditions["x"].name = "y";
  EXPECT_EQ(invalid_model(bad).message, "condition key 'x' does not match condition name 'y'");
  bad = m;
  bad.conditions["x"].parameters["l"] = ParamTypeRef{ParamType::List, {}};
  Error e = invalid_model(bad);
  EXPECT_EQ(e.code, ErrorCode::invalid_authorization_model);
  EXPECT_NE(e.message.find("parameter 'l'"), std::string::npos) << e.message;
  bad = m;
  bad.conditions["x"].parameters["n"] = ParamTypeRef{ParamType::Int, {{ParamType::Int, {}}}};
  EXPECT_EQ(invalid_model(bad).code, ErrorCode::invalid_authorization_model);
  bad = m;
  bad.conditions["x"].expression.clear();
  e = invalid_model(bad);
  EXPECT_NE(e.message.find("empty expression"), std::string::npos) << e.message;
  // Nested generics are fine when each level has its one generic type.
  bad = m;
  bad.conditions["x"].parameters["l"] =
      ParamTypeRef{ParamType::List, {ParamTypeRef{ParamType::Map, {{ParamType::String, {}}}}}};
  EXPECT_TRUE(validate_model(bad).ok());
}

TEST(Validate, HostileModelsEndQuickly) {
  // A chain of computed relations: fine at 500 (longer than any real model).
  std::string chain = kHead + "type doc\n  relations\n    define r0: [user]\n";
  for (int i = 1; i < 500; ++i) {
    chain += "    define r" + std::to_string(i) + ": r" + std::to_string(i - 1) + "\n";
  }
  EXPECT_TRUE(validate_model(parse(chain)).ok());
  // Every relation a union of the two before: exponentially many paths for OpenFGA's cycle
  // walk; refused by the step budget instead of running for hours.
  std::string fib = kHead +
                    "type doc\n  relations\n    define r0: [user]\n    define r1: "
                    "[user]\n";
  for (int i = 2; i < 60; ++i) {
    fib += "    define r" + std::to_string(i) + ": r" + std::to_string(i - 1) + " or r" +
           std::to_string(i - 2) + "\n";
  }
  const Error e = invalid_dsl(fib);
  EXPECT_EQ(e.code, ErrorCode::invalid_authorization_model);
  EXPECT_NE(e.message.find("too complex"), std::string::npos) << e.message;
  // A very long chain (hand-built, beyond the DSL's limit): refused, no stack overflow.
  Model deep = parse(kHead + "type doc\n  relations\n    define r0: [user]\n");
  for (int i = 1; i < 5000; ++i) {
    deep.types[1].relations.push_back(
        Relation{"r" + std::to_string(i),
                 Rewrite{Rewrite::Kind::Computed, "r" + std::to_string(i - 1), "", {}},
                 {}});
  }
  const Error d = invalid_model(deep);
  EXPECT_EQ(d.code, ErrorCode::invalid_authorization_model);
  EXPECT_NE(d.message.find("too complex"), std::string::npos) << d.message;
}

}  // namespace
}  // namespace tessera::fga
