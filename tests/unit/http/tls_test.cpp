#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

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
  // A trusting client that presents `pem` as its certificate.
  ClientOptions presenting(const Pem& pem) {
    ClientOptions o = trusting_client();
    o.client_certificate_pem = pem.certificate;
    o.client_private_key_pem = pem.private_key;
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
  HttpClient client(presenting(client_pem));
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
  HttpClient client(presenting(rogue));
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
  HttpClient with_cert(presenting(client_pem));
  auto r2 = with_cert.get(s.url("/whoami", true));
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ((*json::parse_strict(r2->body))["x5t#S256"], thumbprint_of(client_pem.certificate));
}

TEST_F(TlsTest, OptionalModeStillRefusesACertificateFromAnotherCa) {
  std::atomic<int> calls{0};
  auto s = start_server(whoami_router(&calls), tls_options(ClientCertMode::kOptional));
  auto rogue = rogue_pki.issue_client("client-app");
  HttpClient client(presenting(rogue));
  EXPECT_FALSE(client.get(s.url("/whoami", true)).ok());
  EXPECT_EQ(calls.load(), 0);
}

// nginx's optional_no_ca: certificates of any issuer reach the handler, marked by whether their
// chain verified (RFC 8705 §2.1 needs the chain, §2.2 and §3 do not).
TEST_F(TlsTest, AnyIssuerModeHandsOverEveryCertificateMarked) {
  std::atomic<int> calls{0};
  auto s = start_server(whoami_router(&calls), tls_options(ClientCertMode::kOptionalAnyIssuer));
  const auto whoami = [&](const Pem* pem) {
    HttpClient client(pem ? presenting(*pem) : trusting_client());
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
  HttpClient client(presenting(trusted));
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
  HttpClient client(presenting(pem));
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

// A memory BIO over `pem`, for OpenSSL's PEM readers.
std::unique_ptr<BIO, decltype(&BIO_free)> pem_bio(const std::string& pem) {
  return {BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free};
}

// One request over a fresh TLS connection presenting `client`, offering `session` for
// resumption; the connection is then dropped without close_notify. Returns whether the session
// was resumed and the session to offer next (owned by the caller).
std::pair<bool, SSL_SESSION*> resumed_request(uint16_t port, const std::string& ca_pem,
                                              const Pem& client, SSL_SESSION* session,
                                              int max_version) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  X509* ca_cert = PEM_read_bio_X509(pem_bio(ca_pem).get(), nullptr, nullptr, nullptr);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca_cert);
  X509_free(ca_cert);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (!client.certificate.empty()) {
    X509* cert = PEM_read_bio_X509(pem_bio(client.certificate).get(), nullptr, nullptr, nullptr);
    SSL_CTX_use_certificate(ctx.get(), cert);
    X509_free(cert);
    EVP_PKEY* key =
        PEM_read_bio_PrivateKey(pem_bio(client.private_key).get(), nullptr, nullptr, nullptr);
    SSL_CTX_use_PrivateKey(ctx.get(), key);
    EVP_PKEY_free(key);
  }
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
  std::unique_ptr<BIO, decltype(&BIO_free_all)> conn(
      BIO_new_connect(("127.0.0.1:" + std::to_string(port)).c_str()), &BIO_free_all);
  EXPECT_EQ(BIO_do_connect(conn.get()), 1);
  SSL_set_bio(ssl.get(), conn.get(), conn.get());
  BIO* raw = conn.release();  // owned by ssl now
  (void)raw;
  if (session != nullptr) SSL_set_session(ssl.get(), session);
  EXPECT_EQ(SSL_connect(ssl.get()), 1);
  const std::string request = "GET /whoami HTTP/1.1\r\nHost: localhost\r\n\r\n";
  EXPECT_EQ(SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())),
            static_cast<int>(request.size()));
  std::string response;
  char buf[4096];
  while (response.find('}') == std::string::npos) {
    const int n = SSL_read(ssl.get(), buf, sizeof(buf));
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  EXPECT_NE(response.find(client.certificate.empty() ? "\"secure\":true" : "\"x5t#S256\""),
            std::string::npos)
      << response;
  const bool reused = SSL_session_reused(ssl.get()) == 1;
  SSL_SESSION* next = SSL_get1_session(ssl.get());
  // Dropped without close_notify: the socket closes with the SSL. Marked shut down first, only
  // so this client's own OpenSSL keeps the session resumable.
  SSL_set_shutdown(ssl.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  return {reused, next};
}

// A listener that asks for client certificates resumes sessions from its cache (no tickets to
// decode), also after a client dropped the connection without close_notify (RFC 5246 §7.2.1).
TEST_F(TlsTest, ClientCertificateSessionsResumeAfterAnImproperClose) {
  auto s = start_server(whoami_router(), tls_options(ClientCertMode::kOptionalAnyIssuer));
  const Pem client = client_pki.issue_client("resumer");
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto [first_reused, session] =
        resumed_request(s.port(), server_pki.ca_certificate(), client, nullptr, version);
    EXPECT_FALSE(first_reused);
    for (int i = 0; i < 3; ++i) {
      // Let the server free the previous connection first.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      auto [reused, next] =
          resumed_request(s.port(), server_pki.ca_certificate(), client, session, version);
      EXPECT_TRUE(reused) << "version " << version << " connection " << i + 2;
      SSL_SESSION_free(session);
      session = next;
    }
    SSL_SESSION_free(session);
  }
}

