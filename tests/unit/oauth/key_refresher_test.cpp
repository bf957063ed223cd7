// KeyRefresher: rotation steps 2 and 3 in a running server, under a FixedClock, with other
// nodes (other SigningKeys instances) sharing the store.
#include "oauth/key_refresher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "oauth_fixture.h"

namespace tessera::oauth::testing {
namespace {

using std::chrono::seconds;

class KeyRefresherTest : public OAuthTest {
 protected:
  std::unique_ptr<SigningKeys> node() {
    auto keys = std::make_unique<SigningKeys>(store_->signing_keys(), secret_key_,
                                              jose::Alg::kES256, clock_);
    EXPECT_TRUE(keys->load_or_create());
    return keys;
  }
  KeyRefresher refresher(SigningKeys& keys, KeyRefresherOptions options = {}) {
    return KeyRefresher(keys, store_->signing_keys(), clock_, std::move(options));
  }
  static std::vector<std::string> kids(const SigningKeys& keys) {
    std::vector<std::string> out;
    const jose::Jwks jwks = keys.jwks();
    for (const auto& k : jwks.keys()) out.push_back(k.kid());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::optional<store::SigningKey> row(const std::string& kid) {
    auto found = store_->signing_keys().find(kid);
    EXPECT_TRUE(found);
    return found ? *found : std::nullopt;
  }
};

TEST_F(KeyRefresherTest, NextKeyIsNotActivatedBeforeMinPublished) {
  auto keys = node();
  const std::string first = keys->active()->kid;
  auto next = keys->introduce_next();
  ASSERT_TRUE(next) << next.error();
  KeyRefresher r = refresher(*keys);
  clock_.advance(299);
  ASSERT_TRUE(r.tick());
  EXPECT_EQ(keys->active()->kid, first);
  EXPECT_EQ(row(*next)->status, store::KeyStatus::kNext);
}

TEST_F(KeyRefresherTest, NextKeyIsActivatedOnceMinPublishedHasPassed) {
  auto keys = node();
  const std::string first = keys->active()->kid;
  auto next = keys->introduce_next();
  ASSERT_TRUE(next);
  KeyRefresher r = refresher(*keys);
  clock_.advance(300);
  ASSERT_TRUE(r.tick());
  EXPECT_EQ(keys->active()->kid, *next);
  auto retired = row(first);
  ASSERT_TRUE(retired);
  EXPECT_EQ(retired->status, store::KeyStatus::kRetired);
  // The retired key stays published as long as the longest token it may have signed.
  EXPECT_EQ(retired->retire_after, clock_.now() + store::kMaxAccessTokenLifetime);
  EXPECT_EQ(kids(*keys),
            (std::vector<std::string>{std::min(first, *next), std::max(first, *next)}));
}

TEST_F(KeyRefresherTest, MinPublishedIsConfigurable) {
  auto keys = node();
  auto next = keys->introduce_next();
  ASSERT_TRUE(next);
  KeyRefresherOptions options;
  options.min_published = 10;
  KeyRefresher r = refresher(*keys, options);
  clock_.advance(9);
  ASSERT_TRUE(r.tick());
  EXPECT_NE(keys->active()->kid, *next);
  clock_.advance(1);
  ASSERT_TRUE(r.tick());
  EXPECT_EQ(keys->active()->kid, *next);
}

TEST_F(KeyRefresherTest, RetiredKeysAreDeletedOnceTheirTokensHaveExpired) {
  auto keys = node();
  const std::string first = keys->active()->kid;
  ASSERT_TRUE(keys->introduce_next());
  KeyRefresher r = refresher(*keys);
  clock_.advance(300);
  ASSERT_TRUE(r.tick());
  clock_.advance(store::kMaxAccessTokenLifetime - 1);
  ASSERT_TRUE(r.tick());
  EXPECT_TRUE(row(first).has_value());
  clock_.advance(1);
  ASSERT_TRUE(r.tick());
  EXPECT_FALSE(row(first).has_value());
  EXPECT_EQ(kids(*keys), std::vector<std::string>{keys->active()->kid});
}

TEST_F(KeyRefresherTest, ReloadPicksUpARotationDoneThroughAnotherInstance) {
  auto server = node();
  auto admin = node();  // what `tessera key rotate` does
  const std::string first = server->active()->kid;
  auto next = admin->introduce_next();
  ASSERT_TRUE(next);
  EXPECT_EQ(kids(*server), std::vector<std::string>{first});
  KeyRefresher r = refresher(*server);
  ASSERT_TRUE(r.tick());
  EXPECT_EQ(kids(*server).size(), 2u) << "the next key is published";
  EXPECT_EQ(server->active()->kid, first) << "but signs nothing yet";

  // `tessera key rotate --now` elsewhere: the server signs with the new key after one round.
  clock_.advance(5);
  ASSERT_TRUE(admin->activate_next(store::kMaxAccessTokenLifetime));
  EXPECT_EQ(server->active()->kid, first);
  ASSERT_TRUE(r.tick());
  EXPECT_EQ(server->active()->kid, *next);
}

TEST_F(KeyRefresherTest, TwoNodesRacingToActivateBothSucceed) {
  auto a = node();
  auto b = node();
  auto next = a->introduce_next();
  ASSERT_TRUE(next);
  KeyRefresher ra = refresher(*a);
  KeyRefresher rb = refresher(*b);
  clock_.advance(300);
  ASSERT_TRUE(ra.tick());
  // b saw no change yet and activates a key that is already active: tolerated.
  auto done = rb.tick();
  ASSERT_TRUE(done) << done.error();
  EXPECT_EQ(a->active()->kid, *next);
  EXPECT_EQ(b->active()->kid, *next);
  auto all = store_->signing_keys().list();
  ASSERT_TRUE(all);
  int active = 0;
  for (const auto& k : *all) active += k.status == store::KeyStatus::kActive ? 1 : 0;
  EXPECT_EQ(active, 1);
}

// Forwards to the real store; the first list() after arm() runs `between` once after reading,
// so another node's write lands between this node's read and its write.
class InterleavingKeyStore final : public store::SigningKeyStore {
 public:
  explicit InterleavingKeyStore(store::SigningKeyStore& real) : real_(real) {}
  void arm(std::function<void()> between) { between_ = std::move(between); }

