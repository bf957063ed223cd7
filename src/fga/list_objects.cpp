// ListObjects by reverse expansion (OpenFGA pkg/server/commands/reverseexpand): from the user,
// follow the model's edges backwards (direct assignments, usersets, computed relations,
// tuple-to-userset) to every object of the requested type that may be related; then confirm
// each candidate with a check, which settles intersections, exclusions, conditions, cycles and
// tuples the current model no longer allows. Results are sorted and paged with an opaque
// continuation token instead of being truncated.
#include <deque>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/base64url.h"
#include "core/crypto.h"
#include "fga/check.h"
#include "fga/engine.h"
#include "fga/memory_reader.h"

namespace tessera::fga {

namespace {

// The parts of a rewrite that can add users: everything but the subtracted side of a
// difference. A part reached through unions only is "sure": a chain of tuples through sure
// parts proves the relation (OpenFGA reverseexpand: NoFurtherEvalStatus); a part under an
// intersection or a difference needs a check (RequiresFurtherEvalStatus).
struct RewriteParts {
  bool direct = false;
  bool direct_sure = false;
  std::vector<std::pair<std::string, bool>> computed;  // relation, sure
  struct TupleToUserset {
    std::string tupleset;
    std::string computed;
    bool sure = false;
  };
  std::vector<TupleToUserset> tuple_to_userset;
};

void collect_parts(const Rewrite& rw, bool sure, RewriteParts& parts) {
  switch (rw.kind) {
    case Rewrite::Kind::This:
      parts.direct = true;
      parts.direct_sure = parts.direct_sure || sure;
      break;
    case Rewrite::Kind::Computed:
      parts.computed.emplace_back(rw.relation, sure);
      break;
    case Rewrite::Kind::TupleToUserset:
      parts.tuple_to_userset.push_back({rw.tupleset, rw.relation, sure});
      break;
    case Rewrite::Kind::Union:
      for (const Rewrite& child : rw.children) collect_parts(child, sure, parts);
      break;
    case Rewrite::Kind::Intersection:
      for (const Rewrite& child : rw.children) collect_parts(child, false, parts);
      break;
    case Rewrite::Kind::Difference:
      if (!rw.children.empty()) collect_parts(rw.children.front(), false, parts);
      break;
  }
}

std::string pair_key(std::string_view a, std::string_view b) {
  std::string key(a);
  key.append("#").append(b);
  return key;
}

// One backwards edge: from `type#relation` (a userset the user is in) to `target_type#
// target_relation`.
struct ReverseEdge {
  enum class Kind { Userset, Computed, TupleToUserset };
  Kind kind = Kind::Userset;
  std::string target_type;
  std::string target_relation;
  std::string tupleset;  // TupleToUserset
  bool sure = false;     // the target's rewrite reaches this part through unions only
};

// A relation with direct assignments, where the expansion starts for an object or wildcard.
struct DirectStart {
  std::string type;
  std::string relation;
  const Relation* definition = nullptr;
  bool sure = false;
};

class ReverseExpansion {
 public:
  ReverseExpansion(const Engine& engine, Evaluator& evaluator, std::string_view type,
                   std::string_view relation, size_t limit)
      : engine_(engine),
        limit_(limit),
        model_(engine.compiled().index),
        evaluator_(evaluator),
        type_(type),
        relation_(relation) {
    build_graph();
  }

  // Candidate objects, each with whether a chain of sure parts and tuples whose conditions
  // hold proves it (then no check is needed).
  // Whether every node was reached as sure: then an object absent from the candidates is
  // not related at all.
  bool all_sure() const { return all_sure_; }
  // Userset and tuple-to-userset hops from the user to a visited candidate.
  int hops(const std::string& object) const {
    return visited_.at(pair_key(object, relation_)).hops;
  }

  Result<std::map<std::string, bool>, Error> run(std::string_view user) {
    const ParsedUser u = *parse_user(user);
    if (!u.relation.empty()) {
      auto found =
          visit(std::string(u.type) + ":" + std::string(u.id), std::string(u.relation), true, 0);
      if (!found) return Err(found.error());
    } else {
      for (const DirectStart& start : starts_) {
        std::vector<std::string> users;
        for (const RelationReference& ref : start.definition->directly_related) {
          if (ref.type != u.type || !ref.relation.empty()) continue;
          // An object matches tuples naming it and its type's wildcard; a wildcard only
          // wildcard tuples.
          if (ref.wildcard) {
            users.push_back(std::string(u.type) + ":*");
          } else if (!u.wildcard()) {
            users.emplace_back(user);
          }
        }
        if (users.empty()) continue;
        auto tuples = evaluator_.read_starting_with_user(start.type, start.relation, users);
        if (!tuples) return Err(tuples.error());
        for (const TupleKey& t : *tuples) {
          auto found = follow(t, start.relation, start.sure, 0);
          if (!found) return Err(found.error());
        }
      }
    }
    while (!queue_.empty()) {
      auto [object, relation] = std::move(queue_.front());
      queue_.pop_front();
      auto expanded = expand(object, relation);
      if (!expanded) return Err(expanded.error());
    }
    return std::move(candidates_);
  }

