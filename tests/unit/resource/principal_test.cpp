#include "tessera/principal.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/json.h"
#include "tessera/challenge.h"

namespace tessera::resource {
namespace {

constexpr int64_t kNow = 1'700'000'000;

// The auth-params of a Bearer challenge (RFC 6750 §3: `Bearer name="value", ...`), or nullopt
// when the value is not exactly that shape (every value quoted, ", " between parameters).
std::optional<std::map<std::string, std::string>> challenge_params(std::string_view value) {
  constexpr std::string_view kScheme = "Bearer ";
  if (value.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  value.remove_prefix(kScheme.size());
  std::map<std::string, std::string> params;
  while (!value.empty()) {
    const size_t eq = value.find("=\"");
    if (eq == std::string_view::npos || eq == 0) return std::nullopt;
    const std::string name(value.substr(0, eq));
    value.remove_prefix(eq + 2);
    const size_t close = value.find('"');
    if (close == std::string_view::npos) return std::nullopt;
    if (!params.emplace(name, std::string(value.substr(0, close))).second) return std::nullopt;
    value.remove_prefix(close + 1);
    if (value.empty()) break;
    if (value.substr(0, 2) != ", ") return std::nullopt;
    value.remove_prefix(2);
  }
  return params;
}

json::Json body_of(const Challenge& c) {
  auto parsed = json::parse_strict(c.body);
  EXPECT_TRUE(parsed.ok()) << c.body;
  return parsed.ok() ? *parsed : json::Json();
}

Principal principal_with_scopes(std::vector<std::string> scopes) {
  Principal p;
  p.subject = "alice";
  p.scopes = std::move(scopes);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Principal

TEST(PrincipalScopes, HasScopeMatchesWholeScopesExactly) {
  const Principal p = principal_with_scopes({"invoices:read", "admin"});
  EXPECT_TRUE(p.has_scope("invoices:read"));
  EXPECT_TRUE(p.has_scope("admin"));
  EXPECT_FALSE(p.has_scope("invoices"));
  EXPECT_FALSE(p.has_scope("invoices:read admin"));
  EXPECT_FALSE(p.has_scope("INVOICES:READ"));  // RFC 6749 §3.3: scope tokens are case-sensitive
  EXPECT_FALSE(p.has_scope(""));
}

TEST(PrincipalScopes, HasAllScopesNeedsEveryOne) {
  const Principal p = principal_with_scopes({"a", "b", "c"});
  EXPECT_TRUE(p.has_all_scopes({}));
  EXPECT_TRUE(p.has_all_scopes({"a"}));
  EXPECT_TRUE(p.has_all_scopes({"c", "a", "b"}));
  EXPECT_FALSE(p.has_all_scopes({"a", "d"}));
  EXPECT_FALSE(principal_with_scopes({}).has_all_scopes({"a"}));
}

TEST(PrincipalScopes, HasAnyScopeNeedsAtLeastOne) {
  const Principal p = principal_with_scopes({"a", "b"});
  EXPECT_FALSE(p.has_any_scope({}));
  EXPECT_TRUE(p.has_any_scope({"x", "b"}));
  EXPECT_FALSE(p.has_any_scope({"x", "y"}));
  EXPECT_FALSE(principal_with_scopes({}).has_any_scope({"a"}));
}

TEST(PrincipalDelegation, DelegatedWhenActorsArePresent) {
  Principal p;
  EXPECT_FALSE(p.delegated());
  p.actors.push_back(Actor{"svc-b", "svc-b-client"});
  EXPECT_TRUE(p.delegated());
}

// Claims kept as text are parsed on first use, once, whichever thread asks first; copies, moves
// and changes keep what they hold.
TEST(PrincipalClaims, TextIsParsedOnFirstUseAndSharedByThreads) {
  const std::string text = R"({"sub":"alice","tenant":"acme","roles":["a","b"],"n":{"x":1}})";
  const Claims claims = Claims::from_text(text);
  EXPECT_EQ(claims.text(), text);
  std::vector<const nlohmann::json*> seen(8, nullptr);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&, i] { seen[i] = &claims.json(); });
  }
  for (auto& t : threads) t.join();
  for (const nlohmann::json* j : seen) EXPECT_EQ(j, seen[0]);  // one tree, published once
  EXPECT_EQ(*seen[0], *tessera::json::parse_strict(text));
  ASSERT_NE(claims.find("tenant"), nullptr);
  EXPECT_EQ(*claims.find("tenant"), "acme");
  EXPECT_EQ(claims.find("missing"), nullptr);

