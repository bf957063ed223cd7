// SessionStore and ConsentStore on both backends: sessions by cookie hash and by sid, expiry by
// the store's clock, re-authentication, ending one or all sessions, purge; consents as the
// union of granted scopes, listing and revocation.
#include "store/session_store.h"

#include <gtest/gtest.h>

#include "backend_fixture.h"
#include "core/crypto.h"

namespace tessera::store::testing {
namespace {

using Code = StoreError::Code;

class SessionStoreTest : public StoreTest {
 protected:
  SessionStore& sessions() { return store_->sessions(); }

  Session session(const std::string& cookie, const std::string& sid, const std::string& user = "u1",
                  int64_t lifetime = 3600) {
    Session s;
    s.id_sha256 = crypto::sha256(cookie);
    s.sid = sid;
    s.user_id = user;
    s.auth_time = clock_.now() - 5;
    s.acr = "urn:tessera:acr:pwd";
    s.amr = {"pwd"};
    s.created_at = clock_.now();
    s.expires_at = clock_.now() + lifetime;
    return s;
  }
};

TEST_P(SessionStoreTest, CreatedSessionIsFoundByCookieHashAndBySid) {
  Session s = session("cookie-1", "sid-1");
  ASSERT_TRUE(sessions().create(s));
  for (auto found :
       {sessions().find(crypto::sha256("cookie-1")), sessions().find_by_sid("sid-1")}) {
    ASSERT_TRUE(found) << found.error().message;
    ASSERT_TRUE(found->has_value());
    const Session& f = **found;
    EXPECT_EQ(f.id_sha256, s.id_sha256);
    EXPECT_EQ(f.sid, "sid-1");
    EXPECT_EQ(f.user_id, "u1");
    EXPECT_EQ(f.auth_time, s.auth_time);
    EXPECT_EQ(f.acr, s.acr);
    EXPECT_EQ(f.amr, s.amr);
    EXPECT_EQ(f.created_at, s.created_at);
    EXPECT_EQ(f.expires_at, s.expires_at);
  }
  auto unknown = sessions().find(crypto::sha256("other"));
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->has_value());
  auto unknown_sid = sessions().find_by_sid("nope");
  ASSERT_TRUE(unknown_sid);
  EXPECT_FALSE(unknown_sid->has_value());
}

TEST_P(SessionStoreTest, DuplicateIdOrSidIsAConflict) {
  ASSERT_TRUE(sessions().create(session("cookie-1", "sid-1")));
  auto same_id = sessions().create(session("cookie-1", "sid-2"));
  ASSERT_FALSE(same_id);
  EXPECT_EQ(same_id.error().code, Code::kConflict);
  auto same_sid = sessions().create(session("cookie-2", "sid-1"));
  ASSERT_FALSE(same_sid);
  EXPECT_EQ(same_sid.error().code, Code::kConflict);
}

TEST_P(SessionStoreTest, MalformedSessionsAreRefused) {
  Session short_hash = session("c", "s");
  short_hash.id_sha256 = "short";
  Session no_sid = session("c", "");
  Session no_user = session("c", "s", "");
  Session backwards = session("c", "s");
  backwards.expires_at = backwards.created_at;
  for (const Session& s : {short_hash, no_sid, no_user, backwards}) {
    auto created = sessions().create(s);
    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().code, Code::kInvalidArgument);
  }
  auto found = sessions().find_by_sid("s");
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TEST_P(SessionStoreTest, ExpiredSessionIsNotFound) {
  ASSERT_TRUE(sessions().create(session("cookie-1", "sid-1", "u1", 100)));
  clock_.advance(99);
  auto live = sessions().find(crypto::sha256("cookie-1"));
  ASSERT_TRUE(live);
  EXPECT_TRUE(live->has_value());
  clock_.advance(1);
  auto expired = sessions().find(crypto::sha256("cookie-1"));
  ASSERT_TRUE(expired);
  EXPECT_FALSE(expired->has_value());
  auto by_sid = sessions().find_by_sid("sid-1");
  ASSERT_TRUE(by_sid);
  EXPECT_FALSE(by_sid->has_value());
}

TEST_P(SessionStoreTest, UpdateAuthenticationReplacesTimeAcrAndAmr) {
  ASSERT_TRUE(sessions().create(session("cookie-1", "sid-1")));
  clock_.advance(60);
  ASSERT_TRUE(sessions().update_authentication(crypto::sha256("cookie-1"), clock_.now(), "mfa",
                                               {"pwd", "otp"}));
  auto found = sessions().find(crypto::sha256("cookie-1"));
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->auth_time, clock_.now());
  EXPECT_EQ((*found)->acr, "mfa");
  EXPECT_EQ((*found)->amr, (std::vector<std::string>{"pwd", "otp"}));
}

TEST_P(SessionStoreTest, UpdateAuthenticationOfAbsentOrExpiredSessionIsNotFound) {
  auto absent = sessions().update_authentication(crypto::sha256("nope"), clock_.now(), "a", {});
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().code, Code::kNotFound);
  ASSERT_TRUE(sessions().create(session("cookie-1", "sid-1", "u1", 10)));
  clock_.advance(10);
  auto expired =
      sessions().update_authentication(crypto::sha256("cookie-1"), clock_.now(), "a", {"pwd"});
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, Code::kNotFound);
}

TEST_P(SessionStoreTest, RemoveBySidEndsOnlyThatSession) {
  ASSERT_TRUE(sessions().create(session("cookie-1", "sid-1")));
  ASSERT_TRUE(sessions().create(session("cookie-2", "sid-2")));
  auto removed = sessions().remove_by_sid("sid-1");
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  auto again = sessions().remove_by_sid("sid-1");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto gone = sessions().find_by_sid("sid-1");
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->has_value());
  auto kept = sessions().find_by_sid("sid-2");
  ASSERT_TRUE(kept);
  EXPECT_TRUE(kept->has_value());
}

