// What only the SQLite backend promises: file modes, WAL, per-connection pragmas.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include "fga/dsl.h"
#include "store/sqlite/sqlite_database.h"
#include "store/store.h"

namespace tessera::store {
namespace {

class SqliteBackend : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "tessera-sqlite-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "tessera.db").string();
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  static mode_t mode_of(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return 0;
    return info.st_mode & 07777;
  }
  StoreConfig config() const {
    StoreConfig config;
    config.driver = Driver::kSqlite;
    config.sqlite_path = path_;
    return config;
  }

  // The database at path_ opened with `options`, with `schema` run on it; the test fails (and the
  // returned reference is not to be used) when either fails.
  Database& open_with(const sqlite::SqliteOptions& options, std::string_view schema) {
    auto opened = sqlite::open_sqlite_database(options);
    EXPECT_TRUE(opened) << opened.error().message;
    if (!opened) throw std::runtime_error("open_sqlite_database failed");
    database_ = std::move(*opened);
    auto lease = database_->acquire();
    if (!lease || !(*lease)->execute_script(schema)) throw std::runtime_error("schema failed");
    return *database_;
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<Database> database_;
};

// Restores the process umask at scope exit.
struct UmaskScope {
  explicit UmaskScope(mode_t mask) : previous(::umask(mask)) {}
  ~UmaskScope() { ::umask(previous); }
  mode_t previous;
};

TEST_F(SqliteBackend, DatabaseWalAndShmFilesAreOwnerOnlyEvenWithAPermissiveUmask) {
  UmaskScope permissive(0);
  auto store = open_store(config());
  ASSERT_TRUE(store) << store.error().message;
  ASSERT_TRUE((*store)->settings().put("k", "v"));  // writes go through the WAL
  for (const std::string& file : {path_, path_ + "-wal", path_ + "-shm"}) {
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    EXPECT_EQ(mode_of(file), 0600u) << file;
  }
}

TEST_F(SqliteBackend, ExistingWorldReadableDatabaseIsTightenedTo0600) {
  { std::ofstream(path_).flush(); }
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  auto store = open_store(config());
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ(mode_of(path_), 0600u);
}

TEST_F(SqliteBackend, EveryPooledConnectionRunsWalForeignKeysAndSynchronousNormal) {
  StoreConfig two = config();
  two.pool_size = 2;
  auto database = open_database(two);
  ASSERT_TRUE(database) << database.error().message;
  auto first = (*database)->acquire();
  auto second = (*database)->acquire();  // forces a second connection to open
  ASSERT_TRUE(first && second);
  for (Connection* connection : {&**first, &**second}) {
    auto journal = connection->query("PRAGMA journal_mode");
    ASSERT_TRUE(journal);
    EXPECT_EQ(journal->front().text(0), "wal");
    auto foreign_keys = connection->query("PRAGMA foreign_keys");
    ASSERT_TRUE(foreign_keys);
    EXPECT_EQ(foreign_keys->front().integer(0), 1);
    auto synchronous = connection->query("PRAGMA synchronous");
    ASSERT_TRUE(synchronous);
    EXPECT_EQ(synchronous->front().integer(0), 1);  // NORMAL
    auto checkpoint = connection->query("PRAGMA wal_autocheckpoint");
    ASSERT_TRUE(checkpoint);
    EXPECT_EQ(checkpoint->front().integer(0), 10000);
  }
}

// Write transactions of one process queue on the database's writer mutex, not in SQLite's busy
// handler: with no busy timeout at all, concurrent writers would otherwise get SQLITE_BUSY.
// Each transaction reads and rewrites a counter, so a lost update would show in the total too.
TEST_F(SqliteBackend, ConcurrentWritersOfOneProcessQueueAndLoseNoUpdate) {
  Database& db =
      open_with({.path = path_, .pool_size = 4, .busy_timeout = std::chrono::milliseconds(0)},
                "CREATE TABLE counter (n BIGINT NOT NULL);"
                "INSERT INTO counter (n) VALUES (0);");
  constexpr int kThreads = 4;
  constexpr int kEach = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        auto done = db.in_transaction([](Connection& c) -> StoreResult<int64_t> {
          auto rows = c.query("SELECT n FROM counter");
          if (!rows) return Err(rows.error());
          return c.execute("UPDATE counter SET n = ?", {rows->front().integer(0) + 1});
        });
        if (!done) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto total = db.query("SELECT n FROM counter");
  ASSERT_TRUE(total);
  EXPECT_EQ(total->front().integer(0), kThreads * kEach);
}

// The writer mutex waits no longer than a pooled connection would (acquire_timeout): a write
// stuck behind a long one gets a clear "unavailable", not an endless wait.
TEST_F(SqliteBackend, AWriterQueuedBehindALongTransactionGivesUpAfterTheAcquireTimeout) {
  Database& db =
      open_with({.path = path_, .pool_size = 2, .acquire_timeout = std::chrono::milliseconds(100)},
                "CREATE TABLE t (n BIGINT);");
  std::atomic<bool> holding{false};
  std::thread long_writer([&] {
    auto done = db.in_transaction([&](Connection& c) -> StoreResult<int64_t> {
      holding = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(600));
      return c.execute("INSERT INTO t (n) VALUES (1)");
    });
    EXPECT_TRUE(done);
  });
  while (!holding) std::this_thread::yield();
  auto queued = db.in_transaction([](Connection& c) -> StoreResult<int64_t> {
    return c.execute("INSERT INTO t (n) VALUES (2)");
  });
  ASSERT_FALSE(queued);
  EXPECT_EQ(queued.error().code, StoreError::Code::kUnavailable) << queued.error().message;
  long_writer.join();
  auto rows = db.query("SELECT n FROM t");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1U);  // the long one committed; the one that gave up wrote nothing
  EXPECT_EQ(rows->front().integer(0), 1);
}

