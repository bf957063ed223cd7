// Versioned migrations and open_store's use of them; on both backends.
#include "store/migrations.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "backend_fixture.h"

namespace tessera::store::testing {
namespace {

using Code = StoreError::Code;

constexpr Migration kCreateNotes{1, "notes", "CREATE TABLE notes (id BIGINT PRIMARY KEY)",
                                 "CREATE TABLE notes (id BIGINT PRIMARY KEY)"};
constexpr Migration kAddTags{2, "tags", "CREATE TABLE tags (name TEXT PRIMARY KEY)",
                             "CREATE TABLE tags (name TEXT PRIMARY KEY)"};
// Creates a table, then fails: the table must not survive.
constexpr Migration kBroken{3, "broken", "CREATE TABLE half_done (id BIGINT); CREATE TABLE oops (",
                            "CREATE TABLE half_done (id BIGINT); CREATE TABLE oops ("};

class MigrationsTest : public BackendTest {
 protected:
  bool table_exists(Database& database, std::string_view table) {
    auto rows = database.query(std::string("SELECT COUNT(*) FROM ") + std::string(table));
    return static_cast<bool>(rows);
  }
  std::vector<std::pair<int64_t, std::string>> recorded(Database& database) {
    std::vector<std::pair<int64_t, std::string>> out;
    auto rows = database.query("SELECT version, name FROM schema_migrations ORDER BY version");
    EXPECT_TRUE(rows) << rows.error().message;
    if (rows) {
      for (const Row& row : *rows) out.emplace_back(row.integer(0), row.text(1));
    }
    return out;
  }
};

TEST_P(MigrationsTest, AppliesEachMigrationOnceAndRecordsIt) {
  auto database = open_database_or_fail();
  ASSERT_NE(database, nullptr);
  const Migration migrations[] = {kCreateNotes, kAddTags};
  auto outcome = migrate(*database, migrations);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->version_before, 0);
  EXPECT_EQ(outcome->version_after, 2);
  EXPECT_EQ(outcome->applied, (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(table_exists(*database, "notes"));
  EXPECT_TRUE(table_exists(*database, "tags"));
  EXPECT_EQ(recorded(*database),
            (std::vector<std::pair<int64_t, std::string>>{{1, "notes"}, {2, "tags"}}));
}

TEST_P(MigrationsTest, RunningAgainAppliesNothingAndKeepsData) {
  auto database = open_database_or_fail();
  ASSERT_NE(database, nullptr);
  const Migration migrations[] = {kCreateNotes, kAddTags};
  ASSERT_TRUE(migrate(*database, migrations));
  ASSERT_TRUE(database->execute("INSERT INTO notes (id) VALUES (7)"));

  auto again = migrate(*database, migrations);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->applied.empty());
  EXPECT_EQ(again->version_before, 2);
  EXPECT_EQ(again->version_after, 2);
  auto rows = database->query("SELECT id FROM notes");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front().integer(0), 7);
  EXPECT_EQ(recorded(*database).size(), 2u);
}

TEST_P(MigrationsTest, UpgradeAppliesOnlyTheNewMigrations) {
  auto database = open_database_or_fail();
  ASSERT_NE(database, nullptr);
  const Migration old_binary[] = {kCreateNotes};
  const Migration new_binary[] = {kCreateNotes, kAddTags};
  ASSERT_TRUE(migrate(*database, old_binary));
  auto upgraded = migrate(*database, new_binary);
  ASSERT_TRUE(upgraded) << upgraded.error().message;
  EXPECT_EQ(upgraded->applied, (std::vector<int64_t>{2}));
}

TEST_P(MigrationsTest, RefusesADatabaseMigratedByANewerBinary) {
  auto database = open_database_or_fail();
  ASSERT_NE(database, nullptr);
  const Migration new_binary[] = {kCreateNotes, kAddTags};
  const Migration old_binary[] = {kCreateNotes};
  ASSERT_TRUE(migrate(*database, new_binary));
  auto refused = migrate(*database, old_binary);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kSchemaTooNew);
  EXPECT_NE(refused.error().message.find("version 2"), std::string::npos)
      << refused.error().message;
}

TEST_P(MigrationsTest, FailedMigrationLeavesNoTraceAndKeepsEarlierOnes) {
  auto database = open_database_or_fail();
  ASSERT_NE(database, nullptr);
  const Migration migrations[] = {kCreateNotes, kAddTags, kBroken};
  auto failed = migrate(*database, migrations);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("migration 3 (broken)"), std::string::npos)
      << failed.error().message;
  EXPECT_EQ(recorded(*database).size(), 2u);
  EXPECT_TRUE(table_exists(*database, "tags"));
  EXPECT_FALSE(table_exists(*database, "half_done"));
}

TEST_P(MigrationsTest, RejectsAListThatIsNotStrictlyIncreasing) {
  auto database = open_database_or_fail();
  ASSERT_NE(database, nullptr);
  const Migration unordered[] = {kAddTags, kCreateNotes};
  auto rejected = migrate(*database, unordered);
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code, Code::kInvalidArgument);
  EXPECT_FALSE(table_exists(*database, "tags"));
}

TEST_P(MigrationsTest, OpenStoreAppliesTheSchemaOnceAndReopensIdempotently) {
  {
    auto store = open_store_or_fail();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(recorded(store->database()).size(), tessera_schema().size());
    ASSERT_TRUE(store->settings().put("instance", "one"));
  }
  auto reopened = open_store_or_fail();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(recorded(reopened->database()).size(), tessera_schema().size());
  auto value = reopened->settings().get("instance");
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, std::optional<std::string>("one"));
}

TEST_P(MigrationsTest, OpenStoreRefusesASchemaNewerThanTheBinary) {
  const int64_t newer = tessera_schema().back().version + 1;
  {
    auto store = open_store_or_fail();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->database().execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)",
        {newer}));
  }
  auto refused = open_store(config());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kSchemaTooNew);
  EXPECT_NE(refused.error().message.find(std::to_string(newer)), std::string::npos)
      << refused.error().message;
}

TEST_P(MigrationsTest, ConcurrentOpenersApplyEachMigrationExactlyOnce) {
  constexpr int kOpeners = 4;
  std::vector<std::string> failures(kOpeners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      auto store = open_store(config());
      if (!store) failures[i] = store.error().message;
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& failure : failures) EXPECT_EQ(failure, "");
  auto database = open_database_or_fail();
  ASSERT_NE(database, nullptr);
  EXPECT_EQ(recorded(*database).size(), tessera_schema().size());
}

TESSERA_ON_BOTH_BACKENDS(MigrationsTest);

}  // namespace
}  // namespace tessera::store::testing
