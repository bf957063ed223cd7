// Device authorizations in the store (RFC 8628, schema migration 19) on both backends:
// create_device_authorization (user codes unique among live ones, an expired one's code free
// again), find_device_by_user_code, decide_device (by device code and client; a compare-and-set:
// one decision, the grant stored with an approval, nothing after expiry or for another client),
// poll_device (§3.5: pending, slow_down with the interval growing by 5 seconds, denied, approved
// until spent, expired, another client's code unknown), redeem_device (exactly once) and
// purge_expired.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "backend_fixture.h"
#include "core/crypto.h"
#include "store/grant_store.h"

namespace tessera::store::testing {
namespace {

using Outcome = GrantStore::PollOutcome;

std::string hash(std::string_view device_code) { return crypto::sha256(device_code); }

class DeviceAuthorizationsTest : public StoreTest {
 protected:
  GrantStore& grants() { return store_->grants(); }

  // A pending authorization of "tv" for `device_code` with `user_code`, living `lifetime`.
  DeviceAuthorization device(const std::string& device_code, const std::string& user_code,
                             int64_t lifetime = 600) const {
    DeviceAuthorization d;
    d.device_code_sha256 = hash(device_code);
    d.user_code = user_code;
    d.client_id = "tv";
    d.params_json = R"({"scopes":["openid"],"audiences":[]})";
    d.interval = 5;
    d.expires_at = clock_.now() + lifetime;
    return d;
  }
  GrantRecord grant(const std::string& id) const {
    GrantRecord g;
    g.id = id;
    g.client_id = "tv";
    g.subject = "alice";
    g.scopes = {"openid"};
    g.created_at = clock_.now();
    g.expires_at = clock_.now() + 3600;
    return g;
  }
  StoreResult<bool> decide(const std::string& device_code, const std::optional<GrantRecord>& g,
                           const std::string& client_id = "tv") {
    return grants().decide_device(hash(device_code), client_id, g);
  }
  Outcome poll(const std::string& device_code, const std::string& client_id = "tv") {
    auto p = grants().poll_device(hash(device_code), client_id);
    EXPECT_TRUE(p) << p.error().message;
    return p ? p->outcome : Outcome::kUnknown;
  }
};

TEST_P(DeviceAuthorizationsTest, CreateFindAndUniqueUserCodes) {
  ASSERT_TRUE(grants().create_device_authorization(device("dc-1", "BCDFGHJK")));
  auto found = grants().find_device_by_user_code("BCDFGHJK");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->client_id, "tv");
  EXPECT_EQ((*found)->status, DeviceStatus::kPending);
  EXPECT_EQ((*found)->device_code_sha256, hash("dc-1"));
  EXPECT_FALSE((*found)->grant_id);
  // The same user code while it lives, or the same device code: kConflict.
  auto taken = grants().create_device_authorization(device("dc-2", "BCDFGHJK"));
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, StoreError::Code::kConflict);
  auto same_device = grants().create_device_authorization(device("dc-1", "LMNPQRST"));
  ASSERT_FALSE(same_device);
  EXPECT_EQ(same_device.error().code, StoreError::Code::kConflict);
  // Expired: not found, and its user code is free again.
  clock_.advance(601);
  EXPECT_FALSE(*grants().find_device_by_user_code("BCDFGHJK"));
  EXPECT_TRUE(grants().create_device_authorization(device("dc-3", "BCDFGHJK")));
  EXPECT_EQ((*grants().find_device_by_user_code("BCDFGHJK"))->device_code_sha256, hash("dc-3"));
  // Malformed records are refused.
  DeviceAuthorization bad = device("dc-4", "");
  EXPECT_FALSE(grants().create_device_authorization(bad));
  bad = device("dc-4", "ZZZZZZZZ");
  bad.params_json = "[]";
  EXPECT_FALSE(grants().create_device_authorization(bad));
}

