// DPoP at the authorization server (RFC 9449), driven through the routes AuthorizationServer
// registers: proofs at the token endpoint (§4.3, §5), tokens of every grant bound to the proof's
// key (§6: cnf.jkt, token_type DPoP), server nonces (§8), dpop_bound_access_tokens (§5.2),
// public clients' refresh tokens bound to the key (§5), codes bound with dpop_jkt (§10), the DPoP
// scheme at UserInfo (§7) and dpop_signing_alg_values_supported in the metadata (§5.1).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "as_fixture.h"
#include "core/base64url.h"
#include "core/crypto.h"
#include "oauth/authorization_server.h"
#include "oauth/authorize_request.h"
#include "oauth/discovery.h"
#include "oauth/dpop.h"
#include "oauth/tokens.h"
#include "tessera/dpop.h"

namespace tessera::oauth::testing {
namespace {

constexpr char kUserInfoUrl[] = "https://as.example/userinfo";
constexpr char kApiB[] = "urn:tessera:api:b";
constexpr char kExchange[] = "urn:ietf:params:oauth:grant-type:token-exchange";
constexpr char kAccessTokenType[] = "urn:ietf:params:oauth:token-type:access_token";

// The whole authorization server on an SQLite store and a fixed clock, with a signed-in user
// (a session row and its cookie), the service client "svc" (client_credentials), the public
// code client "spa" and the confidential code client "web" (both skip consent, redirect URI
// kRedirectUri).
class DpopAsTest : public AuthorizationServerTest {
 protected:
  void populate() override {
    add_client("svc", "secret");
    add_browser_client("spa", /*is_public=*/true);
    add_browser_client("web", /*is_public=*/false);
    sign_in_alice();
  }

  // A good proof of `key` for the token endpoint.
  std::string token_proof(const jose::Jwk& key) const { return sign_proof(key, proof_claims()); }

  // POST /token with `body`, client `id` authenticated by HTTP Basic (none for an empty
  // secret: a public client names itself in the body), and each of `proofs` as a DPoP field.
  http::Response token(const std::string& body, const std::vector<std::string>& proofs = {},
                       const std::string& id = "svc", const std::string& secret = "secret") {
    return call(form_post("/token", body, id, secret, proofs));
  }
  http::Response client_credentials(const std::vector<std::string>& proofs = {}) {
    return token("grant_type=client_credentials&scope=invoices%3Aread", proofs);
  }

  // A code issued at /authorize for `client_id`, optionally bound to `dpop_jkt` (RFC 9449 §10).
  std::string issue_code(const std::string& client_id,
                         const std::optional<std::string>& dpop_jkt = std::nullopt) {
    Pairs extra;
    if (dpop_jkt) extra.emplace_back("dpop_jkt", *dpop_jkt);
    return code_of(authorize(client_id, extra));
  }
  http::Response refresh(const std::string& client_id, const std::string& refresh_token,
                         const std::vector<std::string>& proofs = {}) {
    const bool public_client = is_public_client(client_id);
    std::string body = "grant_type=refresh_token&refresh_token=" + refresh_token;
    if (public_client) body += "&client_id=" + client_id;
    return token(body, proofs, client_id, public_client ? "" : client_id + "-secret");
  }
  // The tokens of a code redeemed by `client_id` with a proof of `key` (nullptr: no proof).
  json::Json code_tokens(const std::string& client_id, const jose::Jwk* key) {
    std::vector<std::string> proofs;
    if (key != nullptr) proofs.push_back(token_proof(*key));
    auto r = redeem(client_id, issue_code(client_id), proofs);
    EXPECT_EQ(r.status, 200) << r.body;
    return body(r);
  }

  http::Response userinfo(const std::string& authorization, const std::vector<std::string>& proofs,
                          const std::string& method = "GET") {
    http::Request r;
    r.set_method(method);
    r.set_target("/userinfo");
    r.mutable_headers().add("Authorization", authorization);
    for (const std::string& p : proofs) r.mutable_headers().add("DPoP", p);
    return call(std::move(r));
  }
  // A good proof of `key` for GET /userinfo with `access_token` (§4.2 ath).
  std::string userinfo_proof(const jose::Jwk& key, const std::string& access_token,
                             const std::string& method = "GET") const {
    json::Json claims = proof_claims(method, kUserInfoUrl);
    claims["ath"] = base64url::encode(crypto::sha256(access_token));
    return sign_proof(key, claims);
  }