// RFC 8446 §4.6.1 / RFC 5077: servers given the same session ticket keys resume each other's
// sessions (nodes behind one load balancer); a server without the key makes a full handshake,
// also one whose key has the same name but other secrets; after a rotation (new key first)
// tickets sealed with the old key still open, and the ticket then issued is sealed with the new
// one. The keys are read from files, as `tessera serve` gives them.
TEST_F(TlsTest, SessionTicketKeysSharedBetweenServersResumeAcrossThem) {
  const std::string old_key(kTicketKeyBytes, 'a');
  const std::string new_key(kTicketKeyBytes, 'b');
  const std::string impostor = std::string(16, 'a') + std::string(kTicketKeyBytes - 16, 'c');
  const std::string dir = ::testing::TempDir();
  std::vector<std::string> files;
  auto file_of = [&](const std::string& key) {
    files.push_back(dir + "/ticket-" + std::to_string(::getpid()) + "-" +
                    std::to_string(files.size()) + ".key");
    std::ofstream(files.back(), std::ios::binary) << key;
    return files.back();
  };
  auto with_keys = [&](const std::vector<std::string>& keys) {
    ServerOptions o = tls_options(ClientCertMode::kOff);
    for (const auto& k : keys) o.tls->session_ticket_key_files.push_back(file_of(k));
    return start_server(whoami_router(), o);
  };
  auto a = with_keys({old_key});
  auto b = with_keys({old_key});
  auto stranger = with_keys({new_key});
  auto twin = with_keys({impostor});
  auto rotated = with_keys({new_key, old_key});
  const Pem none;
  const std::string& ca = server_pki.ca_certificate();
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto [first_reused, session] = resumed_request(a.port(), ca, none, nullptr, version);
    EXPECT_FALSE(first_reused);
    for (auto* s : {&b, &stranger, &twin}) {
      auto [reused, next] = resumed_request(s->port(), ca, none, session, version);
      EXPECT_EQ(reused, s == &b) << "version " << version << " port " << s->port();
      SSL_SESSION_free(next);
    }
    auto [rotated_reused, renewed] = resumed_request(rotated.port(), ca, none, session, version);
    EXPECT_TRUE(rotated_reused) << "version " << version;
    // The renewed ticket is sealed with the new key: the stranger, which has only it, opens it.
    auto [renewed_reused, last] = resumed_request(stranger.port(), ca, none, renewed, version);
    EXPECT_TRUE(renewed_reused) << "version " << version;
    SSL_SESSION_free(last);
    SSL_SESSION_free(renewed);
    SSL_SESSION_free(session);
  }
  for (const auto& f : files) std::remove(f.c_str());
}

TEST_F(TlsTest, SessionTicketKeysOfAnotherSizeOrOnAClientCertificateListenerAreRefused) {
  ServerOptions o = tls_options(ClientCertMode::kOff);
  o.tls->session_ticket_keys = {std::string(48, 'a')};
  Server short_key(o, Router{});
  EXPECT_FALSE(short_key.start().ok());
  o.tls->session_ticket_keys = {std::string(kTicketKeyBytes, 'a'),
                                std::string(16, 'a') + std::string(kTicketKeyBytes - 16, 'b')};
  Server same_name(o, Router{});
  EXPECT_FALSE(same_name.start().ok());
  ServerOptions m = tls_options(ClientCertMode::kOptional);
  m.tls->session_ticket_keys = {std::string(kTicketKeyBytes, 'a')};
  Server mtls(m, Router{});
  EXPECT_FALSE(mtls.start().ok());
}

TEST_F(TlsTest, ClientRefusesAnUntrustedCertificate) {
  auto s = start_server(whoami_router(), tls_options(ClientCertMode::kOff));
  HttpClient client;  // system trust store: our test CA is not in it
  auto r = client.get(s.url("/whoami", true));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ClientErrorCode::kCertificateUntrusted) << r.error().message;
}

// Without a CA of its own a client trusts OpenSSL's default anchors, read once per process and
// shared by every client (system_trust_store in client.cpp). Run in a fresh process whose
// SSL_CERT_FILE names a bundle holding only the test CA: the first client verifies the server
// through it; then SSL_CERT_FILE names an empty bundle and the first one is gone, and a second
// client still verifies, as it can only with the anchors the first read.
TEST_F(TlsTest, ClientsShareTheSystemTrustAnchors) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // re-executes: the shared store starts empty
  EXPECT_EXIT(
      {
        auto s = start_server(whoami_router(), tls_options(ClientCertMode::kOff));
        const std::string base =
            ::testing::TempDir() + "tessera-anchors-" + std::to_string(getpid());
        const std::string bundle = base + ".pem";
        const std::string empty = base + "-empty.pem";
        std::ofstream(bundle) << server_pki.ca_certificate();
        std::ofstream{empty};
        setenv("SSL_CERT_FILE", bundle.c_str(), 1);
        HttpClient first;
        auto a = first.get(s.url("/whoami", true));
        setenv("SSL_CERT_FILE", empty.c_str(), 1);
        std::remove(bundle.c_str());
        HttpClient second;
        auto b = second.get(s.url("/whoami", true));
        std::remove(empty.c_str());
        const bool both = a.ok() && a->status == 200 && b.ok() && b->status == 200;
        _exit(both ? 0 : 1);  // _exit: the server's threads are still running
      },
      ::testing::ExitedWithCode(0), "");
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
