// The entry point: open_store() opens the configured backend, applies the schema migrations and
// hands out the narrow interfaces each consumer needs.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "store/client_store.h"
#include "store/database.h"
#include "store/fga_store.h"
#include "store/grant_store.h"
#include "store/replay_cache.h"
#include "store/session_store.h"
#include "store/setting_store.h"
#include "store/signing_key_store.h"
#include "store/user_store.h"

namespace tessera::store {

enum class Driver { kSqlite, kPostgres };
std::optional<Driver> parse_driver(std::string_view name);  // "sqlite" | "postgres"

struct StoreConfig {
  Driver driver = Driver::kSqlite;
  std::string sqlite_path;                           // e.g. DATA_DIR/tessera.db
  std::string postgres_connection;                   // libpq conninfo or postgresql:// URI
  size_t pool_size = 4;                              // connections per process
  std::chrono::milliseconds busy_timeout{5000};      // SQLite: wait for the write lock
  std::chrono::milliseconds acquire_timeout{30000};  // wait for a free pooled connection
  const Clock* clock = nullptr;                      // expiry decisions; nullptr: the system clock
};

// Opens a pooled Database without migrating it (tools and tests).
StoreResult<std::unique_ptr<Database>> open_database(const StoreConfig& config);

class Store {
 public:
  Store(std::unique_ptr<Database> database, const Clock& clock);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  SigningKeyStore& signing_keys() { return *signing_keys_; }
  ReplayCache& replay_cache() { return *replay_cache_; }
  SettingStore& settings() { return *settings_; }
  ClientStore& clients() { return *clients_; }
  UserStore& users() { return *users_; }
  SessionStore& sessions() { return *sessions_; }
  ConsentStore& consents() { return *consents_; }
  GrantStore& grants() { return *grants_; }
  FgaStore& fga() { return *fga_; }
  // For later stores built on the same pool.
  Database& database() { return *database_; }
  const Clock& clock() const { return clock_; }

 private:
  std::unique_ptr<Database> database_;  // declared first: outlives the stores that use it
  const Clock& clock_;
  std::unique_ptr<SigningKeyStore> signing_keys_;
  std::unique_ptr<ReplayCache> replay_cache_;
  std::unique_ptr<SettingStore> settings_;
  std::unique_ptr<ClientStore> clients_;
  std::unique_ptr<UserStore> users_;
  std::unique_ptr<SessionStore> sessions_;
  std::unique_ptr<ConsentStore> consents_;
  std::unique_ptr<GrantStore> grants_;
  std::unique_ptr<FgaStore> fga_;
};

// Opens the backend and migrates it to tessera_schema(). Fails with kSchemaTooNew when the
// database was migrated by a newer binary, kUnavailable when it cannot be reached.
StoreResult<std::unique_ptr<Store>> open_store(const StoreConfig& config);

// A user withdraws their consent for a client: the consent goes, and every grant the user gave
// that client is revoked (its refresh tokens and opaque access tokens die with it). nullopt: the
// user had no consent for it (nothing changed).
StoreResult<std::optional<int64_t>> withdraw_consent(Store& store, std::string_view user_id,
                                                     std::string_view client_id);

}  // namespace tessera::store
