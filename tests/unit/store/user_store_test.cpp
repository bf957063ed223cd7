// UserStore on both backends.
#include "store/user_store.h"

#include <gtest/gtest.h>

#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include "backend_fixture.h"

namespace tessera::store::testing {
namespace {

using Code = StoreError::Code;

TEST(CanonicalUsername, LowercasesAsciiAndRefusesEverythingElse) {
  EXPECT_EQ(canonical_username("Alice.Smith+tag@Example.COM"),
            std::optional<std::string>("alice.smith+tag@example.com"));
  EXPECT_EQ(canonical_username("bob_1-2"), std::optional<std::string>("bob_1-2"));
  EXPECT_FALSE(canonical_username(""));
  EXPECT_FALSE(canonical_username(std::string(129, 'a')));
  EXPECT_TRUE(canonical_username(std::string(128, 'a')));
  EXPECT_FALSE(canonical_username("alice smith"));
  EXPECT_FALSE(canonical_username("alice\n"));
  EXPECT_FALSE(canonical_username(std::string("al\0ce", 5)));
  EXPECT_FALSE(canonical_username("\xc3\xa9lise"));  // é: non-ASCII is refused, not folded
  EXPECT_FALSE(canonical_username("ALİCE"));
}

class UserStoreTest : public StoreTest {
 protected:
  UserStore& users() { return store_->users(); }

  User create(const std::string& name, const std::string& profile = "{}") {
    auto user = users().create({name, "$argon2id$hash-of-" + name, profile});
    EXPECT_TRUE(user) << user.error().message;
    return user ? *user : User{};
  }
};

TEST_P(UserStoreTest, CreateThenFindByNameAndId) {
  const User alice = create("Alice", R"({"name":"Alice Liddell","email":"alice@example.com"})");
  EXPECT_EQ(alice.username, "Alice");
  EXPECT_GE(alice.id.size(), 20u);
  EXPECT_EQ(alice.created_at, clock_.now());
  EXPECT_FALSE(alice.disabled);
  EXPECT_FALSE(alice.totp_secret_encrypted);
  EXPECT_FALSE(alice.totp_last_step);

  for (const char* spelling : {"alice", "ALICE", "Alice"}) {
    auto found = users().find_by_username(spelling);
    ASSERT_TRUE(found) << found.error().message;
    ASSERT_TRUE(*found) << spelling;
    EXPECT_EQ((*found)->id, alice.id);
    EXPECT_EQ((*found)->username, "Alice");
    EXPECT_EQ((*found)->password_hash, "$argon2id$hash-of-Alice");
    EXPECT_EQ((*found)->profile_json, R"({"name":"Alice Liddell","email":"alice@example.com"})");
  }
  auto by_id = users().find_by_id(alice.id);
  ASSERT_TRUE(by_id && *by_id);
  EXPECT_EQ((*by_id)->username, "Alice");
}

TEST_P(UserStoreTest, UnknownAndImpossibleNamesAreAbsent) {
  create("alice");
  for (const char* name : {"bob", "", "alice ", "not a name"}) {
    auto found = users().find_by_username(name);
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_FALSE(*found) << name;
  }
  auto by_id = users().find_by_id("no-such-id");
  ASSERT_TRUE(by_id);
  EXPECT_FALSE(*by_id);
}

TEST_P(UserStoreTest, DuplicateUsernameIgnoringCaseIsAConflict) {
  create("alice");
  auto again = users().create({"ALICE", "$argon2id$x", "{}"});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::kConflict);
  auto list = users().list();
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 1u);
}

TEST_P(UserStoreTest, CreateRefusesBadInput) {
  auto bad_name = users().create({"alice smith", "$argon2id$x", "{}"});
  ASSERT_FALSE(bad_name);
  EXPECT_EQ(bad_name.error().code, Code::kInvalidArgument);
  auto no_hash = users().create({"alice", "", "{}"});
  ASSERT_FALSE(no_hash);
  EXPECT_EQ(no_hash.error().code, Code::kInvalidArgument);
  for (const char* profile : {"[]", "\"x\"", "{", R"({"a":1,"a":2})"}) {
    auto bad_profile = users().create({"alice", "$argon2id$x", profile});
    ASSERT_FALSE(bad_profile) << profile;
    EXPECT_EQ(bad_profile.error().code, Code::kInvalidArgument) << profile;
  }
  EXPECT_TRUE(users().list()->empty());
}

TEST_P(UserStoreTest, ListIsOrderedByCanonicalName) {
  create("carol");
  create("Bob");
  create("alice");
  auto list = users().list();
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].username, "alice");
  EXPECT_EQ((*list)[1].username, "Bob");
  EXPECT_EQ((*list)[2].username, "carol");
}

