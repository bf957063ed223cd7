#include "store/fga_store.h"

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <utility>

#include "core/base64url.h"
#include "core/json.h"
#include "fga/dsl.h"
#include "store/sql_lists.h"
#include "store/ulid.h"

namespace tessera::store {
namespace {

using fga::Error;
using fga::ErrorCode;
using fga::TupleKey;

// The consistency token of a store with no change yet: a ULID no change can have.
constexpr std::string_view kNoChange = "00000000000000000000000000";
// Parsed models kept in memory (they are immutable, so a cached one is never stale).
constexpr size_t kModelCacheEntries = 256;
constexpr json::Limits kContextLimits{kFgaMaxContextBytes, 32};

Unexpected<Error> fail(ErrorCode code, std::string message) {
  return Err(Error{code, std::move(message)});
}

Unexpected<Error> internal(const StoreError& error) {
  return fail(ErrorCode::internal_error, "fga store: " + error.message);
}

// Never throws: invalid UTF-8 is replaced rather than refused (contexts were parsed from JSON,
// so they are valid already).
std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// --- Tuple keys and their columns ---------------------------------------------------------

struct ObjectParts {
  std::string_view type;
  std::string_view id;
};
struct UserParts {
  std::string_view type;
  std::string_view id;
  std::string_view relation;  // empty unless a userset
};

bool has_space(std::string_view s) {
  return s.find_first_of(" \t\r\n\f\v") != std::string_view::npos;
}

// `type:*`, `type:id` or `type:id#relation`, as fga::parse_user reads them (the engine's rule;
// duplicated here so that the store does not link the engine).
std::optional<UserParts> split_user(std::string_view user) {
  const size_t colon = user.find(':');
  if (colon == std::string_view::npos || colon == 0 || has_space(user)) return std::nullopt;
  UserParts p;
  p.type = user.substr(0, colon);
  std::string_view rest = user.substr(colon + 1);
  if (const size_t hash = rest.find('#'); hash != std::string_view::npos) {
    p.relation = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
    if (p.relation.empty() || p.relation.find_first_of(":#@") != std::string_view::npos) {
      return std::nullopt;
    }
  }
  if (rest.empty() || rest.find(':') != std::string_view::npos) return std::nullopt;
  if (p.type.find_first_of("#@") != std::string_view::npos) return std::nullopt;
  p.id = rest;
  if (p.id == "*" && !p.relation.empty()) return std::nullopt;  // `type:*#rel` means nothing
  return p;
}

std::optional<ObjectParts> split_object(std::string_view object) {
  auto user = split_user(object);
  if (!user || !user->relation.empty() || user->id == "*") return std::nullopt;
  return ObjectParts{user->type, user->id};
}

std::string join_user(std::string_view type, std::string_view id, std::string_view relation) {
  std::string out;
  out.reserve(type.size() + id.size() + relation.size() + 2);
  out.append(type).append(":").append(id);
  if (!relation.empty()) out.append("#").append(relation);
  return out;
}

bool valid_relation(std::string_view relation) {
  // openfga/api TupleKey.relation: `^[^:#@\s]{1,50}$`.
  return !relation.empty() && relation.size() <= kFgaMaxRelationLength &&
         relation.find_first_of(":#@") == std::string_view::npos && !has_space(relation);
}

// An empty JSON object and no context are the same context.
nlohmann::json normal_context(const nlohmann::json& context) {
  if (context.is_object() && context.empty()) return nullptr;
  return context;
}

Value context_column(const nlohmann::json& context) {
  nlohmann::json normal = normal_context(context);
  if (normal.is_null()) return nullptr;
  return dump(normal);
}

// OpenFGA's structural rules for a tuple key in a Write (openfga/api TupleKey and
// pkg/tuple ValidateTuple); the model's rules are the caller's validate_write.
Result<Ok, Error> validate_key(const TupleKey& key, bool is_write) {
  const std::string where = " in tuple " + key.object + "#" + key.relation + "@" + key.user;
  if (key.object.empty() || key.relation.empty() || key.user.empty()) {
    return fail(ErrorCode::invalid_tuple, "object, relation and user are all required" + where);
  }
  if (key.object.size() > kFgaMaxObjectLength) {
    return fail(ErrorCode::validation_error, "object is longer than 256 bytes");
  }
  if (key.user.size() > kFgaMaxUserLength) {
    return fail(ErrorCode::validation_error, "user is longer than 512 bytes");
  }
  if (!valid_relation(key.relation)) {
    return fail(ErrorCode::validation_error, "invalid relation" + where);
  }
  if (!split_object(key.object)) {
    return fail(ErrorCode::invalid_tuple, "invalid object, expected type:id" + where);
  }
  if (!split_user(key.user)) {
    return fail(ErrorCode::invalid_tuple,
                "invalid user, expected type:id, type:* or type:id#relation" + where);
  }
  // OpenFGA: "cannot write a tuple that is implicit" (document:1#viewer@document:1#viewer).
  if (key.user == key.object + "#" + key.relation) {
    return fail(ErrorCode::invalid_tuple, "the tuple is implicit" + where);
  }
  if (!is_write) return Ok{};
  const nlohmann::json context = normal_context(key.context);
  if (!context.is_null() && !context.is_object()) {
    return fail(ErrorCode::validation_error, "a condition context must be a JSON object" + where);
  }
  if (key.condition.empty() && !context.is_null()) {
    return fail(ErrorCode::validation_error, "a context needs a condition" + where);
  }
  if (key.condition.size() > kFgaMaxObjectLength || has_space(key.condition)) {
    return fail(ErrorCode::validation_error, "invalid condition name" + where);
  }
  // What is stored must read back: the same limits as tuple_from_row's parse.
  if (!context.is_null() && !json::parse_strict(dump(context), kContextLimits)) {
    return fail(ErrorCode::validation_error,
                "the condition context is larger than 32 KiB or nested deeper than 32");
  }
  return Ok{};
}

// --- Assertions -----------------------------------------------------------------------------

// Ours: an assertion carries at most as many contextual tuples as one Write may write, and a
// model's assertions are at most 1 MiB once stored. Their stored form nests a context (at most
// 32 deep, as a tuple's) four levels down.
constexpr size_t kMaxContextualTuplesPerAssertion = kFgaMaxTuplesPerWrite;
constexpr size_t kMaxAssertionsBytes = size_t{1} << 20;
constexpr json::Limits kAssertionsLimits{kMaxAssertionsBytes, kContextLimits.max_depth + 8};

// OpenFGA's WriteAssertions checks an assertion's key as the input of a Check (openfga/api
// AssertionTupleKey: object, relation and user, no condition) and its contextual tuples as the
// tuples of a Write, and reports every failure as validation_error.
Result<Ok, Error> validate_assertion(const FgaAssertion& assertion) {
  auto invalid = [](const Error& error) {
    return fail(ErrorCode::validation_error, error.message);
  };
  const TupleKey& key = assertion.key;
  if (!key.condition.empty() || !key.context.is_null()) {
    return fail(ErrorCode::validation_error, "an assertion's tuple_key takes no condition");
  }
  if (auto valid = validate_key(key, /*is_write=*/false); !valid) return invalid(valid.error());
  if (assertion.contextual_tuples.size() > kMaxContextualTuplesPerAssertion) {
    return fail(ErrorCode::validation_error, "an assertion has more than 100 contextual tuples");
  }
  for (const TupleKey& tuple : assertion.contextual_tuples) {
    if (auto valid = validate_key(tuple, /*is_write=*/true); !valid) return invalid(valid.error());
  }
  const nlohmann::json& context = assertion.context;
  if (!context.is_null() && !context.is_object()) {
    return fail(ErrorCode::validation_error, "an assertion's context must be a JSON object");
  }
  if (!context.is_null() && !json::parse_strict(dump(context), kContextLimits)) {
    return fail(ErrorCode::validation_error,
                "an assertion's context is larger than 32 KiB or nested deeper than 32");
  }
  return Ok{};
}

// The stored form keeps what was written exactly: a condition or a context (even `{}`) is kept
// when given and left out when not.
nlohmann::json assertion_tuple_to_json(const TupleKey& key) {
  nlohmann::json out = nlohmann::json::object();
  out["object"] = key.object;
  out["relation"] = key.relation;
  out["user"] = key.user;
  if (!key.condition.empty()) out["condition"] = key.condition;
  if (!key.context.is_null()) out["context"] = key.context;
  return out;
}

nlohmann::json assertion_to_json(const FgaAssertion& assertion) {
  nlohmann::json out = nlohmann::json::object();
  out["tuple_key"] = assertion_tuple_to_json(assertion.key);
  out["expectation"] = assertion.expectation;
  nlohmann::json contextual = nlohmann::json::array();
  for (const TupleKey& tuple : assertion.contextual_tuples) {
    contextual.push_back(assertion_tuple_to_json(tuple));
  }
  out["contextual_tuples"] = std::move(contextual);
  if (!assertion.context.is_null()) out["context"] = assertion.context;
  return out;
}

std::optional<TupleKey> assertion_tuple_from_json(const nlohmann::json& value) {
  if (!value.is_object()) return std::nullopt;
  TupleKey key;
  for (auto [name, field] : {std::pair<const char*, std::string*>{"object", &key.object},
                             {"relation", &key.relation},
                             {"user", &key.user}}) {
    auto it = value.find(name);
    if (it == value.end() || !it->is_string()) return std::nullopt;
    *field = it->get<std::string>();
  }
  if (auto it = value.find("condition"); it != value.end()) {
    if (!it->is_string()) return std::nullopt;
    key.condition = it->get<std::string>();
  }
  if (auto it = value.find("context"); it != value.end()) key.context = *it;
  return key;
}

std::optional<FgaAssertion> assertion_from_json(const nlohmann::json& value) {
  if (!value.is_object()) return std::nullopt;
  FgaAssertion assertion;
  auto key = value.find("tuple_key");
  auto expectation = value.find("expectation");
  auto contextual = value.find("contextual_tuples");
  if (key == value.end() || expectation == value.end() || !expectation->is_boolean() ||
      contextual == value.end() || !contextual->is_array()) {
    return std::nullopt;
  }
  auto tuple_key = assertion_tuple_from_json(*key);
  if (!tuple_key) return std::nullopt;
  assertion.key = std::move(*tuple_key);
  assertion.expectation = expectation->get<bool>();
  for (const nlohmann::json& item : *contextual) {
    auto tuple = assertion_tuple_from_json(item);
    if (!tuple) return std::nullopt;
    assertion.contextual_tuples.push_back(std::move(*tuple));
  }
  if (auto context = value.find("context"); context != value.end()) assertion.context = *context;
  return assertion;
}

constexpr std::string_view kTupleColumns =
    "object_type, object_id, relation, user_type, user_id, user_relation, condition_name,"
    " condition_context, ulid, inserted_at";

// A row of kTupleColumns (from column `first` on).
StoreResult<FgaTupleRecord> tuple_from_row(const Row& row, size_t first = 0) {
  FgaTupleRecord record;
  TupleKey& key = record.key;
  key.object = join_user(row.text(first), row.text(first + 1), {});
  key.relation = row.text(first + 2);
  key.user = join_user(row.text(first + 3), row.text(first + 4), row.text(first + 5));
  key.condition = row.text(first + 6);
  if (!row.is_null(first + 7)) {
    auto context = json::parse_strict(row.text(first + 7), kContextLimits);
    if (!context || !context->is_object()) {
      return store_error(StoreError::Code::kInternal, "a tuple has an unreadable context");
    }
    key.context = std::move(*context);
  }
  record.timestamp = row.integer(first + 9);
  return record;
}

// --- Continuation and consistency tokens ----------------------------------------------------

// Opaque to callers: base64url of "<kind>:<position>".
std::string make_token(std::string_view kind, std::string_view position) {
  return base64url::encode(std::string(kind) + ":" + std::string(position));
}

std::optional<std::string> open_token(std::string_view token, std::string_view kind) {
  auto text = base64url::decode(token);
  if (!text || text->size() <= kind.size() || text->compare(0, kind.size(), kind) != 0 ||
      (*text)[kind.size()] != ':') {
    return std::nullopt;
  }
  return text->substr(kind.size() + 1);
}

Result<int, Error> page_size_of(const FgaPageRequest& page) {
  if (page.page_size == 0) return kFgaDefaultPageSize;
  if (page.page_size < 1 || page.page_size > kFgaMaxPageSize) {
    return fail(ErrorCode::page_size_invalid, "page_size must be between 1 and 100");
  }
  return page.page_size;
}

// A continuation token of `kind` whose position is a ULID; "" for none.
Result<std::string, Error> ulid_position(std::string_view token, std::string_view kind) {
  if (token.empty()) return std::string();
  auto position = open_token(token, kind);
  if (!position || !is_ulid(*position)) {
    return fail(ErrorCode::invalid_continuation_token, "invalid continuation token");
  }
  return std::move(*position);
}

// A keyset position of several parts (a Read page's last row in its index order): each part as
// "<length>:<bytes>", so that a part may hold any byte, ':' included.
std::string encode_position(const std::vector<std::string_view>& parts) {
  std::string out;
  for (std::string_view part : parts) {
    out.append(std::to_string(part.size())).append(":").append(part);
  }
  return out;
}

// The parts of encode_position's text; nullopt unless there are exactly `count`.
std::optional<std::vector<std::string>> decode_position(std::string_view text, size_t count) {
  std::vector<std::string> parts;
  while (!text.empty()) {
    const size_t colon = text.find(':');
    // At most 4 digits: no part (an object id, a relation, a user part) is longer than 512 bytes.
    if (colon == std::string_view::npos || colon == 0 || colon > 4) return std::nullopt;
    size_t length = 0;
    for (char c : text.substr(0, colon)) {
      if (c < '0' || c > '9') return std::nullopt;
      length = length * 10 + static_cast<size_t>(c - '0');
    }
    text.remove_prefix(colon + 1);
    if (length > text.size()) return std::nullopt;
    parts.emplace_back(text.substr(0, length));
    text.remove_prefix(length);
  }
  if (parts.size() != count) return std::nullopt;
  return parts;
}

Result<Ok, Error> check_id(std::string_view id, std::string_view what) {
  // openfga/api: store and model ids are ULIDs (`^[ABCDEFGHJKMNPQRSTVWXYZ0-9]{26}$`).
  if (!is_ulid(id)) return fail(ErrorCode::validation_error, std::string(what) + " is not a ULID");
  return Ok{};
}

StoreResult<std::vector<Row>> run(Connection& c, const std::string& sql,
                                  const std::vector<Value>& params) {
  auto result = c.run(sql, std::span<const Value>(params));
  if (!result) return Err(result.error());
  return std::move(result->rows);
}

// --- The TupleReader over one store ---------------------------------------------------------

// All the reads of one reader (one request) run on one pooled connection inside one read-only
// transaction, taken at the first read and ended when the reader goes: the engine sees one
// snapshot of the store (TupleReader's contract), and SQLite takes its read lock and WAL read
// mark once per request instead of once per statement.
class SqlTupleReader final : public fga::TupleReader {
 public:
  SqlTupleReader(Database& database, std::string store_id)
      : database_(database), store_id_(std::move(store_id)) {}

