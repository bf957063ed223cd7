// argon2id password hashes in PHC form.
#include "identity/password_hash.h"

#include <gtest/gtest.h>

namespace tessera::identity {
namespace {

// Cheap parameters keep the suite fast; one test covers the defaults.
const PasswordHashParams kFast{1024, 1, 1, 16, 32};

TEST(PasswordHash, DefaultsFollowOwaspAndProducePhcStrings) {
  auto hashed = hash_password("correct horse battery staple");
  ASSERT_TRUE(hashed);
  EXPECT_TRUE(hashed->starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << *hashed;
  EXPECT_TRUE(verify_password("correct horse battery staple", *hashed));
  EXPECT_FALSE(needs_rehash(*hashed));
}

TEST(PasswordHash, VerifiesTheRightPasswordOnly) {
  auto hashed = hash_password("s3cret", kFast);
  ASSERT_TRUE(hashed);
  EXPECT_TRUE(verify_password("s3cret", *hashed));
  EXPECT_FALSE(verify_password("s3creT", *hashed));
  EXPECT_FALSE(verify_password("s3cret ", *hashed));
}

TEST(PasswordHash, SaltsEveryHash) {
  auto a = hash_password("same", kFast), b = hash_password("same", kFast);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
}

TEST(PasswordHash, RefusesEmptyAndOverlongPasswords) {
  auto empty = hash_password("", kFast);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error(), PasswordError::kEmpty);
  auto at_cap = hash_password(std::string(kMaxPasswordBytes, 'x'), kFast);
  ASSERT_TRUE(at_cap);
  auto too_long = hash_password(std::string(kMaxPasswordBytes + 1, 'x'), kFast);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error(), PasswordError::kTooLong);
  EXPECT_TRUE(verify_password(std::string(kMaxPasswordBytes, 'x'), *at_cap));
  EXPECT_FALSE(verify_password(std::string(kMaxPasswordBytes + 1, 'x'), *at_cap));
  EXPECT_FALSE(verify_password("", *at_cap));
}

TEST(PasswordHash, PasswordsMayHoldAnyBytes) {
  const std::string password("pa\0ss\xff\xfe", 7);
  auto hashed = hash_password(password, kFast);
  ASSERT_TRUE(hashed);
  EXPECT_TRUE(verify_password(password, *hashed));
  EXPECT_FALSE(verify_password("pa", *hashed));  // not truncated at the NUL
}

TEST(PasswordHash, MalformedOrForeignHashesNeverVerify) {
  EXPECT_FALSE(verify_password("x", ""));
  EXPECT_FALSE(verify_password("x", "$argon2id$"));
  EXPECT_FALSE(verify_password("x", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"));
  EXPECT_FALSE(verify_password("x", "plaintext-x"));
}

TEST(PasswordHash, NeedsRehashWhenAnyParameterDiffers) {
  auto hashed = hash_password("pw", kFast);
  ASSERT_TRUE(hashed);
  EXPECT_FALSE(needs_rehash(*hashed, kFast));
  EXPECT_TRUE(needs_rehash(*hashed));  // the defaults are stronger
  PasswordHashParams more_time = kFast;
  more_time.iterations = 2;
  EXPECT_TRUE(needs_rehash(*hashed, more_time));
  PasswordHashParams more_lanes = kFast;
  more_lanes.parallelism = 2;
  EXPECT_TRUE(needs_rehash(*hashed, more_lanes));
  PasswordHashParams longer_salt = kFast;
  longer_salt.salt_bytes = 32;
  EXPECT_TRUE(needs_rehash(*hashed, longer_salt));
  EXPECT_TRUE(needs_rehash("$2b$12$bcryptbcryptbcrypt", kFast));
  EXPECT_TRUE(needs_rehash("", kFast));
}

TEST(PasswordHash, UnknownUserPathNeverSucceeds) {
  EXPECT_FALSE(verify_password_for_unknown_user("anything"));
  EXPECT_FALSE(verify_password_for_unknown_user(""));
}

}  // namespace
}  // namespace tessera::identity
