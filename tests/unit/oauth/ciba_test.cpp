// OpenID Connect CIBA Core 1.0 in poll mode through the routes AuthorizationServer registers: the
// backchannel authentication endpoint (§7.1-§7.3, errors of §13), the user hearing of it (the
// notifier), approving on the device pages where only the named user may decide, the token
// request with auth_req_id and every outcome of §11, the /ciba page, and the metadata (§4).
#include "oauth/ciba.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "as_fixture.h"
#include "oauth/device.h"

namespace tessera::oauth::testing {
namespace {

class CibaTest : public AuthorizationServerTest {
 protected:
  AuthorizationServerOptions server_options() override {
    AuthorizationServerOptions options = AuthorizationServerTest::server_options();
    options.ciba_notify = [this](const CibaNotification& n) { notified_.push_back(n); };
    return options;
  }
  void populate() override {
    // "bank": a confidential CIBA client with refresh tokens; "web": a code client only.
    add_browser_client("bank", /*is_public=*/false);
    update_client("bank", [](store::Client& c) {
      c.grant_types = {std::string(kCibaGrantType), "refresh_token", "authorization_code"};
    });
    add_browser_client("web", /*is_public=*/false);
    sign_in_alice();
  }

  // POST /bc-authorize as "bank" (HTTP Basic) with `form`.
  http::Response bc_authorize(const Pairs& form, const std::string& id = "bank") {
    return call(form_post("/bc-authorize", encoded(form), id, id + "-secret", {}));
  }
  // A request for alice with a binding message: its auth_req_id.
  std::string start(const Pairs& extra = {}) {
    Pairs form = {{"scope", "openid invoices:read"},
                  {"login_hint", "alice"},
                  {"binding_message", "Pay 12 EUR at Shop"}};
    form.insert(form.end(), extra.begin(), extra.end());
    auto r = bc_authorize(form);
    EXPECT_EQ(r.status, 200) << r.body;
    return body(r).value("auth_req_id", "");
  }
  http::Response poll(const std::string& auth_req_id, const std::string& id = "bank") {
    return call(form_post(
        "/token",
        encoded({{"grant_type", std::string(kCibaGrantType)}, {"auth_req_id", auth_req_id}}), id,
        id + "-secret", {}));
  }
  // Alice's browser opens the link she was sent and answers the consent page with `decision`.
  http::Response approve(const CibaNotification& n, const std::string& decision) {
    auto consent = enter_code(n.user_code, n.user_code);
    EXPECT_EQ(consent.status, 200) << consent.body;
    EXPECT_NE(consent.body.find("Pay 12 EUR at Shop"), std::string::npos) << consent.body;
    return decide(consent, decision);
  }

