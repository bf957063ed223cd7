// PostgreSQL backend of the SQL layer (libpq): the shared store when many nodes run.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "store/database.h"

namespace tessera::store::postgres {

struct PgOptions {
  std::string connection_string;  // libpq conninfo: "host=... dbname=..." or "postgresql://..."
  size_t pool_size = 4;
  std::chrono::milliseconds acquire_timeout{30000};
};

// Returns a pool of libpq connections; the first one is opened at once so that a wrong
// connection string is reported here rather than on first use.
StoreResult<std::unique_ptr<Database>> open_pg_database(const PgOptions& options);

}  // namespace tessera::store::postgres
