// A throwaway PostgreSQL server for tests: initdb into a temporary directory, pg_ctl start on a
// free loopback port, one fresh database per test, pg_ctl stop at the end of the run.
// Runs the server binaries as the `postgres` OS user when the tests run as root (PostgreSQL
// refuses to run as root). Failures throw std::runtime_error with the reason: a test that
// needs PostgreSQL fails loudly rather than being skipped.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

namespace tessera::testing {

class PgServer {
 public:
  // The server of this test process, started on first use.
  static PgServer& shared();
  // Stops the shared server if it was started (called by PgServerEnvironment).
  static void stop_shared();

  // Creates an empty database and returns a libpq connection string for it.
  std::string create_database();
  int port() const { return port_; }

  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;
  ~PgServer();

 private:
  PgServer();
  void stop();

  std::filesystem::path root_;  // temp dir owned by the server user: data/, socket, log
  int port_ = 0;
  bool running_ = false;
  std::mutex mutex_;
  int databases_created_ = 0;
};

// Register once per test binary: stops the server after the last test.
class PgServerEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { PgServer::stop_shared(); }
};

}  // namespace tessera::testing
