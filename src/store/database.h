// The backend-neutral SQL layer under every store: a pool of connections, statements written once
// with `?` placeholders (rewritten to $1..$n for PostgreSQL), prepared once per connection and
// cached, and RAII transactions. Narrow stores (SigningKeyStore, ReplayCache, ...) sit on top.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/result.h"

namespace tessera::store {

// Every way a store operation can fail, named so callers can branch on it.
struct StoreError {
  enum class Code {
    kInvalidArgument,  // the caller passed something the store cannot accept
    kNotFound,         // the row the operation needs does not exist
    kConflict,         // a uniqueness rule or a concurrent change got in the way
    kUnavailable,      // the database cannot be reached, is busy, or the pool is exhausted
    kSchemaTooNew,     // the database was migrated by a newer binary
    kInternal,         // anything else the backend reports
  };
  Code code;
  std::string message;
};
std::string_view to_string(StoreError::Code code);

template <class T>
using StoreResult = Result<T, StoreError>;

inline Unexpected<StoreError> store_error(StoreError::Code code, std::string message) {
  return Err(StoreError{code, std::move(message)});
}

enum class Dialect { kSqlite, kPostgres };

// Bytes that are bound and read back as BLOB (SQLite) / BYTEA (PostgreSQL).
struct Blob {
  std::string bytes;
};

// A bound parameter or a column value: NULL, a 64-bit integer, text or a blob.
class Value {
 public:
  enum class Kind { kNull, kInteger, kText, kBlob };

  Value(std::nullptr_t) {}                                              // NOLINT
  Value(int64_t v) : kind_(Kind::kInteger), integer_(v) {}              // NOLINT
  Value(std::string_view v) : kind_(Kind::kText), bytes_(v) {}          // NOLINT
  Value(const char* v) : kind_(Kind::kText), bytes_(v) {}               // NOLINT
  Value(const std::string& v) : kind_(Kind::kText), bytes_(v) {}        // NOLINT
  Value(std::string&& v) : kind_(Kind::kText), bytes_(std::move(v)) {}  // NOLINT
  Value(Blob v) : kind_(Kind::kBlob), bytes_(std::move(v.bytes)) {}     // NOLINT
  Value(std::optional<int64_t> v)                                       // NOLINT
      : kind_(v ? Kind::kInteger : Kind::kNull), integer_(v.value_or(0)) {}

  Kind kind() const { return kind_; }
  bool is_null() const { return kind() == Kind::kNull; }
  // Programmer errors (wrong kind) throw std::logic_error.
  int64_t integer() const;
  // Text or blob bytes.
  const std::string& bytes() const;

 private:
  // Plain members rather than std::variant: GCC 12 reports false maybe-uninitialized warnings
  // for nested variants (Value inside Result) in optimized sanitizer builds.
  Kind kind_ = Kind::kNull;
  int64_t integer_ = 0;
  std::string bytes_;
};

// One result row. Accessors throw std::out_of_range / std::logic_error on programmer errors
// (column index or kind that the query cannot produce).
class Row {
 public:
  explicit Row(std::vector<Value> cells) : cells_(std::move(cells)) {}
  size_t size() const { return cells_.size(); }
  bool is_null(size_t column) const { return cells_.at(column).is_null(); }
  int64_t integer(size_t column) const { return cells_.at(column).integer(); }
  std::optional<int64_t> nullable_integer(size_t column) const;
  const std::string& text(size_t column) const { return cells_.at(column).bytes(); }
  const std::string& blob(size_t column) const { return cells_.at(column).bytes(); }
  const Value& value(size_t column) const { return cells_.at(column); }

 private:
  std::vector<Value> cells_;
};

struct QueryResult {
  std::vector<Row> rows;
  int64_t affected_rows = 0;  // INSERT/UPDATE/DELETE: rows written; SELECT: 0
};

// One database session. Not thread-safe: a connection is used by one thread at a time, which
// the pool guarantees.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  // Runs one statement written with `?` placeholders, prepared once and cached per connection.
  virtual StoreResult<QueryResult> run(std::string_view sql, std::span<const Value> params) = 0;
  // Runs parameterless SQL, possibly several statements (schema scripts, BEGIN, COMMIT).
  virtual StoreResult<Ok> execute_script(std::string_view sql) = 0;
  // False when the connection is broken or was left inside a transaction; the pool drops it.
  virtual bool healthy() const = 0;

  StoreResult<std::vector<Row>> query(std::string_view sql,
                                      std::initializer_list<Value> params = {});
  // Returns the number of rows written.
  StoreResult<int64_t> execute(std::string_view sql, std::initializer_list<Value> params = {});
};