  // The response is 400 with `code` and issues nothing.
  static void expect_refused(const http::Response& r, const std::string& code) {
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(error(r), code) << r.body;
    EXPECT_FALSE(body(r).contains("access_token")) << r.body;
    EXPECT_FALSE(body(r).contains("refresh_token")) << r.body;
  }
};

std::shared_ptr<const http::ClientCertificate> certificate(const std::string& der) {
  auto cert = std::make_shared<http::ClientCertificate>();
  cert->der = der;  // only hashed here, never parsed
  return cert;
}

// --- Token endpoint: binding (§5, §6) --------------------------------------------------------

TEST_F(DpopAsTest, ClientCredentialsWithAProofIssuesADpopBoundJwt) {
  auto r = client_credentials({token_proof(key_a_)});
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body(r);
  EXPECT_EQ(b["token_type"], "DPoP");  // §5.1
  json::Json claims = access_claims(b["access_token"], "https://api.example");
  ASSERT_TRUE(claims.contains("cnf")) << claims.dump();
  EXPECT_EQ(claims["cnf"], json::Json({{"jkt", key_a_.thumbprint()}}));  // §6.1
  // RFC 7638: base64url of a SHA-256, no padding.
  EXPECT_EQ(key_a_.thumbprint().size(), 43u);
  EXPECT_EQ(header(r, "DPoP-Nonce"), "<absent>");  // no nonces configured
}

TEST_F(DpopAsTest, ClientCredentialsWithoutAProofIssuesABearerTokenWithoutCnf) {
  auto r = client_credentials();
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body(r);
  EXPECT_EQ(b["token_type"], "Bearer");
  json::Json claims = access_claims(b["access_token"], "https://api.example");
  EXPECT_FALSE(claims.contains("cnf")) << claims.dump();
}

TEST_F(DpopAsTest, EveryAdvertisedAlgorithmIsAcceptedAndNoOther) {
  // §5.1: dpop_signing_alg_values_supported lists the algorithms proofs may use; each binds the
  // token to its own key's thumbprint, whatever the key type.
  http::Request get;
  get.set_method("GET");
  get.set_target(oauth_metadata_path(kIssuer));
  const json::Json advertised = body(call(get))["dpop_signing_alg_values_supported"];
  ASSERT_TRUE(advertised.is_array() && !advertised.empty()) << advertised.dump();
  for (jose::Alg alg : jose::all_algs()) {
    const std::string name = jose::to_string(alg);
    if (name.starts_with("HS")) continue;  // no asymmetric key to carry in the header
    jose::Jwk key = generated(alg);
    auto r = client_credentials({sign_proof(key, proof_claims(), alg)});
    if (std::find(advertised.begin(), advertised.end(), name) == advertised.end()) {
      expect_refused(r, "invalid_dpop_proof");
      continue;
    }
    ASSERT_EQ(r.status, 200) << name << ": " << r.body;
    EXPECT_EQ(body(r)["token_type"], "DPoP") << name;
    EXPECT_EQ(jkt_of(body(r), "https://api.example"), key.thumbprint()) << name;
  }
}

TEST_F(DpopAsTest, OpaqueTokenIntrospectsWithCnfJktAndTokenTypeDpop) {
  update_client(
      "svc", [](store::Client& c) { c.access_token_format = store::AccessTokenFormat::kOpaque; });
  auto bound = client_credentials({token_proof(key_a_)});
  ASSERT_EQ(bound.status, 200) << bound.body;
  EXPECT_EQ(body(bound)["token_type"], "DPoP");
  auto unbound = client_credentials();
  ASSERT_EQ(unbound.status, 200) << unbound.body;
  EXPECT_EQ(body(unbound)["token_type"], "Bearer");

  auto introspect = [&](const json::Json& issued) {
    const std::string value = issued.value("access_token", "");
    EXPECT_FALSE(looks_like_jwt(value));
    auto r = form_request("token=" + value);
    r.set_target("/introspect");
    r.mutable_headers().add("Authorization", basic("svc", "secret"));
    auto resp = call(std::move(r));
    EXPECT_EQ(resp.status, 200) << resp.body;
    return body(resp);
  };
  json::Json b = introspect(body(bound));
  EXPECT_EQ(b["active"], true) << b.dump();
  EXPECT_EQ(b["token_type"], "DPoP");
  EXPECT_EQ(b["cnf"], json::Json({{"jkt", key_a_.thumbprint()}}));
  json::Json u = introspect(body(unbound));
  EXPECT_EQ(u["active"], true) << u.dump();
  EXPECT_EQ(u["token_type"], "Bearer");
  EXPECT_FALSE(u.contains("cnf")) << u.dump();
}

// --- Token endpoint: invalid proofs (§4.3) ---------------------------------------------------

TEST_F(DpopAsTest, ProofForAnotherUrlIsInvalidDpopProof) {
  for (const char* url : {"https://as.example/userinfo", "https://other.example/token",
                          "http://as.example/token", "https://as.example/token/x"}) {
    expect_refused(client_credentials({sign_proof(key_a_, proof_claims("POST", url))}),
                   "invalid_dpop_proof");
  }
}

TEST_F(DpopAsTest, ProofHtuIsTheTokenEndpointAfterNormalisation) {
  // §4.3 item 9: syntax- and scheme-based normalisation (RFC 3986 §6.2.2, §6.2.3) first.
  for (const char* url : {"HTTPS://AS.EXAMPLE/token", "https://as.example:443/token"}) {
    auto r = client_credentials({sign_proof(key_a_, proof_claims("POST", url))});
    EXPECT_EQ(r.status, 200) << url << ": " << r.body;
  }
}

TEST_F(DpopAsTest, ProofForAnotherMethodIsInvalidDpopProof) {
  for (const char* method : {"GET", "PUT", "post"}) {
    expect_refused(client_credentials({sign_proof(key_a_, proof_claims(method))}),
                   "invalid_dpop_proof");
  }
}

TEST_F(DpopAsTest, ProofIssuedTooLongAgoOrInTheFutureIsInvalidDpopProof) {
  // §4.3 item 11: DpopServerOptions::max_age_seconds (60) old at most.
  json::Json old = proof_claims();
  old["iat"] = clock_.now() - 61;
  expect_refused(client_credentials({sign_proof(key_a_, old)}), "invalid_dpop_proof");
  json::Json future = proof_claims();
  future["iat"] = clock_.now() + 600;
  expect_refused(client_credentials({sign_proof(key_a_, future)}), "invalid_dpop_proof");
  // The oldest accepted.
  json::Json oldest = proof_claims();
  oldest["iat"] = clock_.now() - 60;
  EXPECT_EQ(client_credentials({sign_proof(key_a_, oldest)}).status, 200);
}

TEST_F(DpopAsTest, TwoDpopFieldsAreInvalidDpopProof) {
  // §4.3 item 1: exactly one DPoP field, even when both proofs are good.
  expect_refused(client_credentials({token_proof(key_a_), token_proof(key_a_)}),
                 "invalid_dpop_proof");
}

TEST_F(DpopAsTest, SymmetricAndUnsignedProofsAreInvalidDpopProof) {
  // §4.3 item 5: asymmetric algorithms only.
  const jose::Jwk secret = jose::Jwk::from_secret(std::string(32, 'k'));
  jose::SignOptions options;
  options.include_kid = false;
  options.extra_header = {{"typ", "dpop+jwt"}, {"jwk", secret.to_json(true)}};
  auto hs256 = jose::sign(proof_claims().dump(), secret, jose::Alg::kHS256, options);
  ASSERT_TRUE(hs256);
  expect_refused(client_credentials({*hs256}), "invalid_dpop_proof");

  json::Json header = {
      {"typ", "dpop+jwt"}, {"alg", "none"}, {"jwk", key_a_.public_key().to_json()}};
  const std::string none =
      base64url::encode(header.dump()) + "." + base64url::encode(proof_claims().dump()) + ".";
  expect_refused(client_credentials({none}), "invalid_dpop_proof");
}

TEST_F(DpopAsTest, ProofNotSignedByItsHeaderKeyOrNotTypedIsInvalidDpopProof) {
  // Signed by key A, carrying key B: the signature does not verify (§4.3 item 6).
  jose::SignOptions options;
  options.include_kid = false;
  options.extra_header = {{"typ", "dpop+jwt"}, {"jwk", key_b_.public_key().to_json()}};
  auto swapped = jose::sign(proof_claims().dump(), key_a_, jose::Alg::kES256, options);
  ASSERT_TRUE(swapped);
  expect_refused(client_credentials({*swapped}), "invalid_dpop_proof");
  // typ JWT instead of dpop+jwt (§4.3 item 4).
  options.extra_header = {{"typ", "JWT"}, {"jwk", key_a_.public_key().to_json()}};
  auto untyped = jose::sign(proof_claims().dump(), key_a_, jose::Alg::kES256, options);
  ASSERT_TRUE(untyped);
  expect_refused(client_credentials({*untyped}), "invalid_dpop_proof");
  expect_refused(client_credentials({"not-a-jws"}), "invalid_dpop_proof");
}

TEST_F(DpopAsTest, ReplayedProofIsInvalidDpopProof) {
  // §11.1: a proof's jti is accepted once.
  const std::string proof = token_proof(key_a_);
  auto first = client_credentials({proof});
  ASSERT_EQ(first.status, 200) << first.body;
  expect_refused(client_credentials({proof}), "invalid_dpop_proof");
}

TEST_F(DpopAsTest, InvalidProofErrorsAreJsonWithoutCaching) {
  auto r = client_credentials({sign_proof(key_a_, proof_claims("GET"))});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  EXPECT_FALSE(body(r).value("error_description", "").empty()) << r.body;
  EXPECT_EQ(header(r, "DPoP-Nonce"), "<absent>");
}

TEST_F(DpopAsTest, ProofIsCheckedOnlyAfterClientAuthentication) {
  // An unauthenticated caller hears invalid_client whatever its proof is.
  auto r = token("grant_type=client_credentials", {"not-a-jws"}, "svc", "wrong");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(error(r), "invalid_client");
}

// --- Client metadata dpop_bound_access_tokens (§5.2) -----------------------------------------

TEST_F(DpopAsTest, DpopBoundClientWithoutAProofIsRefused) {
  update_client("svc", [](store::Client& c) { c.dpop_bound_access_tokens = true; });
  expect_refused(client_credentials(), "invalid_dpop_proof");
  auto r = client_credentials({token_proof(key_a_)});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["token_type"], "DPoP");
  EXPECT_EQ(jkt_of(body(r), "https://api.example"), key_a_.thumbprint());
}

TEST_F(DpopAsTest, DpopBoundClientIsRefusedAtEveryGrant) {
  json::Json tokens = code_tokens("web", nullptr);  // issued before the client was switched
  update_client("web", [](store::Client& c) { c.dpop_bound_access_tokens = true; });
  expect_refused(refresh("web", tokens["refresh_token"]), "invalid_dpop_proof");
  expect_refused(redeem("web", issue_code("web")), "invalid_dpop_proof");
}

// --- Refresh tokens (§5) ---------------------------------------------------------------------

TEST_F(DpopAsTest, CodeRedeemedWithAProofGivesDpopTokensAndAnIdToken) {
  json::Json tokens = code_tokens("spa", &key_a_);
  EXPECT_EQ(tokens["token_type"], "DPoP");
  EXPECT_EQ(jkt_of(tokens, kApiA), key_a_.thumbprint());
  EXPECT_TRUE(tokens.contains("refresh_token"));
  EXPECT_TRUE(tokens.contains("id_token"));
}

TEST_F(DpopAsTest, PublicClientsRefreshTokenIsBoundToTheProofKey) {
  json::Json tokens = code_tokens("spa", &key_a_);
  const std::string rt = tokens["refresh_token"];
  // Stored with the key (RFC 7800 cnf).
  auto stored = store_->grants().find_token(token_hash(rt));
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ(json::Json::parse((*stored)->claims_json)["cnf"],
            json::Json({{"jkt", key_a_.thumbprint()}}));

  // Another key, or none: invalid_grant, and the family is not spent.
  expect_refused(refresh("spa", rt, {token_proof(key_b_)}), "invalid_grant");
  expect_refused(refresh("spa", rt), "invalid_grant");
  auto after = store_->grants().find_token(token_hash(rt));
  ASSERT_TRUE(after && *after);
  EXPECT_FALSE((*after)->used_at);
  EXPECT_FALSE((*after)->revoked_at);

  auto r = refresh("spa", rt, {token_proof(key_a_)});
  ASSERT_EQ(r.status, 200) << r.body;
  json::Json next = body(r);
  EXPECT_EQ(next["token_type"], "DPoP");
  EXPECT_EQ(jkt_of(next, kApiA), key_a_.thumbprint());
  ASSERT_TRUE(next.contains("refresh_token"));
  EXPECT_NE(next["refresh_token"], rt);
  // The new refresh token is bound to the same key.
  expect_refused(refresh("spa", next["refresh_token"], {token_proof(key_b_)}), "invalid_grant");
  EXPECT_EQ(refresh("spa", next["refresh_token"], {token_proof(key_a_)}).status, 200);
}

TEST_F(DpopAsTest, PublicClientsRefreshTokenWithoutAProofIsNotBound) {
  json::Json tokens = code_tokens("spa", nullptr);
  EXPECT_EQ(tokens["token_type"], "Bearer");
  EXPECT_EQ(jkt_of(tokens, kApiA), "");
  auto r = refresh("spa", tokens["refresh_token"], {token_proof(key_b_)});
  ASSERT_EQ(r.status, 200) << r.body;
  // A refresh with a proof binds the new access token and, for a public client, the new
  // refresh token to that key.
  EXPECT_EQ(jkt_of(body(r), kApiA), key_b_.thumbprint());
  expect_refused(refresh("spa", body(r)["refresh_token"]), "invalid_grant");
}

TEST_F(DpopAsTest, ConfidentialClientsRefreshTokenIsNotBound) {
  json::Json tokens = code_tokens("web", &key_a_);
  EXPECT_EQ(tokens["token_type"], "DPoP");
  EXPECT_EQ(jkt_of(tokens, kApiA), key_a_.thumbprint());
  const std::string rt = tokens["refresh_token"];
  auto stored = store_->grants().find_token(token_hash(rt));
  ASSERT_TRUE(stored && *stored);
  EXPECT_FALSE(json::Json::parse((*stored)->claims_json).contains("cnf"));

  // Another key: the new access token is bound to it.
  auto other = refresh("web", rt, {token_proof(key_b_)});
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(body(other)["token_type"], "DPoP");
  EXPECT_EQ(jkt_of(body(other), kApiA), key_b_.thumbprint());
  // No proof: a bearer token.
  auto none = refresh("web", body(other)["refresh_token"]);
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(body(none)["token_type"], "Bearer");
  EXPECT_EQ(jkt_of(body(none), kApiA), "");
}

// --- Authorization code binding, dpop_jkt (§10) ----------------------------------------------

TEST_F(DpopAsTest, CodeBoundWithDpopJktNeedsAProofOfThatKey) {
  const std::string jkt = key_a_.thumbprint();
  expect_refused(redeem("spa", issue_code("spa", jkt)), "invalid_grant");
  expect_refused(redeem("spa", issue_code("spa", jkt), {token_proof(key_b_)}), "invalid_grant");
  expect_refused(redeem("web", issue_code("web", jkt), {token_proof(key_b_)}), "invalid_grant");
  for (const char* client : {"spa", "web"}) {
    auto r = redeem(client, issue_code(client, jkt), {token_proof(key_a_)});
    ASSERT_EQ(r.status, 200) << client << ": " << r.body;
    EXPECT_EQ(body(r)["token_type"], "DPoP");
    EXPECT_EQ(jkt_of(body(r), kApiA), jkt);
  }
}

TEST_F(DpopAsTest, CodeWithoutDpopJktTakesAnyProofKey) {
  auto r = redeem("spa", issue_code("spa"), {token_proof(key_b_)});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(jkt_of(body(r), kApiA), key_b_.thumbprint());
}

TEST_F(DpopAsTest, DpopJktSurvivesTheConsentPage) {
  // prompt=consent shows the consent page: the request (dpop_jkt with it) travels sealed in
  // the form until the user allows, then the code is issued.
  auto consented_code = [&](const std::string& jkt) -> std::string {
    auto page = authorize("spa", {{"prompt", "consent"}, {"dpop_jkt", jkt}});
    EXPECT_EQ(page.status, 200) << page.body;
    const std::string browser = browser_cookie(page);
    EXPECT_FALSE(browser.empty());
    const std::string csrf = hidden_field(page.body, "csrf");
    const std::string interaction = hidden_field(page.body, "interaction");
    EXPECT_FALSE(csrf.empty() || interaction.empty()) << page.body;
    auto r = form_request("csrf=" + csrf + "&interaction=" + interaction + "&decision=allow");
    r.set_target("/consent");
    r.mutable_headers().add("Cookie",
                            browser + "; " + kSessionCookie + "=" + std::string(session_cookie_));
    http::Params params = redirect_params(call(std::move(r)));
    EXPECT_FALSE(params.get("error")) << params.get("error_description").value_or("");
    return std::string(params.get("code").value_or(""));
  };
  expect_refused(redeem("spa", consented_code(key_a_.thumbprint()), {token_proof(key_b_)}),
                 "invalid_grant");
  auto r = redeem("spa", consented_code(key_a_.thumbprint()), {token_proof(key_a_)});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(jkt_of(body(r), kApiA), key_a_.thumbprint());
}

TEST_F(DpopAsTest, MalformedDpopJktAtAuthorizeIsInvalidRequest) {
  const std::string good = key_a_.thumbprint();
  // An empty dpop_jkt is an omitted one (RFC 6749 §3.1), not a malformed one.
  const std::vector<std::string> malformed = {
      "short",
      good + "A",                                    // 44 characters
      good.substr(0, 42),                            // 42 characters
      base64url::encode(crypto::sha256("x")) + "=",  // padded
      std::string(43, '*'),                          // not base64url
      "+" + good.substr(1),                          // base64, not base64url
      good.substr(0, 42) + "/",
  };
  for (const std::string& jkt : malformed) {
    http::Params params = redirect_params(authorize("spa", {{"dpop_jkt", jkt}}));
    EXPECT_EQ(params.get("error").value_or("<none>"), "invalid_request") << "'" << jkt << "'";
    EXPECT_FALSE(params.get("code")) << jkt;
    EXPECT_EQ(params.get("state").value_or(""), "s1");
  }
  EXPECT_TRUE(redirect_params(authorize("spa", {{"dpop_jkt", good}})).get("code"));
}

// --- Token exchange (§5) ---------------------------------------------------------------------

// --- Certificate-bound tokens (RFC 8705 §3, §4) ----------------------------------------------

TEST_F(DpopAsTest, CertificateBoundClientWithoutACertificateIsRefused) {
  update_client("svc",
                [](store::Client& c) { c.tls_client_certificate_bound_access_tokens = true; });
  auto r = client_credentials();
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(body(r)["error"], "invalid_request");
  EXPECT_FALSE(body(r).contains("access_token"));
}

TEST_F(DpopAsTest, CertificateBoundClientsTokensCarryTheCertificatesThumbprint) {
  update_client("svc",
                [](store::Client& c) { c.tls_client_certificate_bound_access_tokens = true; });
  client_cert_ = certificate("certificate A");
  auto r = client_credentials();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["token_type"], "Bearer");  // RFC 8705 keeps the Bearer scheme
  json::Json claims = access_claims(body(r)["access_token"], "https://api.example");
  EXPECT_EQ(claims["cnf"], json::Json({{"x5t#S256", client_cert_->sha256_thumbprint()}}));
  // With a DPoP proof too, both bindings.
  auto both = client_credentials({token_proof(key_a_)});
  ASSERT_EQ(both.status, 200) << both.body;
  EXPECT_EQ(body(both)["token_type"], "DPoP");
  json::Json cnf = access_claims(body(both)["access_token"], "https://api.example")["cnf"];
  EXPECT_EQ(cnf["x5t#S256"], client_cert_->sha256_thumbprint());
  EXPECT_EQ(cnf["jkt"], key_a_.thumbprint());
}

