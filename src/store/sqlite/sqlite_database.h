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
  // A background thread checkpoints the WAL once a commit leaves at least this many pages in
  // it (SQLite's own automatic checkpoint, inside the commit, uses 1,000); 0 leaves the
  // checkpoints to SQLite. Files only: ":memory:" has no WAL.
  int checkpoint_pages = 2000;
};

// Opens (creating with mode 0600 if needed) the database file, switches it to WAL and returns a
// pool whose connections each run with busy_timeout, foreign_keys=ON and synchronous=NORMAL, and
// whose WAL is checkpointed by a background thread (checkpoint_pages).
StoreResult<std::unique_ptr<Database>> open_sqlite_database(const SqliteOptions& options);

}  // namespace tessera::store::sqlite
