// Tessera's schema, one migration per feature. Append only: a shipped migration never changes.
// Columns use types both dialects share (TEXT, BIGINT); binary columns are BLOB on SQLite and
// BYTEA on PostgreSQL, so each migration is written once, for SQLite, and PostgreSQL's text is
// derived from it. Times are Unix seconds (BIGINT), as in JWT claims.
#include <string>
#include <vector>

#include "store/migrations.h"

namespace tessera::store {
namespace {

// A migration in SQLite's spelling. PostgreSQL's differs only in the binary column type.
struct SchemaStep {
  int64_t version;
  std::string_view name;
  std::string_view sqlite_sql;
};

constexpr SchemaStep kSteps[] = {
    {1, "signing_keys",
     R"sql(
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  private_jwk_encrypted BLOB NOT NULL,
  public_jwk TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('next', 'active', 'retired')),
  created_at BIGINT NOT NULL,
  activated_at BIGINT,
  retire_after BIGINT
);
CREATE UNIQUE INDEX signing_keys_one_active_per_alg ON signing_keys (alg) WHERE status = 'active';
)sql"},
    {2, "replay_cache",
     R"sql(
CREATE TABLE replay_cache (
  namespace TEXT NOT NULL,
  id_sha256 BLOB NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (namespace, id_sha256)
);
CREATE INDEX replay_cache_by_expiry ON replay_cache (expires_at);
)sql"},
    {3, "settings",
     R"sql(
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value BLOB NOT NULL,
  updated_at BIGINT NOT NULL
);
)sql"},
};

// BYTEA for BLOB, the one difference between the dialects in this schema.
std::string postgres_spelling(std::string_view sqlite_sql) {
  std::string sql(sqlite_sql);
  for (size_t at = sql.find(" BLOB "); at != std::string::npos; at = sql.find(" BLOB ", at)) {
    sql.replace(at + 1, 4, "BYTEA");
  }
  return sql;
}

}  // namespace

std::span<const Migration> tessera_schema() {
  // Built once; Migration only views the text, so the PostgreSQL spellings live here.
  static const std::vector<std::string> postgres_sql = [] {
    std::vector<std::string> out;
    for (const SchemaStep& step : kSteps) out.push_back(postgres_spelling(step.sqlite_sql));
    return out;
  }();
  static const std::vector<Migration> migrations = [] {
    std::vector<Migration> out;
    for (size_t i = 0; i < std::size(kSteps); ++i) {
      out.push_back({kSteps[i].version, kSteps[i].name, kSteps[i].sqlite_sql, postgres_sql[i]});
    }
    return out;
  }();
  return migrations;
}

}  // namespace tessera::store
