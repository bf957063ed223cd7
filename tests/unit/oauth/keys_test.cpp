// SigningKeys: first start, sealing at rest, reload, and the rotation rules under a FixedClock.
#include "oauth/keys.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/aead.h"
#include "oauth_fixture.h"

namespace tessera::oauth::testing {
namespace {

class SigningKeysTest : public OAuthTest {
 protected:
  SigningKeys make(jose::Alg alg = jose::Alg::kES256) {
    return SigningKeys(store_->signing_keys(), secret_key_, alg, clock_);
  }
  std::vector<std::string> jwks_kids(const SigningKeys& keys) {
    std::vector<std::string> kids;
    const jose::Jwks jwks = keys.jwks();
    for (const auto& k : jwks.keys()) kids.push_back(k.kid());
    std::sort(kids.begin(), kids.end());
    return kids;
  }
  static std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  }
};

TEST_F(SigningKeysTest, FirstStartGeneratesAnActiveEs256Key) {
  SigningKeys keys = make();
  EXPECT_EQ(keys.active(), nullptr);
  ASSERT_TRUE(keys.load_or_create());
  auto active = keys.active();
  ASSERT_NE(active, nullptr);
  EXPECT_EQ(active->alg, jose::Alg::kES256);
  EXPECT_EQ(active->private_jwk.kty(), jose::KeyType::kEC);
  EXPECT_EQ(active->kid, active->private_jwk.public_key().thumbprint());
  auto jwks = keys.jwks();
  ASSERT_EQ(jwks.keys().size(), 1u);
  EXPECT_FALSE(jwks.keys()[0].is_private());
}

TEST_F(SigningKeysTest, SecondStartLoadsTheSameKey) {
  SigningKeys first = make();
  ASSERT_TRUE(first.load_or_create());
  SigningKeys second = make();
  ASSERT_TRUE(second.load_or_create());
  EXPECT_EQ(first.active()->kid, second.active()->kid);
  auto all = store_->signing_keys().list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
}

TEST_F(SigningKeysTest, PrivateKeyIsSealedBoundToItsKid) {
  SigningKeys keys = make();
  ASSERT_TRUE(keys.load_or_create());
  auto row = store_->signing_keys().find(keys.active()->kid);
  ASSERT_TRUE(row && row->has_value());
  const auto& sealed = (*row)->private_jwk_encrypted;
  EXPECT_EQ(sealed.find("\"d\""), std::string::npos);
  EXPECT_FALSE(aead::open(secret_key_, sealed, "signing_key:other"));
  auto opened = aead::open(secret_key_, sealed, "signing_key:" + keys.active()->kid);
  ASSERT_TRUE(opened);
  EXPECT_NE(opened->find("\"d\""), std::string::npos);
  EXPECT_EQ((*row)->public_jwk.find("\"d\""), std::string::npos);
}

TEST_F(SigningKeysTest, WrongSecretKeyFailsToLoad) {
  ASSERT_TRUE(make().load_or_create());
  SigningKeys other(store_->signing_keys(), crypto::random_bytes(32), jose::Alg::kES256, clock_);
  auto loaded = other.load_or_create();
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("does not decrypt"), std::string::npos);
}

TEST_F(SigningKeysTest, EveryOfferedAlgorithmGeneratesAUsableKey) {
  for (jose::Alg alg : {jose::Alg::kRS256, jose::Alg::kPS256, jose::Alg::kEdDSA}) {
    SigningKeys keys = make(alg);
    ASSERT_TRUE(keys.load_or_create()) << jose::to_string(alg);
    ASSERT_NE(keys.active(), nullptr);
    EXPECT_TRUE(keys.active()->private_jwk.allows(alg)) << jose::to_string(alg);
    auto jws = jose::sign("{}", keys.active()->private_jwk, alg);
    ASSERT_TRUE(jws);
    EXPECT_TRUE(jose::verify(*jws, keys.jwks()));
  }
}

TEST_F(SigningKeysTest, NextKeyIsPublishedBeforeItSigns) {
  SigningKeys keys = make();
  ASSERT_TRUE(keys.load_or_create());
  const std::string old_kid = keys.active()->kid;
  auto next = keys.introduce_next();
  ASSERT_TRUE(next) << next.error();
  EXPECT_EQ(keys.active()->kid, old_kid);
  EXPECT_EQ(jwks_kids(keys), sorted({old_kid, *next}));
  // One next key at a time.
  EXPECT_FALSE(keys.introduce_next());
}

TEST_F(SigningKeysTest, ActivationWaitsUntilTheNextKeyHasBeenPublishedLongEnough) {
  SigningKeys keys = make();
  ASSERT_TRUE(keys.load_or_create());
  ASSERT_TRUE(keys.introduce_next());
  clock_.advance(100);
  EXPECT_FALSE(keys.activate_next(600, 300));
  clock_.advance(200);
  EXPECT_TRUE(keys.activate_next(600, 300));
}

TEST_F(SigningKeysTest, RetiredKeyStaysPublishedUntilItsLastTokenExpires) {
  SigningKeys keys = make();
  ASSERT_TRUE(keys.load_or_create());
  const std::string old_kid = keys.active()->kid;
  auto next = keys.introduce_next();
  ASSERT_TRUE(next);
  SigningKeys other_node = make();
  ASSERT_TRUE(other_node.activate_next(600, 0));
  // Another node activated it; this one sees it after reload.
  ASSERT_TRUE(keys.reload());
  EXPECT_EQ(keys.active()->kid, *next);
  EXPECT_EQ(jwks_kids(keys), sorted({old_kid, *next}));
  clock_.advance(599);
  EXPECT_EQ(jwks_kids(keys).size(), 2u);
  auto none_yet = keys.delete_expired();
  ASSERT_TRUE(none_yet);
  EXPECT_EQ(*none_yet, 0);
  clock_.advance(1);
  EXPECT_EQ(jwks_kids(keys), std::vector<std::string>{*next});
  auto deleted = keys.delete_expired();
  ASSERT_TRUE(deleted);
  EXPECT_EQ(*deleted, 1);
  auto row = store_->signing_keys().find(old_kid);
  ASSERT_TRUE(row);
  EXPECT_FALSE(row->has_value());
}

TEST_F(SigningKeysTest, ActivateWithoutANextKeyIsRefused) {
  SigningKeys keys = make();
  ASSERT_TRUE(keys.load_or_create());
  auto activated = keys.activate_next(600);
  ASSERT_FALSE(activated);
  EXPECT_NE(activated.error().find("no next key"), std::string::npos);
}

}  // namespace
}  // namespace tessera::oauth::testing
