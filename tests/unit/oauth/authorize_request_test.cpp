// The authorization request checks (RFC 6749 §4.1.1, §4.1.2.1; RFC 7636; OpenID Core §3.1.2.1),
// PKCE, the redirect URI builder and the sealed interaction state.
#include "oauth/authorize_request.h"

#include <gtest/gtest.h>

#include "core/aead.h"
#include "core/base64url.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "oauth/interaction.h"

namespace tessera::oauth {
namespace {

const std::string kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r0wJtEqDoGLKTBp";  // 44 chars

store::Client spa() {
  store::Client c;
  c.client_id = "spa";
  c.type = store::ClientType::kPublic;
  c.auth_method = store::ClientAuthMethod::kNone;
  c.grant_types = {"authorization_code", "refresh_token"};
  c.redirect_uris = {"https://app.example/cb", "https://app.example/cb2?x=1"};
  c.scopes = {"openid", "profile", "invoices:read"};
  c.audiences = {"https://api.example/invoices"};
  return c;
}

http::Params good(std::initializer_list<std::pair<std::string, std::string>> overrides = {},
                  std::initializer_list<std::string> drop = {}) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"client_id", "spa"},
      {"redirect_uri", "https://app.example/cb"},
      {"response_type", "code"},
      {"scope", "openid profile"},
      {"state", "s1"},
      {"nonce", "n1"},
      {"code_challenge", base64url::encode(crypto::sha256(kVerifier))},
      {"code_challenge_method", "S256"},
  };
  for (const auto& [name, value] : overrides) {
    bool replaced = false;
    for (auto& f : fields) {
      if (f.first == name) {
        f.second = value;
        replaced = true;
      }
    }
    if (!replaced) fields.emplace_back(name, value);
  }
  http::Params p;
  for (const auto& [name, value] : fields) {
    if (std::find(drop.begin(), drop.end(), name) == drop.end()) p.add(name, value);
  }
  return p;
}

// The error redirected to the client, or "" when the request is good.
std::string redirected_error(const http::Params& params) {
  store::Client c = spa();
  auto parsed = parse_authorization_request(params, &c, 1000);
  EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().description);
  if (!parsed) return "fatal";
  return parsed->error ? parsed->error->error : "";
}

TEST(AuthorizationRequest, AGoodRequestParses) {
  store::Client c = spa();
  auto parsed = parse_authorization_request(good(), &c, 1000);
  ASSERT_TRUE(parsed);
  ASSERT_FALSE(parsed->error) << parsed->error->description;
  const AuthorizationRequest& r = parsed->request;
  EXPECT_EQ(r.redirect_uri, "https://app.example/cb");
  EXPECT_TRUE(r.redirect_uri_given);
  EXPECT_EQ(r.scopes, (std::vector<std::string>{"openid", "profile"}));
  EXPECT_EQ(r.state, "s1");
  EXPECT_EQ(r.nonce, "n1");
  EXPECT_EQ(r.issued_at, 1000);
  EXPECT_TRUE(r.openid());
  EXPECT_EQ(r.response_mode, ResponseMode::kQuery);
}

TEST(AuthorizationRequest, UnknownClientOrUnregisteredRedirectIsNeverRedirected) {
  store::Client c = spa();
  EXPECT_FALSE(parse_authorization_request(good(), nullptr, 0));
  EXPECT_FALSE(parse_authorization_request(good({}, {"client_id"}), &c, 0));
  // RFC 9700 §4.1.1: exact string match, no prefix, no case folding, no extra query.
  for (const char* uri :
       {"https://app.example/cb/", "https://app.example/cb?x=1", "https://APP.example/cb",
        "https://evil.example/cb", "https://app.example/cb#f"}) {
    auto parsed = parse_authorization_request(good({{"redirect_uri", uri}}), &c, 0);
    EXPECT_FALSE(parsed) << uri;
  }
  http::Params twice = good();
  twice.add("redirect_uri", "https://app.example/cb");
  EXPECT_FALSE(parse_authorization_request(twice, &c, 0));
}

