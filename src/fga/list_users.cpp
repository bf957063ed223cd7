// ListUsers (OpenFGA pkg/server/commands/listusers): expand forwards from object#relation
// through direct tuples, usersets, computed relations and tuple-to-userset to every user that
// matches a filter (objects and typed wildcards of a type, or usersets `type:id#relation`,
// the object's own `object#relation` included); then confirm each candidate with a check, so
// intersections, exclusions, conditions and cycles answer exactly as Check does.
#include <deque>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fga/check.h"
#include "fga/engine.h"
#include "fga/memory_reader.h"

namespace tessera::fga {

namespace {

class ForwardExpansion {
 public:
  ForwardExpansion(const Engine& engine, Evaluator& evaluator,
                   const std::vector<UserFilter>& filters)
      : engine_(engine),
        model_(engine.compiled().index),
        evaluator_(evaluator),
        filters_(filters) {}

  Result<std::set<std::string>, Error> run(const std::string& object, const std::string& relation) {
    auto first = visit(object, relation);
    if (!first) return Err(first.error());
    while (!queue_.empty()) {
      auto [next_object, next_relation] = std::move(queue_.front());
      queue_.pop_front();
      const Relation* rel = model_.definition(detail::type_of(next_object), next_relation);
      if (rel == nullptr) continue;
      auto expanded = expand(rel->rewrite, next_object, next_relation);
      if (!expanded) return Err(expanded.error());
    }
    return std::move(candidates_);
  }

 private:
  Result<Ok, Error> add_candidate(std::string user) {
    candidates_.insert(std::move(user));
    if (candidates_.size() > engine_.options().max_list_candidates) {
      return Err(make_error(ErrorCode::exceeded_entity_limit,
                            "list users would gather more than " +
                                std::to_string(engine_.options().max_list_candidates) +
                                " candidate users"));
    }
    return Ok{};
  }

  Result<Ok, Error> visit(const std::string& object, const std::string& relation) {
    if (!visited_.insert(object + "#" + relation).second) return Ok{};
    if (visited_.size() > engine_.options().max_list_candidates) {
      return Err(make_error(ErrorCode::exceeded_entity_limit,
                            "list users would visit more than " +
                                std::to_string(engine_.options().max_list_candidates) +
                                " object relations"));
    }
    const std::string_view type = detail::type_of(object);
    for (const UserFilter& f : filters_) {
      if (!f.relation.empty() && f.type == type && f.relation == relation) {
        std::string userset = object;
        userset.append("#").append(relation);
        auto added = add_candidate(std::move(userset));
        if (!added) return added;
      }
    }
    queue_.emplace_back(object, relation);
    return Ok{};
  }

  Result<Ok, Error> expand(const Rewrite& rw, const std::string& object,
                           const std::string& relation) {
    switch (rw.kind) {
      case Rewrite::Kind::This: {
        auto tuples = evaluator_.read(object, relation);
        if (!tuples) return Err(tuples.error());
        for (const TupleKey& t : *tuples) {
          if (!evaluator_.tuple_valid(t)) continue;
          const auto u = parse_user(t.user);
          if (!u) continue;
          if (u->relation.empty()) {
            // An object or a typed wildcard: a candidate for a type-only filter.
            for (const UserFilter& f : filters_) {
              if (f.relation.empty() && f.type == u->type) {
                auto added = add_candidate(t.user);
                if (!added) return added;
                break;
              }
            }
            continue;
          }
          auto found =
              visit(std::string(u->type) + ":" + std::string(u->id), std::string(u->relation));
          if (!found) return found;
        }
        return Ok{};
      }
      case Rewrite::Kind::Computed:
        return visit(object, rw.relation);
      case Rewrite::Kind::TupleToUserset: {
        auto tuples = evaluator_.read(object, rw.tupleset);
        if (!tuples) return Err(tuples.error());
        for (const TupleKey& t : *tuples) {
          if (!evaluator_.tuple_valid(t)) continue;
          const auto parent = parse_user(t.user);
          if (!parent || parent->wildcard() || !parent->relation.empty()) continue;
          if (model_.relation(parent->type, rw.relation) == nullptr) continue;
          auto found = visit(t.user, rw.relation);
          if (!found) return found;
        }
        return Ok{};
      }
      case Rewrite::Kind::Union:
      case Rewrite::Kind::Intersection:
        for (const Rewrite& child : rw.children) {
          auto expanded = expand(child, object, relation);
          if (!expanded) return expanded;
        }
        return Ok{};
      case Rewrite::Kind::Difference:
        // The subtracted side only removes users.
        if (rw.children.empty()) return Ok{};
        return expand(rw.children.front(), object, relation);
    }
    return Ok{};
  }

  const Engine& engine_;
  const detail::ModelIndex& model_;
  Evaluator& evaluator_;
  const std::vector<UserFilter>& filters_;
  std::set<std::string> visited_;
  std::deque<std::pair<std::string, std::string>> queue_;
  std::set<std::string> candidates_;
};

}  // namespace

Result<ListUsersResult, Error> Engine::list_users(TupleReader& store,
                                                  const ListUsersRequest& request) const {
  // OpenFGA ListUsersQuery validation: contextual tuples (invalid_tuple), the user filters,
  // then the target object and relation (type_not_found, relation_not_found).
  MemoryTupleReader contextual;
  auto loaded = detail::load_contextual_tuples(*this, request.contextual_tuples, contextual);
  if (!loaded) return Err(loaded.error());
  if (request.user_filters.empty()) {
    return Err(make_error(ErrorCode::validation_error, "at least one user filter is required"));
  }
  const detail::ModelIndex& index = compiled_->index;
  for (const UserFilter& f : request.user_filters) {
    if (!index.has_type(f.type)) {
      return Err(make_error(ErrorCode::type_not_found, "type '" + f.type + "' not found"));
    }
    if (!f.relation.empty() && index.relation(f.type, f.relation) == nullptr) {
      return Err(make_error(ErrorCode::relation_not_found,
                            "relation '" + f.type + "#" + f.relation + "' not found"));
    }
  }
  const auto object = parse_object(request.object);
  if (!object || object->wildcard()) {
    return Err(make_error(ErrorCode::validation_error,
                          "invalid 'object' field: '" + request.object + "'"));
  }
  if (!index.has_type(object->type)) {
    return Err(make_error(ErrorCode::type_not_found,
                          "type '" + std::string(object->type) + "' not found"));
  }
  if (index.relation(object->type, request.relation) == nullptr) {
    return Err(make_error(
        ErrorCode::relation_not_found,
        "relation '" + std::string(object->type) + "#" + request.relation + "' not found"));
  }
  auto context = detail::check_context(request.context);
  if (!context) return Err(context.error());

  CombinedTupleReader reader(store, contextual);
  Evaluator evaluator(*this, reader, request.context);
  ForwardExpansion expansion(*this, evaluator, request.user_filters);
  auto candidates = expansion.run(request.object, request.relation);
  if (!candidates) return Err(candidates.error());

  ListUsersResult result;
  for (const std::string& candidate : *candidates) {
    auto checked = evaluator.check(request.object, request.relation, candidate);
    if (!checked) return Err(checked.error());
    if (checked->allowed) result.users.push_back(candidate);
  }
  return result;
}

}  // namespace tessera::fga
