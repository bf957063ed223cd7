// SigningKeyStore on both backends: round trip, listing, status transitions, rotation.
#include "store/signing_key_store.h"

#include <gtest/gtest.h>

#include "backend_fixture.h"

namespace tessera::store::testing {
namespace {

using Code = StoreError::Code;

SigningKey make_key(std::string kid, std::string alg, KeyStatus status, int64_t created_at) {
  SigningKey key;
  key.kid = std::move(kid);
  key.alg = std::move(alg);
  key.private_jwk_encrypted = std::string("\x01\x00sealed\xff", 9) + key.kid;
  key.public_jwk = R"({"kty":"EC","crv":"P-256","kid":")" + key.kid + R"("})";
  key.status = status;
  key.created_at = created_at;
  if (status == KeyStatus::kActive) key.activated_at = created_at;
  return key;
}

class SigningKeyStoreTest : public StoreTest {
 protected:
  SigningKeyStore& keys() { return store_->signing_keys(); }
  KeyStatus status_of(std::string_view kid) {
    auto key = keys().find(kid);
    EXPECT_TRUE(key && key->has_value()) << kid;
    return key && key->has_value() ? (*key)->status : KeyStatus::kNext;
  }
};

TEST_P(SigningKeyStoreTest, InsertedKeyRoundTripsEveryField) {
  SigningKey key = make_key("k1", "ES256", KeyStatus::kRetired, 100);
  key.activated_at = 150;
  key.retire_after = 900;
  ASSERT_TRUE(keys().insert(key));
  auto found = keys().find("k1");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  const SigningKey& stored = **found;
  EXPECT_EQ(stored.kid, "k1");
  EXPECT_EQ(stored.alg, "ES256");
  EXPECT_EQ(stored.private_jwk_encrypted, key.private_jwk_encrypted);
  EXPECT_EQ(stored.public_jwk, key.public_jwk);
  EXPECT_EQ(stored.status, KeyStatus::kRetired);
  EXPECT_EQ(stored.created_at, 100);
  EXPECT_EQ(stored.activated_at, std::optional<int64_t>(150));
  EXPECT_EQ(stored.retire_after, std::optional<int64_t>(900));
}

TEST_P(SigningKeyStoreTest, UnknownKidIsAbsentNotAnError) {
  auto found = keys().find("nope");
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TEST_P(SigningKeyStoreTest, ListReturnsEveryKeyOldestFirst) {
  ASSERT_TRUE(keys().insert(make_key("b", "ES256", KeyStatus::kNext, 300)));
  ASSERT_TRUE(keys().insert(make_key("a", "ES256", KeyStatus::kActive, 200)));
  ASSERT_TRUE(keys().insert(make_key("c", "RS256", KeyStatus::kRetired, 100)));
  auto listed = keys().list();
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].kid, "c");
  EXPECT_EQ((*listed)[1].kid, "a");
  EXPECT_EQ((*listed)[2].kid, "b");
  EXPECT_FALSE((*listed)[2].activated_at.has_value());
}

TEST_P(SigningKeyStoreTest, DuplicateKidIsAConflict) {
  ASSERT_TRUE(keys().insert(make_key("k1", "ES256", KeyStatus::kNext, 1)));
  auto duplicate = keys().insert(make_key("k1", "RS256", KeyStatus::kNext, 2));
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code, Code::kConflict) << duplicate.error().message;
}

TEST_P(SigningKeyStoreTest, SecondActiveKeyForTheSameAlgIsRefused) {
  ASSERT_TRUE(keys().insert(make_key("k1", "ES256", KeyStatus::kActive, 1)));
  auto second = keys().insert(make_key("k2", "ES256", KeyStatus::kActive, 2));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Code::kConflict) << second.error().message;
  EXPECT_TRUE(keys().insert(make_key("k3", "RS256", KeyStatus::kActive, 3)));
}

TEST_P(SigningKeyStoreTest, NextKeyIsActivatedThenRetiredWithTimestamps) {
  ASSERT_TRUE(keys().insert(make_key("k1", "ES256", KeyStatus::kNext, 10)));
  auto activated = keys().update_status("k1", KeyStatus::kNext, KeyStatus::kActive, 20);
  ASSERT_TRUE(activated) << activated.error().message;
  auto retired = keys().update_status("k1", KeyStatus::kActive, KeyStatus::kRetired, 30, 40);
  ASSERT_TRUE(retired) << retired.error().message;
  auto key = keys().find("k1");
  ASSERT_TRUE(key && key->has_value());
  EXPECT_EQ((*key)->status, KeyStatus::kRetired);
  EXPECT_EQ((*key)->activated_at, std::optional<int64_t>(20));
  EXPECT_EQ((*key)->retire_after, std::optional<int64_t>(40));
}