  Result<std::vector<TupleKey>, Error> read(std::string_view object,
                                            std::string_view relation) override {
    auto parts = split_object(object);
    if (!parts) return std::vector<TupleKey>();
    return keys(
        " AND object_type = ? AND object_id = ? AND relation = ?",
        {store_id_, std::string(parts->type), std::string(parts->id), std::string(relation)});
  }

  Result<std::optional<TupleKey>, Error> read_user_tuple(std::string_view object,
                                                         std::string_view relation,
                                                         std::string_view user) override {
    auto o = split_object(object);
    auto u = split_user(user);
    if (!o || !u) return std::optional<TupleKey>();
    auto found = keys(
        " AND object_type = ? AND object_id = ? AND relation = ? AND user_type = ?"
        " AND user_id = ? AND user_relation = ?",
        {store_id_, std::string(o->type), std::string(o->id), std::string(relation),
         std::string(u->type), std::string(u->id), std::string(u->relation)});
    if (!found) return Err(found.error());
    if (found->empty()) return std::optional<TupleKey>();
    return std::optional<TupleKey>(std::move(found->front()));
  }

  Result<std::vector<TupleKey>, Error> read_userset_tuples(std::string_view object,
                                                           std::string_view relation) override {
    auto parts = split_object(object);
    if (!parts) return std::vector<TupleKey>();
    return keys(
        " AND object_type = ? AND object_id = ? AND relation = ?"
        " AND NOT (user_relation = '' AND user_id <> '*')",
        {store_id_, std::string(parts->type), std::string(parts->id), std::string(relation)});
  }

