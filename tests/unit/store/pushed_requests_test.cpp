// Pushed authorization requests in the store (RFC 9126, schema migration 15) on both backends:
// GrantStore::push_request and take_pushed_request (§4: used once, until it expires, only by
// the client that pushed it; §7.3: of concurrent uses exactly one wins), purge_expired, and
// clients.require_pushed_authorization_requests (§6) through insert, find, list and update.
#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "backend_fixture.h"
#include "core/crypto.h"
#include "store/client_store.h"
#include "store/grant_store.h"

namespace tessera::store::testing {
namespace {

using Code = StoreError::Code;

constexpr char kParams[] = R"([["client_id","web"],["response_type","code"],["scope","openid"],)"
                           R"(["resource","urn:a"],["resource","urn:b"]])";

std::string hash(std::string_view request_uri) { return crypto::sha256(request_uri); }

Client client(const std::string& id, bool require_par) {
  Client c;
  c.client_id = id;
  c.type = ClientType::kPublic;
  c.auth_method = ClientAuthMethod::kNone;
  c.grant_types = {"authorization_code"};
  c.redirect_uris = {"https://app.example/cb"};
  c.scopes = {"openid"};
  c.require_pushed_authorization_requests = require_par;
  return c;
}

class PushedRequestsTest : public StoreTest {
 protected:
  GrantStore& grants() { return store_->grants(); }
  ClientStore& clients() { return store_->clients(); }

  // A request pushed by `client_id` now, living `lifetime` seconds.
  PushedRequest pushed(const std::string& request_uri, const std::string& client_id = "web",
                       int64_t lifetime = 60) const {
    PushedRequest p;
    p.request_uri_sha256 = hash(request_uri);
    p.client_id = client_id;
    p.params_json = kParams;
    p.expires_at = clock_.now() + lifetime;
    return p;
  }

  // take_pushed_request, which must not fail.
  std::optional<PushedRequest> take(const std::string& request_uri,
                                    const std::string& client_id = "web") {
    auto taken = grants().take_pushed_request(hash(request_uri), client_id);
    if (!taken) {
      ADD_FAILURE() << taken.error().message;
      return std::nullopt;
    }
    return *taken;
  }

  // Rows in the pushed_requests table.
  int64_t rows() {
    auto counted = store_->database().query("SELECT COUNT(*) FROM pushed_requests");
    if (!counted || counted->size() != 1) {
      ADD_FAILURE() << (counted ? "no row" : counted.error().message);
      return -1;
    }
    return counted->front().integer(0);
  }

  bool stored_flag(const std::string& id) {
    auto found = clients().find(id);
    if (!found || !*found) {
      ADD_FAILURE() << "client " << id << " not found";
      return false;
    }
    return (*found)->require_pushed_authorization_requests;
  }
};

TEST_P(PushedRequestsTest, PushedRequestIsTakenWithEveryField) {
  const PushedRequest p = pushed("urn:1");
  ASSERT_TRUE(grants().push_request(p));
  EXPECT_EQ(rows(), 1);
  auto taken = take("urn:1");
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->request_uri_sha256, p.request_uri_sha256);
  EXPECT_EQ(taken->client_id, "web");
  EXPECT_EQ(taken->params_json, kParams);  // the pairs in order, repeated resource kept
  EXPECT_EQ(taken->expires_at, clock_.now() + 60);
  EXPECT_EQ(rows(), 0);
}

TEST_P(PushedRequestsTest, TakeIsSingleUse) {
  ASSERT_TRUE(grants().push_request(pushed("urn:1")));
  ASSERT_TRUE(grants().push_request(pushed("urn:2")));
  EXPECT_TRUE(take("urn:1"));
  EXPECT_FALSE(take("urn:1"));
  // The other request is untouched.
  EXPECT_TRUE(take("urn:2"));
}

TEST_P(PushedRequestsTest, UnknownRequestIsNulloptNotAnError) { EXPECT_FALSE(take("urn:never")); }

TEST_P(PushedRequestsTest, ExpiredRequestIsNotTaken) {
  ASSERT_TRUE(grants().push_request(pushed("urn:short", "web", 60)));
  ASSERT_TRUE(grants().push_request(pushed("urn:long", "web", 120)));
  clock_.advance(59);
  EXPECT_TRUE(take("urn:long")) << "unexpired";
  ASSERT_TRUE(grants().push_request(pushed("urn:long", "web", 1)));  // pushed again, 59 s later
  clock_.advance(1);
  EXPECT_FALSE(take("urn:short")) << "expires_at == now is expired";
  EXPECT_FALSE(take("urn:long"));
}

TEST_P(PushedRequestsTest, AnotherClientGetsNothingAndSpendsNothing) {
  ASSERT_TRUE(grants().push_request(pushed("urn:1", "web")));
  EXPECT_FALSE(take("urn:1", "other"));
  EXPECT_FALSE(take("urn:1", ""));
  EXPECT_EQ(rows(), 1);
  auto taken = take("urn:1", "web");
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->client_id, "web");
}

