// OpenID Connect Back-Channel and Front-Channel Logout 1.0 through the AuthorizationServer: when
// a session ends
// (RP-initiated logout at /end_session), the clients with a grant in it that registered a
// backchannel_logout_uri, and only those, get a logout token (§2.4: signed by the server's key,
// typ logout+jwt, iss, aud, sub, sid, iat, exp, jti, the event, no nonce) POSTed to that URI;
// the session's grants are revoked whatever the clients answer; the metadata says so (§2.1).
// Front-channel: the signed-out page frames each frontchannel_logout_uri of the session's
// clients with iss and sid, and moves on to the post-logout redirect only afterwards.
#include "oauth/backchannel_logout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "as_fixture.h"
#include "http/server.h"

namespace tessera::oauth::testing {
namespace {

constexpr char kEvent[] = "http://schemas.openid.net/event/backchannel-logout";

class BackchannelLogoutTest : public AuthorizationServerTest {
 protected:
  struct Sent {
    std::string uri;
    std::string token;
    bool public_only = false;
  };

  AuthorizationServerOptions server_options() override {
    AuthorizationServerOptions options = AuthorizationServerTest::server_options();
    options.logout_post = [this](const std::string& uri, const std::string& token,
                                 bool public_only) -> Result<int, std::string> {
      std::lock_guard lock(mutex_);
      sent_.push_back({uri, token, public_only});
      if (uri.find("unreachable") != std::string::npos) return Err(std::string("refused"));
      return uri.find("broken") != std::string::npos ? 500 : 200;
    };
    return options;
  }
  void populate() override {
    sign_in_alice();
    add_logout_client("rp-a", "https://a.example/logout");
    add_logout_client("rp-b", "");  // no back-channel logout URI
    add_logout_client("rp-c", "https://c.example/logout");
    add_logout_client("rp-broken", "https://broken.example/logout");
    add_logout_client("rp-down", "https://unreachable.example/logout");
  }

  void add_logout_client(const std::string& id, const std::string& uri) {
    store::Client c = add_client(id, id + "-secret");
    c.backchannel_logout_uri = uri;
    ASSERT_TRUE(store_->clients().update(c));
  }
  // A grant of `client_id` for alice, authorized in session `sid`.
  void add_grant(const std::string& id, const std::string& client_id, const std::string& sid) {
    store::GrantRecord g;
    g.id = id;
    g.client_id = client_id;
    g.subject = alice_.id;
    g.sid = sid;
    g.scopes = {"openid"};
    g.expires_at = clock_.now() + 3600;
    ASSERT_TRUE(store_->grants().create_grant(g, std::nullopt));
  }
  bool revoked(const std::string& grant_id) {
    auto g = store_->grants().find_grant(grant_id);
    EXPECT_TRUE(g && *g);
    return g && *g && (*g)->revoked_at.has_value();
  }
  store::Session alice_session() {
    auto s = store_->sessions().find_by_sid("sid-1");
    EXPECT_TRUE(s && *s);
    return **s;
  }
  // GET /end_session in alice's browser with an ID token of `client_id` for session sid-1 as
  // id_token_hint (so the sign-out is immediate), and `query` appended.
  http::Response end_session(const std::string& client_id, const std::string& query = {}) {
    start_tokens(kIssuer);
    IdTokenRequest id;
    id.subject = alice_.id;
    id.client_id = client_id;
    id.sid = "sid-1";
    id.auth_time = clock_.now();
    auto hint = service_->id_token(id);
    EXPECT_TRUE(hint);
    http::Request r;
    r.set_method("GET");
    r.set_target("/end_session?id_token_hint=" + (hint ? *hint : std::string()) + query);
    r.mutable_headers().add("Cookie", std::string(kSessionCookie) + "=" + session_cookie_);
    return call(r);
  }
  std::vector<Sent> sent() {
    as_->sessions().wait_idle();
    std::lock_guard lock(mutex_);
    return sent_;
  }