TEST_F(DpopAsTest, UnflaggedClientsTokensAreNotBoundToItsCertificate) {
  client_cert_ = certificate("certificate A");
  auto r = client_credentials();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(access_claims(body(r)["access_token"], "https://api.example").contains("cnf"));
}

TEST_F(DpopAsTest, PublicClientsRefreshTokenIsBoundToItsCertificate) {
  update_client("spa",
                [](store::Client& c) { c.tls_client_certificate_bound_access_tokens = true; });
  client_cert_ = certificate("certificate A");
  json::Json tokens = code_tokens("spa", nullptr);
  ASSERT_TRUE(tokens.contains("refresh_token")) << tokens.dump();
  const std::string refresh_token = tokens["refresh_token"];
  client_cert_ = certificate("certificate B");
  auto other = refresh("spa", refresh_token);
  EXPECT_EQ(other.status, 400) << other.body;
  EXPECT_EQ(body(other)["error"], "invalid_grant");
  client_cert_ = certificate("certificate A");
  auto same = refresh("spa", refresh_token);
  ASSERT_EQ(same.status, 200) << same.body;
  EXPECT_EQ(access_claims(body(same)["access_token"], kApiA)["cnf"]["x5t#S256"],
            client_cert_->sha256_thumbprint());
}

TEST_F(DpopAsTest, ExchangedTokenIsBoundToTheExchangingRequestsKey) {
  store::Client api = add_client("api-a", "api-secret");
  api.grant_types = {kExchange};
  api.audiences = {kApiA, kApiB};
  ASSERT_TRUE(store_->clients().update(api));
  as_->clients().invalidate("api-a");
  // The user's token, bound to the SPA's key A.
  const std::string user_token = code_tokens("spa", &key_a_)["access_token"];
  const std::string form = std::string("grant_type=") + kExchange + "&subject_token=" + user_token +
                           "&subject_token_type=" + kAccessTokenType + "&audience=" + kApiB;
  auto bound = token(form, {token_proof(key_b_)}, "api-a", "api-secret");
  ASSERT_EQ(bound.status, 200) << bound.body;
  EXPECT_EQ(body(bound)["token_type"], "DPoP");
  EXPECT_EQ(jkt_of(body(bound), kApiB), key_b_.thumbprint());
  auto unbound = token(form, {}, "api-a", "api-secret");
  ASSERT_EQ(unbound.status, 200) << unbound.body;
  EXPECT_EQ(body(unbound)["token_type"], "Bearer");
  EXPECT_EQ(jkt_of(body(unbound), kApiB), "");
}

