#include "store/sqlite/sqlite_database.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

namespace tessera::store::sqlite {
namespace {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using SqliteHandle = std::unique_ptr<sqlite3, SqliteCloser>;
using StatementHandle = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

constexpr mode_t kOwnerOnly = S_IRUSR | S_IWUSR;  // 0600: keys and secrets live in this file

bool is_memory(const std::string& path) { return path == ":memory:"; }

StoreError::Code code_for(int sqlite_code) {
  switch (sqlite_code & 0xff) {
    case SQLITE_CONSTRAINT:
      switch (sqlite_code) {
        case SQLITE_CONSTRAINT_CHECK:
        case SQLITE_CONSTRAINT_NOTNULL:
        case SQLITE_CONSTRAINT_FOREIGNKEY:
          return StoreError::Code::kInvalidArgument;
        default:
          return StoreError::Code::kConflict;  // UNIQUE, PRIMARY KEY
      }
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_FULL:
      return StoreError::Code::kUnavailable;
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
      return StoreError::Code::kInvalidArgument;
    default:
      return StoreError::Code::kInternal;
  }
}

Unexpected<StoreError> sqlite_error(sqlite3* db, int rc, std::string_view doing) {
  // sqlite3_errmsg names the constraint or table, never a bound value, so secrets stay out.
  std::string message = "sqlite: " + std::string(doing) + ": " +
                        (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  return store_error(code_for(rc), std::move(message));
}

// Creates the file owner-only before SQLite opens it, and tightens an existing file, so that a
// permissive umask never exposes the store. SQLite gives -wal and -shm the main file's mode.
StoreResult<Ok> restrict_file_mode(const std::string& path, bool create) {
  if (create) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, kOwnerOnly);
    if (fd < 0) {
      return store_error(StoreError::Code::kUnavailable,
                         "sqlite: cannot open " + path + ": " + std::strerror(errno));
    }
    const int rc = ::fchmod(fd, kOwnerOnly);
    const int saved_errno = errno;
    ::close(fd);
    if (rc != 0) {
      return store_error(StoreError::Code::kUnavailable,
                         "sqlite: cannot chmod 0600 " + path + ": " + std::strerror(saved_errno));
    }
    return Ok{};
  }
  if (::chmod(path.c_str(), kOwnerOnly) != 0 && errno != ENOENT) {
    return store_error(StoreError::Code::kUnavailable,
                       "sqlite: cannot chmod 0600 " + path + ": " + std::strerror(errno));
  }
  return Ok{};
}

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(SqliteHandle db) : db_(std::move(db)) {}

  Dialect dialect() const override { return Dialect::kSqlite; }

  bool healthy() const override { return sqlite3_get_autocommit(db_.get()) != 0; }

  StoreResult<Ok> execute_script(std::string_view sql) override {
    const std::string script(sql);
    char* error_message = nullptr;
    const int rc = sqlite3_exec(db_.get(), script.c_str(), nullptr, nullptr, &error_message);
    if (rc != SQLITE_OK) {
      std::string message = error_message != nullptr ? error_message : sqlite3_errstr(rc);
      sqlite3_free(error_message);
      return store_error(code_for(sqlite3_extended_errcode(db_.get())), "sqlite: " + message);
    }
    return Ok{};
  }

  StoreResult<QueryResult> run(std::string_view sql, std::span<const Value> params) override {
    auto prepared = prepare(sql);
    if (!prepared) return Err(prepared.error());
    sqlite3_stmt* statement = *prepared;
    // Reset on every exit so the cached statement releases its read snapshot and bindings.
    struct ResetOnExit {
      sqlite3_stmt* statement;
      ~ResetOnExit() {
        sqlite3_reset(statement);
        sqlite3_clear_bindings(statement);
      }
    } reset_on_exit{statement};

    const int expected = sqlite3_bind_parameter_count(statement);
    if (expected != static_cast<int>(params.size())) {
      return store_error(StoreError::Code::kInvalidArgument,
                         "sqlite: statement takes " + std::to_string(expected) +
                             " parameters, got " + std::to_string(params.size()));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      if (auto bound = bind(statement, static_cast<int>(i + 1), params[i]); !bound) {
        return Err(bound.error());
      }
    }

    QueryResult result;
    for (;;) {
      const int rc = sqlite3_step(statement);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return sqlite_error(db_.get(), rc, "step");
      result.rows.push_back(read_row(statement));
    }
    result.affected_rows = sqlite3_stmt_readonly(statement) ? 0 : sqlite3_changes64(db_.get());
    return result;
  }

