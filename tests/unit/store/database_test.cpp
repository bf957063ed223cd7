// The SQL layer itself: binding, row access, transactions, errors; on both backends.
#include "store/database.h"

#include <gtest/gtest.h>

#include <limits>

#include "backend_fixture.h"

namespace tessera::store::testing {
namespace {

using Code = StoreError::Code;

class DatabaseTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure()) return;
    database_ = open_database_or_fail();
    ASSERT_NE(database_, nullptr);
    auto lease = database_->acquire();
    ASSERT_TRUE(lease) << lease.error().message;
    const char* blob_type = backend() == Backend::kSqlite ? "BLOB" : "BYTEA";
    auto created = (*lease)->execute_script(
        std::string("CREATE TABLE items (id BIGINT PRIMARY KEY, label TEXT, payload ") + blob_type +
        ")");
    ASSERT_TRUE(created) << created.error().message;
  }

  int64_t count_items() {
    auto rows = database_->query("SELECT COUNT(*) FROM items");
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? rows->front().integer(0) : -1;
  }

  std::unique_ptr<Database> database_;
};

TEST_P(DatabaseTest, BindsAndReadsBackTextIntegersBlobsAndNull) {
  const std::string binary("\x00\xff\x01'?\x00", 6);
  const std::string unicode = "caf\xc3\xa9 ? 'quoted'";
  const int64_t big = std::numeric_limits<int64_t>::max();
  const int64_t small = std::numeric_limits<int64_t>::min();
  ASSERT_TRUE(database_->execute("INSERT INTO items (id, label, payload) VALUES (?, ?, ?)",
                                 {big, unicode, Blob{binary}}));
  ASSERT_TRUE(database_->execute("INSERT INTO items (id, label, payload) VALUES (?, ?, ?)",
                                 {small, nullptr, nullptr}));

  auto rows = database_->query("SELECT id, label, payload FROM items ORDER BY id");
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].integer(0), small);
  EXPECT_TRUE((*rows)[0].is_null(1));
  EXPECT_TRUE((*rows)[0].is_null(2));
  EXPECT_EQ((*rows)[1].integer(0), big);
  EXPECT_EQ((*rows)[1].text(1), unicode);
  EXPECT_EQ((*rows)[1].blob(2), binary);
  EXPECT_EQ((*rows)[1].value(2).kind(), Value::Kind::kBlob);
}

TEST_P(DatabaseTest, ReportsRowsWrittenByUpdateAndNoneForSelect) {
  for (int64_t id = 1; id <= 3; ++id) {
    ASSERT_TRUE(database_->execute("INSERT INTO items (id, label) VALUES (?, 'x')", {id}));
  }
  auto updated = database_->execute("UPDATE items SET label = ? WHERE id >= ?", {"y", int64_t{2}});
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ(*updated, 2);
  auto selected = database_->execute("SELECT id FROM items");
  ASSERT_TRUE(selected);
  EXPECT_EQ(*selected, 0);
}

TEST_P(DatabaseTest, FailedWorkInsideATransactionLeavesNothingBehind) {
  auto result = database_->in_transaction([](Connection& connection) -> StoreResult<Ok> {
    auto first = connection.execute("INSERT INTO items (id, label) VALUES (1, 'a')");
    if (!first) return Err(first.error());
    auto duplicate = connection.execute("INSERT INTO items (id, label) VALUES (1, 'b')");
    if (!duplicate) return Err(duplicate.error());
    return Ok{};
  });
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Code::kConflict) << result.error().message;
  EXPECT_EQ(count_items(), 0);
}