  Claims copy = claims;
  EXPECT_EQ(copy.text(), text);  // a copy of parsed claims keeps the text too
  EXPECT_EQ(copy, claims);
  EXPECT_NE(&copy.json(), &claims.json());
  Claims moved = std::move(copy);
  EXPECT_EQ(moved, claims);
  moved.mutable_json()["tenant"] = "globex";
  EXPECT_TRUE(moved.text().empty());  // the text no longer says what the claims are
  EXPECT_EQ(*moved.find("tenant"), "globex");
  EXPECT_EQ(*claims.find("tenant"), "acme");
  moved = claims;
  EXPECT_EQ(*moved.find("tenant"), "acme");

  // Not yet parsed when copied: the copy parses its own.
  const Claims unparsed = Claims::from_text(text);
  const Claims unparsed_copy = unparsed;
  EXPECT_EQ(unparsed_copy.json(), unparsed.json());
  // Text a strict parse refuses reads as an empty object; a tree is kept as it is.
  EXPECT_EQ(Claims::from_text(R"({"a":1,"a":2})").json(), nlohmann::json::object());
  EXPECT_EQ(Claims(nlohmann::json(nullptr)).json(), nlohmann::json(nullptr));
  const Claims listed = {{"a", 1}, {"b", "two"}};
  EXPECT_EQ(*listed.find("b"), "two");
  EXPECT_EQ(listed.find("a")->get<int>(), 1);
}

TEST(PrincipalDefaults, ClaimsAndDomainClaimsStartAsEmptyObjects) {
  const Principal p;
  EXPECT_TRUE(p.claims.json().is_object());
  EXPECT_TRUE(p.claims.json().empty());
  EXPECT_TRUE(p.domain_claims.is_object());
  EXPECT_TRUE(p.domain_claims.empty());
  EXPECT_FALSE(p.auth_time.has_value());
}

// ---------------------------------------------------------------------------------------------
// RFC 6750 §3 challenges

TEST(BearerChallenges, MissingTokenIsBare401) {
  const Challenge c = missing_token("api");
  EXPECT_EQ(c.status, 401);
  // RFC 6750 §3.1: no error code when the request carried no authentication.
  EXPECT_EQ(c.www_authenticate, "Bearer realm=\"api\"");
  const json::Json body = body_of(c);
  EXPECT_TRUE(body.is_object());
  EXPECT_TRUE(body.empty());
}

TEST(BearerChallenges, InvalidRequestIs400) {
  const Challenge c = invalid_request("api", "two Authorization headers");
  EXPECT_EQ(c.status, 400);
  EXPECT_EQ(c.www_authenticate,
            "Bearer realm=\"api\", error=\"invalid_request\", "
            "error_description=\"two Authorization headers\"");
  const json::Json body = body_of(c);
  EXPECT_EQ(body, (json::Json{{"error", "invalid_request"},
                              {"error_description", "two Authorization headers"}}));
}

TEST(BearerChallenges, InvalidTokenIs401) {
  const Challenge c = invalid_token("invoices", "the access token expired");
  EXPECT_EQ(c.status, 401);
  EXPECT_EQ(c.www_authenticate,
            "Bearer realm=\"invoices\", error=\"invalid_token\", "
            "error_description=\"the access token expired\"");
  EXPECT_EQ(body_of(c), (json::Json{{"error", "invalid_token"},
                                    {"error_description", "the access token expired"}}));
}

TEST(BearerChallenges, EmptyDescriptionIsLeftOut) {
  const Challenge c = invalid_token("api", "");
  EXPECT_EQ(c.status, 401);
  EXPECT_EQ(c.www_authenticate, "Bearer realm=\"api\", error=\"invalid_token\"");
  EXPECT_EQ(body_of(c), (json::Json{{"error", "invalid_token"}}));
}

TEST(BearerChallenges, InsufficientScopeIs403WithTheNeededScopes) {
  const Challenge c = insufficient_scope("api", {"invoices:read", "invoices:write"});
  EXPECT_EQ(c.status, 403);
  const auto params = challenge_params(c.www_authenticate);
  ASSERT_TRUE(params.has_value()) << c.www_authenticate;
  EXPECT_EQ(params->at("realm"), "api");
  EXPECT_EQ(params->at("error"), "insufficient_scope");
  EXPECT_EQ(params->at("scope"), "invoices:read invoices:write");  // RFC 6750 §3: space-delimited
  EXPECT_EQ(c.www_authenticate.rfind("Bearer realm=\"api\", error=\"insufficient_scope\"", 0), 0u);
  const std::string suffix = ", scope=\"invoices:read invoices:write\"";
  ASSERT_GT(c.www_authenticate.size(), suffix.size());
  EXPECT_EQ(c.www_authenticate.substr(c.www_authenticate.size() - suffix.size()), suffix);
  const json::Json body = body_of(c);
  EXPECT_EQ(body["error"], "insufficient_scope");
  if (params->count("error_description") != 0) {
    EXPECT_EQ(body["error_description"], params->at("error_description"));
  }
}

TEST(BearerChallenges, QuotesBackslashesAndLineBreaksCannotBreakTheHeader) {
  const Challenge c = invalid_token("a\"pi", "bad \"token\"\\\r\nSet-Cookie: x=1");
  EXPECT_EQ(c.www_authenticate.find('\r'), std::string::npos);
  EXPECT_EQ(c.www_authenticate.find('\n'), std::string::npos);
  EXPECT_EQ(c.www_authenticate,
            "Bearer realm=\"api\", error=\"invalid_token\", "
            "error_description=\"bad tokenSet-Cookie: x=1\"");
  // The JSON body carries the description intact: JSON escaping is enough there.
  EXPECT_EQ(body_of(c)["error_description"], "bad \"token\"\\\r\nSet-Cookie: x=1");
}

// ---------------------------------------------------------------------------------------------
// RFC 9470 §3 step-up challenges

TEST(StepUpChallenges, AcrValuesAndMaxAgeAreAuthParams) {
  const Challenge c = insufficient_user_authentication(
      "api", "a stronger authentication is required", {"urn:mfa", "urn:phr"}, 300);
  EXPECT_EQ(c.status, 401);
  EXPECT_EQ(c.www_authenticate,
            "Bearer realm=\"api\", error=\"insufficient_user_authentication\", "
            "error_description=\"a stronger authentication is required\", "
            "acr_values=\"urn:mfa urn:phr\", max_age=\"300\"");
  EXPECT_EQ(body_of(c),
            (json::Json{{"error", "insufficient_user_authentication"},
                        {"error_description", "a stronger authentication is required"}}));
}

TEST(StepUpChallenges, AcrValuesAlone) {
  const Challenge c =
      insufficient_user_authentication("api", "need mfa", {"urn:mfa"}, std::nullopt);
  EXPECT_EQ(c.status, 401);
  EXPECT_EQ(c.www_authenticate,
            "Bearer realm=\"api\", error=\"insufficient_user_authentication\", "
            "error_description=\"need mfa\", acr_values=\"urn:mfa\"");
}

TEST(StepUpChallenges, MaxAgeAlone) {
  const Challenge c = insufficient_user_authentication("api", "log in again", {}, 60);
  EXPECT_EQ(c.status, 401);
  EXPECT_EQ(c.www_authenticate,
            "Bearer realm=\"api\", error=\"insufficient_user_authentication\", "
            "error_description=\"log in again\", max_age=\"60\"");
}

TEST(StepUpChallenges, AcrValueCharactersOutsideTheGrammarAreDropped) {
  const Challenge c =
      insufficient_user_authentication("api", "x", {"urn:\"evil\"\r\nX: y"}, std::nullopt);
  EXPECT_EQ(c.www_authenticate.find('\n'), std::string::npos);
  const auto params = challenge_params(c.www_authenticate);
  ASSERT_TRUE(params.has_value()) << c.www_authenticate;
  EXPECT_EQ(params->at("acr_values"), "urn:evilX: y");
}

// ---------------------------------------------------------------------------------------------
// require_scope

TEST(RequireScope, AllMatchNeedsEveryScope) {
  const Principal p = principal_with_scopes({"invoices:read"});
  EXPECT_FALSE(require_scope(p, "api", {"invoices:read"}).has_value());
  const auto c = require_scope(p, "api", {"invoices:read", "invoices:write"});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, 403);
  const auto params = challenge_params(c->www_authenticate);
  ASSERT_TRUE(params.has_value()) << c->www_authenticate;
  EXPECT_EQ(params->at("error"), "insufficient_scope");
  EXPECT_EQ(params->at("scope"), "invoices:read invoices:write");
  EXPECT_EQ(body_of(*c)["error"], "insufficient_scope");
}