TEST_F(SqliteBackend, ForeignKeysAreEnforced) {
  auto database = open_database(config());
  ASSERT_TRUE(database) << database.error().message;
  ASSERT_TRUE((*database)->acquire().value()->execute_script(
      "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
      "CREATE TABLE child (parent_id INTEGER REFERENCES parent (id));"));
  auto orphan = (*database)->execute("INSERT INTO child (parent_id) VALUES (42)");
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code, StoreError::Code::kInvalidArgument) << orphan.error().message;
}

TEST_F(SqliteBackend, UnopenablePathIsAnErrorNotACrash) {
  StoreConfig missing_dir = config();
  missing_dir.sqlite_path = (dir_ / "no" / "such" / "dir" / "tessera.db").string();
  auto store = open_store(missing_dir);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, StoreError::Code::kUnavailable);
  EXPECT_NE(store.error().message.find("tessera.db"), std::string::npos);

  StoreConfig empty = config();
  empty.sqlite_path = "";
  auto no_path = open_store(empty);
  ASSERT_FALSE(no_path);
  EXPECT_EQ(no_path.error().code, StoreError::Code::kInvalidArgument);
}

TEST_F(SqliteBackend, FileThatIsNotADatabaseIsAnError) {
  { std::ofstream(path_) << "definitely not sqlite, just some text that is long enough........"; }
  auto store = open_store(config());
  ASSERT_FALSE(store);
  EXPECT_FALSE(store.error().message.empty());
}

TEST(PostgresBackend, UnreachableServerIsUnavailableNotACrash) {
  StoreConfig config;
  config.driver = Driver::kPostgres;
  // Port 1 on loopback: nothing listens there.
  config.postgres_connection = "host=127.0.0.1 port=1 user=nobody dbname=none connect_timeout=5";
  auto store = open_store(config);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, StoreError::Code::kUnavailable);
  EXPECT_NE(store.error().message.find("connect"), std::string::npos) << store.error().message;
}

TEST(PostgresBackend, EmptyConnectionStringIsRejected) {
  StoreConfig config;
  config.driver = Driver::kPostgres;
  auto store = open_store(config);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, StoreError::Code::kInvalidArgument);
}