// --- UserInfo (§7) ---------------------------------------------------------------------------

TEST_F(DpopAsTest, UserInfoAcceptsABoundTokenWithTheDpopSchemeAndAProof) {
  const std::string at = code_tokens("spa", &key_a_)["access_token"];
  auto r = userinfo("DPoP " + at, {userinfo_proof(key_a_, at)});
  ASSERT_EQ(r.status, 200) << r.body << " " << header(r, "WWW-Authenticate");
  EXPECT_EQ(body(r)["sub"], alice_.id);
  auto post = userinfo("DPoP " + at, {userinfo_proof(key_a_, at, "POST")}, "POST");
  ASSERT_EQ(post.status, 200) << post.body << " " << header(post, "WWW-Authenticate");
}

TEST_F(DpopAsTest, UserInfoRefusesABoundTokenSentAsBearer) {
  const std::string at = code_tokens("spa", &key_a_)["access_token"];
  for (const auto& proofs :
       std::vector<std::vector<std::string>>{{}, {userinfo_proof(key_a_, at)}}) {
    auto r = userinfo("Bearer " + at, proofs);
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(error(r), "invalid_token");
    EXPECT_NE(header(r, "WWW-Authenticate").find("error=\"invalid_token\""), std::string::npos)
        << header(r, "WWW-Authenticate");
  }
}

