// The fixture behind the store tests that run on both backends: each test gets a fresh SQLite
// file in a temp directory or a fresh PostgreSQL database on the test run's own server.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "core/clock.h"
#include "store/store.h"

namespace tessera::store::testing {

enum class Backend { kSqlite, kPostgres };

class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Backend backend() const { return GetParam(); }
  StoreConfig config() const;
  // Opens the store with config(); returns nullptr after recording a failure.
  std::unique_ptr<Store> open_store_or_fail();
  std::unique_ptr<Database> open_database_or_fail();

  FixedClock clock_{1'700'000'000};
  std::filesystem::path dir_;
  std::string postgres_connection_;
  size_t pool_size_ = 8;
};

// A BackendTest with the store open before each test, for the tests of one of its parts.
class StoreTest : public BackendTest {
 protected:
  void SetUp() override;

  std::unique_ptr<Store> store_;
};

std::string backend_name(const ::testing::TestParamInfo<Backend>& info);

}  // namespace tessera::store::testing

#define TESSERA_ON_BOTH_BACKENDS(Suite)                                                      \
  INSTANTIATE_TEST_SUITE_P(Backends, Suite,                                                  \
                           ::testing::Values(::tessera::store::testing::Backend::kSqlite,    \
                                             ::tessera::store::testing::Backend::kPostgres), \
                           ::tessera::store::testing::backend_name)
