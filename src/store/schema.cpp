// Tessera's schema, one migration per feature. Append only: a shipped migration never changes.
// Columns use types both dialects share (TEXT, BIGINT); binary columns are BLOB on SQLite and
// BYTEA on PostgreSQL. Times are Unix seconds (BIGINT), as in JWT claims.
#include "store/migrations.h"

namespace tessera::store {
namespace {

constexpr Migration kMigrations[] = {
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
)sql",
     R"sql(
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  private_jwk_encrypted BYTEA NOT NULL,
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
)sql",
     R"sql(
CREATE TABLE replay_cache (
  namespace TEXT NOT NULL,
  id_sha256 BYTEA NOT NULL,
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
)sql",
     R"sql(
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value BYTEA NOT NULL,
  updated_at BIGINT NOT NULL
);
)sql"},
};

}  // namespace

std::span<const Migration> tessera_schema() { return kMigrations; }

}  // namespace tessera::store
