// An authorization model: OpenFGA schema 1.1, as the DSL and the JSON form describe it.
// Immutable once built; the engine reads it from many threads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::fga {

// One entry of a relation's direct type restrictions: `user`, `group#member`, `user:*`,
// `user with cond` (JSON: metadata.relations[r].directly_related_user_types[]).
struct RelationReference {
  std::string type;
  std::string relation;   // empty unless a userset (`group#member`)
  bool wildcard = false;  // `user:*`
  std::string condition;  // empty unless `with cond`

  bool operator==(const RelationReference&) const = default;
};

// A userset rewrite (JSON: Userset): `this` ([...] direct assignment), `computedUserset`,
// `tupleToUserset`, `union`, `intersection`, `difference`.
struct Rewrite {
  enum class Kind { This, Computed, TupleToUserset, Union, Intersection, Difference };
  Kind kind = Kind::This;
  std::string relation;  // Computed: the relation; TupleToUserset: the computed relation
  std::string tupleset;  // TupleToUserset: the tupleset relation (`viewer from parent`: parent)
  // Union / Intersection: the operands, in order. Difference: exactly {base, subtract}.
  std::vector<Rewrite> children;

  bool operator==(const Rewrite&) const = default;
};

struct Relation {
  std::string name;
  Rewrite rewrite;
  std::vector<RelationReference> directly_related;  // empty when the rewrite has no `this`

  bool operator==(const Relation&) const = default;
};

struct TypeDefinition {
  std::string name;
  std::vector<Relation> relations;  // in declaration order

  const Relation* relation(std::string_view name) const;
  bool operator==(const TypeDefinition&) const = default;
};

// Condition parameter types (JSON: TypeName, e.g. "TYPE_NAME_INT").
enum class ParamType {
  Any,
  Bool,
  String,
  Int,
  Uint,
  Double,
  Duration,
  Timestamp,
  Map,
  List,
  IpAddress,
};

struct ParamTypeRef {
  ParamType type = ParamType::Any;
  std::vector<ParamTypeRef> generic;  // List / Map: exactly one element type

  bool operator==(const ParamTypeRef&) const = default;
};

// `condition name(p: int, q: list<string>) { expression }`
struct Condition {
  std::string name;
  std::string expression;
  std::map<std::string, ParamTypeRef> parameters;

  bool operator==(const Condition&) const = default;
};

struct Model {
  std::string id;  // ULID once stored; empty while being built
  std::string schema_version = "1.1";
  std::vector<TypeDefinition> types;  // in declaration order
  std::map<std::string, Condition> conditions;

  const TypeDefinition* type(std::string_view name) const;
  const Relation* relation(std::string_view type, std::string_view relation) const;
  bool operator==(const Model&) const = default;
};

}  // namespace tessera::fga