TEST_P(DeviceAuthorizationsTest, PollingPendingSlowDownApprovedOnce) {
  ASSERT_TRUE(grants().create_device_authorization(device("dc", "BCDFGHJK")));
  EXPECT_EQ(poll("dc"), Outcome::kPending);
  EXPECT_EQ(poll("dc"), Outcome::kSlowDown);  // at once: too soon
  clock_.advance(7);
  EXPECT_EQ(poll("dc"), Outcome::kSlowDown);  // the interval is 10 now
  clock_.advance(15);
  auto p = grants().poll_device(hash("dc"), "tv");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->outcome, Outcome::kPending);
  EXPECT_EQ(p->device->interval, 15);
  EXPECT_EQ(p->device->last_polled_at, clock_.now());
  // Another client's poll is unknown and changes nothing.
  EXPECT_EQ(poll("dc", "radio"), Outcome::kUnknown);
  EXPECT_EQ(poll("nothing"), Outcome::kUnknown);

  // Another client cannot decide it, nor have its grant tied to it.
  EXPECT_FALSE(*decide("dc", std::nullopt, "radio"));
  GrantRecord radio = grant("g-radio");
  radio.client_id = "radio";
  EXPECT_FALSE(decide("dc", radio, "tv")) << "a grant of another client";
  ASSERT_TRUE(*decide("dc", grant("g1")));
  auto stored = grants().find_grant("g1");
  ASSERT_TRUE(stored && *stored) << "the grant is stored with the approval";
  clock_.advance(20);
  p = grants().poll_device(hash("dc"), "tv");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->outcome, Outcome::kApproved);
  EXPECT_EQ(p->device->grant_id, "g1");
  // Approved until spent; spent once, by its own client.
  EXPECT_EQ(poll("dc"), Outcome::kApproved);
  EXPECT_FALSE(*grants().redeem_device(hash("dc"), "radio"));
  EXPECT_TRUE(*grants().redeem_device(hash("dc"), "tv"));
  EXPECT_FALSE(*grants().redeem_device(hash("dc"), "tv"));
  EXPECT_EQ(poll("dc"), Outcome::kRedeemed);
  // A decided authorization takes no second decision.
  EXPECT_FALSE(*decide("dc", std::nullopt));
}

TEST_P(DeviceAuthorizationsTest, DenialAndExpiry) {
  ASSERT_TRUE(grants().create_device_authorization(device("denied", "BCDFGHJK")));
  ASSERT_TRUE(*decide("denied", std::nullopt));
  EXPECT_EQ(poll("denied"), Outcome::kDenied);
  EXPECT_EQ((*grants().find_device_by_user_code("BCDFGHJK"))->status, DeviceStatus::kDenied);

  ASSERT_TRUE(grants().create_device_authorization(device("late", "LMNPQRST", 60)));
  clock_.advance(61);
  EXPECT_EQ(poll("late"), Outcome::kExpired);
  // Too late to approve: nothing is stored.
  EXPECT_FALSE(*decide("late", grant("g-late")));
  EXPECT_FALSE(*grants().find_grant("g-late"));
}

TEST_P(DeviceAuthorizationsTest, ConcurrentDecisionsHaveExactlyOneWinner) {
  ASSERT_TRUE(grants().create_device_authorization(device("race", "BCDFGHJK")));
  constexpr int kThreads = 8;
  std::array<int, kThreads> won{};
  race(kThreads, [&](int i) {
    auto r = decide("race", grant("g-" + std::to_string(i)));
    won[i] = r ? (*r ? 1 : 0) : -1;
  });
  int winners = 0;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_NE(won[i], -1) << "thread " << i;
    winners += won[i];
    // Only the winner's grant exists.
    EXPECT_EQ(grants().find_grant("g-" + std::to_string(i))->has_value(), won[i] == 1) << i;
  }
  EXPECT_EQ(winners, 1);
}

TEST_P(DeviceAuthorizationsTest, PurgeRemovesExpiredAuthorizations) {
  ASSERT_TRUE(grants().create_device_authorization(device("short", "BCDFGHJK", 60)));
  ASSERT_TRUE(grants().create_device_authorization(device("long", "LMNPQRST", 600)));
  clock_.advance(61);
  auto purged = grants().purge_expired();
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ(poll("short"), Outcome::kUnknown);
  EXPECT_EQ(poll("long"), Outcome::kPending);
}

TESSERA_ON_BOTH_BACKENDS(DeviceAuthorizationsTest);

}  // namespace
}  // namespace tessera::store::testing
