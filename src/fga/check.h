// The check evaluator (internal to src/fga): OpenFGA's LocalChecker semantics, depth-first with
// per-request memoisation; once a check has made EngineOptions::branch_concurrency_after
// dispatches, the operands of its unions and intersections and the usersets and parents it
// dispatches to are evaluated on several threads (EngineOptions::branch_pool), when its reader
// may be read from several threads at once. Also the validation helpers Check, ListObjects,
// ListUsers and Expand share.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "fga/cel.h"
#include "fga/engine.h"
#include "fga/memory_reader.h"

namespace tessera::fga {

class Evaluator;

namespace detail {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// One relation of the model with what direct assignment needs to know about its type
// restrictions (OpenFGA typesystem.IsDirectlyRelated), precomputed.
struct RelationInfo {
  const Relation* definition = nullptr;
  bool userset_restrictions = false;   // some restriction is `type#relation`
  bool wildcard_restrictions = false;  // some restriction is `type:*`

  // Whether a tuple naming exactly `user` (`type:id`, or `type:id#relation`) may be stored
  // (IsDirectlyRelated with the user's type and relation).
  bool exact_allowed(const ParsedUser& user) const;
  // Whether `type:*` may be stored.
  bool wildcard_allowed(std::string_view type) const;
};

// The model's types and relations by name, built once per Engine, so evaluation never scans
// Model::types (whose lookups are linear). Points into the Engine's Model, which never moves.
class ModelIndex {
 public:
  ModelIndex() = default;
  explicit ModelIndex(const Model& model);

  const Model& model() const { return *model_; }
  bool has_type(std::string_view type) const { return types_.find(type) != types_.end(); }
  const RelationInfo* relation(std::string_view type, std::string_view relation) const;
  const Relation* definition(std::string_view type, std::string_view relation) const {
    const RelationInfo* info = this->relation(type, relation);
    return info == nullptr ? nullptr : info->definition;
  }

 private:
  using Relations = std::unordered_map<std::string, RelationInfo, StringHash, std::equal_to<>>;
  const Model* model_ = nullptr;
  std::unordered_map<std::string, Relations, StringHash, std::equal_to<>> types_;
};

}  // namespace detail

struct Engine::Compiled {
  // Conditions compiled once per model (cel::Program is immutable once compiled).
  std::map<std::string, cel::Program, std::less<>> conditions;
  detail::ModelIndex index;
};

namespace detail {

// `type` of `type:id`, `type:*` or `type:id#relation`.
std::string_view type_of(std::string_view object_or_user);

// Whether `tuple` is allowed by `model` as a stored tuple would be (OpenFGA
// ValidateTupleForRead / ValidateTupleForWrite): the reason when it is not.
Result<Ok, std::string> tuple_allowed(const ModelIndex& index, const TupleKey& tuple);

// The request's `user` field (OpenFGA validation.ValidateUser): well formed, its type (and
// userset relation) defined. The reason when not.
Result<Ok, std::string> user_allowed(const ModelIndex& index, std::string_view user);

// Validates contextual tuples (invalid_tuple) and the configured count limit, then loads them
// into `out`.
Result<Ok, Error> load_contextual_tuples(const Engine& engine, const std::vector<TupleKey>& tuples,
                                         MemoryTupleReader& out);

// The objects of one type a user is related to (by one relation), found from the user upwards
// by reverse expansion (src/fga/list_objects.cpp).
struct ReverseSet {
  // Every path was union-only over tuples whose conditions hold, within the resolve node
  // limit: an object missing from `objects` is not related.
  bool complete = false;
  // Objects proven related -> userset and tuple-to-userset hops from the user.
  std::unordered_map<std::string, int> objects;
};
Result<ReverseSet, Error> reverse_set(const Engine& engine, Evaluator& evaluator,
                                      std::string_view type, std::string_view relation,
                                      std::string_view user, size_t limit);

// A request context must be null or a JSON object.
Result<Ok, Error> check_context(const nlohmann::json& context);

}  // namespace detail

// One request's evaluation state: the reader (store + contextual tuples), the request's
// condition context, the memo of resolved sub-problems and the current path for cycle
// detection. Several checks for the same request (ListObjects, ListUsers) share the memo.
class Evaluator {
 public:
  Evaluator(const Engine& engine, TupleReader& reader, const nlohmann::json& context);
  // One branch of a fan-out, on any thread: the parent's path, its memo and reverse sets read
  // (not written: the parent waits), and `stop`, set when a sibling branch has decided.
  Evaluator(const Evaluator& parent, const std::atomic<bool>* stop);