 private:
  // The relations the requested one depends on (OpenFGA's weighted graph, simplified): only
  // these are worth visiting.
  void build_graph() {
    std::set<std::string> relevant;
    std::deque<std::pair<std::string, std::string>> pending;
    auto add = [&](std::string_view type, std::string_view relation) {
      if (model_.relation(type, relation) == nullptr) return;
      if (relevant.insert(pair_key(type, relation)).second) {
        pending.emplace_back(std::string(type), std::string(relation));
      }
    };
    add(type_, relation_);
    while (!pending.empty()) {
      auto [type, relation] = std::move(pending.front());
      pending.pop_front();
      const Relation* rel = model_.definition(type, relation);
      RewriteParts parts;
      collect_parts(rel->rewrite, true, parts);
      if (parts.direct) {
        starts_.push_back(DirectStart{type, relation, rel, parts.direct_sure});
        for (const RelationReference& ref : rel->directly_related) {
          if (ref.relation.empty()) continue;
          add(ref.type, ref.relation);
          edges_[pair_key(ref.type, ref.relation)].push_back(
              ReverseEdge{ReverseEdge::Kind::Userset, type, relation, "", parts.direct_sure});
        }
      }
      for (const auto& [computed, sure] : parts.computed) {
        add(type, computed);
        edges_[pair_key(type, computed)].push_back(
            ReverseEdge{ReverseEdge::Kind::Computed, type, relation, "", sure});
      }
      for (const RewriteParts::TupleToUserset& ttu : parts.tuple_to_userset) {
        const Relation* tupleset_rel = model_.definition(type, ttu.tupleset);
        if (tupleset_rel == nullptr) continue;
        std::set<std::string> parent_types;
        for (const RelationReference& ref : tupleset_rel->directly_related) {
          if (ref.wildcard || !ref.relation.empty()) continue;
          if (model_.relation(ref.type, ttu.computed) == nullptr) continue;
          parent_types.insert(ref.type);
        }
        for (const std::string& parent_type : parent_types) {
          add(parent_type, ttu.computed);
          edges_[pair_key(parent_type, ttu.computed)].push_back(ReverseEdge{
              ReverseEdge::Kind::TupleToUserset, type, relation, ttu.tupleset, ttu.sure});
        }
      }
    }
  }

  // A tuple leads from the current node to `t.object#relation` when the model still allows
  // it and its condition holds; a condition that cannot be evaluated leaves the answer to the
  // check (which reports the error).
  Result<Ok, Error> follow(const TupleKey& t, const std::string& relation, bool sure, int hops) {
    if (!evaluator_.tuple_valid(t)) return Ok{};
    auto met = evaluator_.condition_met(t);
    if (met && !*met) return Ok{};
    if (!met) all_sure_ = false;
    return visit(t.object, relation, sure && met.ok(), hops);
  }

  Result<Ok, Error> visit(const std::string& object, const std::string& relation, bool sure,
                          int hops) {
    // A chain as long as the resolve node limit is left to the check, which reports the
    // limit as Check would.
    sure = sure && hops + 1 < engine_.options().resolve_node_limit;
    all_sure_ = all_sure_ && sure;
    auto [node, inserted] = visited_.try_emplace(pair_key(object, relation), Node{sure, hops});
    if (!inserted) {
      // Seen before: only a first sure path matters (it is followed again, as sure).
      if (!sure || node->second.sure) return Ok{};
      node->second = Node{true, hops};
    } else if (visited_.size() > limit_) {
      return Err(make_error(
          ErrorCode::exceeded_entity_limit,
          "list objects would visit more than " + std::to_string(limit_) + " object relations"));
    }
    if (detail::type_of(object) == type_ && relation == relation_) {
      candidates_[object] = sure;
    }
    queue_.emplace_back(object, relation);
    return Ok{};
  }

  Result<Ok, Error> expand(const std::string& object, const std::string& relation) {
    auto edges = edges_.find(pair_key(detail::type_of(object), relation));
    if (edges == edges_.end()) return Ok{};
    const Node node = visited_.at(pair_key(object, relation));
    for (const ReverseEdge& edge : edges->second) {
      const bool sure = node.sure && edge.sure;
      switch (edge.kind) {
        case ReverseEdge::Kind::Computed: {
          auto found = visit(object, edge.target_relation, sure, node.hops);
          if (!found) return found;
          break;
        }
        case ReverseEdge::Kind::Userset:
        case ReverseEdge::Kind::TupleToUserset: {
          const bool userset = edge.kind == ReverseEdge::Kind::Userset;
          const std::vector<std::string> users{userset ? pair_key(object, relation) : object};
          auto tuples = evaluator_.read_starting_with_user(
              edge.target_type, userset ? edge.target_relation : edge.tupleset, users);
          if (!tuples) return Err(tuples.error());
          for (const TupleKey& t : *tuples) {
            auto found = follow(t, edge.target_relation, sure, node.hops + 1);
            if (!found) return found;
          }
          break;
        }
      }
    }
    return Ok{};
  }