TEST_P(PushedRequestsTest, DuplicateHashIsAConflictAndKeepsTheFirst) {
  ASSERT_TRUE(grants().push_request(pushed("urn:1", "web")));
  PushedRequest again = pushed("urn:1", "other", 600);
  again.params_json = "[]";
  auto duplicate = grants().push_request(again);
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code, Code::kConflict);
  EXPECT_FALSE(take("urn:1", "other"));
  auto taken = take("urn:1", "web");
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->params_json, kParams);
  EXPECT_EQ(taken->expires_at, clock_.now() + 60);
}

TEST_P(PushedRequestsTest, MalformedRecordsAreRefusedAndNothingIsWritten) {
  PushedRequest short_hash = pushed("urn:1");
  short_hash.request_uri_sha256 = "short";
  PushedRequest no_client = pushed("urn:2", "");
  for (const PushedRequest& p : {short_hash, no_client}) {
    auto r = grants().push_request(p);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  }
  EXPECT_EQ(rows(), 0);
  auto bad_take = grants().take_pushed_request("short", "web");
  ASSERT_FALSE(bad_take);
  EXPECT_EQ(bad_take.error().code, Code::kInvalidArgument);
}

TEST_P(PushedRequestsTest, ConcurrentTakesHaveExactlyOneWinner) {
  ASSERT_TRUE(grants().push_request(pushed("urn:race")));
  constexpr int kThreads = 16;
  std::array<int, kThreads> got{};
  std::array<std::string, kThreads> errors;
  race(kThreads, [&](int i) {
    auto r = grants().take_pushed_request(hash("urn:race"), "web");
    if (r) {
      got[i] = r->has_value() ? 1 : 0;
    } else {
      errors[i] = r.error().message;
      got[i] = -1;
    }
  });
  int winners = 0;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_NE(got[i], -1) << "thread " << i << ": " << errors[i];
    winners += got[i];
  }
  EXPECT_EQ(winners, 1);
}

TEST_P(PushedRequestsTest, PurgeRemovesExpiredPushedRequestsOnly) {
  ASSERT_TRUE(grants().push_request(pushed("urn:short", "web", 60)));
  ASSERT_TRUE(grants().push_request(pushed("urn:long", "web", 120)));
  auto none = grants().purge_expired();
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_EQ(*none, 0);
  EXPECT_EQ(rows(), 2);

  clock_.advance(60);
  auto purged = grants().purge_expired();
  ASSERT_TRUE(purged) << purged.error().message;
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ(rows(), 1);
  // The one left is the unexpired one.
  EXPECT_TRUE(take("urn:long"));
  EXPECT_EQ(rows(), 0);

  ASSERT_TRUE(grants().push_request(pushed("urn:later", "web", 10)));
  clock_.advance(10);
  purged = grants().purge_expired();
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ(rows(), 0);
}

TEST_P(PushedRequestsTest, RequirePushedAuthorizationRequestsRoundTrips) {
  ASSERT_TRUE(clients().insert(client("plain", false)));
  ASSERT_TRUE(clients().insert(client("par", true)));
  EXPECT_FALSE(stored_flag("plain"));
  EXPECT_TRUE(stored_flag("par"));
  auto listed = clients().list();
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 2u);
  for (const Client& c : *listed) {
    EXPECT_EQ(c.require_pushed_authorization_requests, c.client_id == "par") << c.client_id;
  }

  Client turned_on = client("plain", true);
  ASSERT_TRUE(clients().update(turned_on));
  EXPECT_TRUE(stored_flag("plain"));
  Client turned_off = client("par", false);
  ASSERT_TRUE(clients().update(turned_off));
  EXPECT_FALSE(stored_flag("par"));
}

TEST_P(PushedRequestsTest, ClientsStoredWithoutTheColumnDoNotRequirePar) {
  auto inserted = store_->database().execute(
      "INSERT INTO clients (client_id, client_type, token_endpoint_auth_method, secret_sha256,"
      " grant_types, redirect_uris, scopes, audiences, access_token_format,"
      " access_token_lifetime, created_at) VALUES"
      " ('old', 'confidential', 'client_secret_basic', ?, '[]', '[]', '[]', '[]', 'jwt', 300, 1)",
      {Blob{crypto::sha256("x")}});
  ASSERT_TRUE(inserted) << inserted.error().message;
  EXPECT_FALSE(stored_flag("old"));
}

TESSERA_ON_BOTH_BACKENDS(PushedRequestsTest);

}  // namespace
}  // namespace tessera::store::testing
