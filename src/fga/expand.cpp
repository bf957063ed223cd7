// Expand (OpenFGA pkg/server/commands/expand.go): the userset tree of object#relation one
// level deep, in OpenFGA's JSON shape (openfga.v1.UsersetTree): each node has a "name"
// (`object#relation`) and either a "leaf" (users, computed, tupleToUserset) or "union",
// "intersection" (with "nodes") or "difference" (with "base" and "subtract").
#include <set>
#include <string>

#include "fga/check.h"
#include "fga/engine.h"
#include "fga/memory_reader.h"

namespace tessera::fga {

namespace {

using nlohmann::json;

Result<json, Error> expand_node(Evaluator& evaluator, const detail::ModelIndex& model,
                                const Rewrite& rw, const std::string& object,
                                const std::string& relation) {
  const std::string name = object + "#" + relation;
  switch (rw.kind) {
    case Rewrite::Kind::This: {
      auto tuples = evaluator.read(object, relation);
      if (!tuples) return Err(tuples.error());
      std::set<std::string> users;
      for (const TupleKey& t : *tuples) {
        if (!evaluator.tuple_valid(t)) continue;
        auto met = evaluator.condition_met(t);
        if (!met) return Err(met.error());
        if (*met) users.insert(t.user);
      }
      json list = json::array();
      for (const std::string& u : users) list.push_back(u);
      return json{{"name", name}, {"leaf", {{"users", {{"users", list}}}}}};
    }
    case Rewrite::Kind::Computed:
      return json{{"name", name},
                  {"leaf", {{"computed", {{"userset", object + "#" + rw.relation}}}}}};
    case Rewrite::Kind::TupleToUserset: {
      auto tuples = evaluator.read(object, rw.tupleset);
      if (!tuples) return Err(tuples.error());
      std::set<std::string> parents;
      for (const TupleKey& t : *tuples) {
        if (!evaluator.tuple_valid(t)) continue;
        const auto parent = parse_user(t.user);
        if (!parent || parent->wildcard() || !parent->relation.empty()) continue;
        if (model.relation(parent->type, rw.relation) == nullptr) continue;
        auto met = evaluator.condition_met(t);
        if (!met) return Err(met.error());
        if (*met) parents.insert(t.user + "#" + rw.relation);
      }
      json computed = json::array();
      for (const std::string& p : parents) computed.push_back({{"userset", p}});
      return json{{"name", name},
                  {"leaf",
                   {{"tupleToUserset",
                     {{"tupleset", object + "#" + rw.tupleset}, {"computed", computed}}}}}};
    }
    case Rewrite::Kind::Union:
    case Rewrite::Kind::Intersection: {
      json nodes = json::array();
      for (const Rewrite& child : rw.children) {
        auto node = expand_node(evaluator, model, child, object, relation);
        if (!node) return node;
        nodes.push_back(std::move(node).value());
      }
      const char* op = rw.kind == Rewrite::Kind::Union ? "union" : "intersection";
      return json{{"name", name}, {op, {{"nodes", nodes}}}};
    }
    case Rewrite::Kind::Difference: {
      if (rw.children.size() != 2) {
        return Err(make_error(ErrorCode::internal_error, "difference needs two operands"));
      }
      auto base = expand_node(evaluator, model, rw.children[0], object, relation);
      if (!base) return base;
      auto subtract = expand_node(evaluator, model, rw.children[1], object, relation);
      if (!subtract) return subtract;
      return json{{"name", name},
                  {"difference",
                   {{"base", std::move(base).value()}, {"subtract", std::move(subtract).value()}}}};
    }
  }
  return Err(make_error(ErrorCode::internal_error, "unknown rewrite"));
}

}  // namespace

Result<nlohmann::json, Error> Engine::expand(TupleReader& store,
                                             const ExpandRequest& request) const {
  const auto object = parse_object(request.object);
  if (!object || object->wildcard()) {
    return Err(make_error(ErrorCode::validation_error,
                          "invalid 'object' field: '" + request.object + "'"));
  }
  const detail::ModelIndex& index = compiled_->index;
  if (!index.has_type(object->type)) {
    return Err(make_error(ErrorCode::type_not_found,
                          "type '" + std::string(object->type) + "' not found"));
  }
  const Relation* rel = index.definition(object->type, request.relation);
  if (rel == nullptr) {
    return Err(make_error(
        ErrorCode::relation_not_found,
        "relation '" + std::string(object->type) + "#" + request.relation + "' not found"));
  }
  auto context = detail::check_context(request.context);
  if (!context) return Err(context.error());
  MemoryTupleReader contextual;
  auto loaded = detail::load_contextual_tuples(*this, request.contextual_tuples, contextual);
  if (!loaded) return Err(loaded.error());
  CombinedTupleReader reader(store, contextual);
  Evaluator evaluator(*this, reader, request.context);
  auto root = expand_node(evaluator, index, rel->rewrite, request.object, request.relation);
  if (!root) return root;
  return nlohmann::json{{"tree", {{"root", std::move(root).value()}}}};
}

}  // namespace tessera::fga