TEST(StoreConfigParsing, DriverNamesParse) {
  EXPECT_EQ(parse_driver("sqlite"), Driver::kSqlite);
  EXPECT_EQ(parse_driver("postgres"), Driver::kPostgres);
  EXPECT_EQ(parse_driver("mysql"), std::nullopt);
}

// The query plans of the engine's tuple reads (FgaStore's reader: the WHEREs it builds): each
// must search by the object#relation it names, never walk the store or every member. SELECT *,
// like the reader's column list, is not covered by any index.
std::string plan_of(Database& database, const std::string& where) {
  auto plan = database.query(
      "EXPLAIN QUERY PLAN SELECT * FROM fga_tuples WHERE store_id = ?"
      " AND object_type = ? AND object_id = ? AND relation = ?" +
          where,
      {std::string("s"), std::string("group"), std::string("eng"), std::string("member")});
  EXPECT_TRUE(plan) << plan.error().message;
  std::string text;
  if (plan) {
    for (const Row& row : *plan) text += row.text(row.size() - 1) + "\n";
  }
  return text;
}

TEST_F(SqliteBackend, TupleReadsOfAChecksSearchTheirObjectNotTheStore) {
  auto store = open_store(config());
  ASSERT_TRUE(store) << store.error().message;
  // read_userset_tuples: the partial index of migration 9 holds only usersets and wildcards.
  const std::string usersets =
      plan_of((*store)->database(), " AND NOT (user_relation = '' AND user_id <> '*')");
  EXPECT_NE(usersets.find("fga_tuples_usersets"), std::string::npos) << usersets;
  // read: the primary key's prefix, not fga_tuples_by_ulid (the whole store in write order).
  const std::string all = plan_of((*store)->database(), "");
  EXPECT_NE(all.find("object_id=?"), std::string::npos) << all;
  EXPECT_EQ(all.find("fga_tuples_by_ulid"), std::string::npos) << all;
}

// SQLite re-prepares a statement on every new binding when the planner looked at a bound value
// (sqlite3ExprCompare on a TK_VARIABLE, e.g. against a partial index's `user_id = '*'`). The
// engine's point lookup and userset read run on every direct check, so neither may: prepared
// once, each is stepped with many bindings here and SQLite's own counter must stay at zero.
TEST_F(SqliteBackend, TheChecksLookupsAreNotRepreparedPerBinding) {
  {
    auto store = open_store(config());
    ASSERT_TRUE(store) << store.error().message;
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  const std::string lookups[] = {
      "SELECT * FROM fga_tuples WHERE store_id = ?1 AND object_type = ?2 AND object_id = ?3"
      " AND relation = ?4 AND user_type = ?5 AND user_id = ?6 AND user_relation = ?7",
      "SELECT * FROM fga_tuples WHERE store_id = ?1 AND object_type = ?2 AND object_id = ?3"
      " AND relation = ?4 AND NOT (user_relation = '' AND user_id <> '*')",
  };
  for (const std::string& sql : lookups) {
    sqlite3_stmt* statement = nullptr;
    ASSERT_EQ(
        sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr),
        SQLITE_OK)
        << sqlite3_errmsg(db);
    for (const char* id : {"anne", "*", "bob", "carl"}) {
      const int count = sqlite3_bind_parameter_count(statement);
      for (int i = 1; i <= count; ++i) {
        const std::string value = i == 6 ? id : (i == 7 ? "" : "v" + std::to_string(i));
        sqlite3_bind_text(statement, i, value.c_str(), -1, SQLITE_TRANSIENT);
      }
      while (sqlite3_step(statement) == SQLITE_ROW) {
      }
      sqlite3_reset(statement);
    }
    EXPECT_EQ(sqlite3_stmt_status(statement, SQLITE_STMTSTATUS_REPREPARE, 0), 0) << sql;
    sqlite3_finalize(statement);
  }
  sqlite3_close(db);
}