  std::mutex mutex_;
  std::vector<Sent> sent_;
};

// A client that registered itself chose its URI: the post dials public addresses only.
TEST_F(BackchannelLogoutTest, ARegisteredClientsUriIsPostedToPublicAddressesOnly) {
  auto c = store_->clients().find("rp-c");
  ASSERT_TRUE(c && *c);
  store::Client registered = **c;
  registered.registration_token_sha256 = crypto::sha256("registration token");
  ASSERT_TRUE(store_->clients().update(registered));
  add_grant("g-a", "rp-a", "sid-1");
  add_grant("g-c", "rp-c", "sid-1");
  ASSERT_TRUE(as_->sessions().end(alice_session()));
  std::vector<Sent> posts = sent();
  ASSERT_EQ(posts.size(), 2U);
  std::sort(posts.begin(), posts.end(), [](const Sent& a, const Sent& b) { return a.uri < b.uri; });
  EXPECT_EQ(posts[0].uri, "https://a.example/logout");
  EXPECT_FALSE(posts[0].public_only);
  EXPECT_EQ(posts[1].uri, "https://c.example/logout");
  EXPECT_TRUE(posts[1].public_only);
}

// The default post: what a self-registered client named is dialled at public addresses only,
// so a name of this machine reaches nothing; an operator's client may name it.
TEST(BackchannelLogoutPost, PublicOnlyPostsNeverReachThisMachine) {
  std::atomic<int> received{0};
  http::Router router;
  router.post("/logout", [&](const http::Request&) {
    ++received;
    return http::Response(200);
  });
  auto server = start_local_server(std::move(router));
  ASSERT_TRUE(server);
  const std::string uri = "http://localhost:" + std::to_string(server->port()) + "/logout";
  SessionEnder::Post post = SessionEnder::http_post();
  auto refused = post(uri, "a.logout.token", /*public_only=*/true);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("no public address"), std::string::npos) << refused.error();
  EXPECT_EQ(received.load(), 0);
  auto sent = post(uri, "a.logout.token", /*public_only=*/false);
  ASSERT_TRUE(sent) << sent.error();
  EXPECT_EQ(*sent, 200);
  EXPECT_EQ(received.load(), 1);
  server->stop();
}

TEST_F(BackchannelLogoutTest, MetadataAdvertisesBackchannelLogoutWithSessions) {
  EXPECT_EQ(as_->metadata()["backchannel_logout_supported"], true);
  EXPECT_EQ(as_->metadata()["backchannel_logout_session_supported"], true);
}

TEST_F(BackchannelLogoutTest, ClientsOfTheEndedSessionWithAUriGetASignedLogoutToken) {
  add_grant("g-a", "rp-a", "sid-1");
  add_grant("g-a2", "rp-a", "sid-1");  // two grants, one token
  add_grant("g-b", "rp-b", "sid-1");
  add_grant("g-c", "rp-c", "sid-other");  // another session: not told, not revoked
  ASSERT_TRUE(as_->sessions().end(alice_session()));

  const std::vector<Sent> posts = sent();
  ASSERT_EQ(posts.size(), 1U);
  EXPECT_EQ(posts[0].uri, "https://a.example/logout");
  EXPECT_FALSE(posts[0].public_only);  // an operator made rp-a
  auto verified = jose::verify(posts[0].token, as_->signing_keys().jwks());
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->header["typ"], "logout+jwt");
  auto claims = json::parse_strict(verified->payload);
  ASSERT_TRUE(claims);
  EXPECT_EQ((*claims)["iss"], kIssuer);
  EXPECT_EQ((*claims)["aud"], "rp-a");
  EXPECT_EQ((*claims)["sub"], alice_.id);
  EXPECT_EQ((*claims)["sid"], "sid-1");
  EXPECT_EQ((*claims)["iat"], clock_.now());
  EXPECT_EQ((*claims)["exp"], clock_.now() + 120);
  EXPECT_TRUE((*claims)["jti"].is_string());
  EXPECT_EQ((*claims)["events"], json::Json({{kEvent, json::Json::object()}}));
  EXPECT_FALSE(claims->contains("nonce"));  // §2.4: a logout token is not an ID token

  EXPECT_TRUE(revoked("g-a"));
  EXPECT_TRUE(revoked("g-a2"));
  EXPECT_TRUE(revoked("g-b"));
  EXPECT_FALSE(revoked("g-c"));
  auto gone = store_->sessions().find_by_sid("sid-1");
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);
}