TEST_F(DpopAsTest, UserInfoRefusesAProofWithTheWrongAth) {
  const std::string at = code_tokens("spa", &key_a_)["access_token"];
  auto r = userinfo("DPoP " + at, {userinfo_proof(key_a_, at + "x")});
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(error(r), "invalid_dpop_proof");
  const std::string challenge = header(r, "WWW-Authenticate");
  EXPECT_TRUE(challenge.starts_with("DPoP ")) << challenge;
  EXPECT_NE(challenge.find("error=\"invalid_dpop_proof\""), std::string::npos) << challenge;
  // No ath at all.
  json::Json claims = proof_claims("GET", kUserInfoUrl);
  auto no_ath = userinfo("DPoP " + at, {sign_proof(key_a_, claims)});
  EXPECT_EQ(no_ath.status, 401);
  EXPECT_EQ(error(no_ath), "invalid_dpop_proof");
}

TEST_F(DpopAsTest, UserInfoRefusesAProofForTheTokenEndpoint) {
  const std::string at = code_tokens("spa", &key_a_)["access_token"];
  json::Json claims = proof_claims("GET", kTokenUrl);
  claims["ath"] = base64url::encode(crypto::sha256(at));
  auto r = userinfo("DPoP " + at, {sign_proof(key_a_, claims)});
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(error(r), "invalid_dpop_proof");
}

