// OAuth 2.0 Rich Authorization Requests (RFC 9396): the parameter's checks (§2, §5), the
// narrowing rule at the token endpoint (§6.1), and through the AuthorizationServer: /authorize
// and PAR take authorization_details, the consent page shows them every time (§4), the token
// response (§7), the JWT access token and introspection (§9) carry them, a token request may ask
// for fewer and never for more, client credentials may ask for them (§6.2), and the metadata
// lists the types (§10.1).
#include "oauth/authorization_details.h"

#include <gtest/gtest.h>

#include <string>

#include "as_fixture.h"

namespace tessera::oauth::testing {
namespace {

constexpr char kPayment[] = R"([{"type":"payment_initiation","actions":["initiate","status"],
  "locations":["https://bank.example/payments"],
  "instructedAmount":{"currency":"EUR","amount":"123.50"},"creditorName":"Merchant A"}])";

AuthorizationDetailsTypes test_types() {
  auto schema = json::parse_strict(R"({
    "type": "object",
    "required": ["instructedAmount", "creditorName"],
    "properties": {
      "type": {"const": "payment_initiation"},
      "actions": {"type": "array", "items": {"enum": ["initiate", "status", "cancel"]}},
      "locations": {"type": "array", "maxItems": 2},
      "instructedAmount": {
        "type": "object", "required": ["currency", "amount"], "additionalProperties": false,
        "properties": {"currency": {"enum": ["EUR", "USD"]},
                       "amount": {"type": "string", "maxLength": 12}}},
      "creditorName": {"type": "string", "maxLength": 70}
    },
    "additionalProperties": false})");
  EXPECT_TRUE(schema);
  AuthorizationDetailsTypes::Map types;
  types["payment_initiation"] = {"Payment", schema ? *schema : json::Json(false)};
  types["account_information"] = {"", true};
  return AuthorizationDetailsTypes(std::move(types));
}

json::Json parsed(std::string_view text) {
  auto j = json::parse_strict(text);
  EXPECT_TRUE(j) << text;
  return j ? *j : json::Json();
}

std::string error_of(std::string_view text, const std::vector<std::string>& client_types = {}) {
  auto r = test_types().parse(text, client_types);
  EXPECT_FALSE(r) << text;
  return r ? "" : r.error();
}

TEST(AuthorizationDetailsParse, AcceptsObjectsOfKnownTypesThatMeetTheirSchema) {
  auto r = test_types().parse(kPayment, {});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, parsed(kPayment));
  auto any = test_types().parse(R"([{"type":"account_information","anything":{"goes":[1]}}])", {});
  EXPECT_TRUE(any);
  EXPECT_EQ(test_types().names(),
            (std::vector<std::string>{"account_information", "payment_initiation"}));
}

TEST(AuthorizationDetailsParse, RefusesWhatIsNotAnArrayOfTypedObjects) {
  EXPECT_NE(error_of("{").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of(R"({"type":"payment_initiation"})").find("array"), std::string::npos);
  EXPECT_NE(error_of("[]").find("non-empty"), std::string::npos);
  EXPECT_NE(error_of(R"(["payment_initiation"])").find("not an object"), std::string::npos);
  EXPECT_NE(error_of(R"([{"actions":["x"]}])").find("no type"), std::string::npos);
  EXPECT_NE(error_of(R"([{"type":7}])").find("no type"), std::string::npos);
  EXPECT_NE(error_of(R"([{"type":"wire_transfer"}])").find("unknown type wire_transfer"),
            std::string::npos);
  // A server without types takes none.
  EXPECT_FALSE(AuthorizationDetailsTypes().parse(kPayment, {}));
}

