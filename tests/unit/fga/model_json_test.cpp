// to_json / model_from_json: OpenFGA's API form (with the members syntax-transformer leaves
// out) loads to the same model as the DSL; ids and schema versions; every bad shape is a
// validation_error, never an exception; nesting is bounded.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "fga/dsl.h"

namespace tessera::fga {
namespace {

using nlohmann::json;

const char* const kDsl = R"(model
  schema 1.1
type user
type group
  relations
    define member: [user, group#member]
type folder
  relations
    define owner: [user]
    define parent: [folder]
    define viewer: [user:*, group#member with ip] or owner or viewer from parent
    define blocked: [user]
    define can_view: viewer but not blocked
    define both: [user] and owner
condition ip(addr: ipaddress, cidrs: list<string>) {
  addr.in_cidr(cidrs[0])
}
)";

Model dsl_model() {
  auto m = parse_dsl(kDsl);
  EXPECT_TRUE(m.ok()) << m.error().message;
  return m.ok() ? *m : Model{};
}

Model sorted_relations(Model m) {
  for (auto& t : m.types) {
    std::sort(t.relations.begin(), t.relations.end(),
              [](const Relation& a, const Relation& b) { return a.name < b.name; });
  }
  return m;
}

Error load_error(const json& j) {
  auto m = model_from_json(j);
  EXPECT_FALSE(m.ok()) << j.dump();
  return m.ok() ? Error{} : m.error();
}

// What OpenFGA's GET .../authorization-models/{id} answers (protojson with unpopulated
// fields): `object: ""`, `condition: ""`, `module`, `source_info`, `metadata: null`.
const char* const kApiForm = R"json({
  "id": "01HVMMBCMGZNT3SED4Z17ECXCA",
  "schema_version": "1.1",
  "type_definitions": [
    {"type": "user", "relations": {}, "metadata": null},
    {"type": "group",
     "relations": {"member": {"this": {}}},
     "metadata": {"relations": {"member": {"directly_related_user_types": [
        {"type": "user", "condition": ""},
        {"type": "group", "relation": "member", "condition": ""}],
        "module": "", "source_info": null}}, "module": "", "source_info": null}},
    {"type": "folder",
     "relations": {
       "owner": {"this": {}},
       "parent": {"this": {}},
       "viewer": {"union": {"child": [
         {"this": {}},
         {"computedUserset": {"object": "", "relation": "owner"}},
         {"tupleToUserset": {"tupleset": {"object": "", "relation": "parent"},
                             "computedUserset": {"object": "", "relation": "viewer"}}}]}},
       "blocked": {"this": {}},
       "can_view": {"difference": {"base": {"computedUserset": {"object": "", "relation": "viewer"}},
                                   "subtract": {"computedUserset": {"object": "", "relation": "blocked"}}}},
       "both": {"intersection": {"child": [{"this": {}},
                                           {"computedUserset": {"object": "", "relation": "owner"}}]}}},
     "metadata": {"relations": {
       "owner": {"directly_related_user_types": [{"type": "user", "condition": ""}]},
       "parent": {"directly_related_user_types": [{"type": "folder", "condition": ""}]},
       "viewer": {"directly_related_user_types": [
         {"type": "user", "wildcard": {}, "condition": ""},
         {"type": "group", "relation": "member", "condition": "ip"}]},
       "blocked": {"directly_related_user_types": [{"type": "user", "condition": ""}]},
       "can_view": {"directly_related_user_types": []},
       "both": {"directly_related_user_types": [{"type": "user", "condition": ""}]},
       "unknown_relation": {"directly_related_user_types": [{"type": "nope"}]}}}}],
  "conditions": {"ip": {"name": "ip", "expression": "addr.in_cidr(cidrs[0])",
    "parameters": {"addr": {"type_name": "TYPE_NAME_IPADDRESS", "generic_types": []},
                   "cidrs": {"type_name": "TYPE_NAME_LIST",
                             "generic_types": [{"type_name": "TYPE_NAME_STRING"}]}},
    "metadata": null}}
})json";

TEST(ModelJson, ApiFormLoadsAsTheDsl) {
  auto loaded = model_from_json(json::parse(kApiForm));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->id, "01HVMMBCMGZNT3SED4Z17ECXCA");
  Model expected = dsl_model();
  expected.id = loaded->id;
  EXPECT_EQ(sorted_relations(*loaded), sorted_relations(expected));
  EXPECT_TRUE(validate_model(*loaded).ok());
}

