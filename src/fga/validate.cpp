// OpenFGA's rules for an authorization model, in the order OpenFGA applies them when a model is
// written (WriteAuthorizationModel):
//   1. the request's field rules (openfga/api authzmodel.proto protoc-gen-validate rules), which
//      OpenFGA answers with validation_error;
//   2. typesystem.NewAndValidate (openfga/openfga pkg/typesystem), whose every failure OpenFGA
//      answers with invalid_authorization_model (server/errors InvalidAuthorizationModelInput),
//      an unsupported schema version included: schema version, duplicate types, reserved names,
//      then for each type and relation in sorted order the rewrite, the type restrictions, the
//      entry points and computed-userset cycles, then the conditions.
// Messages are OpenFGA's, naming the type and relation.
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fga/dsl.h"
#include "fga/dsl_internal.h"

namespace tessera::fga {
namespace {

// The entry-point and cycle walks follow relations from relation to relation. Each step marks
// a relation visited, so they end; these bounds keep them cheap and the stack small whatever
// the model: a walk deeper than kMaxWalkDepth, or a validation costing more than
// kMaxWalkSteps (steps plus the entries of the visited sets they copy), is refused.
constexpr int kMaxWalkDepth = 2000;
constexpr long kMaxWalkSteps = 1'000'000;

// openfga/api authzmodel.proto limits.
constexpr size_t kMaxTypeNameRunes = 254;       // TypeDefinition.type, RelationReference.type
constexpr size_t kMaxRelationNameRunes = 50;    // relation names, condition and parameter names
constexpr size_t kMaxObjectRelationBytes = 50;  // ObjectRelation.relation max_bytes
constexpr size_t kMaxApiConditions = 25;        // AuthorizationModel.conditions max_pairs
constexpr size_t kMaxApiParameters = 25;        // Condition.parameters max_pairs
constexpr size_t kMaxExpressionBytes = 512;     // Condition.expression max_bytes
constexpr size_t kMaxGenericTypes = 5;          // ConditionParamTypeRef.generic_types max_items

Error invalid(std::string message) {
  return Error{ErrorCode::invalid_authorization_model, std::move(message)};
}
Error field_error(const std::string& field, const std::string& rule) {
  return Error{ErrorCode::validation_error, "invalid " + field + ": " + rule};
}

// `^[^:#@\s]{1,max}$` (RE2 \s: tab, newline, form feed, carriage return, space).
bool matches_name_pattern(const std::string& s, size_t max_runes) {
  size_t runes = 0;
  for (const char c : s) {
    if (c == ':' || c == '#' || c == '@' || c == ' ' || c == '\t' || c == '\n' || c == '\f' ||
        c == '\r') {
      return false;
    }
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++runes;
  }
  return runes >= 1 && runes <= max_runes;
}

std::string pattern_rule(size_t max) {
  return "value does not match regex pattern \"^[^:#@\\s]{1," + std::to_string(max) + "}$\"";
}

Result<Ok, Error> check_rewrite_fields(const Rewrite& r, const std::string& where, int depth) {
  if (depth > detail::kMaxRewriteDepth) {
    return Err(field_error(where, "rewrite nested deeper than " +
                                      std::to_string(detail::kMaxRewriteDepth) + " levels"));
  }
  if ((r.kind == Rewrite::Kind::Computed || r.kind == Rewrite::Kind::TupleToUserset) &&
      r.relation.size() > kMaxObjectRelationBytes) {
    return Err(field_error(where, "relation name longer than 50 bytes"));
  }
  if (r.kind == Rewrite::Kind::TupleToUserset && r.tupleset.size() > kMaxObjectRelationBytes) {
    return Err(field_error(where, "tupleset relation name longer than 50 bytes"));
  }
  for (const Rewrite& c : r.children) {
    auto ok = check_rewrite_fields(c, where, depth + 1);
    if (!ok) return ok;
  }
  return Ok{};
}

Result<Ok, Error> check_param_fields(const ParamTypeRef& p, const std::string& where, int depth) {
  if (depth > detail::kMaxGenericDepth) return Err(field_error(where, "generic types too deep"));
  if (p.generic.size() > kMaxGenericTypes) {
    return Err(field_error(where + ".generic_types", "value must contain no more than 5 item(s)"));
  }
  for (const ParamTypeRef& g : p.generic) {
    auto ok = check_param_fields(g, where + ".generic_types", depth + 1);
    if (!ok) return ok;
  }
  return Ok{};
}

// 1. The field rules of openfga/api (protoc-gen-validate), checked before anything else.
Result<Ok, Error> check_fields(const Model& model) {
  if (model.types.empty()) {
    return Err(field_error("type_definitions", "value must contain at least 1 item(s)"));
  }
  for (size_t i = 0; i < model.types.size(); ++i) {
    const TypeDefinition& t = model.types[i];
    const std::string at = "type_definitions[" + std::to_string(i) + "]";
    if (!matches_name_pattern(t.name, kMaxTypeNameRunes)) {
      return Err(field_error(at + ".type", pattern_rule(kMaxTypeNameRunes)));
    }
    for (const Relation& r : t.relations) {
      const std::string rat = at + ".relations[\"" + r.name + "\"]";
      if (!matches_name_pattern(r.name, kMaxRelationNameRunes)) {
        return Err(field_error(at + ".relations key", pattern_rule(kMaxRelationNameRunes)));
      }
      auto ok = check_rewrite_fields(r.rewrite, rat, 0);
      if (!ok) return ok;
      for (const RelationReference& ref : r.directly_related) {
        if (!matches_name_pattern(ref.type, kMaxTypeNameRunes)) {
          return Err(field_error(rat + ".directly_related_user_types.type",
                                 pattern_rule(kMaxTypeNameRunes)));
        }
        if (!ref.relation.empty() && !matches_name_pattern(ref.relation, kMaxRelationNameRunes)) {
          return Err(field_error(rat + ".directly_related_user_types.relation",
                                 pattern_rule(kMaxRelationNameRunes)));
        }
      }
    }
  }
  if (model.conditions.size() > kMaxApiConditions) {
    return Err(field_error("conditions", "value must contain no more than 25 pair(s)"));
  }
  for (const auto& [key, c] : model.conditions) {
    const std::string at = "conditions[\"" + key + "\"]";
    if (!matches_name_pattern(key, kMaxRelationNameRunes)) {
      return Err(field_error("conditions key", pattern_rule(kMaxRelationNameRunes)));
    }
    if (!matches_name_pattern(c.name, kMaxRelationNameRunes)) {
      return Err(field_error(at + ".name", pattern_rule(kMaxRelationNameRunes)));
    }
    if (c.expression.size() > kMaxExpressionBytes) {
      return Err(field_error(at + ".expression", "value length must be at most 512 bytes"));
    }
    if (c.parameters.size() > kMaxApiParameters) {
      return Err(field_error(at + ".parameters", "value must contain no more than 25 pair(s)"));
    }
    for (const auto& [name, p] : c.parameters) {
      if (!matches_name_pattern(name, kMaxRelationNameRunes)) {
        return Err(field_error(at + ".parameters key", pattern_rule(kMaxRelationNameRunes)));
      }
      std::string param_at = at;
      param_at += ".parameters[\"";
      param_at += name;
      param_at += "\"]";
      auto ok = check_param_fields(p, param_at, 0);
      if (!ok) return ok;
    }
  }
  return Ok{};
}

std::string relation_error(const std::string& type, const std::string& relation,
                           const std::string& cause) {
  return "the definition of relation '" + relation + "' in object type '" + type +
         "' is invalid: " + cause;
}

std::string relation_type_text(const RelationReference& ref) {
  return ref.relation.empty() ? ref.type : ref.type + "#" + ref.relation;
}

std::string references_text(const std::vector<RelationReference>& refs) {
  std::string out = "[";
  for (size_t i = 0; i < refs.size(); ++i) {
    if (i > 0) out += " ";
    out += refs[i].wildcard ? refs[i].type + ":*" : relation_type_text(refs[i]);
  }
  return out + "]";
}

bool rewrite_contains_this(const Rewrite& r, int depth = 0) {
  if (r.kind == Rewrite::Kind::This) return true;
  if (depth > detail::kMaxRewriteDepth) return false;
  return std::any_of(r.children.begin(), r.children.end(),
                     [depth](const Rewrite& c) { return rewrite_contains_this(c, depth + 1); });
}

void collect_tuplesets(const Rewrite& r, std::set<std::string>* out, int depth = 0) {
  if (r.kind == Rewrite::Kind::TupleToUserset) out->insert(r.tupleset);
  if (depth > detail::kMaxRewriteDepth) return;
  for (const Rewrite& c : r.children) collect_tuplesets(c, out, depth + 1);
}

class Validator {
 public:
  explicit Validator(const Model& model) : model_(model) {
    for (const TypeDefinition& t : model.types) {
      auto& relations = relations_[t.name];
      for (const Relation& r : t.relations) relations.emplace(r.name, &r);
      auto& tuplesets = tuplesets_[t.name];
      for (const Relation& r : t.relations) collect_tuplesets(r.rewrite, &tuplesets);
    }
  }