  struct Node {
    bool sure = false;
    int hops = 0;  // userset and tuple-to-userset hops from the user
  };

  const Engine& engine_;
  size_t limit_;  // the most object relations one expansion visits
  const detail::ModelIndex& model_;
  Evaluator& evaluator_;
  std::string type_;
  std::string relation_;
  std::vector<DirectStart> starts_;
  std::map<std::string, std::vector<ReverseEdge>> edges_;
  std::unordered_map<std::string, Node> visited_;
  std::deque<std::pair<std::string, std::string>> queue_;
  std::map<std::string, bool> candidates_;  // object -> proven without a check
  bool all_sure_ = true;
};

}  // namespace

namespace detail {

Result<ReverseSet, Error> reverse_set(const Engine& engine, Evaluator& evaluator,
                                      std::string_view type, std::string_view relation,
                                      std::string_view user, size_t limit) {
  ReverseSet out;
  ReverseExpansion expansion(engine, evaluator, type, relation, limit);
  auto candidates = expansion.run(user);
  if (!candidates) return Err(candidates.error());
  out.complete = expansion.all_sure();
  for (const auto& [object, proven] : *candidates) {
    if (proven) out.objects.emplace(object, expansion.hops(object));
  }
  return out;
}

}  // namespace detail

namespace {

// The continuation token: the last object returned, bound to the query it came from so a
// token is not replayed against another (OpenFGA: query_string_type_continuation_token_mismatch).
std::string query_fingerprint(const ListObjectsRequest& request) {
  return crypto::to_hex(
             crypto::sha256(request.type + "\n" + request.relation + "\n" + request.user))
      .substr(0, 16);
}

std::string encode_token(const ListObjectsRequest& request, const std::string& last) {
  return base64url::encode("lo1\n" + query_fingerprint(request) + "\n" + last);
}

Result<std::string, Error> decode_token(const ListObjectsRequest& request) {
  auto raw = base64url::decode(request.continuation_token);
  const std::string prefix = "lo1\n" + query_fingerprint(request) + "\n";
  if (!raw || raw->size() <= prefix.size() || raw->compare(0, prefix.size(), prefix) != 0) {
    return Err(make_error(ErrorCode::invalid_continuation_token,
                          "the continuation token is invalid or belongs to another query"));
  }
  return raw->substr(prefix.size());
}

}  // namespace

Result<ListObjectsResult, Error> Engine::list_objects(TupleReader& store,
                                                      const ListObjectsRequest& request) const {
  // OpenFGA ListObjectsQuery.Execute: contextual tuples (invalid_tuple), then the target type
  // and relation (type_not_found, relation_not_found), then the user (validation_error).
  MemoryTupleReader contextual;
  auto loaded = detail::load_contextual_tuples(*this, request.contextual_tuples, contextual);
  if (!loaded) return Err(loaded.error());
  const detail::ModelIndex& index = compiled_->index;
  if (!index.has_type(request.type)) {
    return Err(make_error(ErrorCode::type_not_found, "type '" + request.type + "' not found"));
  }
  if (index.relation(request.type, request.relation) == nullptr) {
    return Err(make_error(ErrorCode::relation_not_found,
                          "relation '" + request.type + "#" + request.relation + "' not found"));
  }
  auto user = detail::user_allowed(index, request.user);
  if (!user) {
    return Err(make_error(ErrorCode::validation_error, "invalid 'user' field: " + user.error()));
  }
  auto context = detail::check_context(request.context);
  if (!context) return Err(context.error());
  const size_t page_size = request.page_size == 0 ? kDefaultListObjectsPageSize : request.page_size;
  if (page_size > kMaxListObjectsPageSize) {
    return Err(make_error(ErrorCode::page_size_invalid,
                          "page_size must be at most " + std::to_string(kMaxListObjectsPageSize)));
  }
  std::string after;
  if (!request.continuation_token.empty()) {
    auto decoded = decode_token(request);
    if (!decoded) return Err(decoded.error());
    after = std::move(decoded).value();
  }

  CombinedTupleReader reader(store, contextual);
  Evaluator evaluator(*this, reader, request.context);
  ReverseExpansion expansion(*this, evaluator, request.type, request.relation,
                             options_.max_list_candidates);
  auto candidates = expansion.run(request.user);
  if (!candidates) return Err(candidates.error());

  ListObjectsResult result;
  auto it = after.empty() ? candidates->begin() : candidates->upper_bound(after);
  for (; it != candidates->end(); ++it) {
    const auto& [object, proven] = *it;
    // A candidate reached through unions only, over tuples whose conditions hold, is
    // allowed; the others (intersections, exclusions, condition errors, long chains) are
    // confirmed by a check.
    if (!proven) {
      auto checked = evaluator.check(object, request.relation, request.user);
      if (!checked) return Err(checked.error());
      if (!checked->allowed) continue;
    }
    if (result.objects.size() == page_size) {
      // One more object exists: the page ends here with a token.
      result.continuation_token = encode_token(request, result.objects.back());
      break;
    }
    result.objects.push_back(object);
  }
  return result;
}

}  // namespace tessera::fga
