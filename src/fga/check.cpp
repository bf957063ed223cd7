#include "fga/check.h"

#include <algorithm>
#include <condition_variable>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <type_traits>
#include <utility>

#include "core/worker_pool.h"

namespace tessera::fga {

namespace detail {

std::string_view type_of(std::string_view object_or_user) {
  const size_t colon = object_or_user.find(':');
  return colon == std::string_view::npos ? object_or_user : object_or_user.substr(0, colon);
}

namespace {

// OpenFGA's union (and every dispatch over several usersets or parents): the first allowed item
// decides; otherwise an error if any item (or `error`, seen while collecting them) failed, else
// not allowed, remembering whether a cycle cut a path.
template <class Items, class ResolveOne>
auto any_allowed(const Items& items, std::optional<Error> error, ResolveOne&& resolve_one)
    -> decltype(resolve_one(*std::begin(items))) {
  using Outcome = std::remove_cvref_t<decltype(resolve_one(*std::begin(items)).value())>;
  bool cycle = false;
  for (const auto& item : items) {
    auto r = resolve_one(item);
    if (!r) {
      error = r.error();
      continue;
    }
    if (r->allowed) return Outcome{true, false};
    cycle = cycle || r->cycle;
  }
  if (error) return Err(*error);
  return Outcome{false, cycle};
}

// OpenFGA's intersection: the first item that is not allowed (or cut by a cycle) decides;
// otherwise an error if any item failed, else allowed.
template <class Items, class ResolveOne>
auto all_allowed(const Items& items, ResolveOne&& resolve_one)
    -> decltype(resolve_one(*std::begin(items))) {
  using Outcome = std::remove_cvref_t<decltype(resolve_one(*std::begin(items)).value())>;
  if (std::empty(items)) return Outcome{false, false};
  std::optional<Error> error;
  for (const auto& item : items) {
    auto r = resolve_one(item);
    if (!r) {
      error = r.error();
      continue;
    }
    if (r->cycle || !r->allowed) return Outcome{false, r->cycle};
  }
  if (error) return Err(*error);
  return Outcome{true, false};
}

// OpenFGA's relation names: no ':', '#', '@' or whitespace (openfga.proto RelationName).
bool relation_name_ok(std::string_view relation) {
  if (relation.empty()) return false;
  for (const char c : relation) {
    if (c == ':' || c == '#' || c == '@' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      return false;
    }
  }
  return true;
}

std::string user_form(const ParsedUser& u) {
  std::string s(u.type);
  if (u.wildcard()) return s + ":*";
  if (!u.relation.empty()) s.append("#").append(u.relation);
  return s;
}

}  // namespace

bool RelationInfo::exact_allowed(const ParsedUser& user) const {
  for (const RelationReference& ref : definition->directly_related) {
    if (ref.type == user.type && !ref.wildcard && ref.relation == user.relation) return true;
  }
  return false;
}

bool RelationInfo::wildcard_allowed(std::string_view type) const {
  for (const RelationReference& ref : definition->directly_related) {
    if (ref.wildcard && ref.type == type) return true;
  }
  return false;
}

ModelIndex::ModelIndex(const Model& model) : model_(&model) {
  for (const TypeDefinition& type : model.types) {
    Relations& relations = types_[type.name];
    for (const Relation& relation : type.relations) {
      RelationInfo info;
      info.definition = &relation;
      for (const RelationReference& ref : relation.directly_related) {
        if (ref.wildcard) info.wildcard_restrictions = true;
        if (!ref.relation.empty()) info.userset_restrictions = true;
      }
      relations.emplace(relation.name, info);
    }
  }
}

const RelationInfo* ModelIndex::relation(std::string_view type, std::string_view relation) const {
  auto t = types_.find(type);
  if (t == types_.end()) return nullptr;
  auto r = t->second.find(relation);
  return r == t->second.end() ? nullptr : &r->second;
}

Result<Ok, std::string> user_allowed(const ModelIndex& index, std::string_view user) {
  const auto u = parse_user(user);
  if (!u) return Err(std::string("the 'user' field is malformed"));
  if (!index.has_type(u->type)) {
    return Err("type '" + std::string(u->type) + "' not found");
  }
  if (!u->relation.empty() && index.relation(u->type, u->relation) == nullptr) {
    return Err("relation '" + std::string(u->type) + "#" + std::string(u->relation) +
               "' not found");
  }
  return Ok{};
}

// OpenFGA validation.ValidateTupleForWrite: ValidateUserObjectRelation, then the type
// restrictions (validateTypeRestrictions) and the condition (validateCondition).
Result<Ok, std::string> tuple_allowed(const ModelIndex& index, const TupleKey& tuple) {
  const auto object = parse_object(tuple.object);
  if (!object || object->wildcard()) return Err("invalid 'object' field: " + tuple.object);
  if (!relation_name_ok(tuple.relation)) return Err("invalid 'relation' field: " + tuple.relation);
  if (!index.has_type(object->type)) {
    return Err("type '" + std::string(object->type) + "' not found");
  }
  const Relation* relation = index.definition(object->type, tuple.relation);
  if (relation == nullptr) {
    return Err("relation '" + std::string(object->type) + "#" + tuple.relation + "' not found");
  }
  auto user_ok = user_allowed(index, tuple.user);
  if (!user_ok) return Err(user_ok.error());
  const ParsedUser user = *parse_user(tuple.user);

  bool type_allowed = false;
  bool allowed = false;
  for (const RelationReference& ref : relation->directly_related) {
    if (ref.type != user.type) continue;
    if (user.wildcard()) {
      if (!ref.wildcard) continue;
    } else if (!user.relation.empty()) {
      if (ref.relation != user.relation) continue;
    } else if (ref.wildcard || !ref.relation.empty()) {
      continue;
    }
    type_allowed = true;
    if (ref.condition == tuple.condition) {
      allowed = true;
      break;
    }
  }
  if (!type_allowed) {
    const std::string where = std::string(object->type) + "#" + tuple.relation;
    return Err("type '" + user_form(user) + "' is not an allowed type restriction for '" + where +
               "'");
  }
  if (!allowed) {
    const std::string where = std::string(object->type) + "#" + tuple.relation;
    return Err(tuple.condition.empty()
                   ? "relation '" + where + "' requires a condition for '" + user_form(user) + "'"
                   : "condition '" + tuple.condition + "' is not allowed for '" + user_form(user) +
                         "' on '" + where + "'");
  }
  if (tuple.condition.empty()) {
    if (!tuple.context.is_null() && !tuple.context.empty()) {
      return Err(std::string("a condition context without a condition"));
    }
    return Ok{};
  }
  const auto& conditions = index.model().conditions;
  auto condition = conditions.find(tuple.condition);
  if (condition == conditions.end()) {
    return Err("condition '" + tuple.condition + "' is undefined");
  }
  if (tuple.context.is_null()) return Ok{};
  if (!tuple.context.is_object()) return Err(std::string("the condition context is not an object"));
  for (const auto& [name, value] : tuple.context.items()) {
    if (condition->second.parameters.count(name) == 0) {
      return Err("'" + name + "' is not a parameter of condition '" + tuple.condition + "'");
    }
  }
  return Ok{};
}

Result<Ok, Error> check_context(const nlohmann::json& context) {
  if (context.is_null() || context.is_object()) return Ok{};
  return Err(make_error(ErrorCode::validation_error, "the 'context' field must be an object"));
}

Result<Ok, Error> load_contextual_tuples(const Engine& engine, const std::vector<TupleKey>& tuples,
                                         MemoryTupleReader& out) {
  if (tuples.size() > engine.options().max_contextual_tuples) {
    return Err(make_error(ErrorCode::validation_error,
                          "at most " + std::to_string(engine.options().max_contextual_tuples) +
                              " contextual tuples are allowed"));
  }
  for (const TupleKey& t : tuples) {
    auto ok = tuple_allowed(engine.compiled().index, t);
    // OpenFGA validateCheckRequest / ListObjects / ListUsers: a contextual tuple must pass
    // the same validation as a write; a failure is invalid_tuple.
    if (!ok) {
      return Err(make_error(ErrorCode::invalid_tuple, "invalid contextual tuple '" + t.object +
                                                          "#" + t.relation + "@" + t.user +
                                                          "': " + ok.error()));
    }
    out.write(t);
  }
  return Ok{};
}

}  // namespace detail

namespace {

std::string node_key(std::string_view object, std::string_view relation, std::string_view user) {
  std::string key;
  key.reserve(object.size() + relation.size() + user.size() + 2);
  key.append(object).append("#").append(relation).append("@").append(user);
  return key;
}

}  // namespace

Evaluator::Evaluator(const Engine& engine, TupleReader& reader, const nlohmann::json& context)
    : engine_(engine),
      index_(engine.compiled().index),
      reader_(reader),
      context_(std::make_shared<const nlohmann::json>(
          context.is_object() ? context : nlohmann::json::object())) {}

Evaluator::Evaluator(const Evaluator& parent, const std::atomic<bool>* stop)
    : engine_(parent.engine_),
      index_(parent.index_),
      reader_(parent.reader_),
      context_(parent.context_),
      parent_(&parent),
      stops_(parent.stops_),
      subtract_depth_(parent.subtract_depth_),
      path_(parent.path_),
      dispatch_count_(parent.dispatch_count_),
      check_dispatches_start_(parent.check_dispatches_start_) {
  stops_.push_back(stop);
}

bool Evaluator::cancelled() const {
  return std::any_of(stops_.begin(), stops_.end(), [](const std::atomic<bool>* stop) {
    return stop->load(std::memory_order_relaxed);
  });
}

const Evaluator::Memo* Evaluator::find_memo(const std::string& key) const {
  for (const Evaluator* e = this; e != nullptr; e = e->parent_) {
    if (auto it = e->memo_.find(key); it != e->memo_.end()) return &it->second;
  }
  return nullptr;
}

const std::optional<detail::ReverseSet>* Evaluator::find_reverse(const std::string& key) const {
  for (const Evaluator* e = this; e != nullptr; e = e->parent_) {
    if (auto it = e->reverse_.find(key); it != e->reverse_.end()) return &it->second;
  }
  return nullptr;
}

// A fan-out: `one(evaluator, item)` for each item, combined as a union or an intersection.
// The items are resolved in order on this evaluator until the check has made
// branch_concurrency_after dispatches and the pool has an idle thread; then, when a branch pool
// is configured, the reader may be read from several threads and two items or more are left,
// the rest are cut into one contiguous run per idle pool thread plus one. Each run is resolved in
// order by a branch evaluator of its own: this thread runs the first, and any run the pool has not
// started yet, so a full or busy pool never leaves it waiting on work nobody runs. The first run
// to reach a deciding item (union: allowed; intersection: not allowed or cut by a cycle) stops
// the others: they see `stop` at their next resolve and unwind with `cancelled`. A result is kept
// only when no stop was seen by the time it was reached, so what a cancellation cut short (an
// intersection's cycle flag, say, on which a `but not` depends) is never used: not as an item's
// answer, and not in the memo (resolve() writes no entry once its evaluator is cancelled). Then
// the answer is made exactly as one thread would: the first deciding item in order decides, so
// items before it left unresolved are resolved here, in order. The branches' memo entries,
// reverse sets and counters are merged back.
template <class Items, class One>
Evaluator::Resolved Evaluator::fan_out(Combine combine, const Items& items,
                                       std::optional<Error> error, One&& one) {
  const EngineOptions& options = engine_.options();
  const size_t n = std::size(items);
  WorkerPool* pool = options.branch_pool.get();
  if (pool == nullptr || n < 2 || !reader_.concurrent_reads()) {
    auto each = [&](const auto& item) { return one(*this, item); };
    return combine == Combine::kAnyAllowed ? detail::any_allowed(items, std::move(error), each)
                                           : detail::all_allowed(items, each);
  }
  // Each item's answer is folded in, in order, as any_allowed / all_allowed would: the outcome
  // when the item decides, else nullopt (an error or a union's cycle remembered for the end).
  bool cycle = false;
  auto fold = [&](const Resolved& r) -> std::optional<Resolved> {
    if (!r) {
      error = r.error();
      return std::nullopt;
    }
    Resolved decided = Outcome{combine == Combine::kAnyAllowed, false};
    if (combine == Combine::kAnyAllowed) {
      if (r->allowed) return decided;
      cycle = cycle || r->cycle;
    } else if (r->cycle || !r->allowed) {
      decided = Outcome{false, r->cycle};
      return decided;
    }
    return std::nullopt;
  };
  auto undecided = [&]() -> Resolved {
    if (error) return Err(*error);
    return Outcome{combine == Combine::kAllAllowed, combine == Combine::kAnyAllowed && cycle};
  };
  auto decides = [combine](const Resolved& out) {
    return out.ok() &&
           (combine == Combine::kAnyAllowed ? out->allowed : (out->cycle || !out->allowed));
  };
  // Items go on here, one after the other, until the check is expensive enough, and while the
  // pool has no idle thread (a fan-out inside a branch, when every thread is busy, gains
  // nothing from queueing).
  size_t start = 0;
  while (start < n &&
         (dispatch_count_ - check_dispatches_start_ < options.branch_concurrency_after ||
          n - start < 2 || pool->idle() == 0)) {
    if (auto decided = fold(one(*this, items[start++]))) return *decided;
  }
  if (start == n) return undecided();
  std::vector<std::optional<Resolved>> rest(n - start);
  resolve_concurrently(start, n, [&](size_t i, Evaluator& branch, std::atomic<bool>& stop) {
    Resolved out = one(branch, items[i]);
    if (branch.cancelled()) return true;  // maybe cut short: not kept
    if (!decides(out)) {
      rest[i - start] = std::move(out);
      return false;
    }
    // The first to decide stops the others; a later decider's answer is not needed.
    if (!stop.exchange(true)) rest[i - start] = std::move(out);
    return true;
  });
  // Exactly the one-thread answer: a union's allowed item decides wherever it is; otherwise the
  // items are folded in order, resolving here any that a stop left unresolved (for an
  // intersection, those before the first deciding one).
  if (combine == Combine::kAnyAllowed) {
    for (const auto& r : rest) {
      if (r && decides(*r)) return Outcome{true, false};
    }
  }
  for (size_t i = start; i < n; ++i) {
    std::optional<Resolved>& r = rest[i - start];
    if (!r) r = one(*this, items[i]);
    if (auto decided = fold(*r)) return *decided;
  }
  return undecided();
}

void Evaluator::resolve_concurrently(
    size_t begin, size_t end,
    const std::function<bool(size_t, Evaluator&, std::atomic<bool>&)>& resolve_item) {
  struct Shared {
    std::atomic<bool> stop{false};
    std::mutex mutex;
    std::condition_variable finished;
    size_t done = 0;
    std::unique_ptr<std::atomic<bool>[]> claimed;
  };
  WorkerPool& pool = *engine_.options().branch_pool;
  const size_t m = end - begin;
  const size_t runs = std::min(m, std::max<size_t>(pool.idle(), 1) + 1);
  const uint32_t dispatches_before = dispatch_count_;
  auto shared = std::make_shared<Shared>();
  shared->claimed = std::make_unique<std::atomic<bool>[]>(runs);
  std::vector<std::unique_ptr<Evaluator>> branches;
  branches.reserve(runs);
  for (size_t r = 0; r < runs; ++r) {
    branches.push_back(std::make_unique<Evaluator>(*this, &shared->stop));
  }
  auto run = [&](size_t r) noexcept {
    Evaluator& branch = *branches[r];
    for (size_t i = begin + r * m / runs; i < begin + (r + 1) * m / runs; ++i) {
      if (branch.cancelled()) break;
      try {
        if (resolve_item(i, branch, shared->stop)) break;
      } catch (...) {
        // Out of memory, most likely: the run's items stay unresolved, and fan_out resolves
        // them on its own thread, where a failure surfaces as it would without branches.
        break;
      }
    }
    std::lock_guard lock(shared->mutex);
    if (++shared->done == runs) shared->finished.notify_all();
  };
  // Whoever claims a run first runs it; the pool's copy of a run claimed here does nothing and
  // touches nothing of this frame but `shared`, which it keeps alive.
  auto claim = [](Shared& s, size_t r) { return !s.claimed[r].exchange(true); };
  for (size_t r = 1; r < runs; ++r) {
    try {
      pool.submit([shared, claim, r, run_ptr = &run] {
        if (claim(*shared, r)) (*run_ptr)(r);
      });
    } catch (...) {
      // Not queued: the run is claimed below.
    }
  }
  for (size_t r = 0; r < runs; ++r) {
    if (claim(*shared, r)) run(r);
  }
  {
    std::unique_lock lock(shared->mutex);
    shared->finished.wait(lock, [&] { return shared->done == runs; });
  }
  for (const auto& branch : branches) {
    dispatch_count_ += branch->dispatch_count_ - dispatches_before;
    read_count_ += branch->read_count_;
    shortcuts_ += branch->shortcuts_;
    concurrent_fan_outs_ += branch->concurrent_fan_outs_;
    // Moves the nodes (keys this evaluator already has stay with the branch, and go with it).
    memo_.merge(branch->memo_);
    reverse_.merge(branch->reverse_);
  }
  ++concurrent_fan_outs_;
}

Result<std::vector<TupleKey>, Error> Evaluator::read(std::string_view object,
                                                     std::string_view relation) {
  ++read_count_;
  return reader_.read(object, relation);
}

Result<std::optional<TupleKey>, Error> Evaluator::read_user_tuple(std::string_view object,
                                                                  std::string_view relation,
                                                                  std::string_view user) {
  ++read_count_;
  return reader_.read_user_tuple(object, relation, user);
}

Result<std::vector<TupleKey>, Error> Evaluator::read_userset_tuples(std::string_view object,
                                                                    std::string_view relation) {
  ++read_count_;
  return reader_.read_userset_tuples(object, relation);
}

Result<std::vector<TupleKey>, Error> Evaluator::read_starting_with_user(
    std::string_view object_type, std::string_view relation,
    const std::vector<std::string>& users) {
  ++read_count_;
  return reader_.read_starting_with_user(object_type, relation, users);
}

Result<bool, Error> Evaluator::counts(const std::optional<TupleKey>& tuple) const {
  if (!tuple || !tuple_valid(*tuple)) return false;
  return condition_met(*tuple);
}

bool Evaluator::tuple_valid(const TupleKey& tuple) const {
  return detail::tuple_allowed(index_, tuple).ok();
}

Result<bool, Error> Evaluator::condition_met(const TupleKey& tuple) const {
  if (tuple.condition.empty()) return true;
  const auto& conditions = engine_.compiled().conditions;
  auto program = conditions.find(tuple.condition);
  if (program == conditions.end()) {
    return Err(make_error(ErrorCode::validation_error,
                          "condition '" + tuple.condition + "' was not found"));
  }
  // OpenFGA eval.EvaluateTupleCondition merges the request context first and the tuple's
  // context over it: a parameter stored with the tuple wins over the request's.
  nlohmann::json merged = *context_;
  if (tuple.context.is_object()) {
    for (const auto& [name, value] : tuple.context.items()) merged[name] = value;
  }
  auto evaluation = program->second.evaluate(merged);
  if (!evaluation) {
    return Err(make_error(ErrorCode::validation_error,
                          "failed to evaluate relationship condition '" + tuple.condition +
                              "': " + evaluation.error().message));
  }
  if (!evaluation->missing.empty()) {
    // A missing parameter is an error, not a silent false (OpenFGA: "context is missing
    // parameters").
    std::string names;
    for (const std::string& name : evaluation->missing) {
      if (!names.empty()) names += ", ";
      names += "'" + name + "'";
    }
    return Err(make_error(ErrorCode::validation_error,
                          "failed to evaluate relationship condition '" + tuple.condition +
                              "': context is missing parameters " + names));
  }
  return evaluation->value;
}

Result<CheckResult, Error> Evaluator::check(std::string_view object, std::string_view relation,
                                            std::string_view user) {
  path_.clear();
  check_dispatches_start_ = dispatch_count_;
  auto resolved = resolve(object, relation, user, engine_.options().resolve_node_limit);
  if (!resolved) return Err(resolved.error());
  CheckResult result;
  result.allowed = resolved->allowed;
  result.cycle_detected = resolved->cycle;
  result.dispatch_count = dispatch_count_;
  result.read_count = read_count_;
  result.concurrent_fan_outs = concurrent_fan_outs_;
  return result;
}

// OpenFGA LocalChecker.ResolveCheck: the depth limit first, then the cycle check on the
// current path, then Check(document:1#viewer@document:1#viewer) is always true, then the
// relation's rewrite.
Evaluator::Resolved Evaluator::resolve(std::string_view object, std::string_view relation,
                                       std::string_view user, int depth) {
  if (depth <= 0) {
    return Err(make_error(ErrorCode::authorization_model_resolution_too_complex,
                          "authorization model resolution reached the resolve node limit (" +
                              std::to_string(engine_.options().resolve_node_limit) +
                              " dispatches) at '" + std::string(object) + "#" +
                              std::string(relation) + "@" + std::string(user) + "'"));
  }
  if (!stops_.empty() && cancelled()) {
    return Err(make_error(ErrorCode::cancelled, "a sibling branch decided first"));
  }
  std::string key = node_key(object, relation, user);
  if (path_.count(key) != 0) return Outcome{false, true};
  if (const Memo* memo = find_memo(key);
      memo != nullptr && memo->depth <= depth && !(memo->shortcut && subtract_depth_ > 0)) {
    if (memo->shortcut) ++shortcuts_;  // whoever uses it relies on the shortcut too
    return Outcome{memo->allowed, false};
  }
  // The user `object#relation` itself.
  if (user.size() == object.size() + 1 + relation.size() &&
      user.substr(0, object.size()) == object && user[object.size()] == '#' &&
      user.substr(object.size() + 1) == relation) {
    return Outcome{true, false};
  }
  const Relation* rel = index_.definition(detail::type_of(object), relation);
  if (rel == nullptr) {
    return Err(make_error(ErrorCode::validation_error,
                          "relation '" + std::string(detail::type_of(object)) + "#" +
                              std::string(relation) + "' is undefined"));
  }
  path_.insert(key);
  const uint64_t shortcuts_before = shortcuts_;
  Resolved out = rewrite(rel->rewrite, object, relation, user, depth);
  path_.erase(key);
  // Only answers untouched by a cycle are remembered: a path cut by a cycle may resolve
  // differently when reached along another path.
  // Nor are answers reached after a sibling branch decided: they may have been cut short.
  if (out.ok() && !out->cycle && (stops_.empty() || !cancelled())) {
    memo_[std::move(key)] = Memo{out->allowed, depth, shortcuts_ != shortcuts_before};
  }
  return out;
}

Evaluator::Resolved Evaluator::rewrite(const Rewrite& rw, std::string_view object,
                                       std::string_view relation, std::string_view user,
                                       int depth) {
  switch (rw.kind) {
    case Rewrite::Kind::This:
      return direct(object, relation, user, depth);
    case Rewrite::Kind::Computed:
      // OpenFGA checkComputedUserset: no dispatch, the depth is unchanged.
      return resolve(object, rw.relation, user, depth);
    case Rewrite::Kind::TupleToUserset:
      return tuple_to_userset(rw, object, user, depth);
    case Rewrite::Kind::Union:
    case Rewrite::Kind::Intersection: {
      // OpenFGA union: the first operand allowed decides; intersection: the first operand that
      // is not allowed (or cut by a cycle) does; otherwise an error if any operand failed.
      const Combine combine =
          rw.kind == Rewrite::Kind::Union ? Combine::kAnyAllowed : Combine::kAllAllowed;
      return fan_out(combine, rw.children, std::nullopt, [&](Evaluator& on, const Rewrite& child) {
        return on.rewrite(child, object, relation, user, depth);
      });
    }
    case Rewrite::Kind::Difference: {
      // OpenFGA exclusion: a cycle on either side, a base that is not allowed or a subtract
      // that is allowed each decide "not allowed"; then errors; then allowed.
      if (rw.children.size() != 2) {
        return Err(make_error(ErrorCode::internal_error, "difference needs two operands"));
      }
      Resolved base = rewrite(rw.children[0], object, relation, user, depth);
      if (base.ok()) {
        if (base->cycle) return Outcome{false, true};
        if (!base->allowed) return Outcome{false, false};
      }
      ++subtract_depth_;
      Resolved subtract = rewrite(rw.children[1], object, relation, user, depth);
      --subtract_depth_;
      if (subtract.ok()) {
        if (subtract->cycle) return Outcome{false, true};
        if (subtract->allowed) return Outcome{false, false};
      }
      if (!base) return Err(base.error());
      if (!subtract) return Err(subtract.error());
      return Outcome{true, false};
    }
  }
  return Err(make_error(ErrorCode::internal_error, "unknown rewrite"));
}

// OpenFGA checkDirect: the exact tuple `object#relation@user` when the user's type is a
// direct type restriction, the typed wildcard `type:*` when a restriction allows it, and the
// userset tuples the restrictions allow. The first two are point lookups and only userset
// (and wildcard) tuples are listed, so a relation with 100,000 direct users costs two index
// probes, never a scan. Stored tuples the current model no longer allows are ignored
// (validation.FilterInvalidTuples); a condition error is reported only when nothing allows.
Evaluator::Resolved Evaluator::direct(std::string_view object, std::string_view relation,
                                      std::string_view user, int depth) {
  const detail::RelationInfo* info = index_.relation(detail::type_of(object), relation);
  const auto u = parse_user(user);
  if (info == nullptr || !u) return Outcome{false, false};
  std::optional<Error> error;
  // IsDirectlyRelated(object#relation, user type[#relation]): is the exact tuple worth reading?
  if (info->exact_allowed(*u) || (u->wildcard() && info->wildcard_allowed(u->type))) {
    auto tuple = read_user_tuple(object, relation, user);
    if (!tuple) return Err(tuple.error());
    auto met = counts(*tuple);
    if (!met) {
      error = met.error();
    } else if (*met) {
      return Outcome{true, false};
    }
  }
  // A typed wildcard grants every user of its type (OpenFGA compares the type of the
  // request's user, whatever its form).
  if (!u->wildcard() && info->wildcard_allowed(u->type)) {
    std::string wildcard(u->type);
    wildcard += ":*";
    auto tuple = read_user_tuple(object, relation, wildcard);
    if (!tuple) return Err(tuple.error());
    auto met = counts(*tuple);
    if (!met) {
      error = met.error();
    } else if (*met) {
      return Outcome{true, false};
    }
  }
  if (!info->userset_restrictions) {
    if (error) return Err(*error);
    return Outcome{false, false};
  }
  auto tuples = read_userset_tuples(object, relation);
  if (!tuples) return Err(tuples.error());
  std::vector<std::pair<std::string, std::string>> dispatches;
  for (const TupleKey& t : *tuples) {
    const auto tu = parse_user(t.user);
    // Wildcards were probed above; an exact userset match was the point lookup.
    if (!tu || tu->relation.empty() || t.user == user) continue;
    if (!tuple_valid(t)) continue;
    auto met = condition_met(t);
    if (!met) {
      error = met.error();
      continue;
    }
    if (!*met) continue;
    dispatches.emplace_back(std::string(tu->type) + ":" + std::string(tu->id),
                            std::string(tu->relation));
  }
  if (engine_.options().reverse_fanout > 0 &&
      dispatches.size() >= engine_.options().reverse_fanout) {
    auto shortcut_answer = shortcut(dispatches, object, relation, user, depth);
    if (!shortcut_answer) return Err(shortcut_answer.error());
    if (*shortcut_answer) return Outcome{true, false};
  }
  return fan_out(Combine::kAnyAllowed, dispatches, error,
                 [&](Evaluator& on, const std::pair<std::string, std::string>& userset) {
                   ++on.dispatch_count_;
                   return on.resolve(userset.first, userset.second, user, depth - 1);
                 });
}

// OpenFGA's recursive userset fast path, generalised: when many userset tuples of one
// `type#relation` would each be checked downwards (a team whose members include ten nested
// teams, each with ten more), the objects of that type the user is related to are gathered
// once per request from the user upwards (reverse expansion) and the usersets are looked up
// in them. A proven object within the remaining depth answers "allowed" (as the downward
// check would: a union takes the first allowed operand). When the gathering was complete and
// the userset is recursive, the group's other usersets are "not related" and are dropped
// from the downward dispatch; otherwise they are dispatched as usual. Reverse expansion
// errors and oversized sets fall back to the downward check.
Result<bool, Error> Evaluator::shortcut(
    std::vector<std::pair<std::string, std::string>>& dispatches, std::string_view object,
    std::string_view relation, std::string_view user, int depth) {
  const auto u = parse_user(user);
  if (!u || u->wildcard()) return false;
  std::map<std::pair<std::string_view, std::string_view>, size_t> groups;
  for (const auto& [object, relation] : dispatches) {
    ++groups[{detail::type_of(object), std::string_view(relation)}];
  }
  std::set<std::pair<std::string, std::string>> settled;  // type, relation: "not related"
  for (const auto& [group, count] : groups) {
    if (count < engine_.options().reverse_fanout) continue;
    std::string key(group.first);
    key.append("#").append(group.second).append("@").append(user);
    const std::optional<detail::ReverseSet>* cached = find_reverse(key);
    if (cached == nullptr) {
      auto gathered =
          detail::reverse_set(engine_, *this, group.first, group.second, user, kReverseSetLimit);
      std::optional<detail::ReverseSet> set;
      if (gathered) set = std::move(gathered).value();
      cached = &reverse_.emplace(std::move(key), std::move(set)).first->second;
    }
    if (!*cached) continue;
    const detail::ReverseSet& set = **cached;
    for (const auto& [object, relation] : dispatches) {
      if (detail::type_of(object) != group.first || relation != group.second) continue;
      auto found = set.objects.find(object);
      // The downward check would reach the user's own tuple at depth - 1 - hops.
      if (found != set.objects.end() && found->second + 1 < depth) {
        ++dispatch_count_;
        return true;
      }
    }
    // "Not related" settles only a recursive userset (`team#member` in `team#member`, the
    // case OpenFGA's fast path covers): the chain downwards is then data of unbounded depth
    // that the user's side does not walk, and like OpenFGA's fast path the answer does not
    // depend on it reaching the resolve node limit. For other usersets the downward check
    // runs, so its depth errors stay exactly as they are.
    const bool recursive = group.first == detail::type_of(object) && group.second == relation;
    if (recursive && set.complete && subtract_depth_ == 0) {
      settled.emplace(group.first, group.second);
      ++shortcuts_;
    }
  }
  if (!settled.empty()) {
    dispatches.erase(
        std::remove_if(
            dispatches.begin(), dispatches.end(),
            [&](const std::pair<std::string, std::string>& d) {
              return settled.count({std::string(detail::type_of(d.first)), d.second}) != 0;
            }),
        dispatches.end());
  }
  return false;
}

// OpenFGA checkTTU: every object related through the tupleset relation, when the computed
// relation is defined on its type (otherwise that parent is skipped), is checked for the
// computed relation.
Evaluator::Resolved Evaluator::tuple_to_userset(const Rewrite& rw, std::string_view object,
                                                std::string_view user, int depth) {
  auto tuples = read(object, rw.tupleset);
  if (!tuples) return Err(tuples.error());
  std::optional<Error> error;
  std::vector<std::string> parents;
  for (const TupleKey& t : *tuples) {
    const auto parent = parse_user(t.user);
    if (!parent || parent->wildcard() || !parent->relation.empty()) continue;
    if (!tuple_valid(t)) continue;
    auto met = condition_met(t);
    if (!met) {
      error = met.error();
      continue;
    }
    if (!*met) continue;
    if (index_.relation(parent->type, rw.relation) == nullptr) continue;
    parents.push_back(t.user);
  }
  return fan_out(Combine::kAnyAllowed, parents, error,
                 [&](Evaluator& on, const std::string& parent) {
                   ++on.dispatch_count_;
                   return on.resolve(parent, rw.relation, user, depth - 1);
                 });
}

}  // namespace tessera::fga