  Result<std::vector<TupleKey>, Error> read_starting_with_user(
      std::string_view object_type, std::string_view relation,
      const std::vector<std::string>& users) override {
    std::vector<TupleKey> out;
    std::set<std::string_view> seen;
    auto connection = snapshot();
    if (!connection) return Err(connection.error());
    for (const std::string& user : users) {
      auto u = split_user(user);
      if (!u || !seen.insert(user).second) continue;
      // The reverse index: (store_id, object_type, relation, user_type, user_id, user_relation).
      auto found = keys_on(**connection,
                           " AND object_type = ? AND relation = ? AND user_type = ?"
                           " AND user_id = ? AND user_relation = ?",
                           {store_id_, std::string(object_type), std::string(relation),
                            std::string(u->type), std::string(u->id), std::string(u->relation)});
      if (!found) return Err(found.error());
      for (TupleKey& key : *found) out.push_back(std::move(key));
    }
    return out;
  }

  // The store's revision as of this reader's snapshot (fga_stores.revision, bumped by every
  // tuple write in its transaction); store_id_not_found when the store is gone or deleted, so the
  // read also proves the store live.
  Result<std::optional<std::string>, Error> revision() override {
    auto connection = snapshot();
    if (!connection) return Err(connection.error());
    auto rows = (*connection)
                    ->query("SELECT revision FROM fga_stores WHERE id = ? AND deleted_at IS NULL",
                            {store_id_});
    if (!rows) return internal(rows.error());
    if (rows->empty()) {
      return fail(ErrorCode::store_id_not_found, "store " + store_id_ + " not found");
    }
    return std::optional<std::string>(std::to_string(rows->front().integer(0)));
  }

  // Every tuple, a page at a time in primary-key order (keyset paging, all in this snapshot),
  // so a million tuples never sit in memory as rows at once.
  Result<bool, Error> scan(const std::function<bool(TupleKey)>& each) override {
    auto connection = snapshot();
    if (!connection) return Err(connection.error());
    constexpr int64_t kPage = 10'000;
    std::vector<Value> after;  // the last row's key columns
    for (;;) {
      std::string sql =
          "SELECT " + std::string(kTupleColumns) + " FROM fga_tuples WHERE store_id = ?";
      std::vector<Value> params = {store_id_};
      if (!after.empty()) {
        sql +=
            " AND (object_type, object_id, relation, user_type, user_id, user_relation) >"
            " (?, ?, ?, ?, ?, ?)";
        params.insert(params.end(), after.begin(), after.end());
      }
      sql +=
          " ORDER BY object_type, object_id, relation, user_type, user_id, user_relation LIMIT ?";
      params.emplace_back(kPage);
      auto rows = run(**connection, sql, params);
      if (!rows) return internal(rows.error());
      for (const Row& row : *rows) {
        auto record = tuple_from_row(row);
        if (!record) return internal(record.error());
        if (!each(std::move(record->key))) return true;
      }
      if (static_cast<int64_t>(rows->size()) < kPage) return true;
      const Row& last = rows->back();
      after.clear();
      for (size_t i = 0; i < 6; ++i) after.emplace_back(last.text(i));
    }
  }

