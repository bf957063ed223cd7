#include "backend_fixture.h"

#include <stdlib.h>

#include "support/pg_server.h"

namespace tessera::store::testing {

// Stops the test PostgreSQL server after the last test of the run.
::testing::Environment* const kPgServerEnvironment =
    ::testing::AddGlobalTestEnvironment(new ::tessera::testing::PgServerEnvironment);

void BackendTest::SetUp() {
  std::string pattern = (std::filesystem::temp_directory_path() / "tessera-store-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  dir_ = pattern;
  if (backend() == Backend::kPostgres) {
    try {
      postgres_connection_ = ::tessera::testing::PgServer::shared().create_database();
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
  }
}

void BackendTest::TearDown() {
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

void StoreTest::SetUp() {
  BackendTest::SetUp();
  if (HasFatalFailure()) return;
  store_ = open_store_or_fail();
  ASSERT_NE(store_, nullptr);
}

StoreConfig BackendTest::config() const {
  StoreConfig config;
  config.driver = backend() == Backend::kSqlite ? Driver::kSqlite : Driver::kPostgres;
  config.sqlite_path = (dir_ / "tessera.db").string();
  config.postgres_connection = postgres_connection_;
  config.pool_size = pool_size_;
  config.clock = &clock_;
  return config;
}

std::unique_ptr<Store> BackendTest::open_store_or_fail() {
  auto store = open_store(config());
  if (!store) {
    ADD_FAILURE() << "open_store: " << store.error().message;
    return nullptr;
  }
  return std::move(*store);
}

std::unique_ptr<Database> BackendTest::open_database_or_fail() {
  auto database = open_database(config());
  if (!database) {
    ADD_FAILURE() << "open_database: " << database.error().message;
    return nullptr;
  }
  return std::move(*database);
}

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "sqlite" : "postgres";
}

}  // namespace tessera::store::testing