 private:
  StoreResult<sqlite3_stmt*> prepare(std::string_view sql) {
    std::string key(sql);
    if (auto found = statements_.find(key); found != statements_.end()) return found->second.get();
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), key.data(), static_cast<int>(key.size()),
                                      SQLITE_PREPARE_PERSISTENT, &raw, &tail);
    StatementHandle statement(raw);
    if (rc != SQLITE_OK) return sqlite_error(db_.get(), rc, "prepare");
    if (statement == nullptr) {
      return store_error(StoreError::Code::kInvalidArgument, "sqlite: empty statement");
    }
    if (tail != nullptr &&
        std::string_view(tail).find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      return store_error(StoreError::Code::kInvalidArgument,
                         "sqlite: run() takes one statement; use execute_script for several");
    }
    sqlite3_stmt* cached = statement.get();
    statements_.emplace(std::move(key), std::move(statement));
    return cached;
  }

  StoreResult<Ok> bind(sqlite3_stmt* statement, int index, const Value& value) {
    int rc = SQLITE_OK;
    switch (value.kind()) {
      case Value::Kind::kNull:
        rc = sqlite3_bind_null(statement, index);
        break;
      case Value::Kind::kInteger:
        rc = sqlite3_bind_int64(statement, index, value.integer());
        break;
      case Value::Kind::kText:
        rc = sqlite3_bind_text64(statement, index, value.bytes().data(), value.bytes().size(),
                                 SQLITE_STATIC, SQLITE_UTF8);
        break;
      case Value::Kind::kBlob:
        rc = sqlite3_bind_blob64(statement, index, value.bytes().data(), value.bytes().size(),
                                 SQLITE_STATIC);
        break;
    }
    if (rc != SQLITE_OK) return sqlite_error(db_.get(), rc, "bind");
    return Ok{};
  }

  static Row read_row(sqlite3_stmt* statement) {
    const int columns = sqlite3_column_count(statement);
    std::vector<Value> cells;
    cells.reserve(columns);
    for (int c = 0; c < columns; ++c) {
      switch (sqlite3_column_type(statement, c)) {
        case SQLITE_NULL:
          cells.emplace_back(nullptr);
          break;
        case SQLITE_INTEGER:
          cells.emplace_back(static_cast<int64_t>(sqlite3_column_int64(statement, c)));
          break;
        case SQLITE_BLOB: {
          const auto* data = static_cast<const char*>(sqlite3_column_blob(statement, c));
          const int size = sqlite3_column_bytes(statement, c);
          cells.emplace_back(Blob{std::string(data == nullptr ? "" : data, size)});
          break;
        }
        default: {  // TEXT, and FLOAT read as its text form
          const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement, c));
          const int size = sqlite3_column_bytes(statement, c);
          cells.emplace_back(std::string(data == nullptr ? "" : data, size));
          break;
        }
      }
    }
    return Row(std::move(cells));
  }

  SqliteHandle db_;  // declared first: destroyed after the statements that belong to it
  std::unordered_map<std::string, StatementHandle> statements_;
};

StoreResult<std::unique_ptr<Connection>> open_connection(const SqliteOptions& options) {
  sqlite3* raw = nullptr;
  // NOMUTEX: multi-thread mode; the pool hands each connection to one thread at a time.
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
  const int rc = sqlite3_open_v2(options.path.c_str(), &raw, flags, nullptr);
  SqliteHandle db(raw);
  if (rc != SQLITE_OK) return sqlite_error(db.get(), rc, "open " + options.path);
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), static_cast<int>(options.busy_timeout.count()));

  auto connection = std::make_unique<SqliteConnection>(std::move(db));
  // foreign_keys is per connection and off by default; synchronous=NORMAL is durable across
  // application crashes in WAL mode and only risks the last commits on power loss.
  // wal_autocheckpoint: SQLite copies the WAL back into the database (with an fdatasync) inside
  // the commit that takes it past this many pages. At the default 1,000 pages (4 MB) that was
  // 14% of the refresh grant's CPU; at 10,000 (40 MB of WAL) a page rewritten by many commits
  // is copied once per checkpoint, not once per 1,000 pages (bench/oauth/refresh.sh: +15%).
  if (auto set = connection->execute_script(
          "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=10000;");
      !set) {
    return Err(set.error());
  }
  if (!is_memory(options.path)) {
    // WAL lets readers run alongside the single writer. It is persistent in the file, but
    // asking on every connection is cheap and guarantees it.
    auto mode = connection->query("PRAGMA journal_mode=WAL");
    if (!mode) return Err(mode.error());
    if (mode->empty() || mode->front().text(0) != "wal") {
      return store_error(StoreError::Code::kUnavailable,
                         "sqlite: could not switch " + options.path + " to WAL journal mode");
    }
  }
  return std::unique_ptr<Connection>(std::move(connection));
}

}  // namespace

StoreResult<std::unique_ptr<Database>> open_sqlite_database(const SqliteOptions& options) {
  if (options.path.empty()) {
    return store_error(StoreError::Code::kInvalidArgument, "sqlite: database path is empty");
  }
  if (sqlite3_threadsafe() == 0) {
    return store_error(StoreError::Code::kInternal, "sqlite: library built without thread support");
  }
  SqliteOptions effective = options;
  if (is_memory(options.path)) {
    effective.pool_size = 1;  // every in-memory connection would be a different database
  } else {
    if (auto restricted = restrict_file_mode(options.path, true); !restricted) {
      return Err(restricted.error());
    }
  }

  auto database =
      std::make_unique<Database>(Dialect::kSqlite, effective.pool_size, effective.acquire_timeout,
                                 [effective] { return open_connection(effective); });
  if (!is_memory(options.path)) database->use_dedicated_writer();
  // Open the first connection now: it reports a bad path or file at once and switches the file
  // to WAL before concurrent connections could race on it.
  {
    auto first = database->acquire();
    if (!first) return Err(first.error());
    if (!is_memory(options.path)) {
      for (const char* suffix : {"-wal", "-shm"}) {
        if (auto restricted = restrict_file_mode(options.path + suffix, false); !restricted) {
          return Err(restricted.error());
        }
      }
    }
  }
  return database;
}

}  // namespace tessera::store::sqlite