  // Check(object#relation@user) for inputs already validated.
  Result<CheckResult, Error> check(std::string_view object, std::string_view relation,
                                   std::string_view user);

  // A tuple counts if the current model allows it and its condition (if any) holds.
  // Condition errors (missing parameters, evaluation failures) are errors.
  bool tuple_valid(const TupleKey& tuple) const;
  Result<bool, Error> condition_met(const TupleKey& tuple) const;

  TupleReader& reader() { return reader_; }
  uint32_t read_count() const { return read_count_; }
  uint32_t dispatch_count() const { return dispatch_count_; }

  // Reads through the evaluator so reads are counted.
  Result<std::vector<TupleKey>, Error> read(std::string_view object, std::string_view relation);
  Result<std::optional<TupleKey>, Error> read_user_tuple(std::string_view object,
                                                         std::string_view relation,
                                                         std::string_view user);
  Result<std::vector<TupleKey>, Error> read_userset_tuples(std::string_view object,
                                                           std::string_view relation);
  Result<std::vector<TupleKey>, Error> read_starting_with_user(
      std::string_view object_type, std::string_view relation,
      const std::vector<std::string>& users);

 private:
  struct Outcome {
    bool allowed = false;
    bool cycle = false;
  };
  using Resolved = Result<Outcome, Error>;

  Resolved resolve(std::string_view object, std::string_view relation, std::string_view user,
                   int depth);
  Resolved rewrite(const Rewrite& rw, std::string_view object, std::string_view relation,
                   std::string_view user, int depth);
  Resolved direct(std::string_view object, std::string_view relation, std::string_view user,
                  int depth);
  Resolved tuple_to_userset(const Rewrite& rw, std::string_view object, std::string_view user,
                            int depth);

  // How a fan-out's items combine: the first allowed decides (union, dispatches), or the first
  // not allowed does (intersection). Sequential or on several threads; see check.cpp.
  enum class Combine { kAnyAllowed, kAllAllowed };
  template <class Items, class One>
  Resolved fan_out(Combine combine, const Items& items, std::optional<Error> error, One&& one);
  // Items [begin, end) of a fan-out on branch evaluators, on the branch pool's threads and this
  // one; `resolve_item(i, branch, stop)` resolves item i and says whether its run stops there
  // (`stop` is the fan-out's: set it to stop the other runs).
  void resolve_concurrently(
      size_t begin, size_t end,
      const std::function<bool(size_t, Evaluator&, std::atomic<bool>&)>& resolve_item);
  // A sibling branch of some fan-out this evaluator is part of has decided.
  bool cancelled() const;
  struct Memo;
  const Memo* find_memo(const std::string& key) const;
  const std::optional<detail::ReverseSet>* find_reverse(const std::string& key) const;

  // A tuple found by a point lookup counts (valid and its condition met): true, false or the
  // condition's error.
  Result<bool, Error> counts(const std::optional<TupleKey>& tuple) const;

  const Engine& engine_;
  const detail::ModelIndex& index_;
  TupleReader& reader_;
  std::shared_ptr<const nlohmann::json> context_;  // an object (possibly empty)
  const Evaluator* parent_ = nullptr;              // set for a fan-out's branch
  std::vector<const std::atomic<bool>*> stops_;    // the fan-outs this branch is under
  // Userset tuples answered from the user's side (reverse_set) instead of downwards; the
  // answer "not related" there carries no cycle flag, so it is not used (nor are memo entries
  // that relied on it) under the subtracted side of a difference, where a cycle decides.
  Result<bool, Error> shortcut(std::vector<std::pair<std::string, std::string>>& dispatches,
                               std::string_view object, std::string_view relation,
                               std::string_view user, int depth);

  struct Memo {
    bool allowed = false;
    int depth = 0;          // the remaining depth it was resolved with
    bool shortcut = false;  // relied on a "not related" answer from the user's side
  };
  int subtract_depth_ = 0;  // how many difference subtracts the current path is under
  uint64_t shortcuts_ = 0;  // "not related" answers from the user's side so far
  // type#relation@user -> the reverse set, or nullopt when it could not be gathered
  std::unordered_map<std::string, std::optional<detail::ReverseSet>> reverse_;
  std::unordered_map<std::string, Memo> memo_;
  std::unordered_set<std::string> path_;  // object#relation@user on the current path
  uint32_t read_count_ = 0;
  uint32_t dispatch_count_ = 0;          // for a branch: counted from its parent's at the fan-out
  uint32_t check_dispatches_start_ = 0;  // dispatch_count_ when the current check() began
  uint32_t concurrent_fan_outs_ = 0;
};

}  // namespace tessera::fga
