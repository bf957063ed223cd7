#include "store/postgres/pg_database.h"

#include <libpq-fe.h>

#include <cstdint>
#include <unordered_map>

namespace tessera::store::postgres {
namespace {

struct PgConnectionCloser {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
struct PgResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgConnectionHandle = std::unique_ptr<PGconn, PgConnectionCloser>;
using PgResultHandle = std::unique_ptr<PGresult, PgResultClearer>;

// Type OIDs from pg_type.h (stable across PostgreSQL versions).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kNameOid = 19;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;
constexpr Oid kUnknownOid = 705;
constexpr Oid kBpcharOid = 1042;
constexpr Oid kVarcharOid = 1043;
constexpr Oid kVoidOid = 2278;

constexpr int kTextFormat = 0;
constexpr int kBinaryFormat = 1;

StoreError::Code code_for_sqlstate(std::string_view sqlstate) {
  if (sqlstate.empty()) return StoreError::Code::kUnavailable;  // no server answer at all
  if (sqlstate == "23505") return StoreError::Code::kConflict;  // unique_violation
  if (sqlstate == "40001" || sqlstate == "40P01") return StoreError::Code::kConflict;
  if (sqlstate.starts_with("23") || sqlstate.starts_with("22")) {
    return StoreError::Code::kInvalidArgument;  // constraint or data exception
  }
  if (sqlstate.starts_with("08") || sqlstate.starts_with("53") || sqlstate.starts_with("57")) {
    return StoreError::Code::kUnavailable;  // connection, resources, operator intervention
  }
  return StoreError::Code::kInternal;
}

// The primary message only: PostgreSQL's DETAIL can quote the offending values (secrets).
Unexpected<StoreError> pg_error(PGconn* connection, const PGresult* result,
                                std::string_view doing) {
  const char* sqlstate = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = "postgres: " + std::string(doing) + ": ";
  if (primary != nullptr) {
    message += primary;
    if (sqlstate != nullptr) message += std::string(" (SQLSTATE ") + sqlstate + ")";
  } else {
    std::string connection_message = PQerrorMessage(connection);
    while (!connection_message.empty() && connection_message.back() == '\n') {
      connection_message.pop_back();
    }
    message += connection_message.empty() ? "unknown error" : connection_message;
  }
  return store_error(code_for_sqlstate(sqlstate != nullptr ? sqlstate : ""), std::move(message));
}

// The statement ran, with or without rows to return.
bool ran(const PGresult* result) {
  const ExecStatusType status = PQresultStatus(result);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

class PgConnection final : public Connection {
 public:
  explicit PgConnection(PgConnectionHandle connection) : connection_(std::move(connection)) {}

  Dialect dialect() const override { return Dialect::kPostgres; }

  bool healthy() const override {
    return PQstatus(connection_.get()) == CONNECTION_OK &&
           PQtransactionStatus(connection_.get()) == PQTRANS_IDLE;
  }

  StoreResult<Ok> execute_script(std::string_view sql) override {
    const std::string script(sql);
    PgResultHandle result(PQexec(connection_.get(), script.c_str()));
    if (!ran(result.get())) return pg_error(connection_.get(), result.get(), "execute");
    return Ok{};
  }

  StoreResult<QueryResult> run(std::string_view sql, std::span<const Value> params) override {
    auto prepared = prepare(sql);
    if (!prepared) return Err(prepared.error());
    const auto& [name, placeholder_count] = **prepared;
    if (placeholder_count != params.size()) {
      return store_error(StoreError::Code::kInvalidArgument,
                         "postgres: statement takes " + std::to_string(placeholder_count) +
                             " parameters, got " + std::to_string(params.size()));
    }

    // Integers go as decimal text; text and blobs go in binary format, which carries their exact
    // length (text format would stop at a NUL byte) and lets the server reject invalid text.
    std::vector<std::string> integer_texts(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<int> lengths(params.size(), 0);
    std::vector<int> formats(params.size(), kTextFormat);
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& value = params[i];
      switch (value.kind()) {
        case Value::Kind::kNull:
          break;
        case Value::Kind::kInteger:
          integer_texts[i] = std::to_string(value.integer());
          values[i] = integer_texts[i].c_str();
          break;
        case Value::Kind::kText:
        case Value::Kind::kBlob:
          if (value.bytes().size() > static_cast<size_t>(INT32_MAX)) {
            return store_error(StoreError::Code::kInvalidArgument,
                               "postgres: parameter " + std::to_string(i + 1) + " is too large");
          }
          values[i] = value.bytes().data();
          lengths[i] = static_cast<int>(value.bytes().size());
          formats[i] = kBinaryFormat;
          break;
      }
    }
    PgResultHandle result(PQexecPrepared(connection_.get(), name.c_str(),
                                         static_cast<int>(params.size()), values.data(),
                                         lengths.data(), formats.data(), kBinaryFormat));
    if (!ran(result.get())) return pg_error(connection_.get(), result.get(), "execute");
    return read_result(result.get());
  }

 private:
  struct PreparedStatement {
    std::string name;
    size_t placeholder_count;
  };

  StoreResult<const PreparedStatement*> prepare(std::string_view sql) {
    std::string key(sql);
    if (auto found = statements_.find(key); found != statements_.end()) return &found->second;
    RewrittenSql rewritten = rewrite_placeholders_for_postgres(sql);
    PreparedStatement statement{"tessera_" + std::to_string(statements_.size() + 1),
                                rewritten.placeholder_count};
    // No parameter types: the server infers them from the statement, as for literals.
    PgResultHandle result(PQprepare(connection_.get(), statement.name.c_str(),
                                    rewritten.sql.c_str(),
                                    static_cast<int>(rewritten.placeholder_count), nullptr));
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      return pg_error(connection_.get(), result.get(), "prepare");
    }
    auto [inserted, _] = statements_.emplace(std::move(key), std::move(statement));
    return &inserted->second;
  }

  static StoreResult<QueryResult> read_result(const PGresult* result) {
    QueryResult out;
    const int rows = PQntuples(result);
    const int columns = PQnfields(result);
    out.rows.reserve(rows);
    for (int r = 0; r < rows; ++r) {
      std::vector<Value> cells;
      cells.reserve(columns);
      for (int c = 0; c < columns; ++c) {
        auto cell = read_cell(result, r, c);
        if (!cell) return Err(cell.error());
        cells.push_back(std::move(*cell));
      }
      out.rows.emplace_back(std::move(cells));
    }
    const char* affected = PQcmdTuples(const_cast<PGresult*>(result));
    if (PQresultStatus(result) == PGRES_COMMAND_OK && affected != nullptr && *affected != '\0') {
      out.affected_rows = std::stoll(affected);
    }
    return out;
  }

  static StoreResult<Value> read_cell(const PGresult* result, int row, int column) {
    if (PQgetisnull(result, row, column)) return Value(nullptr);
    const char* data = PQgetvalue(result, row, column);
    const size_t length = static_cast<size_t>(PQgetlength(result, row, column));
    const Oid type = PQftype(result, column);
    // A signed integer of `width` bytes (2, 4 or 8), network order (PostgreSQL's binary format).
    auto big_endian = [&](size_t width) -> StoreResult<Value> {
      if (width == 0 || width > 8 || length != width) {
        return store_error(StoreError::Code::kInternal, "postgres: malformed integer column");
      }
      uint64_t raw = 0;
      for (size_t i = 0; i < width; ++i) raw = (raw << 8) | static_cast<unsigned char>(data[i]);
      // Sign-extend narrower integers.
      if (width < 8 && (raw >> (width * 8 - 1)) != 0) raw |= ~uint64_t{0} << (width * 8);
      return Value(static_cast<int64_t>(raw));
    };
    switch (type) {
      case kInt8Oid:
        return big_endian(8);
      case kInt4Oid:
        return big_endian(4);
      case kInt2Oid:
        return big_endian(2);
      case kBoolOid:
        return Value(static_cast<int64_t>(length == 1 && data[0] != 0));
      case kByteaOid:
        return Value(Blob{std::string(data, length)});
      case kTextOid:
      case kVarcharOid:
      case kBpcharOid:
      case kNameOid:
      case kUnknownOid:
        return Value(std::string(data, length));
      case kVoidOid:
        return Value(nullptr);
      default:
        break;
    }
    return store_error(StoreError::Code::kInternal,
                       "postgres: column " + std::to_string(column + 1) + " has type OID " +
                           std::to_string(type) + ", which the store cannot read; cast it");
  }

  PgConnectionHandle connection_;
  std::unordered_map<std::string, PreparedStatement> statements_;
};

StoreResult<std::unique_ptr<Connection>> open_connection(const std::string& connection_string) {
  PgConnectionHandle connection(PQconnectdb(connection_string.c_str()));
  if (connection == nullptr) {
    return store_error(StoreError::Code::kUnavailable, "postgres: out of memory connecting");
  }
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    return pg_error(connection.get(), nullptr, "connect");
  }
  // NOTICEs (e.g. "relation already exists, skipping") would go to stderr by default.
  PQsetNoticeProcessor(
      connection.get(), [](void*, const char*) {}, nullptr);
  return std::unique_ptr<Connection>(std::make_unique<PgConnection>(std::move(connection)));
}

}  // namespace

StoreResult<std::unique_ptr<Database>> open_pg_database(const PgOptions& options) {
  if (options.connection_string.empty()) {
    return store_error(StoreError::Code::kInvalidArgument, "postgres: connection string is empty");
  }
  auto database =
      std::make_unique<Database>(Dialect::kPostgres, options.pool_size, options.acquire_timeout,
                                 [connection_string = options.connection_string] {
                                   return open_connection(connection_string);
                                 });
  {
    auto first = database->acquire();
    if (!first) return Err(first.error());
  }
  return database;
}

}  // namespace tessera::store::postgres
