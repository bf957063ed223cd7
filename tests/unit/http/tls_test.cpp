#include <gtest/gtest.h>

#include <atomic>
#include <sstream>

#include "core/base64url.h"
#include "core/json.h"
#include "http/client.h"
#include "http/server.h"
#include "test_support.h"

namespace tessera::http {
namespace {

using testing::Pem;
using testing::start_server;
using testing::TestPki;

// Answers with what the server learnt about the TLS session.
Router whoami_router(std::atomic<int>* calls = nullptr) {
  Router r;
  r.get("/whoami", [calls](const Request& req) {
    if (calls) ++*calls;
    json::Json j = {{"secure", req.tls().secure}, {"protocol", req.tls().protocol}};
    if (const ClientCertificate* cert = req.client_certificate()) {
      j["x5t#S256"] = cert->sha256_thumbprint();
      j["subject"] = cert->subject;
      j["chain_verified"] = cert->chain_verified;
      j["san"] = {{"dns", cert->san_dns},
                  {"uri", cert->san_uri},
                  {"ip", cert->san_ip},
                  {"email", cert->san_email}};
    }
    return Response::json(200, j);
  });
  return r;
}

class TlsTest : public ::testing::Test {
 protected:
  TestPki server_pki{"Test Server CA"};
  TestPki client_pki{"Test Client CA"};
  TestPki rogue_pki{"Rogue CA"};

  ServerOptions tls_options(ClientCertMode mode,
                            std::string_view sans = "DNS:localhost,IP:127.0.0.1") {
    auto pem = server_pki.issue_server(sans);
    ServerOptions o;
    TlsOptions t;
    t.certificate_chain_pem = pem.certificate;
    t.private_key_pem = pem.private_key;
    t.client_certificates = mode;
    if (mode != ClientCertMode::kOff) t.client_ca_pem = client_pki.ca_certificate();
    o.tls = t;
    return o;
  }

  ClientOptions trusting_client() {
    ClientOptions o;
    o.ca_pem = server_pki.ca_certificate();
    return o;
  }

  static std::string thumbprint_of(const std::string& pem) {
    // DER of the PEM body, hashed like the server does.
    std::string b64;
    std::istringstream in(pem);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("-----", 0) != 0) b64 += line;
    }
    ClientCertificate c;
    c.der = *base64::decode(b64);
    return c.sha256_thumbprint();
  }
};

TEST_F(TlsTest, ServesJsonOverTlsToAVerifyingClient) {
  auto s = start_server(whoami_router(), tls_options(ClientCertMode::kOff));
  HttpClient client(trusting_client());
  auto r = client.get(s.url("/whoami", true));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  auto j = json::parse_strict(r->body);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["secure"], true);
  EXPECT_FALSE(j->contains("x5t#S256"));
  auto again = client.get(s.url("/whoami", true));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->reused_connection);
}

TEST_F(TlsTest, RequiredClientCertificateReachesTheHandler) {
  auto s = start_server(whoami_router(), tls_options(ClientCertMode::kRequired));
  auto client_pem = client_pki.issue_client("client-app");
  ClientOptions co = trusting_client();
  co.client_certificate_pem = client_pem.certificate;
  co.client_private_key_pem = client_pem.private_key;
  HttpClient client(co);
  auto r = client.get(s.url("/whoami", true));
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto j = json::parse_strict(r->body);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["x5t#S256"], thumbprint_of(client_pem.certificate));
  EXPECT_EQ((*j)["subject"], "CN=client-app");
}

TEST_F(TlsTest, RequiredModeRefusesAClientWithoutCertificate) {
  std::atomic<int> calls{0};
  auto s = start_server(whoami_router(&calls), tls_options(ClientCertMode::kRequired));
  HttpClient client(trusting_client());
  auto r = client.get(s.url("/whoami", true));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(calls.load(), 0);
}

TEST_F(TlsTest, RequiredModeRefusesACertificateFromAnotherCa) {
  std::atomic<int> calls{0};
  auto s = start_server(whoami_router(&calls), tls_options(ClientCertMode::kRequired));
  auto rogue = rogue_pki.issue_client("client-app");
  ClientOptions co = trusting_client();
  co.client_certificate_pem = rogue.certificate;
  co.client_private_key_pem = rogue.private_key;
  HttpClient client(co);
  auto r = client.get(s.url("/whoami", true));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(calls.load(), 0);
}

TEST_F(TlsTest, OptionalModeAcceptsClientsWithAndWithoutCertificate) {
  auto s = start_server(whoami_router(), tls_options(ClientCertMode::kOptional));
  HttpClient anonymous(trusting_client());
  auto r1 = anonymous.get(s.url("/whoami", true));
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  EXPECT_FALSE(json::parse_strict(r1->body)->contains("x5t#S256"));

  auto client_pem = client_pki.issue_client("client-app");
  ClientOptions co = trusting_client();
  co.client_certificate_pem = client_pem.certificate;
  co.client_private_key_pem = client_pem.private_key;
  HttpClient with_cert(co);
  auto r2 = with_cert.get(s.url("/whoami", true));
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ((*json::parse_strict(r2->body))["x5t#S256"], thumbprint_of(client_pem.certificate));
}

TEST_F(TlsTest, OptionalModeStillRefusesACertificateFromAnotherCa) {
  std::atomic<int> calls{0};
  auto s = start_server(whoami_router(&calls), tls_options(ClientCertMode::kOptional));
  auto rogue = rogue_pki.issue_client("client-app");
  ClientOptions co = trusting_client();
  co.client_certificate_pem = rogue.certificate;
  co.client_private_key_pem = rogue.private_key;
  HttpClient client(co);
  EXPECT_FALSE(client.get(s.url("/whoami", true)).ok());
  EXPECT_EQ(calls.load(), 0);
}

