// Storage for the fga role (issue 5): stores (tenants), immutable authorization models,
// relationship tuples with their condition, and the change log, as OpenFGA's API exposes them.
// One SQL implementation runs on SQLite and PostgreSQL. Errors are OpenFGA's (fga::Error), so
// the HTTP layer sends them as they are; a database failure is internal_error.
//
// Consistency tokens. Every write returns an opaque token naming the last change-log entry of
// the store as of that write. A read given a token is at least as fresh as that write: the
// store checks that the change the token names is committed in this store (a token from another
// store, a forged one, or one from a database restored to an earlier point is refused with
// validation_error), then reads the database's latest committed state, which contains that
// change. Tessera reads from one database (SQLite file, or one PostgreSQL server with no read
// replica), so every read is already at least that fresh; the token is what lets a replica-aware
// backend keep the promise later without changing the API.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "fga/error.h"
#include "fga/model.h"
#include "fga/tuple.h"
#include "store/database.h"

namespace tessera::store {

// OpenFGA's defaults (openfga/openfga internal/server/config: maxTuplesPerWrite 100; the API's
// page_size 1..100, 50 when unset; openfga/api TupleKey: object <= 256, relation <= 50,
// user <= 512 bytes; store name 3..64 characters; model size 256 KiB).
inline constexpr size_t kFgaMaxTuplesPerWrite = 100;
inline constexpr int kFgaDefaultPageSize = 50;
inline constexpr int kFgaMaxPageSize = 100;
inline constexpr size_t kFgaMaxObjectLength = 256;
inline constexpr size_t kFgaMaxRelationLength = 50;
inline constexpr size_t kFgaMaxUserLength = 512;
inline constexpr size_t kFgaMinStoreNameLength = 3;
inline constexpr size_t kFgaMaxStoreNameLength = 64;
inline constexpr size_t kFgaMaxModelBytes = size_t{256} * 1024;
// Ours: a tuple's condition context is a JSON object of at most this many bytes once stored.
inline constexpr size_t kFgaMaxContextBytes = size_t{32} * 1024;

struct FgaStoreRecord {
  std::string id;  // ULID
  std::string name;
  int64_t created_at = 0;  // Unix seconds
  int64_t updated_at = 0;
};

// A page of a paginated listing. An empty continuation token means there is no more (except in
// read_changes, see there).
template <class T>
struct FgaPage {
  std::vector<T> items;
  std::string continuation_token;
};

struct FgaPageRequest {
  int page_size = 0;  // 0: kFgaDefaultPageSize; otherwise 1..kFgaMaxPageSize
  std::string continuation_token;
};

struct FgaTupleRecord {
  fga::TupleKey key;
  int64_t timestamp = 0;  // when it was written, Unix seconds
};

enum class FgaOperation { kWrite, kDelete };

struct FgaChange {
  fga::TupleKey key;  // a delete's key carries no condition
  FgaOperation operation = FgaOperation::kWrite;
  int64_t timestamp = 0;
};

// OpenFGA's Write `writes.on_duplicate` / `deletes.on_missing`.
enum class OnDuplicate { kError, kIgnore };
enum class OnMissing { kError, kIgnore };

struct FgaWriteRequest {
  std::string model_id;  // empty: the store's latest model
  std::vector<fga::TupleKey> writes;
  OnDuplicate on_duplicate = OnDuplicate::kError;
  std::vector<fga::TupleKey> deletes;  // conditions are ignored, as OpenFGA does
  OnMissing on_missing = OnMissing::kError;
  // OpenFGA checks each written tuple (not deleted ones) against the model: the engine's rule,
  // passed in so the store needs no engine. Called before anything is written; its error is
  // returned as it is. Unset: only the structural checks below apply.
  std::function<Result<Ok, fga::Error>(const fga::Model&, const fga::TupleKey&)> validate_write;
};

struct FgaWriteResult {
  std::string model_id;           // the model the writes were checked against
  std::string consistency_token;  // see the top of this file
};

// One assertion of an authorization model (OpenFGA's WriteAssertions): a check and its expected
// answer, kept with the model so tools can test it. The key has no condition.
struct FgaAssertion {
  fga::TupleKey key;
  bool expectation = false;
  std::vector<fga::TupleKey> contextual_tuples;
  nlohmann::json context;  // null or an object
};
// openfga/api WriteAssertionsRequest: at most 100 assertions per model.
inline constexpr size_t kFgaMaxAssertions = 100;

// OpenFGA's Read filter. Empty: every tuple of the store. Otherwise `object` is required, as
// `type:id` or `type:` (every object of the type, which needs `user`); relation and user
// narrow it.
struct FgaReadFilter {
  std::string object;
  std::string relation;
  std::string user;
};

struct FgaChangesRequest {
  std::string type;                   // only changes on objects of this type; empty: all
  std::optional<int64_t> start_time;  // Unix seconds; ignored when a continuation token is given
  int page_size = 0;
  std::string continuation_token;
};

class FgaStore {
 public:
  virtual ~FgaStore() = default;

