// The gateway's enforcement of sender-constrained access tokens, through Gateway::handle with a
// real issuer (FakeIssuer: metadata and JWKS over HTTP) and a real upstream that echoes what it
// received: DPoP-bound tokens (RFC 9449 §6.1 cnf.jkt, §7.1 the DPoP scheme and a proof, §7.2 no
// Bearer), certificate-bound tokens (RFC 8705 §3 cnf.x5t#S256) and plain bearer tokens
// (RFC 6750), every refusal checked for its status, challenge and JSON error. Clocks are
// injected; nothing sleeps.
#include "gateway/gateway.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../http/test_support.h"
#include "../resource/issuer_fixture.h"
#include "core/base64url.h"
#include "core/crypto.h"
#include "core/json.h"
#include "gateway/redis_state.h"
#include "http/access_log.h"
#include "http/client.h"
#include "http/message.h"
#include "http/router.h"
#include "http/server.h"
#include "jose/jose.h"
#include "resource/http_server.h"
#include "support/redis_options.h"
#include "support/redis_server.h"

namespace tessera::gateway {
namespace {

using jose::Alg;
using jose::Json;
using resource::test::FakeIssuer;
using resource::test::make_key;
using resource::test::sign_token;

constexpr int64_t kNow = 1'700'000'000;
constexpr const char* kAudience = "https://api.example.com";
constexpr const char* kHost = "gw.example.com";
// The request-target carries a query: RFC 9449 §4.3 item 9 compares htu without it.
constexpr const char* kTarget = "/invoices/7?view=full";
constexpr const char* kHtu = "http://gw.example.com/invoices/7";

// RFC 8705 §3.1: x5t#S256 is base64url(SHA-256(DER)); computed here, not by the code under test.
std::string x5t_s256(std::string_view der) { return base64url::encode(crypto::sha256(der)); }

// RFC 9449 §4.2: ath is base64url(SHA-256(ASCII(access token))).
std::string ath_of(std::string_view token) { return base64url::encode(crypto::sha256(token)); }

std::string fresh_jti() {
  static std::atomic<int> counter{0};
  return "proof-" + std::to_string(counter.fetch_add(1));
}

// The key of the gateway's RFC 9421 signature in the tests that sign, which the upstream checks.
const resource::HmacKey kHopKey{"hop-1", std::string(32, 'h')};

// The upstream API: answers every GET or POST under /invoices with what it received, as JSON,
// and counts the requests that reached it.
class EchoUpstream {
  // The gateway's signature as this upstream sees it: what it covers, or why it does not verify.
  static Json signature_of(const http::Request& request) {
    const auto check = resource::gateway_signature(
        request, {.origins = {std::string("http://") + kHost}, .keys = {kHopKey}}, {});
    return check.valid ? Json(check.covered) : Json(check.error);
  }

 public:
  EchoUpstream() : hits_(std::make_shared<std::atomic<int>>(0)) {
    http::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.io_threads = 1;
    options.builtin_routes = false;
    options.access_log = std::make_shared<http::NullAccessLog>();
    http::Router router;
    auto echo = [hits = hits_](const http::Request& request) {
      hits->fetch_add(1);
      return http::Response::json(
          200, {{"method", request.method()},
                {"target", request.target()},
                {"authorization", request.header("Authorization").value_or("")},
                {"x_forwarded_host", request.header("X-Forwarded-Host").value_or("")},
                {"forwarded", request.header("Forwarded").value_or("")},
                {"x_real_ip", request.header("X-Real-IP").value_or("")},
                {"expect", request.header("Expect").value_or("")},
                {"x_secret_hop", request.header("X-Secret-Hop").value_or("")},
                {"x_kept", request.header("X-Kept").value_or("")},
                {"x_forwarded_for", request.header("X-Forwarded-For").value_or("")},
                {"x_forwarded_for_fields", request.headers().count("X-Forwarded-For")},
                {"x_request_id", request.header("X-Request-Id").value_or("")},
                {"x_request_id_fields", request.headers().count("X-Request-Id")},
                {"x_user", request.header("X-User").value_or("")},
                {"x_user_fields", request.headers().count("X-User")},
                {"body", request.body()},
                // What an API behind the gateway takes for the URL the client called.
                {"called_url",
                 resource::called_url(request, {.origins = {std::string("http://") + kHost}})
                     .value_or("(refused)")},
                {"signed", signature_of(request)}});
    };
    router.get("/invoices/{id}", echo);
    // An answer with fields for this hop alone, and an id of the upstream's own making.
    router.get("/invoices/{id}/hop", [](const http::Request&) {
      http::Response r = http::Response::json(200, {{"hop", true}});
      r.headers.add("Keep-Alive", "timeout=5");
      r.headers.add("Trailer", "X-Checksum");
      r.headers.add("X-Request-Id", "made-upstream");
      r.headers.add("X-Kept", "yes");
      return r;
    });
    router.post("/invoices/{id}", echo);
    server_ = std::make_unique<http::Server>(std::move(options), std::move(router));
    auto started = server_->start();
    if (!started) throw std::runtime_error("echo upstream: " + started.error());
    server_->set_ready(true);
  }
  ~EchoUpstream() { server_->stop(); }
  EchoUpstream(const EchoUpstream&) = delete;
  EchoUpstream& operator=(const EchoUpstream&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  int hits() const { return hits_->load(); }

 private:
  std::shared_ptr<std::atomic<int>> hits_;
  std::unique_ptr<http::Server> server_;
};

// 401 with a `scheme` challenge carrying error="<error>" (RFC 6750 §3, RFC 9449 §7.1) and the
// JSON body {"error": error, ...}.
::testing::AssertionResult refused_with(const http::Response& response, std::string_view scheme,
                                        std::string_view error) {
  if (response.status != 401) {
    return ::testing::AssertionFailure()
           << "status " << response.status << ", body " << response.body;
  }
  const std::string challenge(response.headers.get("WWW-Authenticate").value_or(""));
  if (challenge.rfind(std::string(scheme) + " ", 0) != 0) {
    return ::testing::AssertionFailure()
           << "challenge not of scheme " << scheme << ": " << challenge;
  }
  const std::string param = "error=\"" + std::string(error) + "\"";
  if (challenge.find(param) == std::string::npos) {
    return ::testing::AssertionFailure() << "challenge without " << param << ": " << challenge;
  }
  if (response.headers.get("Content-Type").value_or("") != "application/json") {
    return ::testing::AssertionFailure() << "body is not application/json";
  }
  auto body = json::parse_strict(response.body);
  if (!body || !body->is_object() || !body->contains("error") || (*body)["error"] != error) {
    return ::testing::AssertionFailure() << "body error is not " << error << ": " << response.body;
  }
  return ::testing::AssertionSuccess() << challenge;
}

class GatewayBinding : public ::testing::Test {
 protected:
  GatewayBinding()
      : signing_key_(make_key(Alg::kES256, "issuer-es256")),
        client_key_(make_key(Alg::kES256, "client-dpop")),
        other_client_key_(make_key(Alg::kES256, "other-client-dpop")) {
    issuer_.publish(signing_key_);
    gateway_ = std::make_unique<Gateway>(options());
  }