TEST_P(UserStoreTest, UpdatesChangeOneUserAndTheirUpdatedAt) {
  const User alice = create("alice");
  const User bob = create("bob");
  clock_.advance(100);
  ASSERT_TRUE(users().set_password_hash(alice.id, "$argon2id$new"));
  ASSERT_TRUE(users().set_disabled(alice.id, true));
  ASSERT_TRUE(users().update_profile(alice.id, R"({"email":"a@example.com"})"));
  auto stored = users().find_by_id(alice.id);
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->password_hash, "$argon2id$new");
  EXPECT_TRUE((*stored)->disabled);
  EXPECT_EQ((*stored)->profile_json, R"({"email":"a@example.com"})");
  EXPECT_EQ((*stored)->updated_at, clock_.now());
  EXPECT_EQ((*stored)->created_at, clock_.now() - 100);
  auto untouched = users().find_by_id(bob.id);
  ASSERT_TRUE(untouched && *untouched);
  EXPECT_EQ((*untouched)->password_hash, "$argon2id$hash-of-bob");
  EXPECT_FALSE((*untouched)->disabled);
  ASSERT_TRUE(users().set_disabled(alice.id, false));
  EXPECT_FALSE((*users().find_by_id(alice.id))->disabled);
}

TEST_P(UserStoreTest, UpdatesOfAnUnknownUserAreNotFound) {
  EXPECT_EQ(users().set_password_hash("nope", "$argon2id$x").error().code, Code::kNotFound);
  EXPECT_EQ(users().set_disabled("nope", true).error().code, Code::kNotFound);
  EXPECT_EQ(users().set_totp("nope", std::string("x")).error().code, Code::kNotFound);
  EXPECT_EQ(users().update_profile("nope", "{}").error().code, Code::kNotFound);
  EXPECT_EQ(users().record_totp_step("nope", 1).error().code, Code::kNotFound);
  const User alice = create("alice");
  EXPECT_EQ(users().update_profile(alice.id, "[1]").error().code, Code::kInvalidArgument);
}

TEST_P(UserStoreTest, TotpSecretIsKeptAsBytesAndEnrolmentResetsTheLastStep) {
  const User alice = create("alice");
  const std::string sealed("\x01\x00\xff\x80sealed", 10);
  ASSERT_TRUE(users().set_totp(alice.id, sealed));
  ASSERT_TRUE(users().record_totp_step(alice.id, 100).value());
  auto stored = users().find_by_id(alice.id);
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->totp_secret_encrypted, std::optional<std::string>(sealed));
  EXPECT_EQ((*stored)->totp_last_step, std::optional<int64_t>(100));
  ASSERT_TRUE(users().set_totp(alice.id, std::string("other")));
  EXPECT_FALSE((*users().find_by_id(alice.id))->totp_last_step);
  ASSERT_TRUE(users().set_totp(alice.id, std::nullopt));
  EXPECT_FALSE((*users().find_by_id(alice.id))->totp_secret_encrypted);
}

TEST_P(UserStoreTest, RecordTotpStepOnlyMovesForward) {
  const User alice = create("alice");
  EXPECT_TRUE(users().record_totp_step(alice.id, 56'666'666).value());
  EXPECT_FALSE(users().record_totp_step(alice.id, 56'666'666).value());
  EXPECT_FALSE(users().record_totp_step(alice.id, 56'666'665).value());
  EXPECT_TRUE(users().record_totp_step(alice.id, 56'666'667).value());
  EXPECT_EQ((*users().find_by_id(alice.id))->totp_last_step, std::optional<int64_t>(56'666'667));
}

TEST_P(UserStoreTest, ConcurrentUsesOfOneTotpStepHaveExactlyOneWinner) {
  const User alice = create("alice");
  ASSERT_TRUE(users().record_totp_step(alice.id, 10));
  constexpr int kRacers = 20;
  std::latch start(kRacers);
  std::mutex mutex;
  int won = 0, lost = 0;
  std::vector<std::string> errors;
  std::vector<std::thread> racers;
  for (int i = 0; i < kRacers; ++i) {
    racers.emplace_back([&] {
      start.arrive_and_wait();
      auto recorded = users().record_totp_step(alice.id, 11);
      std::lock_guard lock(mutex);
      if (!recorded) {
        errors.push_back(recorded.error().message);
      } else {
        ++(*recorded ? won : lost);
      }
    });
  }
  for (auto& racer : racers) racer.join();
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_EQ(won, 1);
  EXPECT_EQ(lost, kRacers - 1);
}

TEST_P(UserStoreTest, ConcurrentCreatesOfOneNameHaveExactlyOneWinner) {
  constexpr int kRacers = 20;
  std::latch start(kRacers);
  std::mutex mutex;
  int created = 0, conflicts = 0;
  std::vector<std::thread> racers;
  for (int i = 0; i < kRacers; ++i) {
    racers.emplace_back([&, i] {
      start.arrive_and_wait();
      auto user = users().create({i % 2 ? "Alice" : "alice", "$argon2id$x", "{}"});
      std::lock_guard lock(mutex);
      if (user) {
        ++created;
      } else if (user.error().code == Code::kConflict) {
        ++conflicts;
      }
    });
  }
  for (auto& racer : racers) racer.join();
  EXPECT_EQ(created, 1);
  EXPECT_EQ(conflicts, kRacers - 1);
}

}  // namespace

TESSERA_ON_BOTH_BACKENDS(UserStoreTest);

}  // namespace tessera::store::testing