TEST(RequireScope, AnyMatchNeedsOneScope) {
  const Principal p = principal_with_scopes({"invoices:write"});
  EXPECT_FALSE(
      require_scope(p, "api", {"invoices:read", "invoices:write"}, ScopeMatch::kAny).has_value());
  const auto c = require_scope(p, "api", {"reports:read", "admin"}, ScopeMatch::kAny);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, 403);
  const auto params = challenge_params(c->www_authenticate);
  ASSERT_TRUE(params.has_value()) << c->www_authenticate;
  EXPECT_EQ(params->at("scope"), "reports:read admin");
}

TEST(RequireScope, NothingRequiredPasses) {
  EXPECT_FALSE(require_scope(principal_with_scopes({}), "api", {}).has_value());
  EXPECT_FALSE(require_scope(principal_with_scopes({}), "api", {}, ScopeMatch::kAny).has_value());
}

// ---------------------------------------------------------------------------------------------
// require_authentication (RFC 9470)

Principal authenticated(std::string acr, std::optional<int64_t> auth_time) {
  Principal p;
  p.subject = "alice";
  p.acr = std::move(acr);
  p.auth_time = auth_time;
  return p;
}

TEST(RequireAuthentication, NoRequirementPasses) {
  EXPECT_FALSE(
      require_authentication(authenticated("", std::nullopt), "api", {}, std::nullopt, kNow)
          .has_value());
}