  Options options() const {
    Options o;
    o.realm = "api";
    Route route;
    route.name = "invoices";
    route.path_prefix = "/invoices";
    route.upstream = upstream_.url();
    route.policy = Policy::kJwt;
    route.scopes = {"invoices:read"};
    o.routes = {route};
    o.jwt.issuer = issuer_.url();
    o.jwt.audiences = {kAudience};
    o.jwt.http_timeout_ms = 2'000;
    o.jwt.now = [clock = clock_] { return clock->load(); };
    o.dpop.now = [clock = clock_] { return clock->load(); };
    o.upstream_threads = 2;
    o.upstream_timeout_ms = 5'000;
    return o;
  }

  int64_t now() const { return clock_->load(); }

  // An RFC 9068 access token for alice, with `cnf` when given.
  std::string token(const std::optional<Json>& cnf = std::nullopt) const {
    Json claims = {{"iss", issuer_.url()}, {"sub", "alice"},
                   {"aud", kAudience},     {"client_id", "spa"},
                   {"iat", now()},         {"exp", now() + 600},
                   {"jti", fresh_jti()},   {"scope", "invoices:read"}};
    if (cnf) claims["cnf"] = *cnf;
    return sign_token(claims, signing_key_, Alg::kES256);
  }
  // RFC 9449 §6.1: bound to the RFC 7638 thumbprint of the client's DPoP key.
  std::string dpop_bound_token() const { return token(Json{{"jkt", client_key_.thumbprint()}}); }
  // RFC 8705 §3.1: bound to the certificate whose DER is `der`.
  std::string certificate_bound_token(std::string_view der) const {
    return token(Json{{"x5t#S256", x5t_s256(der)}});
  }

  // The claims of a good proof for `method` on kHtu with `access_token` (RFC 9449 §4.2).
  Json proof_claims(std::string_view access_token, std::string_view method = "GET") const {
    return {{"jti", fresh_jti()},
            {"htm", method},
            {"htu", kHtu},
            {"iat", now()},
            {"ath", ath_of(access_token)}};
  }
  // RFC 9449 §4.2: typ dpop+jwt, the signer's public key as jwk, signed with it.
  static std::string proof(const jose::Jwk& key, const Json& claims) {
    jose::SignOptions sign;
    sign.include_kid = false;
    sign.typ = "dpop+jwt";
    sign.extra_header = Json{{"jwk", key.public_key().to_json()}};
    auto jws = jose::sign(claims.dump(), key, Alg::kES256, sign);
    if (!jws) throw std::runtime_error(std::string("proof: ") + jose::to_string(jws.error()));
    return *jws;
  }
  std::string proof(const Json& claims) const { return proof(client_key_, claims); }