TEST_F(BackchannelLogoutTest, ClientsThatFailDoNotKeepTheSessionAlive) {
  add_grant("g-broken", "rp-broken", "sid-1");
  add_grant("g-down", "rp-down", "sid-1");
  add_grant("g-a", "rp-a", "sid-1");
  ASSERT_TRUE(as_->sessions().end(alice_session()));
  const std::vector<Sent> posts = sent();
  ASSERT_EQ(posts.size(), 3U);  // every client tried once, whatever the others answered
  EXPECT_TRUE(revoked("g-broken"));
  EXPECT_TRUE(revoked("g-down"));
  EXPECT_TRUE(revoked("g-a"));
}

TEST_F(BackchannelLogoutTest, EndSessionWithAHintOfThisSessionTellsTheClients) {
  add_grant("g-a", "rp-a", "sid-1");
  auto response = end_session("rp-a");
  EXPECT_EQ(response.status, 200) << response.body;
  const std::vector<Sent> posts = sent();
  ASSERT_EQ(posts.size(), 1U);
  EXPECT_EQ(posts[0].uri, "https://a.example/logout");
  EXPECT_TRUE(revoked("g-a"));
}

// OpenID Connect Front-Channel Logout 1.0 §3: the signed-out page frames each front-channel
// client's logout URI with iss and sid, its CSP allowing exactly those origins to be framed.
class FrontchannelLogoutTest : public BackchannelLogoutTest {
 protected:
  void populate() override {
    BackchannelLogoutTest::populate();
    store::Client c = add_client("rp-f", "rp-f-secret");
    c.frontchannel_logout_uri = "https://f.example/logout?tenant=1";
    c.post_logout_redirect_uris = {"https://f.example/bye"};
    ASSERT_TRUE(store_->clients().update(c));
  }
};

TEST_F(FrontchannelLogoutTest, MetadataAdvertisesFrontchannelLogoutWithSessions) {
  EXPECT_EQ(as_->metadata()["frontchannel_logout_supported"], true);
  EXPECT_EQ(as_->metadata()["frontchannel_logout_session_supported"], true);
}

TEST_F(FrontchannelLogoutTest, SignedOutPageFramesTheClientsOfTheSession) {
  add_grant("g-f", "rp-f", "sid-1");
  add_grant("g-a", "rp-a", "sid-1");  // back-channel only: no frame
  auto r = end_session("rp-f");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("<iframe src=\"https://f.example/logout?tenant=1&amp;iss=https%3A%2F%2Fas."
                        "example&amp;sid=sid-1\" hidden"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(r.body.find("a.example"), std::string::npos);
  const std::string policy = std::string(r.headers.get("Content-Security-Policy").value_or(""));
  EXPECT_NE(policy.find("; frame-src https://f.example;"), std::string::npos) << policy;
  EXPECT_NE(policy.find("frame-ancestors 'none'"), std::string::npos) << policy;
  EXPECT_FALSE(r.headers.get("Refresh").has_value());
  EXPECT_EQ(sent().size(), 1U);  // rp-a's logout token
  EXPECT_TRUE(revoked("g-f"));
}

TEST_F(FrontchannelLogoutTest, WithARedirectThePageMovesOnAfterTheFrames) {
  add_grant("g-f", "rp-f", "sid-1");
  auto r =
      end_session("rp-f", "&post_logout_redirect_uri=https%3A%2F%2Ff.example%2Fbye&state=s%201");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers.get("Refresh"), "2;url=https://f.example/bye?state=s+1");
  EXPECT_NE(r.body.find("<a href=\"https://f.example/bye?state=s+1\">"), std::string::npos);
  EXPECT_NE(r.body.find("<iframe"), std::string::npos);
}

TEST_F(FrontchannelLogoutTest, WithoutFrontchannelClientsTheRedirectIsImmediate) {
  add_grant("g-a", "rp-a", "sid-1");
  auto r = end_session("rp-f", "&post_logout_redirect_uri=https%3A%2F%2Ff.example%2Fbye");
  EXPECT_EQ(r.status, 303) << r.body;
  EXPECT_EQ(r.headers.get("Location"), "https://f.example/bye");
}

TEST_F(BackchannelLogoutTest, ASessionWithoutGrantsTellsNobody) {
  ASSERT_TRUE(as_->sessions().end(alice_session()));
  EXPECT_TRUE(sent().empty());
}

}  // namespace
}  // namespace tessera::oauth::testing
