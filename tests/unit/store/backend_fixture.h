// The fixture behind the store tests that run on both backends: each test gets a fresh SQLite
// file in a temp directory or a fresh PostgreSQL database on the test run's own server.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

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

// Runs `body(i)` for i in [0, threads) on as many threads, released together so that they race,
// and returns when all are done.
template <class Body>
void race(int threads, Body body) {
  std::latch start(threads);
  std::vector<std::thread> racers;
  racers.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    racers.emplace_back([&, i] {
      start.arrive_and_wait();
      body(i);
    });
  }
  for (auto& racer : racers) racer.join();
}

}  // namespace tessera::store::testing

#define TESSERA_ON_BOTH_BACKENDS(Suite)                                                      \
  INSTANTIATE_TEST_SUITE_P(Backends, Suite,                                                  \
                           ::testing::Values(::tessera::store::testing::Backend::kSqlite,    \
                                             ::tessera::store::testing::Backend::kPostgres), \
                           ::tessera::store::testing::backend_name)