TEST(AuthorizationDetailsParse, CommonMembersMustHaveTheirShape) {
  EXPECT_NE(error_of(R"([{"type":"account_information","locations":"https://x"}])")
                .find("locations must be an array of strings"),
            std::string::npos);
  EXPECT_NE(error_of(R"([{"type":"account_information","actions":[1]}])").find("actions"),
            std::string::npos);
  EXPECT_NE(error_of(R"([{"type":"account_information","identifier":["a"]}])").find("identifier"),
            std::string::npos);
}

TEST(AuthorizationDetailsParse, SchemaViolationsNameWhere) {
  auto e = error_of(R"([{"type":"payment_initiation","creditorName":"M",
                         "instructedAmount":{"currency":"GBP","amount":"1"}}])");
  EXPECT_NE(e.find("/instructedAmount/currency"), std::string::npos) << e;
  e = error_of(
      R"([{"type":"payment_initiation","instructedAmount":{"currency":"EUR","amount":"1"}}])");
  EXPECT_NE(e.find("creditorName is required"), std::string::npos) << e;
  e = error_of(R"([{"type":"payment_initiation","creditorName":"M","iban":"DE02",
                         "instructedAmount":{"currency":"EUR","amount":"1"}}])");
  EXPECT_NE(e.find("iban is not allowed"), std::string::npos) << e;
  e = error_of(R"([{"type":"payment_initiation","creditorName":"M","actions":["refund"],
                         "instructedAmount":{"currency":"EUR","amount":"1"}}])");
  EXPECT_NE(e.find("/actions/0"), std::string::npos) << e;
}

TEST(AuthorizationDetailsParse, TheClientsTypesAndTheLimitsHold) {
  EXPECT_NE(error_of(kPayment, {"account_information"}).find("may not use type payment_initiation"),
            std::string::npos);
  EXPECT_TRUE(test_types().parse(kPayment, {"payment_initiation"}));
  std::string many = "[";
  for (size_t i = 0; i <= kMaxAuthorizationDetails; ++i) {
    many += std::string(i == 0 ? "" : ",") + R"({"type":"account_information"})";
  }
  many += "]";
  EXPECT_NE(error_of(many).find("at most"), std::string::npos);
  std::string deep =
      R"([{"type":"account_information","x":)" + std::string(10, '[') + std::string(10, ']') + "}]";
  EXPECT_NE(error_of(deep).find("not valid JSON"), std::string::npos);
  std::string long_text = R"([{"type":"account_information","x":")" +
                          std::string(kMaxAuthorizationDetailsBytes, 'a') + "\"}]";
  EXPECT_NE(error_of(long_text).find("longer than"), std::string::npos);
}

TEST(AuthorizationDetailsWithin, FewerListEntriesAreWithinAnythingElseIsNot) {
  const json::Json granted = parsed(kPayment);
  json::Json fewer = granted;
  fewer[0]["actions"] = {"status"};
  EXPECT_TRUE(authorization_details_within(fewer, granted));
  EXPECT_TRUE(authorization_details_within(granted, granted));
  json::Json more = granted;
  more[0]["actions"] = {"initiate", "cancel"};
  EXPECT_FALSE(authorization_details_within(more, granted));
  json::Json dropped = granted;
  dropped[0].erase("locations");  // no locations could mean "anywhere"
  EXPECT_FALSE(authorization_details_within(dropped, granted));
  json::Json changed = granted;
  changed[0]["instructedAmount"]["amount"] = "999.00";
  EXPECT_FALSE(authorization_details_within(changed, granted));
  json::Json other = granted;
  other[0]["type"] = "account_information";
  EXPECT_FALSE(authorization_details_within(other, granted));
  EXPECT_FALSE(authorization_details_within(json::Json::object(), granted));
  // Nothing repeated: an entry of a list, or a whole object.
  json::Json repeated = granted;
  repeated[0]["actions"] = {"status", "status"};
  EXPECT_FALSE(authorization_details_within(repeated, granted));
  json::Json twice = json::Json::array({fewer[0], fewer[0]});
  EXPECT_FALSE(authorization_details_within(twice, granted));
  // Emptying a list the grant had entries in is not narrower: some read [] as "no restriction".
  json::Json none = granted;
  none[0]["actions"] = json::Json::array();
  EXPECT_FALSE(authorization_details_within(none, granted));
  // One granted payment never covers two asked: each asked object needs a granted one of its
  // own, even when each alone would be within it.
  json::Json initiate = granted;
  initiate[0]["actions"] = {"initiate"};
  json::Json split = json::Json::array({initiate[0], fewer[0]});
  EXPECT_FALSE(authorization_details_within(split, granted));
  json::Json two_granted = json::Json::array({granted[0], granted[0]});
  EXPECT_TRUE(authorization_details_within(split, two_granted));
  // A matching is found when the greedy choice would block it: asked {status} could take either
  // granted object, asked {initiate} only the first.
  json::Json only_status = granted[0];
  only_status["actions"] = {"status"};
  json::Json mixed = json::Json::array({granted[0], only_status});
  EXPECT_TRUE(authorization_details_within(json::Json::array({fewer[0], initiate[0]}), mixed));
}