TEST_P(SigningKeyStoreTest, StatusChangeFromAStaleStatusIsAConflict) {
  ASSERT_TRUE(keys().insert(make_key("k1", "ES256", KeyStatus::kNext, 10)));
  ASSERT_TRUE(keys().update_status("k1", KeyStatus::kNext, KeyStatus::kActive, 20));
  auto stale = keys().update_status("k1", KeyStatus::kNext, KeyStatus::kActive, 30);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, Code::kConflict);
  EXPECT_EQ(status_of("k1"), KeyStatus::kActive);
}

TEST_P(SigningKeyStoreTest, RetiredKeyCannotComeBack) {
  ASSERT_TRUE(keys().insert(make_key("k1", "ES256", KeyStatus::kRetired, 10)));
  auto revived = keys().update_status("k1", KeyStatus::kRetired, KeyStatus::kActive, 20);
  ASSERT_FALSE(revived);
  EXPECT_EQ(revived.error().code, Code::kInvalidArgument);
  EXPECT_EQ(status_of("k1"), KeyStatus::kRetired);
}

TEST_P(SigningKeyStoreTest, StatusChangeOfUnknownKidIsNotFound) {
  auto missing = keys().update_status("ghost", KeyStatus::kNext, KeyStatus::kActive, 1);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::kNotFound);
}

TEST_P(SigningKeyStoreTest, ActivateRetiresThePreviousActiveKeyOfTheSameAlgOnly) {
  ASSERT_TRUE(keys().insert(make_key("old", "ES256", KeyStatus::kActive, 1)));
  ASSERT_TRUE(keys().insert(make_key("rsa", "RS256", KeyStatus::kActive, 2)));
  ASSERT_TRUE(keys().insert(make_key("new", "ES256", KeyStatus::kNext, 3)));
  auto rotated = keys().activate("new", 100, 200);
  ASSERT_TRUE(rotated) << rotated.error().message;
  EXPECT_EQ(status_of("new"), KeyStatus::kActive);
  EXPECT_EQ(status_of("old"), KeyStatus::kRetired);
  EXPECT_EQ(status_of("rsa"), KeyStatus::kActive);
  auto old_key = keys().find("old");
  ASSERT_TRUE(old_key && old_key->has_value());
  EXPECT_EQ((*old_key)->retire_after, std::optional<int64_t>(200));
}

TEST_P(SigningKeyStoreTest, ActivatingAKeyThatIsNotNextChangesNothing) {
  ASSERT_TRUE(keys().insert(make_key("old", "ES256", KeyStatus::kActive, 1)));
  ASSERT_TRUE(keys().insert(make_key("gone", "ES256", KeyStatus::kRetired, 2)));
  auto refused = keys().activate("gone", 100, 200);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kConflict);
  EXPECT_EQ(status_of("old"), KeyStatus::kActive);
  auto missing = keys().activate("ghost", 100, 200);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::kNotFound);
}

TEST_P(SigningKeyStoreTest, DeleteExpiredRetiredRemovesOnlyRetiredKeysPastTheirTime) {
  SigningKey expired = make_key("expired", "ES256", KeyStatus::kRetired, 1);
  expired.retire_after = 50;
  SigningKey lingering = make_key("lingering", "ES256", KeyStatus::kRetired, 2);
  lingering.retire_after = 500;
  ASSERT_TRUE(keys().insert(expired));
  ASSERT_TRUE(keys().insert(lingering));
  ASSERT_TRUE(keys().insert(make_key("active", "ES256", KeyStatus::kActive, 3)));
  auto deleted = keys().delete_expired_retired(100);
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(*deleted, 1);
  auto listed = keys().list();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].kid, "lingering");
  EXPECT_EQ((*listed)[1].kid, "active");
}

TEST_P(SigningKeyStoreTest, KeyWithoutKidIsRejected) {
  auto rejected = keys().insert(make_key("", "ES256", KeyStatus::kNext, 1));
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code, Code::kInvalidArgument);
}

TESSERA_ON_BOTH_BACKENDS(SigningKeyStoreTest);

}  // namespace
}  // namespace tessera::store::testing