  Result<Ok, Error> run() {
    // NewAndValidate: schema version first. OpenFGA supports 1.1 (1.2 is its experimental
    // modular form); its WriteAuthorizationModel answers invalid_authorization_model here.
    if (model_.schema_version != "1.1") {
      return Err(invalid("invalid schema version '" + model_.schema_version +
                         "': only schema 1.1 is supported"));
    }
    std::set<std::string> seen;
    for (const TypeDefinition& t : model_.types) {
      if (!seen.insert(t.name).second) {
        return Err(invalid("an authorization model cannot contain duplicate types: '" + t.name +
                           "' is defined more than once"));
      }
    }
    // validateNames; and, since our Model keeps relations in a list, no relation twice (the
    // JSON form is a map and cannot repeat one).
    for (const TypeDefinition& t : model_.types) {
      if (t.name.empty()) return Err(invalid("the type name of a type definition cannot be empty"));
      if (t.name == "self" || t.name == "this") {
        return Err(invalid("the definition of type '" + t.name +
                           "' is invalid: self and this are reserved keywords"));
      }
      std::set<std::string> names;
      for (const Relation& r : t.relations) {
        if (r.name.empty()) {
          return Err(invalid("type '" + t.name + "' defines a relation with an empty name"));
        }
        if (r.name == "self" || r.name == "this") {
          return Err(
              invalid(relation_error(t.name, r.name, "self and this are reserved keywords")));
        }
        if (!names.insert(r.name).second) {
          return Err(invalid("'" + r.name + "' is already defined in '" + t.name + "'"));
        }
      }
    }
    // Types, then relations, in sorted order: the first error is deterministic.
    for (const auto& [type, relations] : relations_) {
      for (const auto& [name, relation] : relations) {
        auto ok = validate_relation(type, *relation);
        if (!ok) return ok;
      }
    }
    return validate_conditions();
  }