TEST_P(DatabaseTest, TransactionGuardRollsBackWhenNotCommitted) {
  {
    auto lease = database_->acquire();
    ASSERT_TRUE(lease);
    {
      auto transaction = Transaction::begin(**lease);
      ASSERT_TRUE(transaction) << transaction.error().message;
      ASSERT_TRUE((*lease)->execute("INSERT INTO items (id) VALUES (1)"));
    }
    // Checked on the same connection: the guard itself rolled back, not the pool dropping it.
    EXPECT_TRUE((*lease)->healthy());
    auto rows = (*lease)->query("SELECT COUNT(*) FROM items");
    ASSERT_TRUE(rows) << rows.error().message;
    EXPECT_EQ(rows->front().integer(0), 0);
  }
  // The connection went back to the pool usable, outside any transaction.
  ASSERT_TRUE(database_->execute("INSERT INTO items (id) VALUES (2)"));
  EXPECT_EQ(count_items(), 1);
}

TEST_P(DatabaseTest, CommittedTransactionIsVisibleToOtherConnections) {
  auto committed = database_->in_transaction([](Connection& connection) -> StoreResult<int64_t> {
    return connection.execute("INSERT INTO items (id) VALUES (1), (2)");
  });
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(*committed, 2);
  auto other = database_->acquire();  // the pool hands out a second, idle connection or the same
  ASSERT_TRUE(other);
  auto rows = (*other)->query("SELECT COUNT(*) FROM items");
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->front().integer(0), 2);
}

TEST_P(DatabaseTest, WrongParameterCountIsAnErrorNotACrash) {
  auto too_few = database_->execute("INSERT INTO items (id, label) VALUES (?, ?)", {int64_t{1}});
  ASSERT_FALSE(too_few);
  EXPECT_EQ(too_few.error().code, Code::kInvalidArgument);
  EXPECT_NE(too_few.error().message.find("parameters"), std::string::npos);
  auto too_many = database_->query("SELECT id FROM items", {int64_t{1}});
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code, Code::kInvalidArgument);
}

TEST_P(DatabaseTest, InvalidSqlIsAnErrorWithTheBackendsReason) {
  auto result = database_->query("SELEC nonsense FROM");
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("syntax"), std::string::npos) << result.error().message;
  // The connection is still usable afterwards.
  EXPECT_EQ(count_items(), 0);
}

TEST_P(DatabaseTest, SameStatementRunsRepeatedlyFromTheCache) {
  for (int64_t id = 1; id <= 20; ++id) {
    auto inserted = database_->execute("INSERT INTO items (id, label) VALUES (?, ?)", {id, "n"});
    ASSERT_TRUE(inserted) << inserted.error().message;
  }
  EXPECT_EQ(count_items(), 20);
}

TEST_P(DatabaseTest, AcquireGivesUpWhenThePoolStaysExhausted) {
  pool_size_ = 1;
  StoreConfig small = config();
  small.acquire_timeout = std::chrono::milliseconds(20);
  auto database = open_database(small);
  ASSERT_TRUE(database) << database.error().message;
  auto held = (*database)->acquire();
  ASSERT_TRUE(held);
  auto starved = (*database)->acquire();
  ASSERT_FALSE(starved);
  EXPECT_EQ(starved.error().code, Code::kUnavailable);
}

TESSERA_ON_BOTH_BACKENDS(DatabaseTest);

TEST(PlaceholderRewrite, NumbersPlaceholdersInOrderForPostgres) {
  auto rewritten = rewrite_placeholders_for_postgres("SELECT a FROM t WHERE b = ? AND c IN (?, ?)");
  EXPECT_EQ(rewritten.sql, "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)");
  EXPECT_EQ(rewritten.placeholder_count, 3u);
}

TEST(PlaceholderRewrite, LeavesQuestionMarksInLiteralsIdentifiersAndCommentsAlone) {
  auto rewritten = rewrite_placeholders_for_postgres(
      "SELECT '?', 'it''s ?', \"odd?name\" -- why?\n FROM t /* ? */ WHERE x = ?");
  EXPECT_EQ(rewritten.sql,
            "SELECT '?', 'it''s ?', \"odd?name\" -- why?\n FROM t /* ? */ WHERE x = $1");
  EXPECT_EQ(rewritten.placeholder_count, 1u);
  EXPECT_EQ(count_placeholders("SELECT '?"), 0u);  // unterminated literal: no crash
}

}  // namespace
}  // namespace tessera::store::testing
