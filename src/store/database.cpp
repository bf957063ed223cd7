#include "store/database.h"

#include <stdexcept>
#include <utility>

namespace tessera::store {

std::string_view to_string(StoreError::Code code) {
  switch (code) {
    case StoreError::Code::kInvalidArgument:
      return "invalid_argument";
    case StoreError::Code::kNotFound:
      return "not_found";
    case StoreError::Code::kConflict:
      return "conflict";
    case StoreError::Code::kUnavailable:
      return "unavailable";
    case StoreError::Code::kSchemaTooNew:
      return "schema_too_new";
    case StoreError::Code::kInternal:
      return "internal";
  }
  return "internal";
}

int64_t Value::integer() const {
  if (kind_ == Kind::kInteger) return integer_;
  throw std::logic_error("store: value is not an integer");
}

const std::string& Value::bytes() const {
  if (kind_ == Kind::kText || kind_ == Kind::kBlob) return bytes_;
  throw std::logic_error("store: value is neither text nor blob");
}

std::optional<int64_t> Row::nullable_integer(size_t column) const {
  if (is_null(column)) return std::nullopt;
  return integer(column);
}

StoreResult<std::vector<Row>> Connection::query(std::string_view sql,
                                                std::initializer_list<Value> params) {
  auto result = run(sql, std::span<const Value>(params.begin(), params.size()));
  if (!result) return Err(result.error());
  return std::move(result->rows);
}

StoreResult<int64_t> Connection::execute(std::string_view sql,
                                         std::initializer_list<Value> params) {
  auto result = run(sql, std::span<const Value>(params.begin(), params.size()));
  if (!result) return Err(result.error());
  return result->affected_rows;
}

StoreResult<Transaction> Transaction::begin(Connection& connection) {
  const char* begin_sql = connection.dialect() == Dialect::kSqlite ? "BEGIN IMMEDIATE" : "BEGIN";
  auto begun = connection.execute_script(begin_sql);
  if (!begun) return Err(begun.error());
  return Transaction(&connection);
}

StoreResult<Transaction> Transaction::begin_read(Connection& connection) {
  const char* begin_sql = connection.dialect() == Dialect::kSqlite
                              ? "BEGIN DEFERRED"
                              : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
  auto begun = connection.execute_script(begin_sql);
  if (!begun) return Err(begun.error());
  return Transaction(&connection);
}

Transaction::~Transaction() { rollback(); }

StoreResult<Ok> Transaction::commit() {
  if (connection_ == nullptr) {
    return store_error(StoreError::Code::kInvalidArgument, "transaction already finished");
  }
  auto committed = connection_->execute_script("COMMIT");
  if (!committed) {
    rollback();
    return committed;
  }
  connection_ = nullptr;
  return Ok{};
}

void Transaction::rollback() {
  if (connection_ == nullptr) return;
  // A failed ROLLBACK leaves the connection inside a transaction; healthy() then reports it and
  // the pool drops the connection instead of reusing it.
  (void)std::exchange(connection_, nullptr)->execute_script("ROLLBACK");
}

Database::Database(Dialect dialect, size_t max_connections,
                   std::chrono::milliseconds acquire_timeout, ConnectionFactory open_connection)
    : dialect_(dialect),
      max_connections_(max_connections == 0 ? 1 : max_connections),
      acquire_timeout_(acquire_timeout),
      open_connection_(std::move(open_connection)) {}

Database::~Database() = default;

Database::Lease::~Lease() {
  if (pool_ != nullptr && connection_ != nullptr) pool_->release(std::move(connection_));
}

StoreResult<Database::Lease> Database::acquire() {
  std::unique_lock lock(mutex_);
  const bool available = connection_returned_.wait_for(
      lock, acquire_timeout_, [this] { return !idle_.empty() || open_count_ < max_connections_; });
  if (!available) {
    return store_error(StoreError::Code::kUnavailable,
                       "no database connection became free within " +
                           std::to_string(acquire_timeout_.count()) + " ms (pool of " +
                           std::to_string(max_connections_) + ")");
  }
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(connection));
  }
  ++open_count_;
  lock.unlock();  // opening a connection can take a network round trip
  auto opened = open_connection_();
  if (!opened) {
    lock.lock();
    --open_count_;
    connection_returned_.notify_one();
    return Err(opened.error());
  }
  return Lease(this, std::move(*opened));
}

StoreResult<Connection*> Database::writer_connection() {
  if (!writer_ || !writer_->healthy()) {
    writer_.reset();
    auto opened = open_connection_();
    if (!opened) return Err(opened.error());
    writer_ = std::move(*opened);
  }
  return writer_.get();
}

void Database::release(std::unique_ptr<Connection> connection) {
  std::unique_ptr<Connection> dropped;
  {
    std::lock_guard lock(mutex_);
    if (connection->healthy()) {
      idle_.push_back(std::move(connection));
    } else {
      dropped = std::move(connection);
      --open_count_;
    }
  }
  connection_returned_.notify_one();
}

StoreResult<std::vector<Row>> Database::query(std::string_view sql,
                                              std::initializer_list<Value> params) {
  auto lease = acquire();
  if (!lease) return Err(lease.error());
  return (*lease)->query(sql, params);
}

StoreResult<int64_t> Database::execute(std::string_view sql, std::initializer_list<Value> params) {
  return execute(sql, std::span<const Value>(params.begin(), params.size()));
}

StoreResult<int64_t> Database::execute(std::string_view sql, std::span<const Value> params) {
  auto lease = acquire();
  if (!lease) return Err(lease.error());
  auto result = (*lease)->run(sql, params);
  if (!result) return Err(result.error());
  return result->affected_rows;
}

namespace {

// Walks `sql`, calling on_placeholder(position) for every `?` outside '...', "...", -- and /* */.
template <class OnPlaceholder, class OnChar>
void scan_placeholders(std::string_view sql, OnPlaceholder on_placeholder, OnChar on_char) {
  size_t i = 0;
  auto copy_until = [&](std::string_view terminator) {
    const size_t end = sql.find(terminator, i);
    const size_t stop = end == std::string_view::npos ? sql.size() : end + terminator.size();
    for (; i < stop; ++i) on_char(sql[i]);
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      // Doubled quotes inside a literal close and reopen it, which this handles naturally.
      on_char(sql[i++]);
      copy_until(std::string_view(&c, 1));
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      copy_until("\n");
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      on_char(sql[i++]);
      on_char(sql[i++]);
      copy_until("*/");
    } else if (c == '?') {
      on_placeholder();
      ++i;
    } else {
      on_char(sql[i++]);
    }
  }
}

}  // namespace

RewrittenSql rewrite_placeholders_for_postgres(std::string_view sql) {
  RewrittenSql rewritten;
  rewritten.sql.reserve(sql.size() + 8);
  scan_placeholders(
      sql,
      [&] {
        rewritten.sql += '$';
        rewritten.sql += std::to_string(++rewritten.placeholder_count);
      },
      [&](char c) { rewritten.sql += c; });
  return rewritten;
}

size_t count_placeholders(std::string_view sql) {
  size_t count = 0;
  scan_placeholders(
      sql, [&] { ++count; }, [](char) {});
  return count;
}

}  // namespace tessera::store