 private:
  const Relation* find(const std::string& type, const std::string& relation) const {
    auto t = relations_.find(type);
    if (t == relations_.end()) return nullptr;
    auto r = t->second.find(relation);
    return r == t->second.end() ? nullptr : r->second;
  }
  bool type_exists(const std::string& type) const { return relations_.count(type) != 0; }

  Result<Ok, Error> validate_relation(const std::string& type, const Relation& relation) {
    auto ok = rewrite_valid(type, relation.name, relation.rewrite, 0);
    if (!ok) return ok;
    ok = type_restrictions_valid(type, relation);
    if (!ok) return ok;

    const Walk entry = has_entrypoints(type, relation.name, relation.rewrite, Visited{}, 0);
    if (entry.error) return Err(*entry.error);
    if (!entry.has) {
      return Err(invalid(relation_error(type, relation.name,
                                        entry.loop ? "potential loop" : "no entrypoints defined")));
    }
    Path visited;
    const Walk cycle = has_cycle(type, relation.name, relation.rewrite, &visited, 0);
    if (cycle.error) return Err(*cycle.error);
    if (cycle.has) {
      return Err(invalid(
          relation_error(type, relation.name, "an authorization model cannot contain a cycle")));
    }
    return Ok{};
  }

  // typesystem isUsersetRewriteValid.
  Result<Ok, Error> rewrite_valid(const std::string& type, const std::string& relation,
                                  const Rewrite& r, int depth) {
    if (depth > detail::kMaxRewriteDepth) {
      return Err(invalid(relation_error(type, relation, "rewrite nested too deeply")));
    }
    switch (r.kind) {
      case Rewrite::Kind::This:
        return Ok{};
      case Rewrite::Kind::Computed:
        if (r.relation == relation) {
          return Err(invalid(relation_error(type, relation, "invalid userset rewrite definition")));
        }
        if (find(type, r.relation) == nullptr) {
          return Err(invalid("'" + type + "#" + r.relation + "' relation is undefined"));
        }
        return Ok{};
      case Rewrite::Kind::TupleToUserset: {
        const Relation* tupleset = find(type, r.tupleset);
        if (tupleset == nullptr) {
          return Err(invalid("'" + type + "#" + r.tupleset + "' relation is undefined"));
        }
        // Tupleset relations must be direct relationships only (`define parent: [folder]`).
        if (tupleset->rewrite.kind != Rewrite::Kind::This) {
          return Err(invalid("the '" + type + "#" + r.tupleset +
                             "' relation is referenced in at least one tupleset and thus must be "
                             "a direct relation"));
        }
        // Schema 1.1: the computed relation is defined on one of the tupleset's types.
        for (const RelationReference& ref : tupleset->directly_related) {
          if (find(ref.type, r.relation) != nullptr) return Ok{};
        }
        return Err(invalid("undefined relation: " + r.relation +
                           " does not appear as a relation in any of the directly related user "
                           "types " +
                           references_text(tupleset->directly_related) + " of '" + type + "#" +
                           r.tupleset + "' (in the definition of '" + type + "#" + relation +
                           "')"));
      }
      case Rewrite::Kind::Difference:
        if (r.children.size() != 2) {
          return Err(invalid(relation_error(type, relation, "invalid userset rewrite definition")));
        }
        [[fallthrough]];
      case Rewrite::Kind::Union:
      case Rewrite::Kind::Intersection:
        for (const Rewrite& c : r.children) {
          auto ok = rewrite_valid(type, relation, c, depth + 1);
          if (!ok) return ok;
        }
        return Ok{};
    }
    return Ok{};
  }