TEST_F(DpopAsTest, UserInfoRefusesAProofOfAnotherKey) {
  const std::string at = code_tokens("spa", &key_a_)["access_token"];
  auto r = userinfo("DPoP " + at, {userinfo_proof(key_b_, at)});
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(error(r), "invalid_token");
  EXPECT_TRUE(header(r, "WWW-Authenticate").starts_with("DPoP ")) << header(r, "WWW-Authenticate");
  auto none = userinfo("DPoP " + at, {});
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_EQ(error(none), "invalid_token");
}

TEST_F(DpopAsTest, UserInfoRefusesAnUnboundTokenWithTheDpopScheme) {
  const std::string at = code_tokens("spa", nullptr)["access_token"];
  auto r = userinfo("DPoP " + at, {userinfo_proof(key_a_, at)});
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(error(r), "invalid_token");
  // The same token as Bearer is fine.
  auto bearer = userinfo("Bearer " + at, {});
  ASSERT_EQ(bearer.status, 200) << bearer.body;
  EXPECT_EQ(body(bearer)["sub"], alice_.id);
}

// RFC 9449 §7.1: a request that used the DPoP scheme is answered with the DPoP scheme's
// challenge, also when its token is no good at all.
TEST_F(DpopAsTest, UserInfoAnswersAnUnknownTokenUnderTheDpopSchemeWithADpopChallenge) {
  const std::string unknown = "not-a-token-we-issued-0123456789abcdefghijk";
  auto r = userinfo("DPoP " + unknown, {userinfo_proof(key_a_, unknown)});
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(error(r), "invalid_token");
  EXPECT_EQ(header(r, "WWW-Authenticate").rfind("DPoP ", 0), 0u) << header(r, "WWW-Authenticate");
  auto bearer = userinfo("Bearer " + unknown, {});
  EXPECT_EQ(bearer.status, 401);
  EXPECT_EQ(header(bearer, "WWW-Authenticate").rfind("Bearer ", 0), 0u);
}