  // A request to the gateway as the server would hand it over.
  static http::Request request(std::string_view authorization,
                               const std::vector<std::string>& proofs = {},
                               std::string_view method = "GET", std::string_view target = kTarget) {
    http::Request r;
    r.set_method(method);
    r.set_target(target);
    r.mutable_headers().add("Host", kHost);
    if (!authorization.empty()) r.mutable_headers().add("Authorization", authorization);
    for (const auto& p : proofs) r.mutable_headers().add("DPoP", p);
    r.set_peer("203.0.113.7", 50'000);
    r.set_request_id("req-gateway-test");
    return r;
  }
  static http::Request dpop_request(const std::string& token, const std::string& proof) {
    return request("DPoP " + token, {proof});
  }
  static http::Request with_certificate(http::Request r, std::string_view der) {
    r.mutable_tls().secure = true;
    auto certificate = std::make_shared<http::ClientCertificate>();
    certificate->der = std::string(der);
    certificate->subject = "CN=partner";
    r.mutable_tls().client_certificate = std::move(certificate);
    return r;
  }

  // The upstream's echo of an accepted request.
  static Json echoed(const http::Response& response) {
    auto body = json::parse_strict(response.body);
    return body && body->is_object() ? *body : Json::object();
  }

  FakeIssuer issuer_;
  EchoUpstream upstream_;
  jose::Jwk signing_key_;
  jose::Jwk client_key_;
  jose::Jwk other_client_key_;
  std::shared_ptr<std::atomic<int64_t>> clock_ = std::make_shared<std::atomic<int64_t>>(kNow);
  std::unique_ptr<Gateway> gateway_;
};

// ---------------------------------------------------------------------------------------------
// DPoP-bound tokens (RFC 9449)

TEST_F(GatewayBinding, DpopBoundTokenWithAValidProofReachesTheUpstream) {
  const std::string t = dpop_bound_token();
  const http::Response r = gateway_->handle(dpop_request(t, proof(proof_claims(t))));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(upstream_.hits(), 1);
  const Json echo = echoed(r);
  EXPECT_EQ(echo.value("method", ""), "GET");
  EXPECT_EQ(echo.value("target", ""), kTarget);
  EXPECT_EQ(echo.value("authorization", ""), "DPoP " + t);
  EXPECT_EQ(echo.value("x_forwarded_host", ""), kHost);
  // The proof goes upstream as it came, with the URL it names asserted for the API.
  EXPECT_EQ(echo.value("called_url", ""), std::string("http://") + kHost + kTarget);
}

// An API behind the gateway checks the proof again: it needs the URL the client called, not its
// own, even when the route strips a prefix and the upstream has a base path; what a client says
// of that URL never reaches it.
TEST_F(GatewayBinding, TheUpstreamLearnsTheUrlTheClientCalledAndNotOneTheClientClaims) {
  Options o = options();
  o.routes[0].path_prefix = "/api";
  o.routes[0].strip_prefix = true;
  o.routes[0].upstream = upstream_.url() + "/invoices";
  gateway_ = std::make_unique<Gateway>(o);
  const std::string t = dpop_bound_token();
  Json claims = proof_claims(t);
  claims["htu"] = std::string("http://") + kHost + "/api/7";
  http::Request r = request("DPoP " + t, {proof(claims)}, "GET", "/api/7?view=full");
  r.mutable_headers().add("X-Forwarded-Uri", "/elsewhere");
  r.mutable_headers().add("X-Forwarded-Host", "evil.example");
  r.mutable_headers().add("X-Forwarded-Proto", "https");
  const http::Response answer = gateway_->handle(r);
  ASSERT_EQ(answer.status, 200) << answer.body;
  const Json echo = echoed(answer);
  EXPECT_EQ(echo.value("target", ""), "/invoices/7?view=full");
  EXPECT_EQ(echo.value("called_url", ""), std::string("http://") + kHost + "/api/7?view=full");
}

// RFC 9112 §3.3: the URL a proof names is the Host field and the target; a Host that would cut
// the path off ("gw.example.com#" reads as the URL http://gw.example.com/ with a fragment) names
// no URL, so a proof for "/" cannot pass for every path.
TEST_F(GatewayBinding, AHostFieldThatNamesNoUrlIsRefusedForABoundToken) {
  const std::string t = dpop_bound_token();
  Json claims = proof_claims(t);
  claims["htu"] = std::string("http://") + kHost + "/";
  http::Request r = dpop_request(t, proof(claims));
  r.mutable_headers().set("Host", std::string(kHost) + "#");
  const http::Response answer = gateway_->handle(r);
  EXPECT_EQ(answer.status, 400) << answer.body;
  EXPECT_EQ(upstream_.hits(), 0);
}

// RFC 9110 §10.1.1: the gateway sends the whole content with the header, so the client's
// 100-continue expectation (met by the gateway's own server) does not go upstream, where a
// "100 Continue" would only come back.
TEST_F(GatewayBinding, AnExpectationIsNotPassedUpstream) {
  http::Request r = request("Bearer " + token(), {}, "POST", "/invoices/7");
  r.mutable_headers().add("Expect", "100-continue");
  r.mutable_body() = "amount=1";
  const http::Response answer = gateway_->handle(r);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(echoed(answer).value("expect", "(absent)"), "");
  EXPECT_EQ(echoed(answer).value("body", ""), "amount=1");
}

// RFC 9110 §7.6.1: the fields of this hop (Connection, those it names, Keep-Alive, TE, ...) go no
// further, either way; the client gets the id the gateway logged, not one the upstream made.
TEST_F(GatewayBinding, HopByHopFieldsStopAtTheGatewayBothWays) {
  http::Request r = request("Bearer " + token());
  r.mutable_headers().add("Connection", "keep-alive, X-Secret-Hop");
  r.mutable_headers().add("X-Secret-Hop", "1");
  r.mutable_headers().add("X-Kept", "yes");
  const http::Response answer = gateway_->handle(r);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(echoed(answer).value("x_secret_hop", "(absent)"), "");
  EXPECT_EQ(echoed(answer).value("x_kept", "(absent)"), "yes");

  const http::Response hop =
      gateway_->handle(request("Bearer " + token(), {}, "GET", "/invoices/7/hop"));
  ASSERT_EQ(hop.status, 200) << hop.body;
  EXPECT_EQ(hop.body, R"({"hop":true})");
  EXPECT_EQ(hop.headers.get("X-Kept").value_or(""), "yes");
  // (Connection itself cannot be tested here: http::Server never sends a handler's own.)
  for (const char* gone : {"Keep-Alive", "Trailer", "X-Request-Id"}) {
    EXPECT_FALSE(hop.headers.contains(gone)) << gone;
  }
}

// RFC 9110 §7.6.1: a field the upstream's Connection names is for that hop alone, like Connection
// itself and Keep-Alive (the answer as the gateway hands it to the server, before the server adds
// its own Connection).
TEST_F(GatewayBinding, FieldsTheUpstreamsConnectionNamesStopAtTheGateway) {
  http::testing::ScriptedServer upstream{
      std::string("HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret-Hop\r\nX-Secret-Hop: 1\r\n"
                  "Keep-Alive: timeout=5\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok")};
  Options o = options();
  o.routes[0].upstream = upstream.url("");
  gateway_ = std::make_unique<Gateway>(o);
  const http::Response answer = gateway_->handle(request("Bearer " + token()));
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.body, "ok");
  EXPECT_EQ(answer.headers.get("X-Kept").value_or(""), "yes");
  for (const char* gone : {"Connection", "X-Secret-Hop", "Keep-Alive"}) {
    EXPECT_FALSE(answer.headers.contains(gone)) << gone;
  }
}

// Without a Host field (HTTP/1.0) the gateway has no X-Forwarded-Host to assert, and the one a
// client sent is not passed on either.
TEST_F(GatewayBinding, AClientsForwardedFieldsNeverReachTheUpstream) {
  http::Request r = request("Bearer " + token());
  r.mutable_headers().remove("Host");
  r.mutable_headers().add("X-Forwarded-Host", "evil.example");
  const http::Response answer = gateway_->handle(r);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(echoed(answer).value("x_forwarded_host", "(absent)"), "");
}

TEST_F(GatewayBinding, DpopProofForAPostIsAccepted) {
  const std::string t = dpop_bound_token();
  const http::Response r = gateway_->handle(
      request("DPoP " + t, {proof(proof_claims(t, "POST"))}, "POST", "/invoices/7"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(echoed(r).value("method", ""), "POST");
  EXPECT_EQ(upstream_.hits(), 1);
}

// RFC 9449 §9: with gateway nonces, a proof without one gets use_dpop_nonce and the nonce to use;
// the retry with it passes, and every answer to a DPoP request carries the current nonce.
TEST_F(GatewayBinding, WithNoncesAProofMustCarryTheNonceTheGatewayGaveOut) {
  Options o = options();
  o.dpop.nonces = std::make_shared<const resource::DpopNonces>(resource::DpopNonceOptions{
      .secret = std::string(32, 's'), .period_seconds = 60, .now = [clock = clock_] {
        return clock->load();
      }});
  const Gateway gateway(o);
  const std::string t = dpop_bound_token();

  const http::Response first = gateway.handle(dpop_request(t, proof(proof_claims(t))));
  EXPECT_TRUE(refused_with(first, "DPoP", "use_dpop_nonce"));
  const std::string nonce(first.headers.get("DPoP-Nonce").value_or(""));
  ASSERT_EQ(nonce, o.dpop.nonces->current());

  Json claims = proof_claims(t);
  claims["nonce"] = "not-the-gateways";
  EXPECT_TRUE(
      refused_with(gateway.handle(dpop_request(t, proof(claims))), "DPoP", "use_dpop_nonce"));
  EXPECT_EQ(upstream_.hits(), 0);

  claims = proof_claims(t);
  claims["nonce"] = nonce;
  const http::Response retried = gateway.handle(dpop_request(t, proof(claims)));
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(retried.headers.get("DPoP-Nonce").value_or(""), nonce);
  EXPECT_EQ(upstream_.hits(), 1);

  // No token at all: both challenges, and the nonce for the proof to come.
  const http::Response none = gateway.handle(request(""));
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.headers.get("DPoP-Nonce").value_or(""), nonce);
  // A bearer token gets no nonce: it has no proof to put one in.
  const http::Response bearer = gateway.handle(request("Bearer " + token()));
  ASSERT_EQ(bearer.status, 200) << bearer.body;
  EXPECT_FALSE(bearer.headers.get("DPoP-Nonce").has_value());
}

// RFC 9449 §7.2: a DPoP-bound token presented as a bearer token is refused, with a DPoP challenge.
TEST_F(GatewayBinding, DpopBoundTokenAsBearerIsInvalidToken) {
  const std::string t = dpop_bound_token();
  const http::Response r = gateway_->handle(request("Bearer " + t, {proof(proof_claims(t))}));
  EXPECT_TRUE(refused_with(r, "DPoP", "invalid_token"));
  EXPECT_EQ(upstream_.hits(), 0);
}

// The claims cache keeps the principal, not the decision: once accepted with a proof, the same
// token as Bearer is still refused (RFC 9449 §7.2).
TEST_F(GatewayBinding, DpopBoundTokenAsBearerIsRefusedEvenAfterItWasAccepted) {
  const std::string t = dpop_bound_token();
  ASSERT_EQ(gateway_->handle(dpop_request(t, proof(proof_claims(t)))).status, 200);
  const http::Response r = gateway_->handle(request("Bearer " + t));
  EXPECT_TRUE(refused_with(r, "DPoP", "invalid_token"));
  EXPECT_EQ(upstream_.hits(), 1);
}

// RFC 9449 §7.1: a DPoP-bound token needs a proof; without one it is invalid_token.
TEST_F(GatewayBinding, NoProofIsInvalidToken) {
  const std::string t = dpop_bound_token();
  const http::Response r = gateway_->handle(request("DPoP " + t));
  EXPECT_TRUE(refused_with(r, "DPoP", "invalid_token"));
  EXPECT_EQ(upstream_.hits(), 0);
}

// RFC 9449 §4.3 item 12, §7.1: a proof by a key the token is not bound to.
TEST_F(GatewayBinding, ProofSignedByAnotherKeyIsInvalidToken) {
  const std::string t = dpop_bound_token();
  const http::Response r =
      gateway_->handle(dpop_request(t, proof(other_client_key_, proof_claims(t))));
  EXPECT_TRUE(refused_with(r, "DPoP", "invalid_token"));
  EXPECT_EQ(upstream_.hits(), 0);
}

// RFC 9449 §4.3 item 8: htm is the request's method.
TEST_F(GatewayBinding, ProofForAnotherMethodIsInvalidProof) {
  const std::string t = dpop_bound_token();
  const http::Response r = gateway_->handle(dpop_request(t, proof(proof_claims(t, "POST"))));
  EXPECT_TRUE(refused_with(r, "DPoP", "invalid_dpop_proof"));
  EXPECT_EQ(upstream_.hits(), 0);
}

// RFC 9449 §4.3 item 9: htu is the URL called (the connection's scheme, Host and path).
TEST_F(GatewayBinding, ProofForAnotherUrlIsInvalidProof) {
  const std::string t = dpop_bound_token();
  for (const char* htu : {"http://other.example.com/invoices/7", "http://gw.example.com/invoices/8",
                          "https://gw.example.com/invoices/7"}) {
    Json claims = proof_claims(t);
    claims["htu"] = htu;
    const http::Response r = gateway_->handle(dpop_request(t, proof(claims)));
    EXPECT_TRUE(refused_with(r, "DPoP", "invalid_dpop_proof")) << htu;
  }
  // And the other way round: a request to another Host than the proof names.
  http::Request other_host = dpop_request(t, proof(proof_claims(t)));
  other_host.mutable_headers().set("Host", "evil.example.com");
  EXPECT_TRUE(refused_with(gateway_->handle(other_host), "DPoP", "invalid_dpop_proof"));
  EXPECT_EQ(upstream_.hits(), 0);
}

// RFC 9449 §4.3 item 12: ath is the hash of the token the proof comes with.
TEST_F(GatewayBinding, ProofForAnotherTokenIsInvalidProof) {
  const std::string t = dpop_bound_token();
  const std::string other = dpop_bound_token();
  const http::Response r = gateway_->handle(dpop_request(t, proof(proof_claims(other))));
  EXPECT_TRUE(refused_with(r, "DPoP", "invalid_dpop_proof"));
  Json no_ath = proof_claims(t);
  no_ath.erase("ath");
  EXPECT_TRUE(
      refused_with(gateway_->handle(dpop_request(t, proof(no_ath))), "DPoP", "invalid_dpop_proof"));
  EXPECT_EQ(upstream_.hits(), 0);
}

// RFC 9449 §11.1: the same proof twice is a replay.
TEST_F(GatewayBinding, ReplayedProofIsInvalidProof) {
  const std::string t = dpop_bound_token();
  const std::string p = proof(proof_claims(t));
  ASSERT_EQ(gateway_->handle(dpop_request(t, p)).status, 200);
  const http::Response r = gateway_->handle(dpop_request(t, p));
  EXPECT_TRUE(refused_with(r, "DPoP", "invalid_dpop_proof"));
  EXPECT_EQ(upstream_.hits(), 1);
}

// RFC 9449 §4.3 item 11: iat within the window (60 s old, 5 s ahead by default).
TEST_F(GatewayBinding, StaleOrFutureProofIsInvalidProof) {
  const std::string t = dpop_bound_token();
  Json stale = proof_claims(t);
  stale["iat"] = now() - 61;
  EXPECT_TRUE(
      refused_with(gateway_->handle(dpop_request(t, proof(stale))), "DPoP", "invalid_dpop_proof"));
  Json future = proof_claims(t);
  future["iat"] = now() + 6;
  EXPECT_TRUE(
      refused_with(gateway_->handle(dpop_request(t, proof(future))), "DPoP", "invalid_dpop_proof"));
  EXPECT_EQ(upstream_.hits(), 0);

  // At the window's edge a proof is still accepted (RFC 9449 §4.3 item 11: "within an acceptable
  // window").
  Json edge = proof_claims(t);
  edge["iat"] = now() - 60;
  EXPECT_EQ(gateway_->handle(dpop_request(t, proof(edge))).status, 200);
}

TEST_F(GatewayBinding, ProofGoesStaleAsTheClockMoves) {
  const std::string t = dpop_bound_token();
  const std::string p = proof(proof_claims(t));
  clock_->fetch_add(61);
  EXPECT_TRUE(refused_with(gateway_->handle(dpop_request(t, p)), "DPoP", "invalid_dpop_proof"));
  EXPECT_EQ(upstream_.hits(), 0);
}

// RFC 9449 §4.3 item 1: exactly one DPoP field.
TEST_F(GatewayBinding, TwoDpopHeadersAreInvalidProof) {
  const std::string t = dpop_bound_token();
  const http::Response r =
      gateway_->handle(request("DPoP " + t, {proof(proof_claims(t)), proof(proof_claims(t))}));
  EXPECT_TRUE(refused_with(r, "DPoP", "invalid_dpop_proof"));
  EXPECT_EQ(upstream_.hits(), 0);
}

// RFC 9449 §4.3 item 4: typ dpop+jwt (an access token is not a proof).
TEST_F(GatewayBinding, AccessTokenAsProofIsInvalidProof) {
  const std::string t = dpop_bound_token();
  const http::Response r = gateway_->handle(dpop_request(t, t));
  EXPECT_TRUE(refused_with(r, "DPoP", "invalid_dpop_proof"));
  EXPECT_EQ(upstream_.hits(), 0);
}

// The challenge names the algorithms proofs may use (RFC 9449 §7.1 algs).
TEST_F(GatewayBinding, DpopChallengeListsTheAlgorithms) {
  const std::string t = dpop_bound_token();
  const http::Response r = gateway_->handle(request("Bearer " + t));
  ASSERT_TRUE(refused_with(r, "DPoP", "invalid_token"));
  const std::string challenge(r.headers.get("WWW-Authenticate").value_or(""));
  EXPECT_NE(challenge.find("realm=\"api\""), std::string::npos) << challenge;
  EXPECT_NE(challenge.find("algs=\"ES256 PS256 EdDSA Ed25519\""), std::string::npos) << challenge;
}

// A token without cnf.jkt is not DPoP-bound: the DPoP scheme does not fit it (RFC 9449 §7.1),
// even with a good proof.
TEST_F(GatewayBinding, UnboundTokenWithTheDpopSchemeIsInvalidToken) {
  const std::string t = token();
  const http::Response r = gateway_->handle(dpop_request(t, proof(proof_claims(t))));
  EXPECT_TRUE(refused_with(r, "DPoP", "invalid_token"));
  EXPECT_EQ(upstream_.hits(), 0);
}

// ---------------------------------------------------------------------------------------------
// Certificate-bound tokens (RFC 8705 §3)

// Arbitrary bytes stand for DER: the binding is a hash of whatever the TLS layer hands over.
constexpr std::string_view kPartnerDer{"\x30\x82\x01\x0a partner certificate", 24};
constexpr std::string_view kOtherDer{"\x30\x82\x01\x0a another certificate", 24};

TEST_F(GatewayBinding, CertificateBoundTokenWithItsCertificateReachesTheUpstream) {
  const std::string t = certificate_bound_token(kPartnerDer);
  const http::Response r = gateway_->handle(with_certificate(request("Bearer " + t), kPartnerDer));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(upstream_.hits(), 1);
  EXPECT_EQ(echoed(r).value("authorization", ""), "Bearer " + t);
}

TEST_F(GatewayBinding, CertificateBoundTokenWithAnotherCertificateIsInvalidToken) {
  const std::string t = certificate_bound_token(kPartnerDer);
  const http::Response r = gateway_->handle(with_certificate(request("Bearer " + t), kOtherDer));
  EXPECT_TRUE(refused_with(r, "Bearer", "invalid_token"));
  EXPECT_EQ(upstream_.hits(), 0);
}

TEST_F(GatewayBinding, CertificateBoundTokenWithoutACertificateIsInvalidToken) {
  const std::string t = certificate_bound_token(kPartnerDer);
  EXPECT_TRUE(refused_with(gateway_->handle(request("Bearer " + t)), "Bearer", "invalid_token"));
  // A TLS connection without a client certificate, and one whose certificate is empty.
  http::Request secure = request("Bearer " + t);
  secure.mutable_tls().secure = true;
  EXPECT_TRUE(refused_with(gateway_->handle(secure), "Bearer", "invalid_token"));
  EXPECT_TRUE(refused_with(gateway_->handle(with_certificate(request("Bearer " + t), "")), "Bearer",
                           "invalid_token"));
  EXPECT_EQ(upstream_.hits(), 0);
}

// The hash of the certificate, not the certificate itself, is what cnf carries: a token whose
// x5t#S256 is the raw DER (or the hex of the hash) does not match.
TEST_F(GatewayBinding, CertificateThumbprintIsBase64urlOfSha256) {
  for (const std::string& wrong :
       {base64url::encode(kPartnerDer), crypto::to_hex(crypto::sha256(kPartnerDer))}) {
    const std::string t = token(Json{{"x5t#S256", wrong}});
    EXPECT_TRUE(
        refused_with(gateway_->handle(with_certificate(request("Bearer " + t), kPartnerDer)),
                     "Bearer", "invalid_token"))
        << wrong;
  }
  EXPECT_EQ(upstream_.hits(), 0);
}

// ---------------------------------------------------------------------------------------------
// Plain bearer tokens (RFC 6750): no regression

TEST_F(GatewayBinding, UnboundBearerTokenReachesTheUpstream) {
  const std::string t = token();
  const http::Response r = gateway_->handle(request("Bearer " + t));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(upstream_.hits(), 1);
  const Json echo = echoed(r);
  EXPECT_EQ(echo.value("target", ""), kTarget);
  EXPECT_EQ(echo.value("authorization", ""), "Bearer " + t);
  // A client certificate on the connection changes nothing for an unbound token.
  EXPECT_EQ(gateway_->handle(with_certificate(request("Bearer " + t), kOtherDer)).status, 200);
  EXPECT_EQ(upstream_.hits(), 2);
}

TEST_F(GatewayBinding, MissingOrForgedBearerTokenNeverReachesTheUpstream) {
  const http::Response none = gateway_->handle(request(""));
  EXPECT_EQ(none.status, 401);
  // RFC 9449 §7.1: no token where both schemes are accepted names both, without an error code.
  const std::string none_challenge(none.headers.get("WWW-Authenticate").value_or(""));
  EXPECT_EQ(none_challenge.rfind("Bearer realm=\"api\", DPoP realm=\"api\", algs=\"", 0), 0U)
      << none_challenge;
  EXPECT_EQ(none_challenge.find("error"), std::string::npos) << none_challenge;
  const std::string forged = sign_token(
      {{"iss", issuer_.url()}, {"sub", "mallory"}, {"aud", kAudience}, {"exp", now() + 600}},
      other_client_key_, Alg::kES256);
  EXPECT_TRUE(
      refused_with(gateway_->handle(request("Bearer " + forged)), "Bearer", "invalid_token"));
  EXPECT_EQ(upstream_.hits(), 0);
}

// ---------------------------------------------------------------------------------------------
// The gateway's signature on its upstream requests (RFC 9421, hmac-sha256)

TEST_F(GatewayBinding, WithAKeyEveryUpstreamRequestIsSignedOverWhatTheGatewayAsserts) {
  Options o = options();
  o.upstream_signature = kHopKey;
  o.routes[0].claim_headers = {{"X-User", "sub"}};
  const Gateway signing(o);
  const std::string t = dpop_bound_token();
  http::Request r = dpop_request(t, proof(proof_claims(t)));
  // A client's own signature fields are dropped: the hop's are the gateway's alone.
  r.mutable_headers().add("Signature-Input", "tessera=();created=1");
  r.mutable_headers().add("Signature", "tessera=:AAAA:");
  const http::Response answer = signing.handle(r);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(
      echoed(answer)["signed"],
      Json({"@method", "@authority", "@path", "@query", "authorization", "dpop", "x-forwarded-for",
            "x-forwarded-proto", "x-forwarded-host", "x-forwarded-uri", "x-request-id", "x-user"}));
}

TEST_F(GatewayBinding, WithoutAKeyNothingIsSignedAndARoutesOwnKeyWins) {
  const http::Response unsigned_answer = gateway_->handle(request("Bearer " + token()));
  ASSERT_EQ(unsigned_answer.status, 200);
  EXPECT_EQ(echoed(unsigned_answer)["signed"], "no signature labelled tessera");
  Options o = options();
  o.upstream_signature = kHopKey;
  o.routes[0].upstream_signature = resource::HmacKey{"route-key", std::string(40, 'r')};
  const http::Response other_key = Gateway(o).handle(request("Bearer " + token()));
  ASSERT_EQ(other_key.status, 200);
  EXPECT_EQ(echoed(other_key)["signed"], "keyid names no key of ours");
  o.routes[0].upstream_signature = resource::HmacKey{"short", std::string(31, 'r')};
  EXPECT_THROW(Gateway{o}, std::invalid_argument) << "a key under 32 bytes";
  o.routes[0].upstream_signature = resource::HmacKey{"cl\xc3\xa9", std::string(32, 'r')};
  EXPECT_THROW(Gateway{o}, std::invalid_argument) << "a keyid outside printable ASCII";
  o.routes[0].upstream_signature.reset();
  o.routes[0].claim_headers = {{"X User", "sub"}};
  EXPECT_THROW(Gateway{o}, std::invalid_argument) << "a claim header that is no field name";
}

// A claim header of the name of a field the gateway asserts is overridden: the upstream gets one
// X-Forwarded-For, the peer's address, never one from the token.
// X-Request-Id likewise (and a client's own is not passed on); two claim headers of one name
// (they differ in case) send one field, the later in the map's order.
TEST_F(GatewayBinding, WhatTheGatewayAssertsWinsOverAClaimHeaderOfTheSameName) {
  Options o = options();
  o.routes[0].claim_headers = {{"X-Forwarded-For", "sub"},
                               {"X-Request-Id", "sub"},
                               {"X-User", "sub"},
                               {"x-user", "client_id"}};
  http::Request r = request("Bearer " + token());
  r.mutable_headers().add("X-Request-Id", "from-the-client");
  r.mutable_headers().add("X-User", "from-the-client");
  const http::Response answer = Gateway(o).handle(r);
  ASSERT_EQ(answer.status, 200) << answer.body;
  const Json echo = echoed(answer);
  EXPECT_EQ(echo.value("x_forwarded_for", ""), "203.0.113.7");
  EXPECT_EQ(echo.value("x_forwarded_for_fields", 0), 1);
  EXPECT_EQ(echo.value("x_request_id_fields", 0), 1);
  EXPECT_NE(echo.value("x_request_id", ""), "alice");
  EXPECT_NE(echo.value("x_request_id", ""), "from-the-client");
  EXPECT_FALSE(echo.value("x_request_id", "").empty());
  EXPECT_EQ(echo.value("x_user_fields", 0), 1);
  EXPECT_EQ(echo.value("x_user", ""), "spa");
  // The later one's claim missing from the token, the earlier one's is sent.
  o.routes[0].claim_headers = {{"X-User", "sub"}, {"x-user", "email"}};
  const Json fallback = echoed(Gateway(o).handle(request("Bearer " + token())));
  EXPECT_EQ(fallback.value("x_user_fields", 0), 1);
  EXPECT_EQ(fallback.value("x_user", ""), "alice");
}

TEST_F(GatewayBinding, AClaimOutsideAsciiGoesUpstreamUnsignedAndTheRestSigned) {
  Options o = options();
  o.upstream_signature = kHopKey;
  o.routes[0].claim_headers = {{"X-Name", "name"}, {"X-User", "sub"}};
  const Gateway signing(o);
  Json claims = {{"iss", issuer_.url()}, {"sub", "alice"},        {"aud", kAudience},
                 {"client_id", "spa"},   {"iat", now()},          {"exp", now() + 600},
                 {"jti", fresh_jti()},   {"name", "J\u00fcrgen"}, {"scope", "invoices:read"}};
  const http::Response answer =
      signing.handle(request("Bearer " + sign_token(claims, signing_key_, Alg::kES256)));
  ASSERT_EQ(answer.status, 200) << answer.body;
  const Json covered = echoed(answer)["signed"];
  ASSERT_TRUE(covered.is_array()) << covered;
  EXPECT_NE(std::find(covered.begin(), covered.end(), "x-user"), covered.end());
  EXPECT_EQ(std::find(covered.begin(), covered.end(), "x-name"), covered.end());
}

TEST_F(GatewayBinding, WhatOtherProxiesAssertIsNeverTakenFromAClient) {
  http::Request r = request("Bearer " + token());
  r.mutable_headers().add("Forwarded", "for=198.51.100.1;host=evil.example");
  r.mutable_headers().add("X-Real-IP", "198.51.100.1");
  const http::Response answer = gateway_->handle(r);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(echoed(answer)["forwarded"], "");
  EXPECT_EQ(echoed(answer)["x_real_ip"], "");
}

// ---------------------------------------------------------------------------------------------
// Metrics (Prometheus text format 0.0.4), through a real server on the io threads' path

// The samples of a /metrics page, `name{labels}` -> value. Fails on what the format forbids:
// a sample before its family's TYPE line, a family declared twice, a series given twice.
::testing::AssertionResult parse_exposition(const std::string& page,
                                            std::map<std::string, double>& samples) {
  std::set<std::string> families;
  std::string declared;
  size_t start = 0;
  while (start < page.size()) {
    const size_t end = std::min(page.find('\n', start), page.size());
    const std::string line = page.substr(start, end - start);
    start = end + 1;
    if (line.rfind("# TYPE ", 0) == 0) {
      declared = line.substr(7, line.find(' ', 7) - 7);
      if (!families.insert(declared).second) {
        return ::testing::AssertionFailure() << "family declared twice: " << declared;
      }
      continue;
    }
    if (line.empty() || line.front() == '#') continue;
    const size_t space = line.rfind(' ');
    const std::string series = line.substr(0, space);
    const std::string name = series.substr(0, series.find('{'));
    // A histogram's samples are FAMILY_bucket, _sum and _count.
    const bool of_declared = name == declared || (name.rfind(declared, 0) == 0 &&
                                                  (name.substr(declared.size()) == "_bucket" ||
                                                   name.substr(declared.size()) == "_sum" ||
                                                   name.substr(declared.size()) == "_count"));
    if (!of_declared) {
      return ::testing::AssertionFailure() << "sample outside its family: " << line;
    }
    if (!samples.emplace(series, std::stod(line.substr(space + 1))).second) {
      return ::testing::AssertionFailure() << "series given twice: " << series;
    }
  }
  return ::testing::AssertionSuccess();
}

class GatewayMetrics : public GatewayBinding {
 protected:
  // Serves `gateway` as `tessera serve` does: the fallback of a server whose /metrics carries
  // the gateway's families.
  void serve(Gateway& gateway) {
    http::Router router;
    gateway.install(router);
    http::ServerOptions so;
    so.address = "127.0.0.1";
    so.port = 0;
    so.io_threads = 1;
    so.access_log = std::make_shared<http::NullAccessLog>();
    server_ = std::make_unique<http::Server>(std::move(so), std::move(router));
    server_->metrics().add_source([&gateway](std::string& out) { gateway.render_metrics(out); });
    auto started = server_->start();
    ASSERT_TRUE(started.ok()) << started.error();
    server_->set_ready(true);
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  int get(const std::string& path, std::string_view authorization = "") {
    http::ClientRequest r;
    r.method = "GET";
    r.url = "http://127.0.0.1:" + std::to_string(server_->port()) + path;
    if (!authorization.empty()) r.headers.set("Authorization", authorization);
    auto answer = client_.request(r);
    return answer ? answer->status : 0;
  }

  std::map<std::string, double> scrape() {
    std::map<std::string, double> samples;
    http::ClientRequest r;
    r.method = "GET";
    r.url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/metrics";
    auto page = client_.request(r);
    EXPECT_TRUE(page && page->status == 200);
    if (page) {
      EXPECT_TRUE(parse_exposition(page->body, samples)) << page->body;
    }
    return samples;
  }

  http::HttpClient client_{http::ClientOptions{}};
  std::unique_ptr<Gateway> other_;  // a test's own gateway: outlives the server that routes to it
  std::unique_ptr<http::Server> server_;
};

TEST_F(GatewayMetrics, EachRouteCountsItsAnswersAndItsUpstreamAndTheClaimsCacheItsTokens) {
  serve(*gateway_);
  const std::string t = token();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(get("/invoices/7", "Bearer " + t), 200);
  // Another token, its key now at hand: validated on the io thread, one miss there too.
  ASSERT_EQ(get("/invoices/8", "Bearer " + token()), 200);
  ASSERT_EQ(get("/invoices/7"), 401);
  ASSERT_EQ(get("/elsewhere"), 404);
  auto m = scrape();
  EXPECT_EQ(m[R"(tessera_gateway_requests_total{route="invoices",status="200"})"], 4);
  EXPECT_EQ(m[R"(tessera_gateway_requests_total{route="invoices",status="401"})"], 1);
  EXPECT_EQ(m[R"(tessera_gateway_requests_total{route="<unrouted>",status="404"})"], 1);
  EXPECT_EQ(m[R"(tessera_gateway_request_duration_seconds_count{route="invoices"})"], 5);
  EXPECT_EQ(m[R"(tessera_gateway_request_duration_seconds_bucket{route="invoices",le="+Inf"})"], 5);
  // Only the four accepted requests went upstream.
  EXPECT_EQ(m[R"(tessera_gateway_upstream_duration_seconds_count{route="invoices"})"], 4);
  EXPECT_EQ(m.count(R"(tessera_gateway_upstream_duration_seconds_count{route="<unrouted>"})"), 0U);
  // Each token counted one miss (the first on the pool, where its key was fetched; the second on
  // the io thread), though the io thread looked both up before deciding; then two hits.
  EXPECT_EQ(m[R"(tessera_gateway_claims_cache_misses_total{policy="jwt"})"], 2);
  EXPECT_EQ(m[R"(tessera_gateway_claims_cache_hits_total{policy="jwt"})"], 2);
  EXPECT_EQ(m[R"(tessera_gateway_claims_cache_entries{policy="jwt"})"], 2);
  EXPECT_GT(m[R"(tessera_gateway_claims_cache_bytes{policy="jwt"})"], 0);
  EXPECT_EQ(upstream_.hits(), 4);
}

TEST_F(GatewayMetrics, AGatewayWithoutAClaimsCacheShowsNone) {
  Options o = options();
  o.claims_cache_bytes = 0;
  other_ = std::make_unique<Gateway>(o);
  serve(*other_);
  const std::string t = token();
  for (int i = 0; i < 2; ++i) ASSERT_EQ(get("/invoices/7", "Bearer " + t), 200);
  auto m = scrape();
  EXPECT_EQ(m[R"(tessera_gateway_requests_total{route="invoices",status="200"})"], 2);
  for (const auto& [series, value] : m) {
    EXPECT_EQ(series.find("claims_cache"), std::string::npos) << series << " " << value;
  }
}

TEST_F(GatewayMetrics, RoutesAreNamedOnceAndAnUnnamedRouteByItsPlace) {
  Options o = options();
  o.routes.push_back(o.routes[0]);
  EXPECT_THROW(Gateway{o}, std::invalid_argument);
  o.routes[1].name = "<unrouted>";  // the series of what no route takes
  EXPECT_THROW(Gateway{o}, std::invalid_argument);
  o.routes[1].name.clear();
  o.routes[1].path_prefix = "/other";
  o.routes[1].upstream = upstream_.url() + "/invoices";
  o.routes[1].strip_prefix = true;
  other_ = std::make_unique<Gateway>(o);
  serve(*other_);
  ASSERT_EQ(get("/other/1", "Bearer " + token()), 200);
  auto m = scrape();
  EXPECT_EQ(m[R"(tessera_gateway_requests_total{route="routes[1]",status="200"})"], 1);
}

}  // namespace
}  // namespace tessera::gateway

// ---------------------------------------------------------------------------------------------
// Several gateway nodes sharing Redis (gateway/redis_state.h), against a real redis-server

namespace tessera::gateway {
namespace {

using testing::redis_pool;

// RFC 9449 §11.1: a proof spent at one node is a replay at the other; with Redis gone a proof
// cannot be checked and is refused with 503 (fail closed), not passed on.
TEST_F(GatewayBinding, AProofUsedAtOneNodeIsAReplayAtAnotherThroughRedis) {
  testing::RedisServer redis;
  Options o = options();
  o.dpop.shared_replay = redis_dpop_replay(redis_pool(redis));
  const Gateway node_a(o);
  const Gateway node_b(o);
  const std::string t = dpop_bound_token();
  const std::string p = proof(proof_claims(t));
  ASSERT_EQ(node_a.handle(dpop_request(t, p)).status, 200);
  EXPECT_TRUE(refused_with(node_b.handle(dpop_request(t, p)), "DPoP", "invalid_dpop_proof"));
  EXPECT_EQ(upstream_.hits(), 1);

  redis.stop();
  const http::Response down = node_b.handle(dpop_request(t, proof(proof_claims(t))));
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_EQ(down.headers.get("Retry-After").value_or(""), "1");
  EXPECT_FALSE(down.headers.get("WWW-Authenticate").has_value());
  EXPECT_EQ(echoed(down).value("error", ""), "temporarily_unavailable");
  EXPECT_EQ(upstream_.hits(), 1);
  // Bearer tokens need no replay check and still pass.
  EXPECT_EQ(node_b.handle(request("Bearer " + token())).status, 200);
}

TEST_F(GatewayBinding, RateLimitsAreSharedByNodesThroughRedis) {
  testing::RedisServer redis;
  auto pool = redis_pool(redis);
  Options o = options();
  o.rate_plans = {RatePlan{"per-client", 2, 3600, 0}};
  o.routes[0].rate_limit = RouteRateLimit{"per-client", RateKey::kClient};
  o.shared_rate_buckets = std::make_shared<RedisBuckets>(pool);
  const Gateway node_a(o);
  o.refuse_when_shared_buckets_down = true;
  const Gateway node_b(o);
  const std::string t = token();
  const http::Response first = node_a.handle(request("Bearer " + t));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.headers.get("RateLimit").value_or(""), "\"per-client\";r=1;t=1800");
  ASSERT_EQ(node_b.handle(request("Bearer " + t)).status, 200);
  const http::Response third = node_a.handle(request("Bearer " + t));
  EXPECT_EQ(third.status, 429) << third.body;
  EXPECT_EQ(third.headers.get("Retry-After").value_or(""), "1800");
  EXPECT_EQ(upstream_.hits(), 2);

  // Redis gone: node_a counts alone (a fresh local bucket), node_b refuses with 503.
  redis.stop();
  EXPECT_EQ(node_a.handle(request("Bearer " + t)).status, 200);
  const http::Response refused = node_b.handle(request("Bearer " + t));
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.headers.get("Retry-After").value_or(""), "1");
  EXPECT_EQ(upstream_.hits(), 3);
}

}  // namespace
}  // namespace tessera::gateway
