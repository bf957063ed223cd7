// The JSON form of a model (openfga/api authzmodel.proto AuthorizationModel, as protojson
// writes it). to_json() writes what @openfga/syntax-transformer's transformDSLToJSONObject
// produces for the same model, field for field: `metadata: null` for a type without
// relations, `directly_related_user_types: []` for a relation without `this`, rewrite objects
// without the empty `object` member, `conditions` only when there are some.
// model_from_json() reads that form and OpenFGA's API form (which adds `object: ""`,
// `condition: ""`, `module`, `source_info`, ...): members it does not know are ignored and null
// stands for an absent member, as grpc-gateway's protojson reader does.
#include <set>
#include <string>
#include <utility>

#include "fga/dsl.h"
#include "fga/dsl_internal.h"

namespace tessera::fga {

namespace detail {
namespace {

struct ParamTypeName {
  ParamType type;
  std::string_view dsl;
  std::string_view json;
};

// openfga/api ConditionParamTypeRef.TypeName, in enum order (TYPE_NAME_ANY = 1, ...).
constexpr ParamTypeName kParamTypes[] = {
    {ParamType::Any, "any", "TYPE_NAME_ANY"},
    {ParamType::Bool, "bool", "TYPE_NAME_BOOL"},
    {ParamType::String, "string", "TYPE_NAME_STRING"},
    {ParamType::Int, "int", "TYPE_NAME_INT"},
    {ParamType::Uint, "uint", "TYPE_NAME_UINT"},
    {ParamType::Double, "double", "TYPE_NAME_DOUBLE"},
    {ParamType::Duration, "duration", "TYPE_NAME_DURATION"},
    {ParamType::Timestamp, "timestamp", "TYPE_NAME_TIMESTAMP"},
    {ParamType::Map, "map", "TYPE_NAME_MAP"},
    {ParamType::List, "list", "TYPE_NAME_LIST"},
    {ParamType::IpAddress, "ipaddress", "TYPE_NAME_IPADDRESS"},
};

}  // namespace

std::string_view param_type_dsl_name(ParamType t) {
  for (const auto& p : kParamTypes) {
    if (p.type == t) return p.dsl;
  }
  return "any";
}

std::optional<ParamType> param_type_from_dsl(std::string_view name) {
  for (const auto& p : kParamTypes) {
    if (p.dsl == name) return p.type;
  }
  return std::nullopt;
}

std::string_view param_type_json_name(ParamType t) {
  for (const auto& p : kParamTypes) {
    if (p.type == t) return p.json;
  }
  return "TYPE_NAME_ANY";
}

std::optional<ParamType> param_type_from_json(std::string_view name) {
  for (const auto& p : kParamTypes) {
    if (p.json == name) return p.type;
  }
  return std::nullopt;
}

}  // namespace detail

namespace {

using nlohmann::json;

// `a` + `b` + `c`, built in place (the paths in error messages).
std::string concat(const std::string& a, std::string_view b, const std::string& c) {
  std::string out = a;
  out += b;
  out += c;
  return out;
}

json object_relation(const std::string& relation) { return json{{"relation", relation}}; }

json rewrite_json(const Rewrite& r, int depth) {
  if (depth > detail::kMaxRewriteDepth) return json::object();  // never for parsed models
  switch (r.kind) {
    case Rewrite::Kind::This:
      return json{{"this", json::object()}};
    case Rewrite::Kind::Computed:
      return json{{"computedUserset", object_relation(r.relation)}};
    case Rewrite::Kind::TupleToUserset:
      return json{{"tupleToUserset",
                   {{"tupleset", object_relation(r.tupleset)},
                    {"computedUserset", object_relation(r.relation)}}}};
    case Rewrite::Kind::Union:
    case Rewrite::Kind::Intersection: {
      json children = json::array();
      for (const Rewrite& c : r.children) children.push_back(rewrite_json(c, depth + 1));
      return json{{r.kind == Rewrite::Kind::Union ? "union" : "intersection",
                   {{"child", std::move(children)}}}};
    }
    case Rewrite::Kind::Difference: {
      json d = json::object();
      if (!r.children.empty()) d["base"] = rewrite_json(r.children[0], depth + 1);
      if (r.children.size() > 1) d["subtract"] = rewrite_json(r.children[1], depth + 1);
      return json{{"difference", std::move(d)}};
    }
  }
  return json::object();
}

json reference_json(const RelationReference& ref) {
  json out{{"type", ref.type}};
  if (!ref.relation.empty()) out["relation"] = ref.relation;
  if (ref.wildcard) out["wildcard"] = json::object();
  if (!ref.condition.empty()) out["condition"] = ref.condition;
  return out;
}

json param_json(const ParamTypeRef& p, int depth) {
  json out{{"type_name", detail::param_type_json_name(p.type)}};
  if (!p.generic.empty() && depth < detail::kMaxGenericDepth) {
    json generic = json::array();
    for (const ParamTypeRef& g : p.generic) generic.push_back(param_json(g, depth + 1));
    out["generic_types"] = std::move(generic);
  }
  return out;
}

// --- reading ------------------------------------------------------------------------------

// Collects the first error; every read_* returns false once it is set.
class Reader {
 public:
  std::optional<Error> error;