TEST(ModelJson, WritesIdOnlyWhenSetAndConditionsOnlyWhenAny) {
  Model m = dsl_model();
  json j = to_json(m);
  EXPECT_FALSE(j.contains("id"));
  EXPECT_EQ(j["schema_version"], "1.1");
  EXPECT_EQ(j["type_definitions"][0],
            json::parse(R"({"type":"user","relations":{},"metadata":null})"));
  EXPECT_EQ(j["type_definitions"][2]["metadata"]["relations"]["can_view"],
            json::parse(R"({"directly_related_user_types": []})"));
  EXPECT_EQ(j["type_definitions"][2]["relations"]["viewer"]["union"]["child"][2],
            json::parse(R"({"tupleToUserset": {"tupleset": {"relation": "parent"},
                                               "computedUserset": {"relation": "viewer"}}})"));
  EXPECT_EQ(j["conditions"]["ip"]["parameters"]["addr"],
            json::parse(R"({"type_name": "TYPE_NAME_IPADDRESS"})"));
  m.id = "01HVMMBCMGZNT3SED4Z17ECXCA";
  m.conditions.clear();
  m.types[2].relations[2].directly_related[1].condition.clear();
  j = to_json(m);
  EXPECT_EQ(j["id"], m.id);
  EXPECT_FALSE(j.contains("conditions"));
  auto back = model_from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(sorted_relations(*back), sorted_relations(m));
}

