// The device authorization grant (RFC 8628) through the routes AuthorizationServer registers: the
// device authorization endpoint (§3.1, §3.2), the verification page at /device with sign-in and
// consent (§3.3), and the device access token request with every outcome of §3.5
// (authorization_pending, slow_down, access_denied, expired_token) and the tokens, once.
#include "oauth/device.h"

#include <gtest/gtest.h>

#include <string>

#include "as_fixture.h"

namespace tessera::oauth::testing {
namespace {

constexpr char kGrantType[] = "urn:ietf:params:oauth:grant-type:device_code";

class DeviceTest : public AuthorizationServerTest {
 protected:
  void populate() override {
    // "tv": a public client of the device grant that skips consent (it is asked anyway).
    add_browser_client("tv", /*is_public=*/true);
    update_client("tv", [](store::Client& c) {
      c.grant_types = {kGrantType, "refresh_token"};
      c.redirect_uris.clear();
      // RFC 7591 §2 display metadata, which the consent page shows.
      c.client_name = "Living Room <TV>";
      c.policy_uri = "https://tv.example/privacy";
    });
    // "web": a code client that may not use the device grant.
    add_browser_client("web", /*is_public=*/false);
    sign_in_alice();
  }

  // POST /device_authorization as the public client `id` with `extra` parameters.
  http::Response device_authorization(const std::string& id, const Pairs& extra = {}) {
    Pairs form = {{"client_id", id}};
    form.insert(form.end(), extra.begin(), extra.end());
    return call(form_post("/device_authorization", encoded(form), id, "", {}));
  }
  // The device_code and user_code of a successful device authorization of "tv".
  std::pair<std::string, std::string> start_device(const Pairs& extra = {}) {
    auto r = device_authorization("tv", extra);
    EXPECT_EQ(r.status, 200) << r.body;
    return {body(r).value("device_code", ""), body(r).value("user_code", "")};
  }
  // The device's poll (§3.4) as the public client `id`.
  http::Response poll(const std::string& device_code, const std::string& id = "tv") {
    return call(form_post(
        "/token",
        encoded({{"grant_type", kGrantType}, {"device_code", device_code}, {"client_id", id}}), id,
        "", {}));
  }
};

TEST_F(DeviceTest, AuthorizationResponseHasEveryMemberOfSection32) {
  auto r = device_authorization("tv", {{"scope", "openid"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  json::Json b = body(r);
  EXPECT_EQ(b["device_code"].get<std::string>().size(), 43u);
  const std::string user_code = b["user_code"];
  ASSERT_EQ(user_code.size(), 9u) << user_code;
  EXPECT_EQ(user_code[4], '-');
  EXPECT_EQ(normalize_user_code(user_code), user_code.substr(0, 4) + user_code.substr(5));
  EXPECT_EQ(b["verification_uri"], "https://as.example/device");
  EXPECT_EQ(b["verification_uri_complete"], "https://as.example/device?user_code=" + user_code);
  EXPECT_EQ(b["expires_in"], 600);
  EXPECT_EQ(b["interval"], 5);
  // Two requests, two different codes.
  auto again = device_authorization("tv");
  EXPECT_NE(body(again)["user_code"], user_code);
  EXPECT_NE(body(again)["device_code"], b["device_code"]);
}

TEST_F(DeviceTest, StartsArePerAddressBudgeted) {
  auto from = [&](const std::string& address) {
    http::Request r =
        form_post("/device_authorization", encoded({{"client_id", "tv"}}), "tv", "", {});
    r.set_peer(address, 50000);
    return call(r);
  };
  const int budget = identity::LoginThrottleOptions{}.address.max_failures;
  int started = 0;
  http::Response last;
  for (int i = 0; i < budget + 5; ++i) {
    last = from("2001:db8::" + std::to_string(i + 1));  // one /64: one budget
    if (last.status != 200) break;
    ++started;
  }
  EXPECT_EQ(started, budget);
  EXPECT_EQ(last.status, 429);
  EXPECT_EQ(error(last), "temporarily_unavailable");
  EXPECT_TRUE(last.headers.get("Retry-After").has_value());
  EXPECT_EQ(from("192.0.2.1").status, 200);  // another address has its own
  clock_.advance(16 * 60);
  EXPECT_EQ(from("2001:db8::1").status, 200);
}

TEST_F(DeviceTest, AuthorizationRequestErrors) {
  auto web = call(form_post("/device_authorization", "", "web", "web-secret", {}));
  EXPECT_EQ(web.status, 400) << web.body;
  EXPECT_EQ(error(web), "unauthorized_client");
  auto scope = device_authorization("tv", {{"scope", "invoices:write"}});
  EXPECT_EQ(scope.status, 400) << scope.body;
  EXPECT_EQ(error(scope), "invalid_scope");
  // RFC 9396 details are refused, not dropped (they would not reach the approval).
  auto details = device_authorization(
      "tv", {{"authorization_details", R"([{"type":"account_information"}])"}});
  EXPECT_EQ(details.status, 400) << details.body;
  EXPECT_EQ(error(details), "invalid_authorization_details");
  auto unknown = device_authorization("nobody");
  EXPECT_EQ(unknown.status, 401) << unknown.body;
  EXPECT_EQ(error(unknown), "invalid_client");
  auto target = device_authorization("tv", {{"resource", "https://elsewhere.example"}});
  EXPECT_EQ(error(target), "invalid_target") << target.body;
}

TEST_F(DeviceTest, UserApprovesAndTheDeviceGetsItsTokensOnce) {
  auto [device_code, user_code] = start_device({{"scope", "openid invoices:read"}});
  // §3.5: pending; polling again at once is slow_down, and the interval grows to 10 s.
  EXPECT_EQ(error(poll(device_code)), "authorization_pending");
  auto fast = poll(device_code);
  EXPECT_EQ(fast.status, 400);
  EXPECT_EQ(error(fast), "slow_down") << fast.body;
  clock_.advance(6);
  EXPECT_EQ(error(poll(device_code)), "slow_down") << "5 s is no longer enough";
  clock_.advance(15);
  EXPECT_EQ(error(poll(device_code)), "authorization_pending");

  // The user types the code in lower case without the dash: consent is asked although the
  // client skips consent for the code flow (§5.4).
  std::string typed = user_code.substr(0, 4) + user_code.substr(5);
  for (char& ch : typed) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto consent = enter_code(user_code, typed);
  ASSERT_EQ(consent.status, 200) << consent.body;
  EXPECT_NE(consent.body.find("Allow access?"), std::string::npos) << consent.body;
  // The registered name, escaped, with the client_id beside it, and the registered policy.
  EXPECT_NE(consent.body.find("<strong><bdi>Living Room &lt;TV&gt;</bdi></strong> "
                              "<span class=\"muted\">(<bdi>tv</bdi>)</span>"),
            std::string::npos)
      << consent.body;
  EXPECT_NE(consent.body.find("href=\"https://tv.example/privacy\""), std::string::npos);
  // RFC 8628 §5.4: the page says a device is being connected, and which code it shows.
  EXPECT_NE(consent.body.find("connects a device showing the code <strong>" + user_code),
            std::string::npos)
      << consent.body;
  auto done = decide(consent, "allow");
  EXPECT_EQ(done.status, 200) << done.body;
  EXPECT_NE(done.body.find("Device connected"), std::string::npos) << done.body;

  clock_.advance(15);
  auto tokens = poll(device_code);
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  json::Json t = body(tokens);
  EXPECT_EQ(t["token_type"], "Bearer");
  EXPECT_EQ(t["scope"], "openid invoices:read");
  EXPECT_TRUE(t.contains("refresh_token"));
  EXPECT_TRUE(t.contains("id_token"));
  json::Json claims = access_claims(t["access_token"], kApiA);
  EXPECT_EQ(claims["sub"], alice_.id);
  EXPECT_EQ(claims["client_id"], "tv");
  // Once.
  clock_.advance(15);
  EXPECT_EQ(error(poll(device_code)), "invalid_grant");
  // A used code cannot be entered again.
  EXPECT_EQ(enter_code(user_code, user_code).status, 400);
}

TEST_F(DeviceTest, APollRefusedWhileMintingLeavesTheApprovalForTheNext) {
  auto [device_code, user_code] = start_device();
  auto consent = enter_code(user_code, user_code);
  ASSERT_EQ(decide(consent, "allow").status, 200);
  // A resource outside the grant: refused, and the approval is not spent.
  auto r = call(form_post("/token",
                          encoded({{"grant_type", kGrantType},
                                   {"device_code", device_code},
                                   {"client_id", "tv"},
                                   {"resource", "https://elsewhere.example"}}),
                          "tv", "", {}));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error(r), "invalid_target") << r.body;
  clock_.advance(10);
  auto tokens = poll(device_code);
  EXPECT_EQ(tokens.status, 200) << tokens.body;
}

TEST_F(DeviceTest, UserDeniesAndTheDeviceHearsAccessDenied) {
  auto [device_code, user_code] = start_device();
  auto consent = enter_code(user_code, user_code);
  ASSERT_EQ(consent.status, 200) << consent.body;
  auto denied = decide(consent, "deny");
  EXPECT_EQ(denied.status, 200) << denied.body;
  EXPECT_NE(denied.body.find("Access denied"), std::string::npos) << denied.body;
  EXPECT_FALSE(denied.headers.get("Location"));
  auto r = poll(device_code);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error(r), "access_denied") << r.body;
}

TEST_F(DeviceTest, WithoutASessionTheUserSignsInFirst) {
  auto [device_code, user_code] = start_device();
  auto login = enter_code(user_code, user_code, /*signed_in=*/false);
  EXPECT_EQ(login.status, 200) << login.body;
  EXPECT_NE(login.body.find("name=\"password\""), std::string::npos) << login.body;
  EXPECT_EQ(error(poll(device_code)), "authorization_pending");
}

TEST_F(DeviceTest, ExpiredCodesAreRefusedOnBothSides) {
  auto [device_code, user_code] = start_device();
  clock_.advance(601);
  auto r = poll(device_code);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error(r), "expired_token") << r.body;
  auto page = enter_code(user_code, user_code);
  EXPECT_EQ(page.status, 400) << page.body;
  EXPECT_NE(page.body.find("not valid"), std::string::npos) << page.body;
}

TEST_F(DeviceTest, AnotherClientsDeviceCodeIsUnknownAndSpendsNothing) {
  add_browser_client("radio", /*is_public=*/true);
  update_client("radio", [](store::Client& c) { c.grant_types = {kGrantType}; });
  auto [device_code, user_code] = start_device();
  EXPECT_EQ(error(poll(device_code, "radio")), "invalid_grant");
  EXPECT_EQ(error(poll(device_code)), "authorization_pending");
  EXPECT_EQ(error(poll("no-such-code")), "invalid_grant");
}

TEST_F(DeviceTest, WrongCodesAreThrottledPerAddress) {
  auto [device_code, user_code] = start_device();
  auto wrong = enter_code(user_code, "BBBB-BBBB");
  EXPECT_EQ(wrong.status, 400) << wrong.body;
  EXPECT_NE(wrong.body.find("not valid"), std::string::npos);
  EXPECT_EQ(enter_code(user_code, "not a code").status, 400);
  int status = 0;
  for (int i = 0; i < 60 && status != 429; ++i) status = enter_code(user_code, "BBBB-BBBC").status;
  EXPECT_EQ(status, 429) << "50 failures lock the address";
  // Locked: even the right code waits.
  EXPECT_EQ(enter_code(user_code, user_code).status, 429);
}

TEST_F(DeviceTest, IPv6GuessesAreThrottledPerSlash64) {
  auto [device_code, user_code] = start_device();
  int status = 0;
  // Every guess from another address of the same /64.
  for (int i = 1; i <= 60 && status != 429; ++i) {
    status = enter_code(user_code, "BBBB-BBBC", true, "2001:db8::" + std::to_string(i)).status;
  }
  EXPECT_EQ(status, 429);
  EXPECT_EQ(enter_code(user_code, user_code, true, "2001:db8::ffff").status, 429);
  // Another /64 is not locked.
  EXPECT_EQ(enter_code(user_code, user_code, true, "2001:db8:0:1::1").status, 200);
}

TEST_F(DeviceTest, TheCodePageNeedsItsCsrfToken) {
  auto [device_code, user_code] = start_device();
  auto r = form_request(encoded({{"csrf", "forged"}, {"user_code", user_code}}));
  r.set_target("/device");
  r.mutable_headers().add("Cookie", std::string(kSessionCookie) + "=" + session_cookie_);
  EXPECT_EQ(call(std::move(r)).status, 403);
  EXPECT_EQ(error(poll(device_code)), "authorization_pending");
}

TEST_F(DeviceTest, DiscoveryListsTheEndpointAndTheGrant) {
  json::Json m = body(fetch("/.well-known/openid-configuration"));
  EXPECT_EQ(m["device_authorization_endpoint"], "https://as.example/device_authorization");
  EXPECT_NE(m["grant_types_supported"].dump().find(kGrantType), std::string::npos);
}

TEST(UserCode, AlphabetLengthAndNormalisation) {
  for (int i = 0; i < 200; ++i) {
    const std::string code = generate_user_code();
    ASSERT_EQ(code.size(), 8u);
    EXPECT_EQ(code.find_first_not_of("BCDFGHJKLMNPQRSTVWXZ"), std::string::npos) << code;
  }
  EXPECT_EQ(normalize_user_code("bcdf-ghjk"), "BCDFGHJK");
  EXPECT_EQ(normalize_user_code(" BCDF GHJK "), "BCDFGHJK");
  EXPECT_EQ(format_user_code("BCDFGHJK"), "BCDF-GHJK");
  EXPECT_FALSE(normalize_user_code("BCDF-GHJ"));     // short
  EXPECT_FALSE(normalize_user_code("ABCD-EFGH"));    // vowels are not in the alphabet
  EXPECT_FALSE(normalize_user_code("BCDF-GHJK-L"));  // long
  EXPECT_FALSE(normalize_user_code(""));
}

}  // namespace
}  // namespace tessera::oauth::testing