  bool bad(std::string message) { return fail(ErrorCode::validation_error, std::move(message)); }
  bool fail(ErrorCode code, std::string message) {
    if (!error) error = Error{code, std::move(message)};
    return false;
  }

  // A member that may be absent or null; any other type than `kind` is a shape error.
  static const json* member(const json& obj, const char* name) {
    auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }

  bool read_string(const json& obj, const char* name, const std::string& where, std::string* out) {
    const json* v = member(obj, name);
    if (v == nullptr) return true;
    if (!v->is_string()) return bad(where + "." + name + ": must be a string");
    *out = v->get<std::string>();
    return true;
  }

  bool read_relation_field(const json* obj, const std::string& where, std::string* out) {
    if (obj == nullptr) return true;
    if (!obj->is_object()) return bad(where + ": must be an object");
    return read_string(*obj, "relation", where, out);
  }

  // Userset: exactly one of this / computedUserset / tupleToUserset / union / intersection /
  // difference (a protobuf oneof).
  bool read_rewrite(const json& v, const std::string& where, const std::string& type,
                    const std::string& relation, int depth, Rewrite* out) {
    if (depth > detail::kMaxRewriteDepth) {
      return bad(where + ": rewrite nested too deeply (limit " +
                 std::to_string(detail::kMaxRewriteDepth) + ")");
    }
    if (!v.is_object()) return bad(where + ": must be an object");
    static const char* const kKinds[] = {"this",  "computedUserset", "tupleToUserset",
                                         "union", "intersection",    "difference"};
    const char* kind = nullptr;
    for (const char* k : kKinds) {
      if (member(v, k) == nullptr) continue;
      if (kind != nullptr) {
        return bad(where +
                   ": more than one of this, computedUserset, tupleToUserset, union, "
                   "intersection, difference");
      }
      kind = k;
    }
    if (kind == nullptr) {
      // OpenFGA typesystem isUsersetRewriteValid: a Userset with nothing set.
      return fail(ErrorCode::invalid_authorization_model,
                  "the definition of relation '" + relation + "' in object type '" + type +
                      "' is invalid: invalid userset rewrite definition");
    }
    const json& body = v[kind];
    const std::string at = where + "." + kind;
    if (!body.is_object()) return bad(at + ": must be an object");
    const std::string_view k = kind;
    if (k == "this") {
      out->kind = Rewrite::Kind::This;
      return true;
    }
    if (k == "computedUserset") {
      out->kind = Rewrite::Kind::Computed;
      return read_string(body, "relation", at, &out->relation);
    }
    if (k == "tupleToUserset") {
      out->kind = Rewrite::Kind::TupleToUserset;
      return read_relation_field(member(body, "tupleset"), at + ".tupleset", &out->tupleset) &&
             read_relation_field(member(body, "computedUserset"), at + ".computedUserset",
                                 &out->relation);
    }
    if (k == "union" || k == "intersection") {
      out->kind = k == "union" ? Rewrite::Kind::Union : Rewrite::Kind::Intersection;
      const json* child = member(body, "child");
      if (child == nullptr) return true;
      if (!child->is_array()) return bad(at + ".child: must be an array");
      if (child->size() > detail::kMaxOperands) {
        return bad(at + ".child: too many operands (limit " + std::to_string(detail::kMaxOperands) +
                   ")");
      }
      for (size_t i = 0; i < child->size(); ++i) {
        out->children.emplace_back();
        if (!read_rewrite((*child)[i], at + ".child[" + std::to_string(i) + "]", type, relation,
                          depth + 1, &out->children.back())) {
          return false;
        }
      }
      return true;
    }
    // difference: base and subtract are required (openfga/api Difference).
    out->kind = Rewrite::Kind::Difference;
    for (const char* part : {"base", "subtract"}) {
      const json* p = member(body, part);
      if (p == nullptr) return bad(at + "." + part + ": value is required");
      out->children.emplace_back();
      if (!read_rewrite(*p, at + "." + part, type, relation, depth + 1, &out->children.back())) {
        return false;
      }
    }
    return true;
  }