TEST(ModelJson, DefaultsAndNulls) {
  // No schema_version: 1.1, as OpenFGA's WriteAuthorizationModel fills in.
  auto m = model_from_json(json::parse(R"({"type_definitions": [{"type": "user"}]})"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->schema_version, "1.1");
  ASSERT_EQ(m->types.size(), 1U);
  EXPECT_TRUE(m->types[0].relations.empty());
  m = model_from_json(json::parse(
      R"({"schema_version": null, "type_definitions": null, "conditions": null, "id": null})"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_TRUE(m->types.empty());
  EXPECT_EQ(m->schema_version, "1.1");
  m = model_from_json(json::parse(R"({"schema_version": "1.0", "type_definitions": []})"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->schema_version, "1.0");  // loads; validate_model refuses it
  // protojson reads enums by number too.
  m = model_from_json(json::parse(R"({"type_definitions": [{"type": "user"}],
      "conditions": {"c": {"name": "c", "expression": "x",
                           "parameters": {"x": {"type_name": 4}}}}})"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->conditions.at("c").parameters.at("x").type, ParamType::Int);
}

TEST(ModelJson, BadShapesAreValidationErrors) {
  const char* const cases[] = {
      R"([])",
      R"("model")",
      R"({"type_definitions": {}})",
      R"({"type_definitions": [1]})",
      R"({"type_definitions": [{"type": 1}]})",
      R"({"schema_version": 1.1})",
      R"({"id": 5})",
      R"({"type_definitions": [{"type": "t", "relations": []}]})",
      R"({"type_definitions": [{"type": "t", "relations": {"r": []}}]})",
      R"({"type_definitions": [{"type": "t", "relations": {"r": {"this": {}, "computedUserset": {"relation": "x"}}}}]})",
      R"({"type_definitions": [{"type": "t", "relations": {"r": {"this": []}}}]})",
      R"({"type_definitions": [{"type": "t", "relations": {"r": {"computedUserset": {"relation": 1}}}}]})",
      R"({"type_definitions": [{"type": "t", "relations": {"r": {"union": {"child": {}}}}}]})",
      R"({"type_definitions": [{"type": "t", "relations": {"r": {"difference": {"base": {"this": {}}}}}}]})",
      R"({"type_definitions": [{"type": "t", "relations": {"r": {"tupleToUserset": {"tupleset": "p"}}}}]})",
      R"({"type_definitions": [{"type": "t", "metadata": []}]})",
      R"({"type_definitions": [{"type": "t", "relations": {"r": {"this": {}}}, "metadata": {"relations": {"r": {"directly_related_user_types": {}}}}}]})",
      R"({"type_definitions": [{"type": "t", "relations": {"r": {"this": {}}}, "metadata": {"relations": {"r": {"directly_related_user_types": [{"type": "u", "relation": "m", "wildcard": {}}]}}}}]})",
      R"({"type_definitions": [{"type": "t", "relations": {"r": {"this": {}}}, "metadata": {"relations": {"r": {"directly_related_user_types": [{"type": "u", "wildcard": true}]}}}}]})",
      R"({"conditions": []})",
      R"({"conditions": {"c": {"name": "c", "expression": 1}}})",
      R"({"conditions": {"c": {"name": "c", "expression": "x", "parameters": {"x": {"type_name": "TYPE_NAME_NOPE"}}}}})",
      R"({"conditions": {"c": {"name": "c", "expression": "x", "parameters": {"x": {"type_name": 42}}}}})",
      R"({"conditions": {"c": {"name": "c", "expression": "x", "parameters": {"x": {"type_name": "TYPE_NAME_LIST", "generic_types": {}}}}}})",
  };
  for (const char* c : cases) {
    SCOPED_TRACE(c);
    const Error e = load_error(json::parse(c));
    EXPECT_EQ(e.code, ErrorCode::validation_error) << e.message;
    EXPECT_FALSE(e.message.empty());
  }
}

TEST(ModelJson, EmptyRewriteAndUnspecifiedTypeAreInvalidModels) {
  // OpenFGA accepts these shapes and refuses the model: invalid_authorization_model.
  Error e = load_error(json::parse(R"({"type_definitions": [{"type": "doc",
      "relations": {"viewer": {}}}]})"));
  EXPECT_EQ(e.code, ErrorCode::invalid_authorization_model);
  EXPECT_EQ(e.message,
            "the definition of relation 'viewer' in object type 'doc' is invalid: invalid userset "
            "rewrite definition");
  e = load_error(json::parse(R"({"conditions": {"c": {"name": "c", "expression": "x",
      "parameters": {"x": {"type_name": "TYPE_NAME_UNSPECIFIED"}}}}})"));
  EXPECT_EQ(e.code, ErrorCode::invalid_authorization_model);
  EXPECT_NE(e.message.find("'x'"), std::string::npos) << e.message;
}

TEST(ModelJson, DeepNestingIsBounded) {
  json rewrite = json{{"this", json::object()}};
  for (int i = 0; i < 200; ++i) rewrite = json{{"union", {{"child", json::array({rewrite})}}}};
  const json model{
      {"type_definitions", json::array({json{{"type", "doc"}, {"relations", {{"r", rewrite}}}}})}};
  const Error e = load_error(model);
  EXPECT_EQ(e.code, ErrorCode::validation_error);
  EXPECT_NE(e.message.find("nested too deeply"), std::string::npos) << e.message;
  // Within the limit it loads.
  json shallow = json{{"this", json::object()}};
  for (int i = 0; i < 10; ++i) shallow = json{{"union", {{"child", json::array({shallow})}}}};
  EXPECT_TRUE(
      model_from_json(json{{"type_definitions",
                            json::array({json{{"type", "doc"}, {"relations", {{"r", shallow}}}}})}})
          .ok());
}

}  // namespace
}  // namespace tessera::fga
