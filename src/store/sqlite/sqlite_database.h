// SQLite backend of the SQL layer: the embedded default store (one node).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "store/database.h"

namespace tessera::store::sqlite {

struct SqliteOptions {
  std::string path;  // a file path; ":memory:" gives a private in-memory database (pool of 1)
  size_t pool_size = 4;
  std::chrono::milliseconds busy_timeout{5000};
  std::chrono::milliseconds acquire_timeout{30000};
};

// Opens (creating with mode 0600 if needed) the database file, switches it to WAL and returns a
// pool whose connections each run with busy_timeout, foreign_keys=ON and synchronous=NORMAL.
StoreResult<std::unique_ptr<Database>> open_sqlite_database(const SqliteOptions& options);

}  // namespace tessera::store::sqlite