  bool read_reference(const json& v, const std::string& where, RelationReference* out) {
    if (!v.is_object()) return bad(where + ": must be an object");
    if (!read_string(v, "type", where, &out->type) ||
        !read_string(v, "relation", where, &out->relation) ||
        !read_string(v, "condition", where, &out->condition)) {
      return false;
    }
    if (const json* w = member(v, "wildcard")) {
      if (!w->is_object()) return bad(where + ".wildcard: must be an object");
      // relation and wildcard are a oneof (openfga/api RelationReference).
      if (!out->relation.empty()) return bad(where + ": both relation and wildcard are set");
      out->wildcard = true;
    }
    return true;
  }

  bool read_param(const json& v, const std::string& where, const std::string& condition,
                  const std::string& param, int depth, ParamTypeRef* out) {
    if (depth > detail::kMaxGenericDepth) return bad(where + ": generic types nested too deeply");
    if (!v.is_object()) return bad(where + ": must be an object");
    const json* name = member(v, "type_name");
    std::optional<ParamType> type;
    bool unspecified = name == nullptr;
    if (name != nullptr && name->is_string()) {
      const auto s = name->get<std::string>();
      type = detail::param_type_from_json(s);
      unspecified = s == "TYPE_NAME_UNSPECIFIED";
      if (!type && !unspecified) return bad(where + ".type_name: unknown type name '" + s + "'");
    } else if (name != nullptr && name->is_number_integer()) {
      // protojson also reads an enum by number: TYPE_NAME_ANY = 1 ... TYPE_NAME_IPADDRESS = 11.
      static constexpr ParamType kByNumber[] = {
          ParamType::Any,  ParamType::Bool,   ParamType::String,   ParamType::Int,
          ParamType::Uint, ParamType::Double, ParamType::Duration, ParamType::Timestamp,
          ParamType::Map,  ParamType::List,   ParamType::IpAddress};
      const auto n = name->get<int64_t>();
      if (n == 0) {
        unspecified = true;
      } else if (n >= 1 && n <= 11) {
        type = kByNumber[n - 1];
      } else {
        return bad(where + ".type_name: unknown type name " + std::to_string(n));
      }
    } else if (name != nullptr) {
      return bad(where + ".type_name: must be a string");
    }
    if (unspecified) {
      // OpenFGA compiles the condition and fails on the unknown parameter type.
      return fail(ErrorCode::invalid_authorization_model,
                  "condition '" + condition + "': parameter '" + param +
                      "' has no type (TYPE_NAME_UNSPECIFIED)");
    }
    out->type = *type;
    const json* generic = member(v, "generic_types");
    if (generic == nullptr) return true;
    if (!generic->is_array()) return bad(where + ".generic_types: must be an array");
    // openfga/api ConditionParamTypeRef.generic_types: max_items 5.
    if (generic->size() > 5) return bad(where + ".generic_types: at most 5 items");
    for (size_t i = 0; i < generic->size(); ++i) {
      out->generic.emplace_back();
      if (!read_param((*generic)[i], where + ".generic_types[" + std::to_string(i) + "]", condition,
                      param, depth + 1, &out->generic.back())) {
        return false;
      }
    }
    return true;
  }

  bool read_condition(const json& v, const std::string& key, Condition* out) {
    const std::string where = "conditions." + key;
    if (!v.is_object()) return bad(where + ": must be an object");
    if (!read_string(v, "name", where, &out->name) ||
        !read_string(v, "expression", where, &out->expression)) {
      return false;
    }
    const json* params = member(v, "parameters");
    if (params == nullptr) return true;
    if (!params->is_object()) return bad(where + ".parameters: must be an object");
    if (params->size() > detail::kMaxParameters) {
      return bad(where + ".parameters: too many (limit " + std::to_string(detail::kMaxParameters) +
                 ")");
    }
    for (const auto& [name, p] : params->items()) {
      ParamTypeRef ref;
      if (!read_param(p, concat(where, ".parameters.", name), key, name, 0, &ref)) return false;
      out->parameters.emplace(name, std::move(ref));
    }
    return true;
  }