TEST_P(SessionStoreTest, ListForUserReturnsLiveSessionsNewestFirst) {
  ASSERT_TRUE(sessions().create(session("c1", "s1", "alice", 50)));
  clock_.advance(10);
  ASSERT_TRUE(sessions().create(session("c2", "s2", "alice")));
  clock_.advance(10);
  ASSERT_TRUE(sessions().create(session("c3", "s3", "alice")));
  ASSERT_TRUE(sessions().create(session("c4", "s4", "bob")));
  auto listed = sessions().list_for_user("alice");
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].sid, "s3");
  EXPECT_EQ((*listed)[1].sid, "s2");
  EXPECT_EQ((*listed)[2].sid, "s1");
  clock_.advance(30);  // s1 expires
  listed = sessions().list_for_user("alice");
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[1].sid, "s2");
}

TEST_P(SessionStoreTest, RemoveForUserEndsEverySessionOfThatUserOnly) {
  ASSERT_TRUE(sessions().create(session("c1", "s1", "alice")));
  ASSERT_TRUE(sessions().create(session("c2", "s2", "alice")));
  ASSERT_TRUE(sessions().create(session("c3", "s3", "bob")));
  auto removed = sessions().remove_for_user("alice");
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, 2);
  auto alice = sessions().list_for_user("alice");
  ASSERT_TRUE(alice);
  EXPECT_TRUE(alice->empty());
  auto bob = sessions().list_for_user("bob");
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->size(), 1u);
}

TEST_P(SessionStoreTest, PurgeDeletesOnlyExpiredSessions) {
  ASSERT_TRUE(sessions().create(session("c1", "s1", "u1", 10)));
  ASSERT_TRUE(sessions().create(session("c2", "s2", "u1", 100)));
  clock_.advance(10);
  auto purged = sessions().purge_expired();
  ASSERT_TRUE(purged) << purged.error().message;
  EXPECT_EQ(*purged, 1);
  // The expired sid is free again: its row is gone.
  EXPECT_TRUE(sessions().create(session("c1", "s1")));
  auto kept = sessions().find_by_sid("s2");
  ASSERT_TRUE(kept);
  EXPECT_TRUE(kept->has_value());
}

TESSERA_ON_BOTH_BACKENDS(SessionStoreTest);

class ConsentStoreTest : public StoreTest {
 protected:
  ConsentStore& consents() { return store_->consents(); }
};

TEST_P(ConsentStoreTest, GrantStoresTheUnionOfScopesInOrder) {
  auto first = consents().grant("alice", "spa", {"openid", "profile"});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->scopes, (std::vector<std::string>{"openid", "profile"}));
  EXPECT_EQ(first->granted_at, clock_.now());
  clock_.advance(100);
  auto second = consents().grant("alice", "spa", {"email", "openid", "email"});
  ASSERT_TRUE(second) << second.error().message;
  const std::vector<std::string> expected{"openid", "profile", "email"};
  EXPECT_EQ(second->scopes, expected);
  EXPECT_EQ(second->granted_at, clock_.now());
  auto found = consents().find("alice", "spa");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->user_id, "alice");
  EXPECT_EQ((*found)->client_id, "spa");
  EXPECT_EQ((*found)->scopes, expected);
  EXPECT_EQ((*found)->granted_at, clock_.now());
}

TEST_P(ConsentStoreTest, UnknownConsentIsNotFound) {
  ASSERT_TRUE(consents().grant("alice", "spa", {"openid"}));
  auto other_client = consents().find("alice", "other");
  ASSERT_TRUE(other_client);
  EXPECT_FALSE(other_client->has_value());
  auto other_user = consents().find("bob", "spa");
  ASSERT_TRUE(other_user);
  EXPECT_FALSE(other_user->has_value());
}

TEST_P(ConsentStoreTest, EmptyIdsOrScopesAreRefused) {
  for (auto refused :
       {consents().grant("", "spa", {"openid"}), consents().grant("alice", "", {"openid"}),
        consents().grant("alice", "spa", {"openid", ""})}) {
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Code::kInvalidArgument);
  }
  auto listed = consents().list_for_user("alice");
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->empty());
}

TEST_P(ConsentStoreTest, ListForUserIsByClientId) {
  ASSERT_TRUE(consents().grant("alice", "zeta", {"openid"}));
  ASSERT_TRUE(consents().grant("alice", "alpha", {"email"}));
  ASSERT_TRUE(consents().grant("bob", "beta", {"openid"}));
  auto listed = consents().list_for_user("alice");
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].client_id, "alpha");
  EXPECT_EQ((*listed)[0].scopes, (std::vector<std::string>{"email"}));
  EXPECT_EQ((*listed)[1].client_id, "zeta");
}

TEST_P(ConsentStoreTest, RevokeRemovesTheConsentSoTheNextGrantStartsAfresh) {
  ASSERT_TRUE(consents().grant("alice", "spa", {"openid", "profile"}));
  ASSERT_TRUE(consents().grant("alice", "other", {"openid"}));
  auto revoked = consents().revoke("alice", "spa");
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(*revoked);
  auto again = consents().revoke("alice", "spa");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto found = consents().find("alice", "spa");
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
  auto fresh = consents().grant("alice", "spa", {"email"});
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->scopes, (std::vector<std::string>{"email"}));
  auto other = consents().find("alice", "other");
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->has_value());
}

TESSERA_ON_BOTH_BACKENDS(ConsentStoreTest);

}  // namespace
}  // namespace tessera::store::testing
