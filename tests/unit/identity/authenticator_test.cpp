// The login checks on a real SQLite store: passwords, throttling, TOTP with replay refusal.
#include "identity/authenticator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <latch>
#include <mutex>
#include <thread>

#include "core/crypto.h"
#include "store/store.h"

namespace tessera::identity {
namespace {

namespace fs = std::filesystem;

const PasswordHashParams kFast{1024, 1, 1, 16, 32};

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tessera-identity-" + crypto::random_token(8));
    fs::create_directories(dir_);
    store::StoreConfig config;
    config.sqlite_path = (dir_ / "tessera.db").string();
    config.clock = &clock_;
    auto opened = store::open_store(config);
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
    throttle_ = std::make_unique<LoginThrottle>(clock_);
    authenticator_ = std::make_unique<Authenticator>(store_->users(), *throttle_, clock_, key_,
                                                     AuthenticatorOptions{kFast, {}});
  }
  void TearDown() override {
    authenticator_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  store::User add_user(const std::string& name, const std::string& password,
                       const PasswordHashParams& params = kFast) {
    auto hashed = hash_password(password, params);
    EXPECT_TRUE(hashed);
    auto user = store_->users().create({name, *hashed, "{}"});
    EXPECT_TRUE(user) << user.error().message;
    return *user;
  }

  std::string enrol_totp(const store::User& user) {
    const std::string secret = new_totp_secret();
    EXPECT_TRUE(store_->users().set_totp(user.id, seal_totp_secret(key_, user.id, secret)));
    return secret;
  }

  FixedClock clock_{1'700'000'000};
  std::string key_ = crypto::random_bytes(32);
  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<LoginThrottle> throttle_;
  std::unique_ptr<Authenticator> authenticator_;
};

TEST_F(AuthenticatorTest, RightPasswordReturnsTheUser) {
  const auto alice = add_user("Alice", "wonderland");
  auto result = authenticator_->authenticate("alice", "wonderland", "10.0.0.1");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->id, alice.id);
  EXPECT_EQ(result->username, "Alice");
}

TEST_F(AuthenticatorTest, UnknownUserWrongPasswordAndDisabledUserLookAlike) {
  const auto alice = add_user("alice", "wonderland");
  add_user("bob", "builder");
  ASSERT_TRUE(store_->users().set_disabled(alice.id, true));
  auto unknown = authenticator_->authenticate("nobody", "wonderland", "a");
  auto wrong = authenticator_->authenticate("bob", "wonderland", "a");
  auto disabled = authenticator_->authenticate("alice", "wonderland", "a");
  auto impossible = authenticator_->authenticate("not a name!", "x", "a");
  for (const auto* r : {&unknown, &wrong, &disabled, &impossible}) {
    ASSERT_FALSE(*r);
    EXPECT_EQ(r->error().error, AuthError::kInvalidCredentials);
  }
  ASSERT_TRUE(store_->users().set_disabled(alice.id, false));
  EXPECT_TRUE(authenticator_->authenticate("alice", "wonderland", "a"));
}

TEST_F(AuthenticatorTest, FiveFailuresThrottleEvenTheRightPassword) {
  add_user("alice", "wonderland");
  for (int i = 0; i < 5; ++i) {
    auto r = authenticator_->authenticate("alice", "guess" + std::to_string(i), "a");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().error, AuthError::kInvalidCredentials);
  }
  auto throttled = authenticator_->authenticate("ALICE", "wonderland", "b");
  ASSERT_FALSE(throttled);
  EXPECT_EQ(throttled.error().error, AuthError::kThrottled);
  EXPECT_EQ(throttled.error().retry_after, 60);
  clock_.advance(60);
  EXPECT_TRUE(authenticator_->authenticate("alice", "wonderland", "b"));
}

TEST_F(AuthenticatorTest, UnknownAccountsAreThrottledLikeKnownOnes) {
  for (int i = 0; i < 5; ++i) (void)authenticator_->authenticate("ghost", "x", "a");
  auto r = authenticator_->authenticate("ghost", "x", "a");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error, AuthError::kThrottled);
}

TEST_F(AuthenticatorTest, WeakerHashesAreUpgradedOnLogin) {
  const auto alice = add_user("alice", "wonderland", PasswordHashParams{512, 1, 1, 16, 32});
  ASSERT_TRUE(needs_rehash(alice.password_hash, kFast));
  ASSERT_TRUE(authenticator_->authenticate("alice", "wonderland", "a"));
  auto stored = store_->users().find_by_id(alice.id);
  ASSERT_TRUE(stored && *stored);
  EXPECT_FALSE(needs_rehash((*stored)->password_hash, kFast));
  EXPECT_TRUE(verify_password("wonderland", (*stored)->password_hash));
}

