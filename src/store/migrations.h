// Versioned schema migrations: an ordered list of (version, name, SQL per dialect). Each one is
// applied in its own transaction and recorded in `schema_migrations`, so re-running is a no-op
// and a crash mid-way leaves the schema at the last complete version.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "store/database.h"

namespace tessera::store {

struct Migration {
  int64_t version;  // > 0, strictly increasing through the list
  std::string_view name;
  std::string_view sqlite_sql;    // may hold several statements
  std::string_view postgres_sql;  // idem
};

struct MigrationOutcome {
  int64_t version_before = 0;  // highest version recorded before this run (0: empty database)
  int64_t version_after = 0;
  std::vector<int64_t> applied;  // versions this run applied, in order
};

// Brings the database up to the last version in `migrations`. Fails with kSchemaTooNew, touching
// nothing, when the database records a version newer than the list knows. Safe to run from
// several processes at once (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock).
StoreResult<MigrationOutcome> migrate(Database& database, std::span<const Migration> migrations);

// Tessera's own schema, in order. Later issues append; never edit an entry that has shipped.
std::span<const Migration> tessera_schema();

}  // namespace tessera::store