TEST(RequireAuthentication, AcrInTheListPasses) {
  EXPECT_FALSE(require_authentication(authenticated("urn:mfa", kNow - 10), "api",
                                      {"urn:phr", "urn:mfa"}, std::nullopt, kNow)
                   .has_value());
}

TEST(RequireAuthentication, AcrNotInTheListAsksForStepUp) {
  const auto c = require_authentication(authenticated("urn:pwd", kNow - 10), "api", {"urn:mfa"},
                                        std::nullopt, kNow);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, 401);
  const auto params = challenge_params(c->www_authenticate);
  ASSERT_TRUE(params.has_value()) << c->www_authenticate;
  EXPECT_EQ(params->at("realm"), "api");
  EXPECT_EQ(params->at("error"), "insufficient_user_authentication");
  EXPECT_EQ(params->at("acr_values"), "urn:mfa");
  EXPECT_EQ(params->count("max_age"), 0u);
  EXPECT_EQ(body_of(*c)["error"], "insufficient_user_authentication");
}

TEST(RequireAuthentication, MissingAcrAsksForStepUp) {
  const auto c =
      require_authentication(authenticated("", kNow), "api", {"urn:mfa"}, std::nullopt, kNow);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, 401);
}

TEST(RequireAuthentication, RecentEnoughAuthenticationPasses) {
  EXPECT_FALSE(
      require_authentication(authenticated("", kNow - 299), "api", {}, 300, kNow).has_value());
  // OpenID Core §3.1.2.1: re-authentication when the elapsed time is greater than max_age.
  EXPECT_FALSE(
      require_authentication(authenticated("", kNow - 300), "api", {}, 300, kNow).has_value());
}

TEST(RequireAuthentication, OldAuthenticationAsksForStepUpWithMaxAge) {
  const auto c = require_authentication(authenticated("urn:mfa", kNow - 301), "api", {}, 300, kNow);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, 401);
  const auto params = challenge_params(c->www_authenticate);
  ASSERT_TRUE(params.has_value()) << c->www_authenticate;
  EXPECT_EQ(params->at("error"), "insufficient_user_authentication");
  EXPECT_EQ(params->at("max_age"), "300");
  EXPECT_EQ(params->count("acr_values"), 0u);
}

TEST(RequireAuthentication, MissingAuthTimeFailsMaxAge) {
  const auto c =
      require_authentication(authenticated("urn:mfa", std::nullopt), "api", {}, 300, kNow);
  ASSERT_TRUE(c.has_value());
  const auto params = challenge_params(c->www_authenticate);
  ASSERT_TRUE(params.has_value()) << c->www_authenticate;
  EXPECT_EQ(params->at("max_age"), "300");
}

TEST(RequireAuthentication, BothRequirementsAreNamedInTheChallenge) {
  const auto c =
      require_authentication(authenticated("urn:pwd", kNow - 1000), "api", {"urn:mfa"}, 300, kNow);
  ASSERT_TRUE(c.has_value());
  const auto params = challenge_params(c->www_authenticate);
  ASSERT_TRUE(params.has_value()) << c->www_authenticate;
  EXPECT_EQ(params->at("acr_values"), "urn:mfa");
  EXPECT_EQ(params->at("max_age"), "300");
  // Strong enough but too old: still a step-up, naming both requirements.
  const auto old =
      require_authentication(authenticated("urn:mfa", kNow - 1000), "api", {"urn:mfa"}, 300, kNow);
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->status, 401);
  EXPECT_EQ(challenge_params(old->www_authenticate)->at("max_age"), "300");
}

}  // namespace
}  // namespace tessera::resource