// nginx's optional_no_ca: certificates of any issuer reach the handler, marked by whether their
// chain verified (RFC 8705 §2.1 needs the chain, §2.2 and §3 do not).
TEST_F(TlsTest, AnyIssuerModeHandsOverEveryCertificateMarked) {
  std::atomic<int> calls{0};
  auto s = start_server(whoami_router(&calls), tls_options(ClientCertMode::kOptionalAnyIssuer));
  const auto whoami = [&](const Pem* pem) {
    ClientOptions co = trusting_client();
    if (pem) {
      co.client_certificate_pem = pem->certificate;
      co.client_private_key_pem = pem->private_key;
    }
    HttpClient client(co);
    auto r = client.get(s.url("/whoami", true));
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *json::parse_strict(r->body) : json::Json();
  };
  const Pem trusted = client_pki.issue_client("trusted");
  const Pem rogue = rogue_pki.issue_client("rogue");
  const Pem self_signed = TestPki::self_signed_client("self");
  json::Json t = whoami(&trusted);
  EXPECT_EQ(t["chain_verified"], true);
  EXPECT_EQ(t["x5t#S256"], thumbprint_of(trusted.certificate));
  json::Json r = whoami(&rogue);
  EXPECT_EQ(r["chain_verified"], false);
  EXPECT_EQ(r["subject"], "CN=rogue");
  json::Json ss = whoami(&self_signed);
  EXPECT_EQ(ss["chain_verified"], false);
  EXPECT_EQ(ss["x5t#S256"], thumbprint_of(self_signed.certificate));
  EXPECT_FALSE(whoami(nullptr).contains("x5t#S256"));
  EXPECT_EQ(calls.load(), 4);
}

TEST_F(TlsTest, AnyIssuerModeNeedsNoClientCa) {
  ServerOptions o = tls_options(ClientCertMode::kOptionalAnyIssuer);
  o.tls->client_ca_pem.clear();
  auto s = start_server(whoami_router(), o);
  const Pem trusted = client_pki.issue_client("trusted");
  ClientOptions co = trusting_client();
  co.client_certificate_pem = trusted.certificate;
  co.client_private_key_pem = trusted.private_key;
  HttpClient client(co);
  auto r = client.get(s.url("/whoami", true));
  ASSERT_TRUE(r.ok()) << r.error().message;
  // No CA to chain to: nothing verifies.
  EXPECT_EQ((*json::parse_strict(r->body))["chain_verified"], false);
}

// RFC 5280 §4.2.1.6 subjectAltName entries by type, as RFC 8705 §2.1.2 matches them.
TEST_F(TlsTest, ClientCertificateSubjectAltNamesReachTheHandler) {
  auto s = start_server(whoami_router(), tls_options(ClientCertMode::kRequired));
  const Pem pem = client_pki.issue_client(
      "named",
      "DNS:client.example,DNS:b.example,URI:spiffe://example.org/c,IP:192.0.2.7,"
      "IP:2001:db8:0:0:0:0:0:1,email:client@example.org");
  ClientOptions co = trusting_client();
  co.client_certificate_pem = pem.certificate;
  co.client_private_key_pem = pem.private_key;
  HttpClient client(co);
  auto r = client.get(s.url("/whoami", true));
  ASSERT_TRUE(r.ok()) << r.error().message;
  json::Json j = *json::parse_strict(r->body);
  EXPECT_EQ(j["subject"], "CN=named");
  EXPECT_EQ(j["chain_verified"], true);
  EXPECT_EQ(j["san"]["dns"], json::Json({"client.example", "b.example"}));
  EXPECT_EQ(j["san"]["uri"], json::Json({"spiffe://example.org/c"}));
  EXPECT_EQ(j["san"]["ip"], json::Json({"192.0.2.7", "2001:db8::1"}));
  EXPECT_EQ(j["san"]["email"], json::Json({"client@example.org"}));
}

TEST_F(TlsTest, ClientRefusesAnUntrustedCertificate) {
  auto s = start_server(whoami_router(), tls_options(ClientCertMode::kOff));
  HttpClient client;  // system trust store: our test CA is not in it
  auto r = client.get(s.url("/whoami", true));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ClientErrorCode::kCertificateUntrusted) << r.error().message;
}

TEST_F(TlsTest, ClientRefusesACertificateForAnotherHost) {
  auto s = start_server(whoami_router(), tls_options(ClientCertMode::kOff, "DNS:other.example"));
  HttpClient client(trusting_client());
  auto r = client.get(s.url("/whoami", true));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ClientErrorCode::kHostnameMismatch) << r.error().message;
  auto by_name = client.get("https://localhost:" + std::to_string(s.port()) + "/whoami");
  ASSERT_FALSE(by_name.ok());
  EXPECT_EQ(by_name.error().code, ClientErrorCode::kHostnameMismatch) << by_name.error().message;
}

TEST_F(TlsTest, ServerStartFailsCleanlyWithBadKeyMaterial) {
  ServerOptions o;
  TlsOptions t;
  t.certificate_chain_pem = "not a certificate";
  t.private_key_pem = "not a key";
  o.tls = t;
  Server server(o, Router{});
  auto started = server.start();
  EXPECT_FALSE(started.ok());
}

}  // namespace
}  // namespace tessera::http