  // The change log after `revision` (migration 24 records each change's revision), in the order
  // the changes were made: by revision, and within one write by ULID (deletes before writes).
  Result<std::optional<std::vector<fga::TupleChange>>, Error> changes_after(
      int64_t revision, size_t max_changes) override {
    auto connection = snapshot();
    if (!connection) return Err(connection.error());
    auto rows = run(**connection,
                    "SELECT operation, " + std::string(kTupleColumns) +
                        " FROM fga_changes WHERE store_id = ? AND revision > ?"
                        " ORDER BY revision, ulid LIMIT ?",
                    {store_id_, revision, static_cast<int64_t>(max_changes) + 1});
    if (!rows) return internal(rows.error());
    if (rows->size() > max_changes) return std::optional<std::vector<fga::TupleChange>>();
    std::vector<fga::TupleChange> out;
    out.reserve(rows->size());
    for (const Row& row : *rows) {
      auto record = tuple_from_row(row, 1);
      if (!record) return internal(record.error());
      out.push_back(fga::TupleChange{std::move(record->key), row.text(0) == "delete"});
    }
    return std::optional<std::vector<fga::TupleChange>>(std::move(out));
  }

 private:
  Result<std::vector<TupleKey>, Error> keys(const char* where, const std::vector<Value>& params) {
    auto connection = snapshot();
    if (!connection) return Err(connection.error());
    return keys_on(**connection, where, params);
  }

  // The connection of this reader's read transaction, begun at the first call.
  Result<Connection*, Error> snapshot() {
    if (transaction_) return &**lease_;
    auto lease = database_.acquire();
    if (!lease) return internal(lease.error());
    auto begun = Transaction::begin_read(**lease);
    if (!begun) return internal(begun.error());
    lease_.emplace(std::move(*lease));
    transaction_.emplace(std::move(*begun));
    return &**lease_;
  }

  // The engine's reads come back in index order: no ORDER BY, which would let SQLite walk the
  // whole store in write order (fga_tuples_by_ulid) to avoid a sort.
  static Result<std::vector<TupleKey>, Error> keys_on(Connection& c, const char* where,
                                                      const std::vector<Value>& params) {
    auto rows = run(
        c, "SELECT " + std::string(kTupleColumns) + " FROM fga_tuples WHERE store_id = ?" + where,
        params);
    if (!rows) return internal(rows.error());
    std::vector<TupleKey> out;
    out.reserve(rows->size());
    for (const Row& row : *rows) {
      auto record = tuple_from_row(row);
      if (!record) return internal(record.error());
      out.push_back(std::move(record->key));
    }
    return out;
  }

  Database& database_;
  std::string store_id_;
  // Declared in this order so the transaction ends before its connection goes back to the pool.
  std::optional<Database::Lease> lease_;
  std::optional<Transaction> transaction_;
};

// --- The store ------------------------------------------------------------------------------

class SqlFgaStore final : public FgaStore {
 public:
  SqlFgaStore(Database& database, const Clock& clock) : database_(database), clock_(clock) {}

  Result<FgaStoreRecord, Error> create_store(std::string_view name) override {
    // openfga/api CreateStoreRequest.name: 3 to 64 characters.
    if (name.size() < kFgaMinStoreNameLength || name.size() > kFgaMaxStoreNameLength) {
      return fail(ErrorCode::validation_error, "store name must be 3 to 64 characters");
    }
    for (char c : name) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return fail(ErrorCode::validation_error, "store name has a control character");
      }
    }
    FgaStoreRecord record{ulids_.next(), std::string(name), clock_.now(), clock_.now()};
    auto inserted = database_.execute(
        "INSERT INTO fga_stores (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
        {record.id, record.name, record.created_at, record.updated_at});
    if (!inserted) return internal(inserted.error());
    return record;
  }

  Result<FgaStoreRecord, Error> get_store(std::string_view store_id) override {
    if (auto valid = check_id(store_id, "store_id"); !valid) return Err(valid.error());
    auto rows = database_.query(
        "SELECT id, name, created_at, updated_at FROM fga_stores"
        " WHERE id = ? AND deleted_at IS NULL",
        {store_id});
    if (!rows) return internal(rows.error());
    if (rows->empty()) return store_not_found(store_id);
    return store_from_row(rows->front());
  }

  Result<FgaPage<FgaStoreRecord>, Error> list_stores(const FgaPageRequest& page) override {
    auto size = page_size_of(page);
    if (!size) return Err(size.error());
    auto after = ulid_position(page.continuation_token, "s");
    if (!after) return Err(after.error());
    auto rows = database_.query(
        "SELECT id, name, created_at, updated_at FROM fga_stores"
        " WHERE deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?",
        {*after, int64_t{*size} + 1});
    if (!rows) return internal(rows.error());
    FgaPage<FgaStoreRecord> out;
    for (const Row& row : *rows) out.items.push_back(store_from_row(row));
    trim(out, *size, "s", [](const FgaStoreRecord& s) { return s.id; });
    return out;
  }

  Result<Ok, Error> delete_store(std::string_view store_id) override {
    if (auto valid = check_id(store_id, "store_id"); !valid) return Err(valid.error());
    const int64_t now = clock_.now();
    auto updated = database_.execute(
        "UPDATE fga_stores SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
        {now, now, store_id});
    if (!updated) return internal(updated.error());
    if (*updated == 0) return store_not_found(store_id);
    return Ok{};
  }

  Result<size_t, Error> purge_deleted_stores(int64_t deleted_before) override {
    auto doomed = database_.query(
        "SELECT id FROM fga_stores WHERE deleted_at IS NOT NULL AND deleted_at < ? ORDER BY id",
        {deleted_before});
    if (!doomed) return internal(doomed.error());
    size_t purged = 0;
    for (const Row& row : *doomed) {
      const std::string id = row.text(0);
      auto done = database_.in_transaction([&](Connection& c) -> StoreResult<Ok> {
        // The store's row goes last, and only while it is still deleted (never a live store).
        for (const char* table : {"fga_tuples", "fga_changes", "fga_assertions", "fga_models"}) {
          auto removed =
              c.execute("DELETE FROM " + std::string(table) + " WHERE store_id = ?", {id});
          if (!removed) return Err(removed.error());
        }
        auto removed =
            c.execute("DELETE FROM fga_stores WHERE id = ? AND deleted_at IS NOT NULL", {id});
        if (!removed) return Err(removed.error());
        return Ok{};
      });
      if (!done) return internal(done.error());
      ++purged;
    }
    {
      std::lock_guard lock(cache_mutex_);
      models_.clear();  // models of purged stores must not outlive them in the cache
    }
    return purged;
  }

