#include "store/store.h"

#include "store/migrations.h"
#include "store/postgres/pg_database.h"
#include "store/sql_stores.h"
#include "store/sqlite/sqlite_database.h"

namespace tessera::store {

std::optional<Driver> parse_driver(std::string_view name) {
  if (name == "sqlite") return Driver::kSqlite;
  if (name == "postgres" || name == "postgresql") return Driver::kPostgres;
  return std::nullopt;
}

StoreResult<std::unique_ptr<Database>> open_database(const StoreConfig& config) {
  if (config.pool_size == 0) {
    return store_error(StoreError::Code::kInvalidArgument, "store pool size must be at least 1");
  }
  switch (config.driver) {
    case Driver::kSqlite:
      return sqlite::open_sqlite_database(sqlite::SqliteOptions{
          config.sqlite_path, config.pool_size, config.busy_timeout, config.acquire_timeout});
    case Driver::kPostgres:
      return postgres::open_pg_database(postgres::PgOptions{
          config.postgres_connection, config.pool_size, config.acquire_timeout});
  }
  return store_error(StoreError::Code::kInvalidArgument, "unknown store driver");
}

Store::Store(std::unique_ptr<Database> database, const Clock& clock)
    : database_(std::move(database)),
      clock_(clock),
      signing_keys_(make_sql_signing_key_store(*database_)),
      replay_cache_(make_sql_replay_cache(*database_, clock_)),
      settings_(make_sql_setting_store(*database_, clock_)),
      clients_(make_sql_client_store(*database_, clock_)),
      users_(make_sql_user_store(*database_, clock_)),
      sessions_(make_sql_session_store(*database_, clock_)),
      consents_(make_sql_consent_store(*database_, clock_)),
      grants_(make_sql_grant_store(*database_, clock_)),
      fga_(make_sql_fga_store(*database_, clock_)) {}

Store::~Store() = default;

StoreResult<std::unique_ptr<Store>> open_store(const StoreConfig& config) {
  auto database = open_database(config);
  if (!database) return Err(database.error());
  auto migrated = migrate(**database, tessera_schema());
  if (!migrated) return Err(migrated.error());
  const Clock& clock = config.clock != nullptr ? *config.clock : SystemClock::instance();
  return std::make_unique<Store>(std::move(*database), clock);
}

StoreResult<std::optional<int64_t>> withdraw_consent(Store& store, std::string_view user_id,
                                                     std::string_view client_id) {
  // The grants go first and the consent last: a failure half way leaves the consent, so the
  // user (or operator) can try again and nothing stays alive unseen.
  auto consent = store.consents().find(user_id, client_id);
  if (!consent) return Err(consent.error());
  if (!*consent) return std::optional<int64_t>();
  auto grants = store.grants().list_grants_for_subject(user_id);
  if (!grants) return Err(grants.error());
  int64_t count = 0;
  for (const auto& grant : *grants) {
    if (grant.client_id != client_id || grant.revoked_at) continue;
    auto done = store.grants().revoke_grant(grant.id);
    if (!done) return Err(done.error());
    ++count;
  }
  auto revoked = store.consents().revoke(user_id, client_id);
  if (!revoked) return Err(revoked.error());
  return std::optional<int64_t>(count);
}

}  // namespace tessera::store
