// The relationship engine: Check, BatchCheck, ListObjects, ListUsers and Expand over one
// authorization model, with OpenFGA's semantics (openfga/openfga internal/graph, pkg/server/
// commands). An Engine is immutable once created and answers from many threads; every request
// brings its own TupleReader (a store snapshot) and keeps its own state (memo, visited paths).
// Caching and rate limits wrap the engine (STYLE.md); they do not live inside it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "fga/error.h"
#include "fga/model.h"
#include "fga/tuple.h"

namespace tessera {
class WorkerPool;
}  // namespace tessera

namespace tessera::fga {

// OpenFGA's resolve_node_limit default: how many dispatches (userset and tuple-to-userset
// hops) one check may chain before answering authorization_model_resolution_too_complex.
inline constexpr int kDefaultResolveNodeLimit = 25;
// OpenFGA's API accepts at most 100 contextual tuples per request (openfga.proto).
inline constexpr size_t kDefaultMaxContextualTuples = 100;
// OpenFGA's BatchCheck default maxChecksPerBatchCheck.
inline constexpr size_t kDefaultMaxBatchCheckItems = 50;
// ListObjects pages: OpenFGA answers at most 1000 objects (and silently drops the rest);
// Tessera pages instead, 1000 per page unless asked, at most 10000.
inline constexpr size_t kDefaultListObjectsPageSize = 1000;
inline constexpr size_t kMaxListObjectsPageSize = 10000;
// The most candidate objects (ListObjects) or users (ListUsers) one request may gather before
// it is refused with exceeded_entity_limit. An explicit bound, never a silent truncation.
inline constexpr size_t kDefaultMaxListCandidates = 1000000;

// A direct assignment with at least this many userset tuples of one `type#relation` (a team
// with nested teams) is answered from the user's side: the objects of that type the user is
// related to, found once per request by reverse expansion, instead of checking each userset
// downwards (OpenFGA's recursive userset fast path). 0 turns it off.
inline constexpr size_t kDefaultReverseFanout = 4;
// The most object relations that reverse expansion may visit for one such answer; beyond it
// the check goes downwards.
inline constexpr size_t kReverseSetLimit = 10000;

// See EngineOptions::branch_concurrency_after.
inline constexpr uint32_t kDefaultBranchConcurrencyAfter = 32;

struct EngineOptions {
  int resolve_node_limit = kDefaultResolveNodeLimit;
  size_t reverse_fanout = kDefaultReverseFanout;
  size_t max_contextual_tuples = kDefaultMaxContextualTuples;
  size_t max_batch_check_items = kDefaultMaxBatchCheckItems;
  size_t max_list_candidates = kDefaultMaxListCandidates;
  // Threads on which a check's branches may run besides the request's own (OpenFGA evaluates a
  // union's operands and a dispatch's usersets concurrently). Null: each check on one thread.
  std::shared_ptr<WorkerPool> branch_pool;
  // A check fans out only after it has made this many dispatches, so the checks that finish in
  // microseconds (most) never pay for handing work to another thread; 0: always.
  uint32_t branch_concurrency_after = kDefaultBranchConcurrencyAfter;
};

struct CheckRequest {
  std::string object;  // type:id
  std::string relation;
  std::string user;  // type:id, type:* or type:id#relation
  std::vector<TupleKey> contextual_tuples;
  nlohmann::json context;  // null or an object: values for condition parameters
};

struct CheckResult {
  bool allowed = false;
  // A cycle cut some path (OpenFGA's ResolutionMetadata.CycleDetected); the answer is still
  // definite: a cycle is "not allowed" for that path.
  bool cycle_detected = false;
  uint32_t dispatch_count = 0;       // userset and tuple-to-userset hops evaluated
  uint32_t read_count = 0;           // TupleReader calls
  uint32_t concurrent_fan_outs = 0;  // fan-outs whose branches ran on several threads
};

struct BatchCheckItem {
  CheckRequest request;
  std::string correlation_id;  // unique within the batch, non-empty
};

struct BatchCheckItemResult {
  std::string correlation_id;
  bool allowed = false;
  bool failed = false;  // then `error` says why; `allowed` is false
  Error error;
};

struct ListObjectsRequest {
  std::string type;
  std::string relation;
  std::string user;
  std::vector<TupleKey> contextual_tuples;
  nlohmann::json context;
  size_t page_size = 0;            // 0: kDefaultListObjectsPageSize
  std::string continuation_token;  // empty for the first page
};

struct ListObjectsResult {
  std::vector<std::string> objects;  // sorted, no duplicates
  std::string continuation_token;    // empty on the last page
};

// One ListUsers filter: `user` (objects and wildcards of that type) or `group#member`
// (usersets of that type and relation).
struct UserFilter {
  std::string type;
  std::string relation;
};

struct ListUsersRequest {
  std::string object;
  std::string relation;
  std::vector<UserFilter> user_filters;
  std::vector<TupleKey> contextual_tuples;
  nlohmann::json context;
};

struct ListUsersResult {
  // `user:anne`, `user:*`, `group:eng#member`; sorted, no duplicates.
  std::vector<std::string> users;
};

// OpenFGA's ListUsers JSON for one user: {"object": {"type", "id"}}, {"wildcard": {"type"}} or
// {"userset": {"type", "id", "relation"}}.
nlohmann::json user_to_json(std::string_view user);

struct ExpandRequest {
  std::string object;
  std::string relation;
  std::vector<TupleKey> contextual_tuples;
  nlohmann::json context;  // conditional tuples count only when their condition holds
};

class Engine {
 public:
  // Binds a model (which validate_model() has accepted) and compiles its conditions once.
  static Result<Engine, Error> create(Model model, EngineOptions options = {});

  const Model& model() const { return *model_; }
  const EngineOptions& options() const { return options_; }

  // OpenFGA's tuple validation for writes and contextual tuples (ValidateTupleForWrite): the
  // object type and relation exist, the user is allowed by the relation's type restrictions
  // (wildcard and userset forms included), the condition (if any) is declared for that
  // restriction and its context names only declared parameters. Fails with invalid_tuple.
  Result<Ok, Error> validate_tuple(const TupleKey& tuple) const;

  Result<CheckResult, Error> check(TupleReader& store, const CheckRequest& request) const;

  // Each item is answered on its own (errors per item); the batch itself fails only when it
  // is malformed (too many items, a missing or repeated correlation id).
  Result<std::vector<BatchCheckItemResult>, Error> batch_check(
      TupleReader& store, const std::vector<BatchCheckItem>& items) const;

  // Reverse expansion from the user to candidate objects, each confirmed by a check.
  Result<ListObjectsResult, Error> list_objects(TupleReader& store,
                                                const ListObjectsRequest& request) const;

  // Forward expansion from the object to candidate users matching the filters, each
  // confirmed by a check.
  Result<ListUsersResult, Error> list_users(TupleReader& store,
                                            const ListUsersRequest& request) const;

  // The userset tree one level deep, in OpenFGA's JSON shape: {"tree": {"root": node}}.
  Result<nlohmann::json, Error> expand(TupleReader& store, const ExpandRequest& request) const;

  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  ~Engine();

  // Internal state shared with the evaluator (src/fga/check.cpp).
  struct Compiled;
  const Compiled& compiled() const { return *compiled_; }

 private:
  Engine() = default;

  std::unique_ptr<Model> model_;
  EngineOptions options_;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace tessera::fga