  Result<std::string, Error> write_model(std::string_view store_id,
                                         const fga::Model& model) override {
    if (auto live = require_store(store_id); !live) return Err(live.error());
    if (auto valid = fga::validate_model(model); !valid) return Err(valid.error());
    fga::Model stored = model;
    stored.id.clear();
    std::string text;
    try {
      text = dump(fga::to_json(stored));
    } catch (const std::exception& e) {
      return fail(ErrorCode::invalid_authorization_model, e.what());
    }
    // OpenFGA's maxAuthorizationModelSizeInBytes.
    if (text.size() > kFgaMaxModelBytes) {
      return fail(ErrorCode::exceeded_entity_limit, "the model is larger than 256 KiB");
    }
    std::string id = ulids_.next();
    auto inserted = database_.execute(
        "INSERT INTO fga_models (store_id, id, schema_version, model, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        {store_id, id, stored.schema_version, text, clock_.now()});
    if (!inserted) return internal(inserted.error());
    return id;
  }

  Result<fga::Model, Error> read_model(std::string_view store_id,
                                       std::string_view model_id) override {
    if (auto live = require_store(store_id); !live) return Err(live.error());
    if (auto valid = check_id(model_id, "authorization_model_id"); !valid) {
      return Err(valid.error());
    }
    return load_model(store_id, model_id);
  }

  Result<fga::Model, Error> latest_model(std::string_view store_id) override {
    auto id = latest_model_id(store_id);
    if (!id) return Err(id.error());
    return load_model(store_id, *id);
  }

  Result<std::string, Error> latest_model_id(std::string_view store_id) override {
    if (auto valid = check_id(store_id, "store_id"); !valid) return Err(valid.error());
    // One query answers both: no row, no live store; a NULL id, no model. The subquery reads
    // the last entry of fga_models' primary key (store_id, id) under the store.
    auto rows = database_.query(
        "SELECT (SELECT m.id FROM fga_models m WHERE m.store_id = s.id ORDER BY m.id DESC LIMIT 1)"
        " FROM fga_stores s WHERE s.id = ? AND s.deleted_at IS NULL",
        {store_id});
    if (!rows) return internal(rows.error());
    if (rows->empty()) return store_not_found(store_id);
    if (rows->front().is_null(0)) {
      return fail(ErrorCode::latest_authorization_model_not_found,
                  "the store has no authorization model");
    }
    return rows->front().text(0);
  }

  Result<Ok, Error> write_assertions(std::string_view store_id, std::string_view model_id,
                                     const std::vector<FgaAssertion>& assertions) override {
    if (auto valid = check_id(store_id, "store_id"); !valid) return Err(valid.error());
    if (auto valid = check_id(model_id, "authorization_model_id"); !valid) {
      return Err(valid.error());
    }
    // openfga/api WriteAssertionsRequest.assertions: max_items 100.
    if (assertions.size() > kFgaMaxAssertions) {
      return fail(ErrorCode::assertions_too_many_items, "a model takes at most 100 assertions");
    }
    nlohmann::json stored = nlohmann::json::array();
    for (const FgaAssertion& assertion : assertions) {
      if (auto valid = validate_assertion(assertion); !valid) return Err(valid.error());
      stored.push_back(assertion_to_json(assertion));
    }
    std::string text = dump(stored);
    if (text.size() > kMaxAssertionsBytes) {
      return fail(ErrorCode::validation_error, "the assertions are larger than 1 MiB");
    }

    std::optional<Error> refused;  // an fga error found inside the transaction: roll back
    auto written = database_.in_transaction([&](Connection& c) -> StoreResult<Ok> {
      auto refuse = [&](ErrorCode code, std::string message) {
        refused = Error{code, std::move(message)};
        return store_error(StoreError::Code::kInvalidArgument, refused->message);
      };
      // The store's row lock, as write_tuples takes it: a store deleted meanwhile gets none.
      auto live = lock_live_store(c, store_id);
      if (!live) return Err(live.error());
      if (!*live) return refuse(ErrorCode::store_id_not_found, "store not found");
      auto model =
          c.query("SELECT 1 FROM fga_models WHERE store_id = ? AND id = ?", {store_id, model_id});
      if (!model) return Err(model.error());
      if (model->empty()) {
        return refuse(ErrorCode::authorization_model_not_found,
                      "authorization model " + std::string(model_id) + " not found");
      }
      // OpenFGA's WriteAssertions replaces the model's assertions.
      auto upserted = c.execute(
          "INSERT INTO fga_assertions (store_id, model_id, assertions, updated_at)"
          " VALUES (?, ?, ?, ?) ON CONFLICT (store_id, model_id)"
          " DO UPDATE SET assertions = excluded.assertions, updated_at = excluded.updated_at",
          {store_id, model_id, text, clock_.now()});
      if (!upserted) return Err(upserted.error());
      return Ok{};
    });
    if (refused) return Err(std::move(*refused));
    if (!written) return internal(written.error());
    return Ok{};
  }

  Result<std::vector<FgaAssertion>, Error> read_assertions(std::string_view store_id,
                                                           std::string_view model_id) override {
    if (auto valid = check_id(model_id, "authorization_model_id"); !valid) {
      return Err(valid.error());
    }
    if (auto live = require_store(store_id); !live) return Err(live.error());
    // No row: no such model in the store; a NULL: a model without assertions.
    auto rows = database_.query(
        "SELECT a.assertions FROM fga_models m LEFT JOIN fga_assertions a"
        " ON a.store_id = m.store_id AND a.model_id = m.id WHERE m.store_id = ? AND m.id = ?",
        {store_id, model_id});
    if (!rows) return internal(rows.error());
    if (rows->empty()) {
      return fail(ErrorCode::authorization_model_not_found,
                  "authorization model " + std::string(model_id) + " not found");
    }
    std::vector<FgaAssertion> out;
    if (rows->front().is_null(0)) return out;
    auto parsed = json::parse_strict(rows->front().text(0), kAssertionsLimits);
    if (!parsed || !parsed->is_array()) {
      return fail(ErrorCode::internal_error, "stored assertions are unreadable");
    }
    for (const nlohmann::json& item : *parsed) {
      auto assertion = assertion_from_json(item);
      if (!assertion) return fail(ErrorCode::internal_error, "a stored assertion is unreadable");
      out.push_back(std::move(*assertion));
    }
    return out;
  }

  Result<FgaPage<fga::Model>, Error> list_models(std::string_view store_id,
                                                 const FgaPageRequest& page) override {
    if (auto live = require_store(store_id); !live) return Err(live.error());
    auto size = page_size_of(page);
    if (!size) return Err(size.error());
    auto before = ulid_position(page.continuation_token, "m");
    if (!before) return Err(before.error());
    std::vector<Value> params{std::string(store_id)};
    std::string sql = "SELECT id, model FROM fga_models WHERE store_id = ?";
    if (!before->empty()) {
      sql += " AND id < ?";
      params.emplace_back(*before);
    }
    sql += " ORDER BY id DESC LIMIT ?";
    params.emplace_back(int64_t{*size} + 1);
    auto lease = database_.acquire();
    if (!lease) return internal(lease.error());
    auto rows = run(**lease, sql, params);
    if (!rows) return internal(rows.error());
    FgaPage<fga::Model> out;
    for (const Row& row : *rows) {
      auto model = parse_model(store_id, row.text(0), row.text(1));
      if (!model) return Err(model.error());
      out.items.push_back(std::move(*model));
    }
    trim(out, *size, "m", [](const fga::Model& m) { return m.id; });
    return out;
  }

  Result<FgaWriteResult, Error> write_tuples(std::string_view store_id,
                                             const FgaWriteRequest& request) override {
    if (auto valid = check_id(store_id, "store_id"); !valid) return Err(valid.error());
    // OpenFGA: "Invalid input. Make sure you provide at least one write or delete."
    if (request.writes.empty() && request.deletes.empty()) {
      return fail(ErrorCode::invalid_write_input, "provide at least one write or delete");
    }
    // OpenFGA's maxTuplesPerWrite counts writes and deletes together.
    if (request.writes.size() + request.deletes.size() > kFgaMaxTuplesPerWrite) {
      return fail(ErrorCode::exceeded_entity_limit,
                  "the number of write operations exceeds the allowed limit of 100");
    }
    std::set<std::string> seen;
    for (const auto* list : {&request.writes, &request.deletes}) {
      const bool is_write = list == &request.writes;
      for (const TupleKey& key : *list) {
        if (auto valid = validate_key(key, is_write); !valid) return Err(valid.error());
        std::string identity = key.object;
        identity.append(1, '\0').append(key.relation).append(1, '\0').append(key.user);
        if (!seen.insert(std::move(identity)).second) {
          return fail(
              ErrorCode::cannot_allow_duplicate_tuples_in_one_request,
              "duplicate tuple in request: " + key.object + "#" + key.relation + "@" + key.user);
        }
      }
    }
    if (auto live = require_store(store_id); !live) return Err(live.error());
    if (!request.model_id.empty()) {
      auto valid = check_id(request.model_id, "authorization_model_id");
      if (!valid) return Err(valid.error());
    }
    auto model = request.model_id.empty() ? load_latest_model(store_id)
                                          : load_model(store_id, request.model_id);
    if (!model) return Err(model.error());
    if (request.validate_write) {
      for (const TupleKey& key : request.writes) {
        if (auto valid = request.validate_write(*model, key); !valid) return Err(valid.error());
      }
    }

    std::optional<Error> refused;  // an fga error found inside the transaction: roll back
    auto token = database_.in_transaction([&](Connection& c) -> StoreResult<std::string> {
      auto refuse = [&](ErrorCode code, std::string message) {
        refused = Error{code, std::move(message)};
        return store_error(StoreError::Code::kInvalidArgument, refused->message);
      };
      auto live = lock_live_store(c, store_id);
      if (!live) return Err(live.error());
      if (!*live) return refuse(ErrorCode::store_id_not_found, "store not found");
      // The store's revision: readers (and the tuple cache) tell states of the store apart by it.
      auto bumped =
          c.execute("UPDATE fga_stores SET revision = revision + 1 WHERE id = ?", {store_id});
      if (!bumped) return Err(bumped.error());
      const int64_t now = clock_.now();
      std::string last_change;
      for (const TupleKey& key : request.deletes) {
        auto o = *split_object(key.object);
        auto u = *split_user(key.user);
        auto deleted = c.execute(
            "DELETE FROM fga_tuples WHERE store_id = ? AND object_type = ? AND object_id = ?"
            " AND relation = ? AND user_type = ? AND user_id = ? AND user_relation = ?",
            {store_id, o.type, o.id, key.relation, u.type, u.id, u.relation});
        if (!deleted) return Err(deleted.error());
        if (*deleted == 0) {
          if (request.on_missing == OnMissing::kIgnore) continue;
          return refuse(ErrorCode::write_failed_due_to_invalid_input,
                        "cannot delete a tuple which does not exist: " + key.object + "#" +
                            key.relation + "@" + key.user);
        }
        TupleKey change{key.object, key.relation, key.user, {}, nullptr};
        auto logged = log_change(c, store_id, change, "delete", now);
        if (!logged) return Err(logged.error());
        last_change = std::move(*logged);
      }
      for (const TupleKey& key : request.writes) {
        auto o = *split_object(key.object);
        auto u = *split_user(key.user);
        auto existing = c.query(
            "SELECT condition_name, condition_context FROM fga_tuples WHERE store_id = ?"
            " AND object_type = ? AND object_id = ? AND relation = ? AND user_type = ?"
            " AND user_id = ? AND user_relation = ?",
            {store_id, o.type, o.id, key.relation, u.type, u.id, u.relation});
        if (!existing) return Err(existing.error());
        if (!existing->empty()) {
          // OpenFGA: on_duplicate "ignore" skips identical writes, "matching on user, relation,
          // object, and RelationshipCondition"; the same key with another condition still fails.
          // Contexts are stored as dump() of the normalised object, whose keys are sorted:
          // equal contexts have equal text.
          const Row& row = existing->front();
          const Value context = context_column(key.context);
          const bool identical = row.text(0) == key.condition &&
                                 row.is_null(1) == context.is_null() &&
                                 (context.is_null() || row.text(1) == context.bytes());
          if (request.on_duplicate == OnDuplicate::kIgnore && identical) continue;
          return refuse(ErrorCode::write_failed_due_to_invalid_input,
                        "cannot write a tuple which already exists: " + key.object + "#" +
                            key.relation + "@" + key.user);
        }
        auto logged = log_change(c, store_id, key, "write", now);
        if (!logged) return Err(logged.error());
        auto inserted = c.execute(
            "INSERT INTO fga_tuples (store_id, object_type, object_id, relation, user_type,"
            " user_id, user_relation, condition_name, condition_context, ulid, inserted_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {store_id, o.type, o.id, key.relation, u.type, u.id, u.relation, key.condition,
             context_column(key.context), *logged, now});
        if (!inserted) return Err(inserted.error());
        last_change = std::move(*logged);
      }
      if (!last_change.empty()) return last_change;
      // Nothing changed (all ignored): the store's latest change is as fresh as this write.
      auto latest = c.query("SELECT MAX(ulid) FROM fga_changes WHERE store_id = ?", {store_id});
      if (!latest) return Err(latest.error());
      if (latest->empty() || latest->front().is_null(0)) return std::string(kNoChange);
      return latest->front().text(0);
    });
    if (refused) return Err(std::move(*refused));
    if (!token) return internal(token.error());
    return FgaWriteResult{model->id, make_token("c", *token)};
  }