TEST(AuthorizationRequest, LoopbackRedirectUrisMatchOnAnyPortAndNothingElse) {
  // RFC 8252 §7.3: a native app picks its port when it listens.
  const std::vector<std::string> registered = {"http://127.0.0.1/cb", "http://[::1]:4000/cb?a=1",
                                               "http://localhost/cb", "https://app.example/cb"};
  for (const char* uri :
       {"http://127.0.0.1/cb", "http://127.0.0.1:51004/cb", "http://127.0.0.1:1/cb",
        "http://[::1]/cb?a=1", "http://[::1]:65535/cb?a=1"}) {
    EXPECT_TRUE(redirect_uri_registered(registered, uri)) << uri;
  }
  for (const char* uri :
       {"http://127.0.0.1:8080/cb/", "http://127.0.0.1:8080/cb?x=1", "http://127.0.0.1:0/cb",
        "http://127.0.0.1:65536/cb", "http://127.0.0.1:/cb", "http://127.0.0.1:80x/cb",
        "http://127.0.0.1.evil.example/cb", "http://127.0.0.1@evil.example/cb",
        "http://[::1]:4000/cb", "https://127.0.0.1:8080/cb",
        // RFC 8252 §8.3: localhost names no particular interface; exact match only.
        "http://localhost:8080/cb", "https://app.example:443/cb"}) {
    EXPECT_FALSE(redirect_uri_registered(registered, uri)) << uri;
  }
  EXPECT_TRUE(redirect_uri_registered(registered, "http://localhost/cb"));
}

TEST(AuthorizationRequest, RedirectUriMayBeOmittedOnlyWithOneRegisteredAndNoOpenId) {
  store::Client c = spa();
  EXPECT_FALSE(parse_authorization_request(good({}, {"redirect_uri"}), &c, 0));
  c.redirect_uris = {"https://app.example/cb"};
  auto parsed = parse_authorization_request(good({{"scope", "profile"}}, {"redirect_uri"}), &c, 0);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->error);
  EXPECT_FALSE(parsed->request.redirect_uri_given);
  auto openid = parse_authorization_request(good({}, {"redirect_uri"}), &c, 0);
  ASSERT_TRUE(openid);
  ASSERT_TRUE(openid->error);
  EXPECT_EQ(openid->error->error, "invalid_request");
}

TEST(AuthorizationRequest, PkceIsRequiredAndPlainRefused) {
  EXPECT_EQ(redirected_error(good({}, {"code_challenge"})), "invalid_request");
  EXPECT_EQ(redirected_error(good({}, {"code_challenge_method"})), "invalid_request");
  EXPECT_EQ(redirected_error(good({{"code_challenge_method", "plain"}})), "invalid_request");
  EXPECT_EQ(redirected_error(good({{"code_challenge", "short"}})), "invalid_request");
  EXPECT_EQ(redirected_error(good({{"code_challenge", std::string(43, '*')}})), "invalid_request");
}

TEST(AuthorizationRequest, OnlyTheCodeFlowIsOffered) {
  for (const char* type : {"token", "id_token", "code id_token", "code token"}) {
    EXPECT_EQ(redirected_error(good({{"response_type", type}})), "unsupported_response_type")
        << type;
  }
  EXPECT_EQ(redirected_error(good({}, {"response_type"})), "invalid_request");
  EXPECT_EQ(redirected_error(good({{"response_mode", "fragment"}})), "invalid_request");
  EXPECT_EQ(redirected_error(good({{"response_mode", "form_post"}})), "");
  for (const char* jarm : {"jwt", "query.jwt", "form_post.jwt"}) {
    EXPECT_EQ(redirected_error(good({{"response_mode", jarm}})), "") << jarm;
  }
  EXPECT_EQ(redirected_error(good({{"response_mode", "fragment.jwt"}})), "invalid_request");
}

TEST(AuthorizationRequest, ResponseModeSurvivesTheInteractionState) {
  for (ResponseMode mode : {ResponseMode::kQuery, ResponseMode::kFormPost, ResponseMode::kQueryJwt,
                            ResponseMode::kFormPostJwt}) {
    EXPECT_EQ(parse_response_mode(to_string(mode)), mode);
  }
  EXPECT_EQ(parse_response_mode("jwt"), ResponseMode::kQueryJwt);
}

TEST(AuthorizationRequest, ScopesResourcesAndRepeats) {
  EXPECT_EQ(redirected_error(good({{"scope", "openid admin"}})), "invalid_scope");
  EXPECT_EQ(redirected_error(good({{"scope", "openid  profile"}})), "invalid_scope");
  EXPECT_EQ(redirected_error(good({{"resource", "https://api.example/invoices"}})), "");
  EXPECT_EQ(redirected_error(good({{"resource", "https://other.example/"}})), "invalid_target");
  http::Params repeated = good();
  repeated.add("state", "again");
  EXPECT_EQ(redirected_error(repeated), "invalid_request");
  EXPECT_EQ(redirected_error(good({{"state", std::string(5000, 'x')}})), "invalid_request");
}