TEST_F(DpopAsTest, UserInfoChecksTheBindingOfOpaqueTokensToo) {
  update_client(
      "spa", [](store::Client& c) { c.access_token_format = store::AccessTokenFormat::kOpaque; });
  const std::string at = code_tokens("spa", &key_a_)["access_token"];
  ASSERT_FALSE(looks_like_jwt(at));
  auto bearer = userinfo("Bearer " + at, {});
  EXPECT_EQ(bearer.status, 401) << bearer.body;
  EXPECT_EQ(error(bearer), "invalid_token");
  auto other_key = userinfo("DPoP " + at, {userinfo_proof(key_b_, at)});
  EXPECT_EQ(other_key.status, 401) << other_key.body;
  auto r = userinfo("DPoP " + at, {userinfo_proof(key_a_, at)});
  ASSERT_EQ(r.status, 200) << r.body << " " << header(r, "WWW-Authenticate");
  EXPECT_EQ(body(r)["sub"], alice_.id);
}

// --- Metadata (§5.1) -------------------------------------------------------------------------

TEST_F(DpopAsTest, MetadataListsAsymmetricDpopAlgorithms) {
  for (const std::string& path :
       {oauth_metadata_path(kIssuer), openid_configuration_path(kIssuer)}) {
    http::Request get;
    get.set_method("GET");
    get.set_target(path);
    auto r = call(get);
    ASSERT_EQ(r.status, 200) << path;
    json::Json m = body(r);
    ASSERT_TRUE(m.contains("dpop_signing_alg_values_supported")) << path;
    const json::Json& algs = m["dpop_signing_alg_values_supported"];
    ASSERT_TRUE(algs.is_array());
    EXPECT_NE(std::find(algs.begin(), algs.end(), "ES256"), algs.end()) << algs.dump();
    for (const auto& alg : algs) {
      ASSERT_TRUE(alg.is_string());
      const std::string a = alg;
      EXPECT_FALSE(a.starts_with("HS")) << a;
      EXPECT_NE(a, "none");
    }
  }
}