  // OpenFGA's Read promises no order. Ours is the order of the index each form of filter
  // searches, so that a page is one range of that index, found without walking the store and
  // without a sort, and its continuation token names the page's last row by its key in that
  // order (unique in it): the columns below that the filter leaves open.
  //  - no filter: write order (fga_tuples_by_ulid), keyed by ulid;
  //  - an object `type:id`, which a relation and a user may narrow: the primary key under the
  //    object, keyed by (relation, user_type, user_id, user_relation); with a user and no
  //    relation, fga_tuples_by_user_and_type serves the same order and the planner may take it;
  //  - `type:` with a user, which a relation may narrow: fga_tuples_by_user_and_type under the
  //    user and type, keyed by (relation, object_id).
  // A page starts after the token's key, so paging neither repeats nor skips a tuple that stays
  // stored meanwhile, and the same token reads the same page again while nothing changes. A
  // token of one form of filter is invalid_continuation_token in another.
  Result<FgaPage<FgaTupleRecord>, Error> read_tuples(std::string_view store_id,
                                                     const FgaReadFilter& filter,
                                                     const FgaPageRequest& page,
                                                     std::string_view consistency_token) override {
    if (auto live = require_store(store_id); !live) return Err(live.error());
    if (auto fresh = check_consistency(store_id, consistency_token); !fresh) {
      return Err(fresh.error());
    }
    auto size = page_size_of(page);
    if (!size) return Err(size.error());

    std::string sql =
        "SELECT " + std::string(kTupleColumns) + " FROM fga_tuples WHERE store_id = ?";
    std::vector<Value> params{std::string(store_id)};
    auto add = [&](const char* clause, std::string_view value) {
      sql += clause;
      params.emplace_back(value);
    };
    // The form's token kind and its order: column names with their place in kTupleColumns.
    struct Order {
      std::string_view kind;
      std::vector<std::pair<std::string_view, size_t>> columns;
    };
    Order order{"t", {{"ulid", 8}}};
    const bool empty_filter =
        filter.object.empty() && filter.relation.empty() && filter.user.empty();
    if (!empty_filter) {
      // OpenFGA's Read: the object (or its type) is required once anything is filtered on, and
      // a type without an id needs a user.
      const size_t colon = filter.object.find(':');
      if (colon == std::string::npos || colon == 0) {
        return fail(ErrorCode::validation_error,
                    "the tuple_key's object must be type:id, or type: together with user");
      }
      const std::string_view type = std::string_view(filter.object).substr(0, colon);
      const std::string_view id = std::string_view(filter.object).substr(colon + 1);
      if (id.empty() && filter.user.empty()) {
        return fail(ErrorCode::validation_error, "reading by object type alone needs a user");
      }
      if (!id.empty() && !split_object(filter.object)) {
        return fail(ErrorCode::validation_error, "invalid object: " + filter.object);
      }
      add(" AND object_type = ?", type);
      if (!id.empty()) add(" AND object_id = ?", id);
      if (!filter.relation.empty()) add(" AND relation = ?", filter.relation);
      if (!filter.user.empty()) {
        auto u = split_user(filter.user);
        if (!u) return fail(ErrorCode::validation_error, "invalid user: " + filter.user);
        add(" AND user_type = ?", u->type);
        add(" AND user_id = ?", u->id);
        add(" AND user_relation = ?", u->relation);
      }
      // The key is the index's columns after the searched prefix, less those the filter fixes:
      // a row value comparison over a fixed column would make SQLite sort the page.
      order.kind = id.empty() ? "tu" : "to";
      order.columns.clear();
      if (filter.relation.empty()) order.columns.emplace_back("relation", 2);
      if (id.empty()) {
        order.columns.emplace_back("object_id", 1);
      } else if (filter.user.empty()) {
        order.columns.emplace_back("user_type", 3);
        order.columns.emplace_back("user_id", 4);
        order.columns.emplace_back("user_relation", 5);
      }
    }
    std::string columns;
    std::string placeholders;
    for (const auto& [name, unused] : order.columns) {
      columns += columns.empty() ? "" : ", ";
      columns += name;
      placeholders += placeholders.empty() ? "?" : ", ?";
    }
    if (!page.continuation_token.empty()) {
      // Object, relation and user name at most one tuple (no key, no token was ever issued).
      auto position =
          order.columns.empty() ? std::nullopt : open_token(page.continuation_token, order.kind);
      std::optional<std::vector<std::string>> after;
      if (position && order.kind == "t") {
        if (is_ulid(*position)) after = std::vector<std::string>{*position};
      } else if (position) {
        after = decode_position(*position, order.columns.size());
      }
      if (!after) return fail(ErrorCode::invalid_continuation_token, "invalid continuation token");
      // A row value comparison, which SQLite and PostgreSQL both search as a range of the index.
      sql += order.columns.size() == 1 ? " AND " + columns + " > ?"
                                       : " AND (" + columns + ") > (" + placeholders + ")";
      for (std::string& part : *after) params.emplace_back(std::move(part));
    }
    if (!columns.empty()) sql += " ORDER BY " + columns;
    sql += " LIMIT ?";
    params.emplace_back(int64_t{*size} + 1);

    auto lease = database_.acquire();
    if (!lease) return internal(lease.error());
    auto rows = run(**lease, sql, params);
    if (!rows) return internal(rows.error());
    FgaPage<FgaTupleRecord> out;
    for (const Row& row : *rows) {
      if (out.items.size() == static_cast<size_t>(*size)) {
        // There is more: the token names the last row kept.
        const Row& last = (*rows)[out.items.size() - 1];
        if (order.kind == "t") {
          out.continuation_token = make_token(order.kind, last.text(8));
        } else {
          std::vector<std::string_view> parts;
          for (const auto& [unused, column] : order.columns) parts.push_back(last.text(column));
          out.continuation_token = make_token(order.kind, encode_position(parts));
        }
        break;
      }
      auto record = tuple_from_row(row);
      if (!record) return internal(record.error());
      out.items.push_back(std::move(*record));
    }
    return out;
  }