TEST(AuthorizationDetailsSummary, HeadsEachObjectAndWritesItsMembersAsText) {
  auto summary = test_types().summarize(parsed(kPayment));
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(summary[0].heading, "Payment");
  auto has = [&](const std::string& name, const std::string& text) {
    return std::find(summary[0].members.begin(), summary[0].members.end(), std::pair{name, text}) !=
           summary[0].members.end();
  };
  EXPECT_TRUE(has("actions", "initiate, status"));
  EXPECT_TRUE(has("creditorName", "Merchant A"));
  EXPECT_TRUE(has("instructedAmount", R"({"amount":"123.50","currency":"EUR"})"));
  EXPECT_FALSE(has("type", "payment_initiation"));
  auto plain = test_types().summarize(parsed(R"([{"type":"account_information"}])"));
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].heading, "account_information");  // no description: the type
}

class RichAuthorizationTest : public AuthorizationServerTest {
 protected:
  AuthorizationServerOptions server_options() override {
    AuthorizationServerOptions options = AuthorizationServerTest::server_options();
    options.authorization_details_types = test_types();
    return options;
  }
  void populate() override {
    store::Client svc = add_client("svc", "svc-secret");
    svc.access_token_format = store::AccessTokenFormat::kOpaque;
    ASSERT_TRUE(store_->clients().update(svc));
  }

  // /authorize of client `id` asking for `details`: the consent page, allowed; the code.
  std::string code_with_details(const std::string& id, const std::string& details) {
    auto page = authorize(id, {{"authorization_details", details}});
    EXPECT_EQ(page.status, 200) << page.body;  // consent, even for a skip_consent client
    EXPECT_NE(page.body.find("<h2>Payment</h2>"), std::string::npos) << page.body;
    EXPECT_NE(page.body.find("<dt>creditorName</dt><dd>Merchant A</dd>"), std::string::npos);
    auto allowed = answer_consent(page, "allow", browser_cookie(page));
    return code_of(allowed);
  }
  // The claims of the JWT access token of a token response (aimed at API A, as web's are).
  json::Json jwt_claims(const json::Json& response) {
    return access_claims(response.value("access_token", ""), kApiA);
  }
  http::Response token(const Pairs& form, const std::string& id, const std::string& secret) {
    return call(form_post("/token", encoded(form), id, secret, {}));
  }
};

TEST_F(RichAuthorizationTest, TheGrantedDetailsReachTheTokenResponseTheJwtAndTheRefresh) {
  ASSERT_NO_FATAL_FAILURE(sign_in_alice());
  add_browser_client("web", false);
  const std::string code = code_with_details("web", kPayment);
  ASSERT_FALSE(code.empty());
  auto redeemed = redeem("web", code);
  ASSERT_EQ(redeemed.status, 200) << redeemed.body;
  const json::Json granted = parsed(kPayment);
  EXPECT_EQ(body(redeemed)["authorization_details"], granted);
  EXPECT_EQ(jwt_claims(body(redeemed))["authorization_details"], granted);

  auto refreshed = token({{"grant_type", "refresh_token"},
                          {"refresh_token", body(redeemed)["refresh_token"].get<std::string>()}},
                         "web", "web-secret");
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  EXPECT_EQ(body(refreshed)["authorization_details"], granted);
  EXPECT_EQ(jwt_claims(body(refreshed))["authorization_details"], granted);
}