TEST_F(AuthenticatorTest, SecondFactorAcceptsACodeOnceOnly) {
  const auto bob = add_user("bob", "builder");
  const std::string secret = enrol_totp(bob);
  const std::string code = totp(secret, clock_.now());
  EXPECT_TRUE(authenticator_->verify_second_factor(bob, code));
  auto replay = authenticator_->verify_second_factor(bob, code);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().error, SecondFactorError::kInvalidCode);
  clock_.advance(30);
  EXPECT_TRUE(authenticator_->verify_second_factor(bob, totp(secret, clock_.now())));
}

TEST_F(AuthenticatorTest, SecondFactorRefusesWrongCodesAndUnenrolledUsers) {
  const auto bob = add_user("bob", "builder");
  auto unenrolled = authenticator_->verify_second_factor(bob, "123456");
  ASSERT_FALSE(unenrolled);
  EXPECT_EQ(unenrolled.error().error, SecondFactorError::kNotEnrolled);
  const std::string secret = enrol_totp(bob);
  std::string wrong = totp(secret, clock_.now());
  wrong[5] = wrong[5] == '0' ? '1' : '0';
  auto refused = authenticator_->verify_second_factor(bob, wrong);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().error, SecondFactorError::kInvalidCode);
}

TEST_F(AuthenticatorTest, SecondFactorGuessingIsThrottled) {
  const auto bob = add_user("bob", "builder");
  const std::string secret = enrol_totp(bob);
  std::string wrong = totp(secret, clock_.now());
  wrong[5] = wrong[5] == '0' ? '1' : '0';
  for (int i = 0; i < 5; ++i) (void)authenticator_->verify_second_factor(bob, wrong);
  auto r = authenticator_->verify_second_factor(bob, totp(secret, clock_.now()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error, SecondFactorError::kThrottled);
}

// The review's finding: a right password between wrong codes must not reset the count, or the
// second factor could be guessed four codes at a time without end.
TEST_F(AuthenticatorTest, RightPasswordDoesNotResetSecondFactorGuessing) {
  const auto bob = add_user("bob", "builder");
  const std::string secret = enrol_totp(bob);
  std::string wrong = totp(secret, clock_.now());
  wrong[5] = wrong[5] == '0' ? '1' : '0';
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(authenticator_->authenticate("bob", "builder", "10.0.0.1")) << round;
    for (int i = 0; i < 2; ++i) (void)authenticator_->verify_second_factor(bob, wrong);
  }
  auto r = authenticator_->verify_second_factor(bob, totp(secret, clock_.now()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error, SecondFactorError::kThrottled);
}

TEST_F(AuthenticatorTest, SealedSeedIsBoundToItsUserAndKey) {
  const auto bob = add_user("bob", "builder");
  const auto carol = add_user("carol", "singer");
  const std::string secret = new_totp_secret();
  // Bob's sealed seed copied onto Carol's row does not decrypt.
  ASSERT_TRUE(store_->users().set_totp(carol.id, seal_totp_secret(key_, bob.id, secret)));
  auto copied = authenticator_->verify_second_factor(carol, totp(secret, clock_.now()));
  ASSERT_FALSE(copied);
  EXPECT_EQ(copied.error().error, SecondFactorError::kInternal);
  // Nor does one sealed under another instance key.
  ASSERT_TRUE(
      store_->users().set_totp(bob.id, seal_totp_secret(crypto::random_bytes(32), bob.id, secret)));
  auto other_key = authenticator_->verify_second_factor(bob, totp(secret, clock_.now()));
  ASSERT_FALSE(other_key);
  EXPECT_EQ(other_key.error().error, SecondFactorError::kInternal);
}

TEST_F(AuthenticatorTest, ConcurrentUsesOfOneCodeHaveOneWinner) {
  const auto bob = add_user("bob", "builder");
  const std::string secret = enrol_totp(bob);
  const std::string code = totp(secret, clock_.now());
  constexpr int kRacers = 10;
  std::latch start(kRacers);
  std::mutex mutex;
  int accepted = 0, refused = 0;
  std::vector<std::thread> racers;
  for (int i = 0; i < kRacers; ++i) {
    racers.emplace_back([&] {
      start.arrive_and_wait();
      auto r = authenticator_->verify_second_factor(bob, code);
      std::lock_guard lock(mutex);
      if (r) {
        ++accepted;
      } else if (r.error().error == SecondFactorError::kInvalidCode ||
                 r.error().error == SecondFactorError::kThrottled) {
        // The losers' failures count against the account, so late ones may meet the lockout.
        ++refused;
      }
    });
  }
  for (auto& racer : racers) racer.join();
  EXPECT_EQ(accepted, 1);
  EXPECT_EQ(refused, kRacers - 1);
}

}  // namespace
}  // namespace tessera::identity