  Result<FgaPage<FgaChange>, Error> read_changes(std::string_view store_id,
                                                 const FgaChangesRequest& request) override {
    if (auto live = require_store(store_id); !live) return Err(live.error());
    auto size = page_size_of(FgaPageRequest{request.page_size, {}});
    if (!size) return Err(size.error());
    std::string after;
    if (!request.continuation_token.empty()) {
      // The position is "<ulid><type>": the type filter the token was read with.
      auto position = open_token(request.continuation_token, "c");
      if (!position || position->size() < kUlidLength ||
          !is_ulid(std::string_view(*position).substr(0, kUlidLength))) {
        return fail(ErrorCode::invalid_continuation_token, "invalid continuation token");
      }
      if (position->substr(kUlidLength) != request.type) {
        return fail(ErrorCode::query_string_type_continuation_token_mismatch,
                    "the continuation token was issued for another type");
      }
      after = position->substr(0, kUlidLength);
    }
    std::string sql =
        "SELECT operation, object_type, object_id, relation, user_type, user_id, user_relation,"
        " condition_name, condition_context, ulid, inserted_at FROM fga_changes"
        " WHERE store_id = ?";
    std::vector<Value> params{std::string(store_id)};
    if (!request.type.empty()) {
      sql += " AND object_type = ?";
      params.emplace_back(request.type);
    }
    if (!after.empty()) {
      sql += " AND ulid > ?";
      params.emplace_back(after);
    } else if (request.start_time) {
      sql += " AND inserted_at >= ?";
      params.emplace_back(*request.start_time);
    }
    sql += " ORDER BY ulid LIMIT ?";
    params.emplace_back(int64_t{*size});
    auto lease = database_.acquire();
    if (!lease) return internal(lease.error());
    auto rows = run(**lease, sql, params);
    if (!rows) return internal(rows.error());
    FgaPage<FgaChange> out;
    for (const Row& row : *rows) {
      auto record = tuple_from_row(row, 1);
      if (!record) return internal(record.error());
      out.items.push_back(
          FgaChange{std::move(record->key),
                    row.text(0) == "delete" ? FgaOperation::kDelete : FgaOperation::kWrite,
                    record->timestamp});
    }
    out.continuation_token = rows->empty() ? request.continuation_token
                                           : make_token("c", rows->back().text(9) + request.type);
    return out;
  }