  bool read_type(const json& v, const std::string& where, TypeDefinition* out) {
    if (!v.is_object()) return bad(where + ": must be an object");
    if (!read_string(v, "type", where, &out->name)) return false;
    const json* relations = member(v, "relations");
    if (relations != nullptr && !relations->is_object()) {
      return bad(where + ".relations: must be an object");
    }
    const json* metadata = member(v, "metadata");
    if (metadata != nullptr && !metadata->is_object()) {
      return bad(where + ".metadata: must be an object");
    }
    const json* meta_relations = metadata == nullptr ? nullptr : member(*metadata, "relations");
    if (meta_relations != nullptr && !meta_relations->is_object()) {
      return bad(where + ".metadata.relations: must be an object");
    }
    if (relations == nullptr) return true;
    if (relations->size() > detail::kMaxRelations) {
      return bad(where + ".relations: too many (limit " + std::to_string(detail::kMaxRelations) +
                 ")");
    }
    for (const auto& [name, rewrite] : relations->items()) {
      Relation relation;
      relation.name = name;
      if (!read_rewrite(rewrite, concat(where, ".relations.", name), out->name, name, 0,
                        &relation.rewrite)) {
        return false;
      }
      // Metadata of relations that are not defined is ignored (OpenFGA typesystem.New).
      const json* meta =
          meta_relations == nullptr ? nullptr : member(*meta_relations, name.c_str());
      if (meta != nullptr) {
        const std::string at = concat(where, ".metadata.relations.", name);
        if (!meta->is_object()) return bad(at + ": must be an object");
        const json* refs = member(*meta, "directly_related_user_types");
        if (refs != nullptr && !refs->is_array()) {
          return bad(at + ".directly_related_user_types: must be an array");
        }
        if (refs != nullptr && refs->size() > detail::kMaxTypeRestrictions) {
          return bad(at + ".directly_related_user_types: too many (limit " +
                     std::to_string(detail::kMaxTypeRestrictions) + ")");
        }
        for (size_t i = 0; refs != nullptr && i < refs->size(); ++i) {
          relation.directly_related.emplace_back();
          if (!read_reference((*refs)[i],
                              at + ".directly_related_user_types[" + std::to_string(i) + "]",
                              &relation.directly_related.back())) {
            return false;
          }
        }
      }
      out->relations.push_back(std::move(relation));
    }
    return true;
  }

  bool read_model(const json& v, Model* out) {
    if (!v.is_object()) return bad("the model must be a JSON object");
    if (!read_string(v, "id", "model", &out->id)) return false;
    out->schema_version.clear();
    if (!read_string(v, "schema_version", "model", &out->schema_version)) return false;
    // OpenFGA WriteAuthorizationModel fills in 1.1 when the request has no schema version.
    if (out->schema_version.empty()) out->schema_version = "1.1";
    if (const json* types = member(v, "type_definitions")) {
      if (!types->is_array()) return bad("type_definitions: must be an array");
      if (types->size() > detail::kMaxTypes) {
        return bad("type_definitions: too many (limit " + std::to_string(detail::kMaxTypes) + ")");
      }
      for (size_t i = 0; i < types->size(); ++i) {
        out->types.emplace_back();
        if (!read_type((*types)[i], "type_definitions[" + std::to_string(i) + "]",
                       &out->types.back())) {
          return false;
        }
      }
    }
    if (const json* conditions = member(v, "conditions")) {
      if (!conditions->is_object()) return bad("conditions: must be an object");
      if (conditions->size() > detail::kMaxConditions) {
        return bad("conditions: too many (limit " + std::to_string(detail::kMaxConditions) + ")");
      }
      for (const auto& [key, c] : conditions->items()) {
        Condition condition;
        if (!read_condition(c, key, &condition)) return false;
        out->conditions.emplace(key, std::move(condition));
      }
    }
    return true;
  }
};

}  // namespace

nlohmann::json to_json(const Model& model) {
  json out = json::object();
  if (!model.id.empty()) out["id"] = model.id;
  out["schema_version"] = model.schema_version;
  json types = json::array();
  for (const TypeDefinition& type : model.types) {
    json relations = json::object();
    json metadata = json::object();
    for (const Relation& r : type.relations) {
      relations[r.name] = rewrite_json(r.rewrite, 0);
      json refs = json::array();
      for (const RelationReference& ref : r.directly_related) refs.push_back(reference_json(ref));
      metadata[r.name] = json{{"directly_related_user_types", std::move(refs)}};
    }
    json t{{"type", type.name}, {"relations", std::move(relations)}};
    t["metadata"] =
        type.relations.empty() ? json(nullptr) : json{{"relations", std::move(metadata)}};
    types.push_back(std::move(t));
  }
  out["type_definitions"] = std::move(types);
  if (!model.conditions.empty()) {
    json conditions = json::object();
    for (const auto& [key, c] : model.conditions) {
      json params = json::object();
      for (const auto& [name, p] : c.parameters) params[name] = param_json(p, 0);
      conditions[key] =
          json{{"name", c.name}, {"expression", c.expression}, {"parameters", std::move(params)}};
    }
    out["conditions"] = std::move(conditions);
  }
  return out;
}

Result<Model, Error> model_from_json(const nlohmann::json& json) {
  try {
    Reader reader;
    Model model;
    if (!reader.read_model(json, &model)) return Err(*reader.error);
    return model;
  } catch (const std::exception& e) {  // nlohmann or allocation: never leaves this function
    return Err(Error{ErrorCode::validation_error, std::string("invalid model: ") + e.what()});
  }
}

}  // namespace tessera::fga
