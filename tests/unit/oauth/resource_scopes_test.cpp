// RFC 8707 per-resource scopes through the AuthorizationServer: an audience configured with the
// scopes it takes (AudiencePolicy::scopes) gets tokens that carry only those; an audience without
// a list takes every scope; a token for several audiences carries what any of them takes. The
// token response's scope, the JWT's scope claim and an opaque token's introspection agree; a
// refresh token keeps the grant's whole scope, so a refresh aimed at another resource gets that
// resource's scopes.
#include <gtest/gtest.h>

#include <string>

#include "as_fixture.h"

namespace tessera::oauth::testing {
namespace {

constexpr char kInvoices[] = "https://api.example";
constexpr char kLedger[] = "urn:tessera:invoices";  // no scope list: takes every scope

class ResourceScopesTest : public AuthorizationServerTest {
 protected:
  AuthorizationServerOptions server_options() override {
    AuthorizationServerOptions options = AuthorizationServerTest::server_options();
    options.audiences[kInvoices].scopes = std::vector<std::string>{"invoices:read", "openid"};
    options.audiences[kApiA].scopes = std::vector<std::string>{"invoices:read"};
    options.audiences["urn:api:b"].scopes = std::vector<std::string>{"invoices:write"};
    return options;
  }
  void populate() override {
    store::Client svc = add_client("svc", "svc-secret");
    svc.audiences = {kInvoices, kLedger, "urn:api:b"};
    ASSERT_TRUE(store_->clients().update(svc));
  }
  json::Json client_credentials(const Pairs& extra) {
    Pairs form = {{"grant_type", "client_credentials"}, {"scope", "invoices:read invoices:write"}};
    form.insert(form.end(), extra.begin(), extra.end());
    auto r = call(form_post("/token", encoded(form), "svc", "svc-secret", {}));
    EXPECT_EQ(r.status, 200) << r.body;
    auto body = json::parse_strict(r.body);
    return body ? *body : json::Json();
  }
  json::Json claims_of(const json::Json& response) {
    auto verified =
        jose::verify(response["access_token"].get<std::string>(), as_->signing_keys().jwks());
    EXPECT_TRUE(verified);
    if (!verified) return json::Json();
    auto claims = json::parse_strict(verified->payload);
    return claims ? *claims : json::Json();
  }
};

TEST_F(ResourceScopesTest, AResourceGetsOnlyTheScopesItTakes) {
  json::Json invoices = client_credentials({{"resource", kInvoices}});
  EXPECT_EQ(invoices["scope"], "invoices:read");
  EXPECT_EQ(claims_of(invoices)["scope"], "invoices:read");
  EXPECT_EQ(claims_of(invoices)["aud"], kInvoices);

  json::Json b = client_credentials({{"resource", "urn:api:b"}});
  EXPECT_EQ(b["scope"], "invoices:write");
  EXPECT_EQ(claims_of(b)["scope"], "invoices:write");
}

TEST_F(ResourceScopesTest, AResourceWithoutAListTakesEveryScope) {
  json::Json ledger = client_credentials({{"resource", kLedger}});
  EXPECT_EQ(ledger["scope"], "invoices:read invoices:write");
  EXPECT_EQ(claims_of(ledger)["scope"], "invoices:read invoices:write");
}

TEST_F(ResourceScopesTest, SeveralAudiencesCarryWhatAnyOfThemTakes) {
  json::Json both = client_credentials({{"resource", kInvoices}, {"resource", "urn:api:b"}});
  EXPECT_EQ(both["scope"], "invoices:read invoices:write");
  // Without resource: the client's audiences, one of which takes every scope.
  json::Json all = client_credentials({});
  EXPECT_EQ(all["scope"], "invoices:read invoices:write");
}

TEST_F(ResourceScopesTest, NoScopeATokenCanCarryGivesATokenWithoutScope) {
  Pairs form = {
      {"grant_type", "client_credentials"}, {"scope", "invoices:write"}, {"resource", kInvoices}};
  auto r = call(form_post("/token", encoded(form), "svc", "svc-secret", {}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = json::parse_strict(r.body);
  ASSERT_TRUE(body);
  EXPECT_FALSE(body->contains("scope"));
  EXPECT_FALSE(claims_of(*body).contains("scope"));
}

TEST_F(ResourceScopesTest, RefreshKeepsTheGrantsScopeForTheNextResource) {
  ASSERT_NO_FATAL_FAILURE(sign_in_alice());
  add_browser_client("web", false, {kRedirectUri});
  update_client("web", [](store::Client& c) { c.audiences = {kApiA, "urn:api:b"}; });
  Pairs params = request_params();
  params.emplace_back("client_id", "web");
  params.emplace_back("resource", kApiA);
  params.emplace_back("resource", "urn:api:b");
  for (auto& [name, value] : params) {
    if (name == "scope") value = "openid invoices:read";
  }
  auto code = code_of(authorize_query(params));
  ASSERT_FALSE(code.empty());
  Pairs form = {{"grant_type", "authorization_code"},
                {"code", code},
                {"redirect_uri", kRedirectUri},
                {"code_verifier", kVerifier},
                {"resource", kApiA}};
  auto first = call(form_post("/token", encoded(form), "web", "web-secret", {}));
  ASSERT_EQ(first.status, 200) << first.body;
  auto body = json::parse_strict(first.body);
  ASSERT_TRUE(body);
  EXPECT_EQ((*body)["scope"], "invoices:read");  // openid is not API A's
  EXPECT_TRUE(body->contains("id_token"));       // the ID token still comes: openid was granted
  Pairs refresh = {{"grant_type", "refresh_token"},
                   {"refresh_token", (*body)["refresh_token"].get<std::string>()},
                   {"resource", "urn:api:b"}};
  auto second = call(form_post("/token", encoded(refresh), "web", "web-secret", {}));
  ASSERT_EQ(second.status, 200) << second.body;
  auto refreshed = json::parse_strict(second.body);
  ASSERT_TRUE(refreshed);
  EXPECT_FALSE(refreshed->contains("scope"));  // B takes invoices:write, never granted here
  EXPECT_EQ(claims_of(*refreshed)["aud"], "urn:api:b");
}

}  // namespace
}  // namespace tessera::oauth::testing
