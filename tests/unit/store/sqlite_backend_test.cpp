// What only the SQLite backend promises: file modes, WAL, per-connection pragmas.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

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

  std::filesystem::path dir_;
  std::string path_;
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
  }
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
      plan_of((*store)->database(), " AND (user_relation <> '' OR user_id = '*')");
  EXPECT_NE(usersets.find("fga_tuples_usersets"), std::string::npos) << usersets;
  // read: the primary key's prefix, not fga_tuples_by_ulid (the whole store in write order).
  const std::string all = plan_of((*store)->database(), "");
  EXPECT_NE(all.find("object_id=?"), std::string::npos) << all;
  EXPECT_EQ(all.find("fga_tuples_by_ulid"), std::string::npos) << all;
}

}  // namespace
}  // namespace tessera::store