TEST_F(RichAuthorizationTest, ATokenRequestMayAskForFewerNeverForMore) {
  ASSERT_NO_FATAL_FAILURE(sign_in_alice());
  add_browser_client("web", false);
  const std::string code = code_with_details("web", kPayment);
  json::Json fewer = parsed(kPayment);
  fewer[0]["actions"] = {"status"};
  Pairs form = {{"grant_type", "authorization_code"},
                {"code", code},
                {"redirect_uri", kRedirectUri},
                {"code_verifier", kVerifier}};
  Pairs wider = form;
  json::Json more = parsed(kPayment);
  more[0]["actions"] = {"initiate", "cancel"};
  wider.emplace_back("authorization_details", more.dump());
  auto refused = token(wider, "web", "web-secret");
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(error(refused), "invalid_authorization_details") << refused.body;
  // Like any refused redemption, that one spent its code (RFC 6749 §4.1.2: used once).
  EXPECT_EQ(error(redeem("web", code)), "invalid_grant");

  form[1].second = code_with_details("web", kPayment);
  form.emplace_back("authorization_details", fewer.dump());
  auto narrowed = token(form, "web", "web-secret");
  ASSERT_EQ(narrowed.status, 200) << narrowed.body;
  EXPECT_EQ(body(narrowed)["authorization_details"], fewer);
  EXPECT_EQ(jwt_claims(body(narrowed))["authorization_details"], fewer);
  // The refresh token keeps the grant's details: a refresh without the parameter gets them all.
  auto refreshed = token({{"grant_type", "refresh_token"},
                          {"refresh_token", body(narrowed)["refresh_token"].get<std::string>()}},
                         "web", "web-secret");
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  EXPECT_EQ(body(refreshed)["authorization_details"], parsed(kPayment));
}

TEST_F(RichAuthorizationTest, AGrantWithoutDetailsCannotGainThemAtTheTokenEndpoint) {
  ASSERT_NO_FATAL_FAILURE(sign_in_alice());
  add_browser_client("web", false);
  const std::string code = code_of(authorize("web"));
  ASSERT_FALSE(code.empty());
  auto r = token({{"grant_type", "authorization_code"},
                  {"code", code},
                  {"redirect_uri", kRedirectUri},
                  {"code_verifier", kVerifier},
                  {"authorization_details", kPayment}},
                 "web", "web-secret");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error(r), "invalid_authorization_details");
  auto plain = redeem("web", code_of(authorize("web")));
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_FALSE(body(plain).contains("authorization_details"));
  EXPECT_FALSE(jwt_claims(body(plain)).contains("authorization_details"));
}

TEST_F(RichAuthorizationTest, BadDetailsAndPromptNoneGoBackToTheClient) {
  ASSERT_NO_FATAL_FAILURE(sign_in_alice());
  add_browser_client("web", false);
  auto unknown =
      redirect_params(authorize("web", {{"authorization_details", "[{\"type\":\"x\"}]"}}));
  EXPECT_EQ(unknown.get("error").value_or(""), "invalid_authorization_details");
  // Too long is this error too, not the generic invalid_request of other parameters.
  auto long_details = redirect_params(authorize(
      "web",
      {{"authorization_details", R"([{"type":"account_information","x":")" +
                                     std::string(kMaxAuthorizationDetailsBytes, 'a') + "\"}]"}}));
  EXPECT_EQ(long_details.get("error").value_or(""), "invalid_authorization_details");
  EXPECT_EQ(unknown.get("state").value_or(""), "s1");
  auto silent =
      redirect_params(authorize("web", {{"authorization_details", kPayment}, {"prompt", "none"}}));
  EXPECT_EQ(silent.get("error").value_or(""), "consent_required");
  // A client limited to other types may not ask for this one.
  update_client("web",
                [](store::Client& c) { c.authorization_details_types = {"account_information"}; });
  auto other = redirect_params(authorize("web", {{"authorization_details", kPayment}}));
  EXPECT_EQ(other.get("error").value_or(""), "invalid_authorization_details");
}