  store::StoreResult<std::vector<store::SigningKey>> list() override {
    auto rows = real_.list();
    if (between_) std::exchange(between_, nullptr)();
    return rows;
  }
  store::StoreResult<std::optional<store::SigningKey>> find(std::string_view kid) override {
    return real_.find(kid);
  }
  store::StoreResult<Ok> insert(const store::SigningKey& key) override { return real_.insert(key); }
  store::StoreResult<Ok> update_status(std::string_view kid, store::KeyStatus from,
                                       store::KeyStatus to, int64_t now,
                                       std::optional<int64_t> retire_after) override {
    return real_.update_status(kid, from, to, now, retire_after);
  }
  store::StoreResult<Ok> activate(std::string_view kid, int64_t now,
                                  int64_t retire_previous_after) override {
    return real_.activate(kid, now, retire_previous_after);
  }
  store::StoreResult<int64_t> delete_expired_retired(int64_t now) override {
    return real_.delete_expired_retired(now);
  }

 private:
  store::SigningKeyStore& real_;
  std::function<void()> between_;
};

TEST_F(KeyRefresherTest, LosingTheRaceToActivateIsTolerated) {
  auto a = node();
  auto b = node();
  auto next = a->introduce_next();
  ASSERT_TRUE(next);
  InterleavingKeyStore interleaving(store_->signing_keys());
  KeyRefresher rb(*b, interleaving, clock_, {});
  ASSERT_TRUE(rb.tick());  // not due yet; b now publishes the next key too
  clock_.advance(300);
  // b's refresher reads the next key as due; a activates it before b writes.
  bool interleaved = false;
  interleaving.arm([&] {
    interleaved = true;
    EXPECT_TRUE(a->activate_next(store::kMaxAccessTokenLifetime, 300));
  });
  auto done = rb.tick();
  ASSERT_TRUE(interleaved);
  ASSERT_TRUE(done) << done.error();
  EXPECT_EQ(b->active()->kid, *next);
  EXPECT_EQ(a->active()->kid, *next);
}

TEST_F(KeyRefresherTest, FailuresAreReturnedAndReportedAndTheThreadCarriesOn) {
  auto keys = node();
  // A node with the wrong instance key cannot open the active private key.
  SigningKeys wrong(store_->signing_keys(), crypto::random_bytes(32), jose::Alg::kES256, clock_);
  KeyRefresher direct = refresher(wrong);
  auto failed = direct.tick();
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().find("does not decrypt"), std::string::npos);

  std::mutex m;
  std::vector<std::string> reported;
  KeyRefresherOptions options;
  options.interval = seconds(0);
  options.on_error = [&](std::string_view e) {
    std::lock_guard lock(m);
    reported.emplace_back(e);
  };
  KeyRefresher threaded = refresher(wrong, options);
  threaded.start();
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  for (;;) {
    {
      std::lock_guard lock(m);
      if (reported.size() >= 2) break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the thread reported no failures";
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  threaded.stop();
  std::lock_guard lock(m);
  EXPECT_NE(reported[0].find("does not decrypt"), std::string::npos);
  EXPECT_EQ(reported[0].find(secret_key_), std::string::npos);
}

TEST_F(KeyRefresherTest, TheThreadPicksUpARotation) {
  auto server = node();
  auto admin = node();
  KeyRefresherOptions options;
  options.interval = seconds(0);
  KeyRefresher r = refresher(*server, options);
  r.start();
  auto next = admin->introduce_next();
  ASSERT_TRUE(next);
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (kids(*server).size() != 2) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.stop();
}

TEST_F(KeyRefresherTest, StopReturnsPromptlyWithALongInterval) {
  auto keys = node();
  KeyRefresherOptions options;
  options.interval = seconds(3600);
  KeyRefresher r = refresher(*keys, options);
  r.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto before = std::chrono::steady_clock::now();
  r.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, seconds(2));
  r.stop();  // idempotent
}

TEST(KeyRefreshInterval, ComesFromTheEnvironment) {
  ::unsetenv(kKeyRefreshEnv);
  auto unset = key_refresh_interval_from_environment();
  ASSERT_TRUE(unset);
  EXPECT_FALSE(unset->has_value());
  ::setenv(kKeyRefreshEnv, "2", 1);
  auto two = key_refresh_interval_from_environment();
  ASSERT_TRUE(two);
  EXPECT_EQ(**two, seconds(2));
  for (const char* bad : {"0", "-1", "1.5", "60s", "86401", "x"}) {
    ::setenv(kKeyRefreshEnv, bad, 1);
    EXPECT_FALSE(key_refresh_interval_from_environment()) << bad;
  }
  ::unsetenv(kKeyRefreshEnv);
}

}  // namespace
}  // namespace tessera::oauth::testing
