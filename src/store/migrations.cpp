#include "store/migrations.h"

#include <chrono>
#include <set>

namespace tessera::store {
namespace {

constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version BIGINT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_at BIGINT NOT NULL)";

// Serializes migrators on PostgreSQL for the rest of the transaction (SQLite's BEGIN IMMEDIATE
// already does). The key is arbitrary but fixed for every Tessera binary.
constexpr std::string_view kPostgresMigrationLock = "SELECT pg_advisory_xact_lock(126909093819745)";

StoreResult<Ok> lock_and_prepare(Connection& connection) {
  if (connection.dialect() == Dialect::kPostgres) {
    if (auto locked = connection.execute_script(kPostgresMigrationLock); !locked) return locked;
  }
  return connection.execute_script(kCreateMigrationsTable);
}

StoreResult<std::set<int64_t>> recorded_versions(Connection& connection) {
  auto rows = connection.query("SELECT version FROM schema_migrations");
  if (!rows) return Err(rows.error());
  std::set<int64_t> versions;
  for (const Row& row : *rows) versions.insert(row.integer(0));
  return versions;
}

StoreResult<Ok> refuse_newer_schema(const std::set<int64_t>& recorded, int64_t latest_known) {
  if (!recorded.empty() && *recorded.rbegin() > latest_known) {
    return store_error(StoreError::Code::kSchemaTooNew,
                       "database schema is at version " + std::to_string(*recorded.rbegin()) +
                           " but this binary knows versions up to " + std::to_string(latest_known) +
                           "; run a newer tessera or restore a matching backup");
  }
  return Ok{};
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

StoreResult<MigrationOutcome> migrate(Database& database, std::span<const Migration> migrations) {
  int64_t previous = 0;
  for (const Migration& migration : migrations) {
    if (migration.version <= previous) {
      return store_error(StoreError::Code::kInvalidArgument,
                         "migration versions must be positive and strictly increasing (at " +
                             std::string(migration.name) + ")");
    }
    previous = migration.version;
  }
  const int64_t latest_known = previous;

  MigrationOutcome outcome;
  auto before = database.in_transaction([&](Connection& connection) -> StoreResult<int64_t> {
    if (auto prepared = lock_and_prepare(connection); !prepared) return Err(prepared.error());
    auto recorded = recorded_versions(connection);
    if (!recorded) return Err(recorded.error());
    if (auto refused = refuse_newer_schema(*recorded, latest_known); !refused) {
      return Err(refused.error());
    }
    return recorded->empty() ? int64_t{0} : *recorded->rbegin();
  });
  if (!before) return Err(before.error());
  outcome.version_before = *before;
  outcome.version_after = *before;

  for (const Migration& migration : migrations) {
    auto applied = database.in_transaction([&](Connection& connection) -> StoreResult<bool> {
      // Re-check under the lock: another process may have applied it meanwhile.
      if (auto prepared = lock_and_prepare(connection); !prepared) return Err(prepared.error());
      auto recorded = recorded_versions(connection);
      if (!recorded) return Err(recorded.error());
      if (auto refused = refuse_newer_schema(*recorded, latest_known); !refused) {
        return Err(refused.error());
      }
      if (recorded->contains(migration.version)) return false;
      const std::string_view sql =
          connection.dialect() == Dialect::kSqlite ? migration.sqlite_sql : migration.postgres_sql;
      if (auto ran = connection.execute_script(sql); !ran) {
        return store_error(ran.error().code, "migration " + std::to_string(migration.version) +
                                                 " (" + std::string(migration.name) +
                                                 ") failed: " + ran.error().message);
      }
      auto recorded_now = connection.execute(
          "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
          {migration.version, migration.name, unix_now()});
      if (!recorded_now) return Err(recorded_now.error());
      return true;
    });
    if (!applied) return Err(applied.error());
    if (*applied) outcome.applied.push_back(migration.version);
    outcome.version_after = std::max(outcome.version_after, migration.version);
  }
  return outcome;
}

}  // namespace tessera::store