// --- Server nonces (§8) ----------------------------------------------------------------------

class DpopNonceTest : public WithDpopNonces<DpopAsTest> {
 protected:
  std::string proof_with_nonce(const jose::Jwk& key, const std::string& nonce) const {
    json::Json claims = proof_claims();
    claims["nonce"] = nonce;
    return sign_proof(key, claims);
  }
};

TEST_F(DpopNonceTest, ProofWithoutTheNonceGetsUseDpopNonceAndTheNonce) {
  auto r = client_credentials({token_proof(key_a_)});
  expect_refused(r, "use_dpop_nonce");
  const std::string nonce = header(r, "DPoP-Nonce");
  EXPECT_EQ(nonce, nonces_->current());

  auto retried = client_credentials({proof_with_nonce(key_a_, nonce)});
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(body(retried)["token_type"], "DPoP");
  EXPECT_EQ(jkt_of(body(retried), "https://api.example"), key_a_.thumbprint());
  EXPECT_EQ(header(retried, "DPoP-Nonce"), nonces_->current());
}

TEST_F(DpopNonceTest, NonceIsGoodForItsWindowAndTheNextOnly) {
  const std::string nonce = nonces_->current();
  clock_.advance(60);  // the next window: the previous nonce still passes
  json::Json claims = proof_claims();
  claims["nonce"] = nonce;
  auto r = client_credentials({sign_proof(key_a_, claims)});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(header(r, "DPoP-Nonce"), nonces_->current());
  EXPECT_NE(nonces_->current(), nonce);
  clock_.advance(60);  // two windows on: refused, with the nonce to use now
  claims = proof_claims();
  claims["nonce"] = nonce;
  auto stale = client_credentials({sign_proof(key_a_, claims)});
  expect_refused(stale, "use_dpop_nonce");
  EXPECT_EQ(header(stale, "DPoP-Nonce"), nonces_->current());
}

TEST_F(DpopNonceTest, ProofWithAMadeUpNonceGetsUseDpopNonce) {
  auto r = client_credentials({proof_with_nonce(key_a_, "made-up")});
  expect_refused(r, "use_dpop_nonce");
  EXPECT_EQ(header(r, "DPoP-Nonce"), nonces_->current());
}

TEST_F(DpopNonceTest, AnInvalidProofWithTheNonceIsStillInvalidDpopProof) {
  json::Json claims = proof_claims("GET");
  claims["nonce"] = nonces_->current();
  expect_refused(client_credentials({sign_proof(key_a_, claims)}), "invalid_dpop_proof");
}

TEST_F(DpopNonceTest, RequestWithoutDpopStillGetsABearerToken) {
  auto r = client_credentials();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["token_type"], "Bearer");
  EXPECT_EQ(header(r, "DPoP-Nonce"), "<absent>");
}

TEST_F(DpopNonceTest, UserInfoAsksForTheNonceToo) {
  auto first = token("grant_type=authorization_code&client_id=spa&code=" + issue_code("spa") +
                         "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier=" + kVerifier,
                     {proof_with_nonce(key_a_, nonces_->current())}, "spa", "");
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string at = body(first)["access_token"];
  auto r = userinfo("DPoP " + at, {userinfo_proof(key_a_, at)});
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(error(r), "use_dpop_nonce");
  EXPECT_EQ(header(r, "DPoP-Nonce"), nonces_->current());
  json::Json claims = proof_claims("GET", kUserInfoUrl);
  claims["ath"] = base64url::encode(crypto::sha256(at));
  claims["nonce"] = nonces_->current();
  auto ok = userinfo("DPoP " + at, {sign_proof(key_a_, claims)});
  EXPECT_EQ(ok.status, 200) << ok.body;
}

}  // namespace
}  // namespace tessera::oauth::testing