TEST_F(RichAuthorizationTest, DeniedDetailsIssueNothing) {
  ASSERT_NO_FATAL_FAILURE(sign_in_alice());
  add_browser_client("web", false);
  auto page = authorize("web", {{"authorization_details", kPayment}});
  ASSERT_EQ(page.status, 200) << page.body;
  auto denied = redirect_params(answer_consent(page, "deny", browser_cookie(page)));
  EXPECT_EQ(denied.get("error").value_or(""), "access_denied");
  EXPECT_FALSE(denied.get("code"));
}

TEST_F(RichAuthorizationTest, PushedRequestsCarryDetailsToTheConsentPage) {
  ASSERT_NO_FATAL_FAILURE(sign_in_alice());
  add_browser_client("web", false);
  Pairs pushed = request_params();
  pushed.emplace_back("authorization_details", kPayment);
  auto r = call(form_post("/par", encoded(pushed), "web", "web-secret", {}));
  ASSERT_EQ(r.status, 201) << r.body;
  auto page = authorize_query({{"client_id", "web"}, {"request_uri", body(r)["request_uri"]}});
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("<h2>Payment</h2>"), std::string::npos);
  auto code = code_of(answer_consent(page, "allow", browser_cookie(page)));
  auto redeemed = redeem("web", code);
  ASSERT_EQ(redeemed.status, 200) << redeemed.body;
  EXPECT_EQ(body(redeemed)["authorization_details"], parsed(kPayment));

  Pairs bad = request_params();
  bad.emplace_back("authorization_details", "[{\"type\":\"payment_initiation\"}]");
  auto refused = call(form_post("/par", encoded(bad), "web", "web-secret", {}));
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(error(refused), "invalid_authorization_details") << refused.body;
}

TEST_F(RichAuthorizationTest, ClientCredentialsCarryDetailsIntoIntrospection) {
  auto r =
      token({{"grant_type", "client_credentials"},
             {"authorization_details", R"([{"type":"account_information","actions":["read"]}])"}},
            "svc", "svc-secret");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::Json asked = parsed(R"([{"type":"account_information","actions":["read"]}])");
  EXPECT_EQ(body(r)["authorization_details"], asked);
  auto introspect = form_request("token=" + body(r)["access_token"].get<std::string>());
  introspect.set_target("/introspect");
  introspect.mutable_headers().add("Authorization", basic("svc", "svc-secret"));
  auto answer = call(std::move(introspect));
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(body(answer)["active"], true);
  EXPECT_EQ(body(answer)["authorization_details"], asked);

  auto unknown = token(
      {{"grant_type", "client_credentials"}, {"authorization_details", R"([{"type":"wire"}])"}},
      "svc", "svc-secret");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(error(unknown), "invalid_authorization_details");
  auto plain = token({{"grant_type", "client_credentials"}}, "svc", "svc-secret");
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_FALSE(body(plain).contains("authorization_details"));
}

TEST_F(RichAuthorizationTest, MetadataListsTheTypes) {
  EXPECT_EQ(as_->metadata()["authorization_details_types_supported"],
            json::Json({"account_information", "payment_initiation"}));
}

class NoRichAuthorizationTest : public AuthorizationServerTest {};

TEST_F(NoRichAuthorizationTest, AServerWithoutTypesRefusesDetailsAndDoesNotListThem) {
  ASSERT_NO_FATAL_FAILURE(sign_in_alice());
  add_browser_client("web", false);
  auto r = redirect_params(authorize("web", {{"authorization_details", kPayment}}));
  EXPECT_EQ(r.get("error").value_or(""), "invalid_authorization_details");
  EXPECT_FALSE(as_->metadata().contains("authorization_details_types_supported"));
}

}  // namespace
}  // namespace tessera::oauth::testing