// The plan of every query FgaStore really sends: a connection that, before running a SELECT,
// asks SQLite for its plan with the same parameters. It borrows a connection of another pool
// (the real one) for its lifetime.
class PlanRecordingConnection final : public Connection {
 public:
  struct Plan {
    std::string sql;
    std::string plan;
  };
  PlanRecordingConnection(Database::Lease lease, std::vector<Plan>& plans)
      : lease_(std::move(lease)), plans_(plans) {}

  Dialect dialect() const override { return lease_->dialect(); }
  bool healthy() const override { return lease_->healthy(); }
  StoreResult<Ok> execute_script(std::string_view sql) override {
    return lease_->execute_script(sql);
  }
  StoreResult<QueryResult> run(std::string_view sql, std::span<const Value> params) override {
    if (sql.rfind("SELECT", 0) == 0) {
      auto plan = lease_->run("EXPLAIN QUERY PLAN " + std::string(sql), params);
      EXPECT_TRUE(plan) << plan.error().message;
      std::string text;
      if (plan) {
        for (const Row& row : plan->rows) text += row.text(row.size() - 1) + "\n";
      }
      plans_.push_back(Plan{std::string(sql), text});
    }
    return lease_->run(sql, params);
  }

 private:
  Database::Lease lease_;
  std::vector<Plan>& plans_;
};

// SQLite's words for a walk of a whole table or index ("SCAN t", "SCAN t USING INDEX i") and
// for a sort ("USE TEMP B-TREE FOR ORDER BY").
bool scans_or_sorts(const std::string& plan) {
  return plan.find("SCAN ") != std::string::npos || plan.find("TEMP B-TREE") != std::string::npos;
}