  // typesystem validateTypeRestrictions.
  Result<Ok, Error> type_restrictions_valid(const std::string& type, const Relation& relation) {
    const bool assignable = rewrite_contains_this(relation.rewrite);
    if (assignable && relation.directly_related.empty()) {
      return Err(invalid("the assignable relation '" + relation.name + "' in object type '" + type +
                         "' must contain at least one relation type"));
    }
    if (!assignable && !relation.directly_related.empty()) {
      return Err(invalid("the non-assignable relation '" + relation.name + "' in object type '" +
                         type + "' should not contain a relation type"));
    }
    const bool is_tupleset = tuplesets_[type].count(relation.name) != 0;
    for (const RelationReference& ref : relation.directly_related) {
      const std::string not_valid = "the relation type '" + relation_type_text(ref) + "' on '" +
                                    relation.name + "' in object type '" + type + "' is not valid";
      if (!type_exists(ref.type)) return Err(invalid(not_valid));
      if (!ref.relation.empty() || ref.wildcard) {
        // A tupleset relation relates objects, never usersets or wildcards.
        if (is_tupleset) return Err(invalid(not_valid));
        if (!ref.relation.empty() && find(ref.type, ref.relation) == nullptr) {
          return Err(invalid(not_valid));
        }
      }
      if (!ref.condition.empty() && model_.conditions.count(ref.condition) == 0) {
        return Err(invalid("condition " + ref.condition + " is undefined for relation " +
                           relation.name + " in object type '" + type + "'"));
      }
    }
    return Ok{};
  }