// RAII transaction guard: rolls back in the destructor unless commit() succeeded.
// SQLite transactions begin IMMEDIATE (take the write lock up front, so two writers never
// deadlock upgrading read locks); PostgreSQL ones run at READ COMMITTED.
class Transaction {
 public:
  static StoreResult<Transaction> begin(Connection& connection);
  // A read-only transaction: every statement in it sees one snapshot of the database. SQLite:
  // BEGIN DEFERRED (the first read takes the WAL snapshot and the read lock, once for all the
  // statements); PostgreSQL: REPEATABLE READ READ ONLY. Ends by rollback() or destruction.
  static StoreResult<Transaction> begin_read(Connection& connection);
  Transaction(Transaction&& other) noexcept
      : connection_(std::exchange(other.connection_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();

  StoreResult<Ok> commit();
  void rollback();

 private:
  explicit Transaction(Connection* connection) : connection_(connection) {}
  Connection* connection_;
};

// A pool of connections to one database. Connections are opened lazily up to `max_connections`;
// acquire() waits up to `acquire_timeout` for a free one. The Database must outlive its leases.
class Database {
 public:
  using ConnectionFactory = std::function<StoreResult<std::unique_ptr<Connection>>()>;

  Database(Dialect dialect, size_t max_connections, std::chrono::milliseconds acquire_timeout,
           ConnectionFactory open_connection);
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  Dialect dialect() const { return dialect_; }

  // A connection borrowed from the pool, returned when the lease is destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), connection_(std::move(other.connection_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() const { return *connection_; }
    Connection* operator->() const { return connection_.get(); }

   private:
    friend class Database;
    Lease(Database* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Database* pool_;
    std::unique_ptr<Connection> connection_;
  };

  StoreResult<Lease> acquire();

  // One statement on a pooled connection, outside any explicit transaction.
  StoreResult<std::vector<Row>> query(std::string_view sql,
                                      std::initializer_list<Value> params = {});
  StoreResult<int64_t> execute(std::string_view sql, std::initializer_list<Value> params = {});
  // The same with parameters built at run time.
  StoreResult<int64_t> execute(std::string_view sql, std::span<const Value> params);

  // Runs `work(Connection&)` (which returns a StoreResult<T>) in a transaction on one pooled
  // connection: commits when it succeeds, rolls back when it fails.
  template <class Work>
  auto in_transaction(Work&& work) -> std::invoke_result_t<Work, Connection&> {
    if (dedicated_writer_) {
      // SQLite has one write lock per database file. Threads of this process queue for it here,
      // on a mutex, instead of in SQLite's busy handler, which sleeps 1 ms, then 2, 5, 10 ms and
      // more between attempts while a write transaction takes about 100 us (measured on the
      // refresh grant, bench/oauth/refresh.sh, the sleeping left a third of the CPU idle).
      // Writing on one connection also keeps its page cache: SQLite drops a connection's cache
      // when another connection has written since its last transaction. Other processes on the
      // same file still meet the busy handler. No transaction here opens another (a nested
      // write would wait for itself, on SQLite's lock as before or on this mutex now).
      // Bounded like a wait for a pooled connection: never an endless queue.
      std::unique_lock writer(writer_mutex_, acquire_timeout_);
      if (!writer.owns_lock()) {
        return store_error(StoreError::Code::kUnavailable,
                           "no write transaction could start within " +
                               std::to_string(acquire_timeout_.count()) + " ms");
      }
      auto connection = writer_connection();
      if (!connection) return Err(connection.error());
      return run_transaction(**connection, work);
    }
    auto lease = acquire();
    if (!lease) return Err(lease.error());
    return run_transaction(**lease, work);
  }

  // Write transactions (in_transaction) run one at a time on a connection of their own, opened
  // on first use besides the pool (SQLite files; an in-memory database has one connection).
  void use_dedicated_writer() { dedicated_writer_ = true; }

 private:
  void release(std::unique_ptr<Connection> connection);
  // The writer connection, (re)opened when missing or left inside a transaction. Under
  // writer_mutex_.
  StoreResult<Connection*> writer_connection();

  template <class Work>
  static auto run_transaction(Connection& connection, Work& work)
      -> std::invoke_result_t<Work, Connection&> {
    auto transaction = Transaction::begin(connection);
    if (!transaction) return Err(transaction.error());
    auto result = work(connection);
    if (!result) return result;  // the guard rolls back
    auto committed = transaction->commit();
    if (!committed) return Err(committed.error());
    return result;
  }

  Dialect dialect_;
  size_t max_connections_;
  std::chrono::milliseconds acquire_timeout_;
  ConnectionFactory open_connection_;
  std::mutex mutex_;
  std::condition_variable connection_returned_;
  std::vector<std::unique_ptr<Connection>> idle_;
  size_t open_count_ = 0;
  bool dedicated_writer_ = false;
  std::timed_mutex writer_mutex_;
  std::unique_ptr<Connection> writer_;  // under writer_mutex_
};

// Rewrites `?` placeholders to `$1..$n` for PostgreSQL, leaving string literals, quoted
// identifiers and comments alone. Returns the rewritten SQL and the number of placeholders.
struct RewrittenSql {
  std::string sql;
  size_t placeholder_count = 0;
};
RewrittenSql rewrite_placeholders_for_postgres(std::string_view sql);
// The number of `?` placeholders outside literals and comments.
size_t count_placeholders(std::string_view sql);

}  // namespace tessera::store