TEST_F(SqliteBackend, ReadLatestModelIdAndReverseLookupsSearchAnIndexInItsOrder) {
  FixedClock clock(1'700'000'000);
  StoreConfig one = config();
  one.clock = &clock;
  auto store = open_store(one);
  ASSERT_TRUE(store) << store.error().message;
  FgaStore& seed = (*store)->fga();
  auto created = seed.create_store("plans");
  ASSERT_TRUE(created) << created.error().message;
  const std::string id = created->id;
  auto model = fga::parse_dsl(
      "model\n  schema 1.1\ntype user\ntype group\n  relations\n    define member: [user]\n"
      "type doc\n  relations\n    define viewer: [user, group#member]\n"
      "    define editor: [user]\n");
  ASSERT_TRUE(model) << model.error().message;
  ASSERT_TRUE(seed.write_model(id, *model));
  FgaWriteRequest request;
  for (const char* object : {"doc:1", "doc:2"}) {
    for (const char* user : {"user:anne", "user:bob", "group:eng#member"}) {
      request.writes.push_back(fga::TupleKey{object, "viewer", user, {}, nullptr});
    }
    request.writes.push_back(fga::TupleKey{object, "editor", "user:anne", {}, nullptr});
  }
  ASSERT_TRUE(seed.write_tuples(id, request));

  // A store over a pool of one recording connection, itself over the real database.
  StoreConfig single = config();
  single.pool_size = 1;
  auto real = open_database(single);
  ASSERT_TRUE(real) << real.error().message;
  std::vector<PlanRecordingConnection::Plan> plans;
  std::mutex plans_mutex;
  Database recording(Dialect::kSqlite, 1, std::chrono::milliseconds(5000),
                     [&]() -> StoreResult<std::unique_ptr<Connection>> {
                       std::lock_guard lock(plans_mutex);
                       auto lease = (*real)->acquire();
                       if (!lease) return Err(lease.error());
                       return std::unique_ptr<Connection>(
                           std::make_unique<PlanRecordingConnection>(std::move(*lease), plans));
                     });
  auto fga = make_sql_fga_store(recording, clock);

  // Each read, with its first page and the page after a token; the plans of its fga_tuples
  // queries must all name one of `indexes` and neither scan nor sort.
  auto expect_plans = [&](const FgaReadFilter& filter, const std::vector<std::string>& indexes) {
    plans.clear();
    auto first = fga->read_tuples(id, filter, FgaPageRequest{1, {}});
    ASSERT_TRUE(first) << first.error().message;
    const bool one_tuple =
        !filter.relation.empty() && !filter.user.empty() && filter.object.back() != ':';
    if (!one_tuple) {
      ASSERT_FALSE(first->continuation_token.empty()) << filter.object;
      auto second = fga->read_tuples(id, filter, FgaPageRequest{1, first->continuation_token});
      ASSERT_TRUE(second) << second.error().message;
    }
    int tuple_queries = 0;
    for (const auto& plan : plans) {
      if (plan.sql.find("FROM fga_tuples") == std::string::npos) continue;
      ++tuple_queries;
      EXPECT_TRUE(std::any_of(
          indexes.begin(), indexes.end(),
          [&](const std::string& index) { return plan.plan.find(index) != std::string::npos; }))
          << plan.sql << "\n"
          << plan.plan;
      EXPECT_FALSE(scans_or_sorts(plan.plan)) << plan.sql << "\n" << plan.plan;
      // The page after a token starts inside the index: its position is part of the search.
      if (tuple_queries == 2) {
        EXPECT_NE(plan.plan.find('>'), std::string::npos) << plan.plan;
      }
    }
    EXPECT_EQ(tuple_queries, one_tuple ? 1 : 2) << filter.object;
  };
  // The primary key under the object, with or without relation and user.
  const std::string primary_key =
      "sqlite_autoindex_fga_tuples_1 (store_id=? AND object_type=? AND object_id=?";
  // The user first, then the type (and the relation when given).
  const std::string by_user =
      "fga_tuples_by_user_and_type (store_id=? AND user_type=? AND user_id=? AND "
      "user_relation=? AND object_type=?";
  expect_plans(FgaReadFilter{"doc:1", "", ""}, {primary_key});
  expect_plans(FgaReadFilter{"doc:1", "viewer", ""}, {primary_key + " AND relation=?"});
  expect_plans(
      FgaReadFilter{"doc:1", "viewer", "user:bob"},
      {primary_key + " AND relation=? AND user_type=? AND user_id=? AND user_relation=?)"});
  // Object and user: either index holds them in relation order.
  expect_plans(FgaReadFilter{"doc:1", "", "user:anne"}, {primary_key, by_user});
  expect_plans(FgaReadFilter{"doc:", "", "user:anne"}, {by_user});
  expect_plans(FgaReadFilter{"doc:", "viewer", "group:eng#member"}, {by_user + " AND relation=?"});
  // No filter: the store in write order.
  expect_plans(FgaReadFilter{}, {"fga_tuples_by_ulid (store_id=?"});

  // latest_model_id: the store by its key, the model by the last entry of (store_id, id).
  plans.clear();
  auto latest = fga->latest_model_id(id);
  ASSERT_TRUE(latest) << latest.error().message;
  ASSERT_EQ(plans.size(), 1U);
  EXPECT_NE(plans[0].plan.find("sqlite_autoindex_fga_stores_1 (id=?)"), std::string::npos)
      << plans[0].plan;
  EXPECT_NE(plans[0].plan.find("sqlite_autoindex_fga_models_1 (store_id=?)"), std::string::npos)
      << plans[0].plan;
  EXPECT_FALSE(scans_or_sorts(plans[0].plan)) << plans[0].plan;

  // The engine's reverse lookup (ListObjects) uses the user-first index too.
  plans.clear();
  auto reader = fga->reader_of_live_store(id);
  ASSERT_TRUE(reader) << reader.error().message;
  auto found = (*reader)->read_starting_with_user("doc", "viewer", {"user:bob"});
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->size(), 2U);
  ASSERT_EQ(plans.size(), 1U);
  EXPECT_NE(plans[0].plan.find("fga_tuples_by_user_and_type (store_id=? AND user_type=? AND "
                               "user_id=? AND user_relation=? AND object_type=? AND relation=?)"),
            std::string::npos)
      << plans[0].plan;
  EXPECT_FALSE(scans_or_sorts(plans[0].plan)) << plans[0].plan;
}

}  // namespace
}  // namespace tessera::store