  // typesystem validateConditions: the map key is the name; the parameters decode (OpenFGA
  // compiles the CEL expression too: that is cel::Program::compile's job, see cel.h).
  Result<Ok, Error> validate_conditions() const {
    for (const auto& [key, c] : model_.conditions) {
      if (key != c.name) {
        return Err(
            invalid("condition key '" + key + "' does not match condition name '" + c.name + "'"));
      }
      if (c.expression.empty()) {
        return Err(invalid("condition '" + key + "' has an empty expression"));
      }
      for (const auto& [name, p] : c.parameters) {
        auto ok = param_valid(key, name, p, 0);
        if (!ok) return ok;
      }
    }
    return Ok{};
  }

  static Result<Ok, Error> param_valid(const std::string& condition, const std::string& param,
                                       const ParamTypeRef& p, int depth) {
    const size_t expected = detail::param_generic_count(p.type);
    if (p.generic.size() != expected || depth > detail::kMaxGenericDepth) {
      return Err(invalid("condition '" + condition + "': parameter '" + param + "': type " +
                         std::string(detail::param_type_json_name(p.type)) + " requires " +
                         std::to_string(expected) + " generic type(s), found " +
                         std::to_string(p.generic.size())));
    }
    for (const ParamTypeRef& g : p.generic) {
      auto ok = param_valid(condition, param, g, depth + 1);
      if (!ok) return ok;
    }
    return Ok{};
  }

  // --- entry points and cycles ----------------------------------------------------------

  struct Walk {
    bool has = false;
    bool loop = false;
    std::optional<Error> error;
  };

  // typesystem hasEntrypoints keeps, per type, the relations visited and whether each has an
  // entry point. It copies the outer map at each step and shares the per-type maps (Go's
  // maps.Clone is shallow); the shared pointers reproduce that, so the same models pass.
  // Keys are views of the model's own strings, which outlive the walk.
  using Visited = std::map<std::string_view, std::shared_ptr<std::map<std::string_view, bool>>>;

  std::optional<Error> budget(int depth, size_t copied) {
    steps_ += 1 + static_cast<long>(copied);
    if (depth > kMaxWalkDepth || steps_ > kMaxWalkSteps) {
      return invalid("the authorization model is too complex to validate");
    }
    return std::nullopt;
  }

  // Is there a path from type#relation (through `rewrite`) to at least one concrete user
  // type? `loop` tells a dead end through a relation already on the path.
  Walk has_entrypoints(const std::string& type, const std::string& relation_name,
                       const Rewrite& rewrite, const Visited& visited_in, int depth) {
    Walk out;
    if ((out.error = budget(depth, visited_in.size()))) return out;
    Visited v = visited_in;
    auto& mine = v[type];
    if (mine) {
      (*mine)[relation_name] = false;
    } else {
      mine = std::make_shared<std::map<std::string_view, bool>>();
      (*mine)[relation_name] = false;
    }
    const Relation* relation = find(type, relation_name);
    if (relation == nullptr) {
      out.error = invalid("undefined type definition for '" + type + "#" + relation_name + "'");
      return out;
    }
    auto visited_value = [&v](const std::string& t, const std::string& r) -> std::optional<bool> {
      auto it = v.find(t);
      if (it == v.end() || !it->second) return std::nullopt;
      auto jt = it->second->find(r);
      if (jt == it->second->end()) return std::nullopt;
      return jt->second;
    };
    switch (rewrite.kind) {
      case Rewrite::Kind::This:
        for (const RelationReference& ref : relation->directly_related) {
          if (ref.relation.empty()) {  // `user` or `user:*`: a concrete user type
            (*v[type])[relation_name] = true;
            out.has = true;
            return out;
          }
          const Relation* assignable = find(ref.type, ref.relation);
          if (assignable == nullptr) {
            out.error =
                invalid("undefined type definition for '" + ref.type + "#" + ref.relation + "'");
            return out;
          }
          if (visited_value(ref.type, ref.relation)) continue;
          Walk w = has_entrypoints(ref.type, ref.relation, assignable->rewrite, v, depth + 1);
          if (w.error || w.has) return Walk{w.has, false, w.error};
        }
        return out;
      case Rewrite::Kind::Computed: {
        const Relation* computed = find(type, rewrite.relation);
        if (computed == nullptr) {
          out.error =
              invalid("undefined type definition for '" + type + "#" + rewrite.relation + "'");
          return out;
        }
        if (auto seen = visited_value(type, rewrite.relation)) return Walk{*seen, true, {}};
        return has_entrypoints(type, rewrite.relation, computed->rewrite, v, depth + 1);
      }
      case Rewrite::Kind::TupleToUserset: {
        const Relation* tupleset = find(type, rewrite.tupleset);
        if (tupleset == nullptr) {
          out.error =
              invalid("undefined type definition for '" + type + "#" + rewrite.tupleset + "'");
          return out;
        }
        for (const RelationReference& ref : tupleset->directly_related) {
          const Relation* target = find(ref.type, rewrite.relation);
          if (target == nullptr) continue;
          if (auto seen = visited_value(ref.type, rewrite.relation)) {
            if (*seen) {
              out.has = true;
              return out;
            }
            continue;
          }
          Walk w = has_entrypoints(ref.type, rewrite.relation, target->rewrite, v, depth + 1);
          if (w.error || w.has) return Walk{w.has, false, w.error};
        }
        return out;
      }
      case Rewrite::Kind::Union: {
        bool loop = false;
        for (const Rewrite& child : rewrite.children) {
          Walk w = has_entrypoints(type, relation_name, child, visited_in, depth + 1);
          if (w.error || w.has) return Walk{w.has, false, w.error};
          loop = loop || w.loop;
        }
        return Walk{false, loop, {}};
      }
      case Rewrite::Kind::Intersection:
      case Rewrite::Kind::Difference:
        // Every operand needs an entry point (both sides of a difference, too).
        for (const Rewrite& child : rewrite.children) {
          Walk w = has_entrypoints(type, relation_name, child, visited_in, depth + 1);
          if (w.error) return w;
          if (!w.has) return Walk{false, w.loop, {}};
        }
        out.has = true;
        return out;
    }
    return out;
  }