  // Stores. A deleted store is invisible to every method (store_id_not_found).
  virtual Result<FgaStoreRecord, fga::Error> create_store(std::string_view name) = 0;
  virtual Result<FgaStoreRecord, fga::Error> get_store(std::string_view store_id) = 0;
  // Oldest first.
  virtual Result<FgaPage<FgaStoreRecord>, fga::Error> list_stores(const FgaPageRequest& page) = 0;
  // OpenFGA's DeleteStore marks the store deleted; its data stays until purged.
  virtual Result<Ok, fga::Error> delete_store(std::string_view store_id) = 0;
  // Removes for good every store deleted before `deleted_before` (Unix seconds) with all its
  // models, tuples, changes and assertions, one store per transaction. Returns how many stores
  // were purged. Live stores are never touched.
  virtual Result<size_t, fga::Error> purge_deleted_stores(int64_t deleted_before) = 0;

  // Authorization models are immutable. write_model validates the model (fga::validate_model)
  // and returns its new ULID id; the greatest id is the latest model.
  virtual Result<std::string, fga::Error> write_model(std::string_view store_id,
                                                      const fga::Model& model) = 0;
  virtual Result<fga::Model, fga::Error> read_model(std::string_view store_id,
                                                    std::string_view model_id) = 0;
  // latest_authorization_model_not_found when the store has none.
  virtual Result<fga::Model, fga::Error> latest_model(std::string_view store_id) = 0;
  // Newest first.
  virtual Result<FgaPage<fga::Model>, fga::Error> list_models(std::string_view store_id,
                                                              const FgaPageRequest& page) = 0;
  // The latest model's id without loading it (one indexed query, which also checks that the
  // store exists and is not deleted): what every request without authorization_model_id
  // needs. latest_authorization_model_not_found when the store has none.
  virtual Result<std::string, fga::Error> latest_model_id(std::string_view store_id) = 0;

  // OpenFGA's WriteAssertions replaces the model's assertions (at most kFgaMaxAssertions:
  // assertions_too_many_items); each key and contextual tuple passes the same structural checks
  // as a written tuple. authorization_model_not_found when the model is not in the store.
  virtual Result<Ok, fga::Error> write_assertions(std::string_view store_id,
                                                  std::string_view model_id,
                                                  const std::vector<FgaAssertion>& assertions) = 0;
  // As written; empty when none were (or the model exists but has none).
  virtual Result<std::vector<FgaAssertion>, fga::Error> read_assertions(
      std::string_view store_id, std::string_view model_id) = 0;

  // OpenFGA's Write: all or nothing. At most kFgaMaxTuplesPerWrite writes and deletes together
  // (exceeded_entity_limit); a tuple named twice in one request (writes and deletes together,
  // compared on object, relation and user) is cannot_allow_duplicate_tuples_in_one_request.
  // A write of a stored tuple is write_failed_due_to_invalid_input, unless on_duplicate is
  // kIgnore and the stored tuple has the same condition and context (then it is skipped); a
  // delete of a missing tuple is write_failed_due_to_invalid_input unless on_missing is kIgnore.
  virtual Result<FgaWriteResult, fga::Error> write_tuples(std::string_view store_id,
                                                          const FgaWriteRequest& request) = 0;
  // OpenFGA's Read, in the order of the index the filter uses (see fga_store.cpp); unfiltered:
  // write order. `consistency_token`: empty, or a token from write_tuples.
  virtual Result<FgaPage<FgaTupleRecord>, fga::Error> read_tuples(
      std::string_view store_id, const FgaReadFilter& filter, const FgaPageRequest& page,
      std::string_view consistency_token = {}) = 0;
  // OpenFGA's ReadChanges, oldest first. The continuation token is returned even on the last
  // page (it names the last change read, or echoes the request's when there was nothing new), so
  // a caller can poll with it; a token read with another type filter is
  // query_string_type_continuation_token_mismatch.
  virtual Result<FgaPage<FgaChange>, fga::Error> read_changes(std::string_view store_id,
                                                              const FgaChangesRequest& request) = 0;

  // A TupleReader over one store for the engine: every read of one reader sees one snapshot,
  // the latest committed state when its first read runs (one read-only transaction on one
  // pooled connection, held until the reader is destroyed: keep a reader for one request).
  // `consistency_token` is checked once, here.
  virtual Result<std::unique_ptr<fga::TupleReader>, fga::Error> reader(
      std::string_view store_id, std::string_view consistency_token = {}) = 0;
  // As reader(), without looking the store up: for a caller that has seen it live in this
  // request (latest_model_id succeeded) or will (the reader's revision() answers
  // store_id_not_found for a store that is gone or deleted). Saves one query per Check.
  virtual Result<std::unique_ptr<fga::TupleReader>, fga::Error> reader_of_live_store(
      std::string_view store_id, std::string_view consistency_token = {}) = 0;
};

std::unique_ptr<FgaStore> make_sql_fga_store(Database& database, const Clock& clock);

}  // namespace tessera::store
