#include "app/store_config.h"

namespace tessera::app {

store::StoreConfig store_config(const StoreConfigYaml& c) {
  store::StoreConfig s;
  s.driver = c.driver == "postgres" ? store::Driver::kPostgres : store::Driver::kSqlite;
  s.sqlite_path = c.path;
  s.postgres_connection = c.url;
  s.pool_size = static_cast<size_t>(c.pool_size);
  return s;
}

}  // namespace tessera::app