  Result<std::unique_ptr<fga::TupleReader>, Error> reader(
      std::string_view store_id, std::string_view consistency_token) override {
    if (auto live = require_store(store_id); !live) return Err(live.error());
    return reader_of_live_store(store_id, consistency_token);
  }

  // The caller has seen the store live in this request; only the token costs a query (and
  // only when one is given).
  Result<std::unique_ptr<fga::TupleReader>, Error> reader_of_live_store(
      std::string_view store_id, std::string_view consistency_token) override {
    if (auto valid = check_id(store_id, "store_id"); !valid) return Err(valid.error());
    if (auto fresh = check_consistency(store_id, consistency_token); !fresh) {
      return Err(fresh.error());
    }
    return std::unique_ptr<fga::TupleReader>(
        std::make_unique<SqlTupleReader>(database_, std::string(store_id)));
  }

 private:
  static Unexpected<Error> store_not_found(std::string_view store_id) {
    return fail(ErrorCode::store_id_not_found, "store " + std::string(store_id) + " not found");
  }

  static FgaStoreRecord store_from_row(const Row& row) {
    return FgaStoreRecord{row.text(0), row.text(1), row.integer(2), row.integer(3)};
  }

  // Keeps the first `size` items; when there were more, the token names the last one kept.
  template <class T, class Key>
  static void trim(FgaPage<T>& page, int size, std::string_view kind, Key key) {
    if (page.items.size() <= static_cast<size_t>(size)) return;
    page.items.resize(size);
    page.continuation_token = make_token(kind, key(page.items.back()));
  }

  Result<Ok, Error> require_store(std::string_view store_id) {
    auto store = get_store(store_id);
    if (!store) return Err(store.error());
    return Ok{};
  }

  // Inside a write transaction: the store's row is the lock every writer of the store takes
  // first. On PostgreSQL the writes of one store run one after another, so a change's ULID is
  // drawn in commit order (within this process) and a check-then-insert cannot race. False when
  // the store does not exist or is deleted.
  static StoreResult<bool> lock_live_store(Connection& c, std::string_view store_id) {
    auto live = c.query("SELECT id FROM fga_stores WHERE id = ? AND deleted_at IS NULL" +
                            std::string(for_update(c.dialect())),
                        {store_id});
    if (!live) return Err(live.error());
    return !live->empty();
  }

  // See the top of fga_store.h: the token must name a change of this store.
  Result<Ok, Error> check_consistency(std::string_view store_id, std::string_view token) {
    if (token.empty()) return Ok{};
    auto position = open_token(token, "c");
    if (!position || position->size() != kUlidLength || !is_ulid(*position)) {
      return fail(ErrorCode::validation_error, "invalid consistency token");
    }
    if (*position == kNoChange) return Ok{};
    auto rows = database_.query("SELECT 1 FROM fga_changes WHERE store_id = ? AND ulid = ?",
                                {store_id, *position});
    if (!rows) return internal(rows.error());
    if (rows->empty()) {
      return fail(ErrorCode::validation_error,
                  "the consistency token names a change this store does not have");
    }
    return Ok{};
  }

  // Appends a change to the log; returns its ULID.
  StoreResult<std::string> log_change(Connection& c, std::string_view store_id, const TupleKey& key,
                                      std::string_view operation, int64_t now) {
    auto o = *split_object(key.object);
    auto u = *split_user(key.user);
    std::string ulid = ulids_.next();
    auto inserted = c.execute(
        "INSERT INTO fga_changes (store_id, ulid, operation, object_type, object_id, relation,"
        " user_type, user_id, user_relation, condition_name, condition_context, inserted_at,"
        " revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
        " (SELECT revision FROM fga_stores WHERE id = ?))",
        {store_id, ulid, operation, o.type, o.id, key.relation, u.type, u.id, u.relation,
         key.condition, context_column(key.context), now, store_id});
    if (!inserted) return Err(inserted.error());
    return ulid;
  }

  Result<fga::Model, Error> load_model(std::string_view store_id, std::string_view model_id) {
    {
      std::lock_guard lock(cache_mutex_);
      auto it = models_.find(std::pair<std::string, std::string>(store_id, model_id));
      if (it != models_.end()) return it->second;
    }
    auto rows = database_.query("SELECT id, model FROM fga_models WHERE store_id = ? AND id = ?",
                                {store_id, model_id});
    if (!rows) return internal(rows.error());
    if (rows->empty()) {
      return fail(ErrorCode::authorization_model_not_found,
                  "authorization model " + std::string(model_id) + " not found");
    }
    return parse_model(store_id, rows->front().text(0), rows->front().text(1));
  }

  Result<fga::Model, Error> load_latest_model(std::string_view store_id) {
    auto rows = database_.query(
        "SELECT id FROM fga_models WHERE store_id = ? ORDER BY id DESC LIMIT 1", {store_id});
    if (!rows) return internal(rows.error());
    if (rows->empty()) {
      return fail(ErrorCode::latest_authorization_model_not_found,
                  "the store has no authorization model");
    }
    return load_model(store_id, rows->front().text(0));
  }

  // A stored model (written by write_model, so trusted) from its JSON form.
  Result<fga::Model, Error> parse_model(std::string_view store_id, const std::string& id,
                                        const std::string& text) {
    nlohmann::json parsed;
    try {
      parsed = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
      return fail(ErrorCode::internal_error, "stored model " + id + " is unreadable");
    }
    auto model = fga::model_from_json(parsed);
    if (!model) {
      return fail(ErrorCode::internal_error,
                  "stored model " + id + " is unreadable: " + model.error().message);
    }
    model->id = id;
    std::lock_guard lock(cache_mutex_);
    if (models_.size() >= kModelCacheEntries) models_.clear();
    models_.emplace(std::pair<std::string, std::string>(store_id, id), *model);
    return std::move(*model);
  }

  Database& database_;
  const Clock& clock_;
  UlidGenerator ulids_;
  std::mutex cache_mutex_;
  std::map<std::pair<std::string, std::string>, fga::Model, std::less<>> models_;
};

}  // namespace

std::unique_ptr<FgaStore> make_sql_fga_store(Database& database, const Clock& clock) {
  return std::make_unique<SqlFgaStore>(database, clock);
}

}  // namespace tessera::store