TEST(AuthorizationRequest, PromptMaxAgeAndRequestObjects) {
  EXPECT_EQ(redirected_error(good({{"prompt", "none login"}})), "invalid_request");
  EXPECT_EQ(redirected_error(good({{"prompt", "bogus"}})), "invalid_request");
  EXPECT_EQ(redirected_error(good({{"prompt", "login consent"}})), "");
  EXPECT_EQ(redirected_error(good({{"max_age", "-1"}})), "invalid_request");
  EXPECT_EQ(redirected_error(good({{"max_age", "12x"}})), "invalid_request");
  EXPECT_EQ(redirected_error(good({{"max_age", "0"}})), "");
  EXPECT_EQ(redirected_error(good({{"request", "eyJ..."}})), "request_not_supported");
  EXPECT_EQ(redirected_error(good({{"request_uri", "urn:x"}})), "request_uri_not_supported");
}

TEST(AuthorizationRequest, ClientWithoutTheCodeGrantIsUnauthorized) {
  store::Client c = spa();
  c.grant_types = {"client_credentials"};
  auto parsed = parse_authorization_request(good(), &c, 0);
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(parsed->error);
  EXPECT_EQ(parsed->error->error, "unauthorized_client");
}

TEST(AuthorizationRequest, SurvivesTheJsonRoundTrip) {
  store::Client c = spa();
  auto parsed = parse_authorization_request(good({{"prompt", "login"},
                                                  {"max_age", "60"},
                                                  {"login_hint", "alice"},
                                                  {"acr_values", "a b"},
                                                  {"response_mode", "form_post"}}),
                                            &c, 77);
  ASSERT_TRUE(parsed);
  auto back = AuthorizationRequest::from_json(parsed->request.to_json());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->to_json(), parsed->request.to_json());
  EXPECT_EQ(back->max_age, 60);
  EXPECT_EQ(back->acr_values, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(AuthorizationRequest::from_json(json::Json{{"client_id", 3}}));
}

TEST(RedirectWith, AppendsEncodedParametersKeepingTheQuery) {
  EXPECT_EQ(redirect_with("https://a.example/cb", {{"code", "x y"}, {"state", "a&b=c"}}),
            "https://a.example/cb?code=x+y&state=a%26b%3Dc");
  EXPECT_EQ(redirect_with("https://a.example/cb?x=1", {{"iss", "https://as.example"}}),
            "https://a.example/cb?x=1&iss=https%3A%2F%2Fas.example");
}

TEST(Pkce, VerifierSyntaxAndS256) {
  const std::string challenge = base64url::encode(crypto::sha256(kVerifier));
  EXPECT_TRUE(is_valid_code_verifier(kVerifier));
  EXPECT_TRUE(pkce_matches(kVerifier, challenge));
  EXPECT_FALSE(pkce_matches(kVerifier + "x", challenge));
  EXPECT_FALSE(is_valid_code_verifier(std::string(42, 'a')));
  EXPECT_TRUE(is_valid_code_verifier(std::string(128, 'a')));
  EXPECT_FALSE(is_valid_code_verifier(std::string(129, 'a')));
  EXPECT_FALSE(is_valid_code_verifier(std::string(43, '+')));
  // RFC 7636 Appendix B.
  EXPECT_EQ(base64url::encode(crypto::sha256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(InteractionSealer, OpensOnlyForTheSamePurposeBrowserAndTime) {
  FixedClock clock{1000};
  InteractionSealer sealer(std::string(aead::kKeyBytes, 'k'), clock);
  json::Json state = {{"a", 1}};
  std::string sealed = sealer.seal("authorize", state, "browser-1", 60);
  EXPECT_EQ(sealer.open("authorize", sealed, "browser-1"), state);
  EXPECT_FALSE(sealer.open("otp", sealed, "browser-1"));
  EXPECT_FALSE(sealer.open("authorize", sealed, "browser-2"));
  EXPECT_FALSE(sealer.open("authorize", sealed, ""));
  std::string tampered = sealed;
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(sealer.open("authorize", tampered, "browser-1"));
  clock.set(1061);
  EXPECT_FALSE(sealer.open("authorize", sealed, "browser-1"));
  InteractionSealer other(std::string(aead::kKeyBytes, 'j'), clock);
  EXPECT_FALSE(other.open("authorize", other.seal("x", state, "b", 60) + "A", "b"));
}

TEST(InteractionSealer, CsrfTokenIsBoundToTheBrowser) {
  FixedClock clock{1000};
  InteractionSealer sealer(std::string(aead::kKeyBytes, 'k'), clock);
  std::string token = sealer.csrf_token("browser-1");
  EXPECT_TRUE(sealer.csrf_matches("browser-1", token));
  EXPECT_FALSE(sealer.csrf_matches("browser-2", token));
  EXPECT_FALSE(sealer.csrf_matches("", sealer.csrf_token("")));
  EXPECT_FALSE(sealer.csrf_matches("browser-1", ""));
}

}  // namespace
}  // namespace tessera::oauth
