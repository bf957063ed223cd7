// The user's own account page (/account): it lists the signed-in user's browser sessions and
// the applications they allowed; a form signs out one session (its grants revoked, like logout)
// or withdraws an application (its consent and the user's grants to it). Only with the CSRF
// token, only the user's own sessions, and a signed-out browser sees nothing.
#include <gtest/gtest.h>

#include <string>

#include "as_fixture.h"

namespace tessera::oauth::testing {
namespace {

class AccountTest : public AuthorizationServerTest {
 protected:
  void populate() override {
    sign_in_alice();
    add_browser_client("web", false);
    auto bob = store_->users().create({"bob", "$argon2id$placeholder", "{}"});
    ASSERT_TRUE(bob);
    bob_id_ = bob->id;
    add_session("sid-phone", alice_.id);
    add_session("sid-bob", bob_id_);
    grant("g-here", "sid-1");
    grant("g-phone", "sid-phone");
    ASSERT_TRUE(store_->consents().grant(alice_.id, "web", {"openid", "invoices:read"}));
  }
  void add_session(const std::string& sid, const std::string& user_id) {
    store::Session s;
    s.id_sha256 = crypto::sha256(crypto::random_token(32));
    s.sid = sid;
    s.user_id = user_id;
    s.auth_time = clock_.now();
    s.acr = std::string(kAcrMfa);
    s.amr = {"pwd", "otp"};
    s.created_at = clock_.now();
    s.expires_at = clock_.now() + 3600;
    ASSERT_TRUE(store_->sessions().create(s));
  }
  void grant(const std::string& id, const std::string& sid) {
    store::GrantRecord g;
    g.id = id;
    g.client_id = "web";
    g.subject = alice_.id;
    g.sid = sid;
    g.scopes = {"openid"};
    g.created_at = clock_.now();
    g.expires_at = clock_.now() + 86400;
    ASSERT_TRUE(store_->grants().create_grant(g, std::nullopt));
  }
  bool revoked(const std::string& grant_id) {
    auto g = store_->grants().find_grant(grant_id);
    EXPECT_TRUE(g && *g);
    return g && *g && (*g)->revoked_at.has_value();
  }
  http::Response page(bool signed_in = true) {
    http::Request r;
    r.set_method("GET");
    r.set_target("/account");
    if (signed_in) {
      r.mutable_headers().add("Cookie", std::string(kSessionCookie) + "=" + session_cookie_);
    }
    auto response = call(std::move(r));
    if (browser_.empty()) browser_ = browser_cookie(response);
    return response;
  }
  // The page's form POSTed with `field` = `value` and the page's CSRF token (`csrf` overrides).
  http::Response post(const http::Response& shown, const std::string& field,
                      const std::string& value, std::optional<std::string> csrf = std::nullopt) {
    auto r = form_request(
        encoded({{"csrf", csrf.value_or(hidden_field(shown.body, "csrf"))}, {field, value}}));
    r.set_target("/account");
    r.mutable_headers().add("Cookie",
                            browser_ + "; " + std::string(kSessionCookie) + "=" + session_cookie_);
    return call(std::move(r));
  }

  std::string bob_id_;
};

TEST_F(AccountTest, ListsTheUsersSessionsAndConsentsOnly) {
  auto r = page();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("Signed in as <strong>alice</strong>"), std::string::npos);
  EXPECT_NE(r.body.find("value=\"sid-1\""), std::string::npos);
  EXPECT_NE(r.body.find("value=\"sid-phone\""), std::string::npos);
  EXPECT_EQ(r.body.find("sid-bob"), std::string::npos);  // bob's session is not alice's
  EXPECT_NE(r.body.find("(this browser)"), std::string::npos);
  EXPECT_NE(r.body.find("password and one-time code"), std::string::npos);
  EXPECT_NE(r.body.find("<code>openid invoices:read</code>"), std::string::npos);
  EXPECT_NE(r.body.find("name=\"client_id\" value=\"web\""), std::string::npos);
  EXPECT_EQ(page(false).status, 401);
}

TEST_F(AccountTest, SigningOutAnotherSessionEndsItAndRevokesItsGrants) {
  auto shown = page();
  auto r = post(shown, "sid", "sid-phone");
  EXPECT_EQ(r.status, 303) << r.body;
  EXPECT_EQ(header(r, "Location"), "https://as.example/account");
  auto gone = store_->sessions().find_by_sid("sid-phone");
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);
  EXPECT_TRUE(revoked("g-phone"));
  EXPECT_FALSE(revoked("g-here"));
  EXPECT_EQ(page().status, 200);  // this browser is still signed in
}

TEST_F(AccountTest, SigningOutThisBrowserClearsItsCookie) {
  auto shown = page();
  auto r = post(shown, "sid", "sid-1");
  EXPECT_EQ(r.status, 200) << r.body;
  bool cleared = false;
  for (const auto& [name, value] : r.headers) {
    if (http::iequals(name, "Set-Cookie") &&
        value.starts_with(std::string(kSessionCookie) + "=;")) {
      cleared = true;
    }
  }
  EXPECT_TRUE(cleared);
  EXPECT_TRUE(revoked("g-here"));
  EXPECT_EQ(page().status, 401);
}

TEST_F(AccountTest, WithdrawingAnApplicationRevokesTheConsentAndTheGrants) {
  auto shown = page();
  auto r = post(shown, "client_id", "web");
  EXPECT_EQ(r.status, 303) << r.body;
  auto consent = store_->consents().find(alice_.id, "web");
  ASSERT_TRUE(consent);
  EXPECT_FALSE(*consent);
  EXPECT_TRUE(revoked("g-here"));
  EXPECT_TRUE(revoked("g-phone"));
  EXPECT_EQ(post(shown, "client_id", "web").status, 400);  // nothing left to withdraw
}

TEST_F(AccountTest, FormsNeedTheTokenAndOnlyReachTheUsersOwnSessions) {
  auto shown = page();
  EXPECT_EQ(post(shown, "sid", "sid-phone", std::string("forged")).status, 403);
  EXPECT_EQ(post(shown, "sid", "sid-bob").status, 400);
  auto bobs = store_->sessions().find_by_sid("sid-bob");
  ASSERT_TRUE(bobs);
  EXPECT_TRUE(*bobs);  // untouched
  auto phone = store_->sessions().find_by_sid("sid-phone");
  ASSERT_TRUE(phone);
  EXPECT_TRUE(*phone);  // the forged form changed nothing
  EXPECT_EQ(post(shown, "nothing", "x").status, 400);
}

}  // namespace
}  // namespace tessera::oauth::testing