  std::vector<CibaNotification> notified_;
};

TEST_F(CibaTest, RequestAnswersSection73AndTellsTheUser) {
  auto r = bc_authorize({{"scope", "openid"}, {"login_hint", "alice"}, {"binding_message", "A1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  EXPECT_EQ(body(r)["auth_req_id"].get<std::string>().size(), 43u);  // 256 bits, base64url
  EXPECT_EQ(body(r)["expires_in"], 600);
  EXPECT_EQ(body(r)["interval"], 5);
  ASSERT_EQ(notified_.size(), 1u);
  EXPECT_EQ(notified_[0].user_id, alice_.id);
  EXPECT_EQ(notified_[0].client_id, "bank");
  EXPECT_EQ(notified_[0].binding_message, "A1");
  EXPECT_EQ(notified_[0].approval_uri,
            "https://as.example/device?user_code=" + notified_[0].user_code);
  EXPECT_EQ(notified_[0].expires_at, clock_.now() + 600);
  auto shorter =
      bc_authorize({{"scope", "openid"}, {"login_hint", "alice"}, {"requested_expiry", "30"}});
  EXPECT_EQ(body(shorter)["expires_in"], 30);
}

TEST_F(CibaTest, PendingSlowDownThenApprovedTokensOnce) {
  const std::string id = start();
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(error(poll(id)), "authorization_pending");
  EXPECT_EQ(error(poll(id)), "slow_down");  // polled again at once
  ASSERT_EQ(notified_.size(), 1u);
  auto done = approve(notified_[0], "allow");
  EXPECT_EQ(done.status, 200);
  EXPECT_NE(done.body.find("Request approved"), std::string::npos) << done.body;
  clock_.advance(15);
  auto tokens = poll(id);
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  EXPECT_TRUE(body(tokens).contains("refresh_token"));
  EXPECT_EQ(access_claims(body(tokens)["access_token"], kApiA)["sub"], alice_.id);
  auto id_token =
      jose::verify(body(tokens)["id_token"].get<std::string>(), as_->signing_keys().jwks());
  ASSERT_TRUE(id_token);
  auto claims = json::parse_strict(id_token->payload);
  ASSERT_TRUE(claims);
  EXPECT_EQ((*claims)["sub"], alice_.id);
  EXPECT_EQ((*claims)["aud"], "bank");
  clock_.advance(15);
  EXPECT_EQ(error(poll(id)), "invalid_grant");  // once
}

TEST_F(CibaTest, DeniedAndExpiredAreWhatThePollSays) {
  const std::string denied = start();
  ASSERT_EQ(notified_.size(), 1u);
  auto page = approve(notified_[0], "deny");
  EXPECT_NE(page.body.find("Request denied"), std::string::npos) << page.body;
  EXPECT_EQ(error(poll(denied)), "access_denied");
  const std::string expired = start({{"requested_expiry", "60"}});
  clock_.advance(61);
  EXPECT_EQ(error(poll(expired)), "expired_token");
}

TEST_F(CibaTest, OnlyTheNamedUserMayDecide) {
  auto bob = store_->users().create({"bob", "$argon2id$placeholder", "{}"});
  ASSERT_TRUE(bob);
  auto r = bc_authorize({{"scope", "openid"}, {"login_hint", "bob"}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(notified_.size(), 1u);
  EXPECT_EQ(notified_[0].user_id, bob->id);
  // Alice is signed in on this browser: she gets the sign-in page, not bob's consent page.
  auto page = enter_code(notified_[0].user_code, notified_[0].user_code);
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("name=\"password\""), std::string::npos) << page.body;
  // Who the request names is not told to whoever holds its code.
  EXPECT_EQ(page.body.find("bob"), std::string::npos);
  EXPECT_EQ(page.body.find("name=\"decision\""), std::string::npos);
  EXPECT_EQ(error(poll(body(r)["auth_req_id"])), "authorization_pending");
}

TEST_F(CibaTest, AnIdTokenHintIssuedToTheClientNamesItsUser) {
  auto redeemed = redeem("bank", code_of(authorize("bank")));
  ASSERT_EQ(redeemed.status, 200) << redeemed.body;
  auto r = bc_authorize(
      {{"scope", "openid"}, {"id_token_hint", body(redeemed)["id_token"].get<std::string>()}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(notified_.size(), 1u);
  EXPECT_EQ(notified_[0].user_id, alice_.id);
  // §7.1: issued to this client; another client's ID token, an access token (typ at+jwt, same
  // keys) and garbage are not hints.
  auto web = redeem("web", code_of(authorize("web")));
  ASSERT_EQ(web.status, 200) << web.body;
  for (const std::string& token :
       {body(web)["id_token"].get<std::string>(), body(redeemed)["access_token"].get<std::string>(),
        std::string("e30.e30.e30")}) {
    EXPECT_EQ(error(bc_authorize({{"scope", "openid"}, {"id_token_hint", token}})),
              "invalid_request");
  }
  EXPECT_EQ(notified_.size(), 1u);
}

TEST_F(CibaTest, BadRequestsGetSection13Errors) {
  auto expect = [&](const Pairs& form, const std::string& code, int status = 400) {
    auto r = bc_authorize(form);
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(error(r), code) << r.body;
  };
  expect({{"login_hint", "alice"}}, "invalid_request");  // no scope
  expect({{"scope", "invoices:read"}, {"login_hint", "alice"}}, "invalid_scope");
  expect({{"scope", "openid admin"}, {"login_hint", "alice"}}, "invalid_scope");
  expect({{"scope", "openid"}}, "invalid_request");  // no hint
  expect({{"scope", "openid"}, {"login_hint", "alice"}, {"login_hint_token", "x"}},
         "invalid_request");
  expect({{"scope", "openid"}, {"login_hint_token", "x"}}, "invalid_request");
  expect({{"scope", "openid"}, {"login_hint", "nobody"}}, "unknown_user_id");
  expect({{"scope", "openid"}, {"login_hint", "alice"}, {"binding_message", std::string(65, 'a')}},
         "invalid_binding_message");
  expect({{"scope", "openid"}, {"login_hint", "alice"}, {"binding_message", "a\nb"}},
         "invalid_binding_message");
  // U+202E RIGHT-TO-LEFT OVERRIDE would reorder what the user reads.
  expect({{"scope", "openid"},
          {"login_hint", "alice"},
          {"binding_message",
           "Pay \xE2\x80\xAE"
           "01 EUR"}},
         "invalid_binding_message");
  expect({{"scope", "openid"},
          {"login_hint", "alice"},
          {"authorization_details", R"([{"type":"payment_initiation"}])"}},
         "invalid_authorization_details");
  expect({{"scope", "openid"}, {"login_hint", "alice"}, {"requested_expiry", "-5"}},
         "invalid_request");
  expect({{"scope", "openid"}, {"login_hint", "alice"}, {"request", "e30.e30.e30"}},
         "invalid_request");
  auto web = bc_authorize({{"scope", "openid"}, {"login_hint", "alice"}}, "web");
  EXPECT_EQ(error(web), "unauthorized_client");
  auto wrong =
      call(form_post("/bc-authorize", encoded({{"scope", "openid"}, {"login_hint", "alice"}}),
                     "bank", "nope", {}));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(error(wrong), "invalid_client");
  EXPECT_TRUE(notified_.empty());  // none of these reached the user
}

TEST_F(CibaTest, TheDeviceGrantDoesNotTakeAnAuthReqIdNorTheOtherWayRound) {
  const std::string id = start();
  update_client(
      "bank", [](store::Client& c) { c.grant_types.push_back(std::string(kDeviceCodeGrantType)); });
  auto r = call(form_post(
      "/token", encoded({{"grant_type", std::string(kDeviceCodeGrantType)}, {"device_code", id}}),
      "bank", "bank-secret", {}));
  EXPECT_EQ(error(r), "invalid_grant") << r.body;
  auto device = call(form_post("/device_authorization", encoded({{"scope", "openid"}}), "bank",
                               "bank-secret", {}));
  ASSERT_EQ(device.status, 200) << device.body;
  EXPECT_EQ(error(poll(body(device)["device_code"])), "invalid_grant");
}

TEST_F(CibaTest, OneClientPromptsOneUserAtMost20TimesIn15MinutesOthersStillCan) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(bc_authorize({{"scope", "openid"}, {"login_hint", "alice"}}).status, 200) << i;
  }
  auto r = bc_authorize({{"scope", "openid"}, {"login_hint", "alice"}});
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(header(r, "Retry-After"), "60");
  EXPECT_EQ(notified_.size(), 20u);
  // Another client is not locked out of asking alice.
  add_browser_client("shop", /*is_public=*/false);
  update_client("shop", [](store::Client& c) { c.grant_types = {std::string(kCibaGrantType)}; });
  EXPECT_EQ(bc_authorize({{"scope", "openid"}, {"login_hint", "alice"}}, "shop").status, 200);
}

TEST_F(CibaTest, MetadataOffersPollMode) {
  const json::Json m = as_->metadata();
  EXPECT_EQ(m["backchannel_authentication_endpoint"], "https://as.example/bc-authorize");
  EXPECT_EQ(m["backchannel_token_delivery_modes_supported"], json::Json::array({"poll"}));
  EXPECT_EQ(m["backchannel_user_code_parameter_supported"], false);
  const auto& grants = m["grant_types_supported"];
  EXPECT_NE(std::find(grants.begin(), grants.end(), std::string(kCibaGrantType)), grants.end());
}

// The default notifier: the inbox the signed-in user sees at /ciba.
class CibaInboxPageTest : public AuthorizationServerTest {
 protected:
  void populate() override {
    add_browser_client("bank", /*is_public=*/false);
    update_client("bank", [](store::Client& c) { c.grant_types = {std::string(kCibaGrantType)}; });
    sign_in_alice();
  }
  // The user code of the first request a /ciba page links to.
  static std::string hidden_code(const std::string& html) {
    const std::string open = "device?user_code=";
    const size_t at = html.find(open);
    if (at == std::string::npos) return "";
    return html.substr(at + open.size(), 9);
  }
  http::Response page(bool signed_in) {
    http::Request r;
    r.set_method("GET");
    r.set_target("/ciba");
    if (signed_in)
      r.mutable_headers().add("Cookie", std::string(kSessionCookie) + "=" + session_cookie_);
    return call(std::move(r));
  }
};

TEST_F(CibaInboxPageTest, ListsThePendingRequestsOfTheSignedInUser) {
  EXPECT_NE(page(true).body.find("Nothing is waiting"), std::string::npos);
  auto r = call(form_post("/bc-authorize",
                          encoded({{"scope", "openid"},
                                   {"login_hint", "alice"},
                                   {"binding_message", "<b>Pay</b>"},
                                   {"requested_expiry", "120"}}),
                          "bank", "bank-secret", {}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto listed = page(true);
  EXPECT_EQ(listed.status, 200);
  EXPECT_NE(listed.body.find("&lt;b&gt;Pay&lt;/b&gt;"), std::string::npos) << listed.body;
  EXPECT_NE(listed.body.find("href=\"https://as.example/device?user_code="), std::string::npos);
  EXPECT_EQ(page(false).status, 401);
  // Decided: no longer listed.
  const std::string code = hidden_code(listed.body);
  ASSERT_FALSE(code.empty());
  auto consent = enter_code(code, code);
  ASSERT_EQ(consent.status, 200) << consent.body;
  decide(consent, "deny");
  EXPECT_NE(page(true).body.find("Nothing is waiting"), std::string::npos);
  ASSERT_EQ(call(form_post("/bc-authorize", encoded({{"scope", "openid"}, {"login_hint", "alice"}}),
                           "bank", "bank-secret", {}))
                .status,
            200);
  EXPECT_EQ(page(true).body.find("Nothing is waiting"), std::string::npos);
  clock_.advance(601);
  EXPECT_NE(page(true).body.find("Nothing is waiting"), std::string::npos);  // expired
}

TEST(CibaInbox, KeepsAtMost20PerUserNewestFirst) {
  FixedClock clock(1000);
  CibaInbox inbox(clock);
  for (int i = 0; i < 25; ++i) {
    inbox.add({"u1", "c", std::to_string(i), "uri", "code", 2000});
  }
  inbox.add({"u2", "c", "other", "uri", "code", 2000});
  auto mine = inbox.pending("u1");
  ASSERT_EQ(mine.size(), CibaInbox::kPerUser);
  EXPECT_EQ(mine.front().binding_message, "24");
  EXPECT_EQ(mine.back().binding_message, "5");
  EXPECT_EQ(inbox.pending("u2").size(), 1u);
  EXPECT_TRUE(inbox.pending("u3").empty());
}

}  // namespace
}  // namespace tessera::oauth::testing