  // typesystem hasCycle: a relation that reaches itself through computed usersets only
  // (`define a: b`, `define b: a`); `this` and tuple-to-userset end the walk. OpenFGA copies
  // its visited set at every step so that it holds the relations on the current path; `path`
  // is that set, kept by adding on the way in and removing on the way out.
  using Path = std::set<std::pair<std::string_view, std::string_view>>;
  Walk has_cycle(const std::string& type, const std::string& relation_name, const Rewrite& rewrite,
                 Path* path, int depth) {
    Walk out;
    if ((out.error = budget(depth, 0))) return out;
    const std::pair<std::string_view, std::string_view> key{type, relation_name};
    const bool inserted = path->insert(key).second;
    switch (rewrite.kind) {
      case Rewrite::Kind::This:
      case Rewrite::Kind::TupleToUserset:
        break;
      case Rewrite::Kind::Computed: {
        if (path->count({type, rewrite.relation}) != 0) {
          out.has = true;
          break;
        }
        const Relation* computed = find(type, rewrite.relation);
        if (computed == nullptr) {
          out.error = invalid("'" + type + "#" + rewrite.relation + "' relation is undefined");
          break;
        }
        out = has_cycle(type, rewrite.relation, computed->rewrite, path, depth + 1);
        break;
      }
      case Rewrite::Kind::Union:
      case Rewrite::Kind::Intersection:
      case Rewrite::Kind::Difference:
        for (const Rewrite& child : rewrite.children) {
          out = has_cycle(type, relation_name, child, path, depth + 1);
          if (out.error || out.has) break;
        }
        break;
    }
    if (inserted) path->erase(key);
    return out;
  }

  const Model& model_;
  // type -> relation name -> relation, sorted (OpenFGA walks both in sorted order).
  std::map<std::string, std::map<std::string, const Relation*>> relations_;
  // type -> relations used as the tupleset of a tuple-to-userset in that type.
  std::map<std::string, std::set<std::string>> tuplesets_;
  long steps_ = 0;
};

}  // namespace

Result<Ok, Error> validate_model(const Model& model) {
  try {
    auto fields = check_fields(model);
    if (!fields) return fields;
    Validator validator(model);
    return validator.run();
  } catch (const std::exception& e) {  // allocation failure: no exception leaves here
    return Err(
        Error{ErrorCode::internal_error, std::string("model validation failed: ") + e.what()});
  }
}

}  // namespace tessera::fga
