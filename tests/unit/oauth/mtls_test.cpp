// Mutual TLS at the authorization server (RFC 8705): client authentication by certificate,
// tls_client_auth (§2.1, PKI: the chain and one registered name) and
// self_signed_tls_client_auth (§2.2: a registered certificate), the endpoints' mTLS aliases (§5)
// and what discovery says about them. The certificates here are what the TLS layer hands over
// (http::ClientCertificate); tests/unit/http/tls_test.cpp checks that layer with real handshakes.
#include <gtest/gtest.h>

#include "as_fixture.h"
#include "oauth/client_auth.h"

namespace tessera::oauth::testing {
namespace {

using store::CertificateName;
using store::CertificateNameType;

constexpr char kMtlsBase[] = "https://mtls.as.example";
constexpr char kMtlsTokenUrl[] = "https://mtls.as.example/token";
constexpr char kApi[] = "https://api.example";

// A certificate as the TLS layer describes it; `der` stands for the DER (hashed and compared,
// never parsed here).
std::shared_ptr<http::ClientCertificate> cert(const std::string& der, bool chain_verified = true) {
  auto c = std::make_shared<http::ClientCertificate>();
  c->der = der;
  c->chain_verified = chain_verified;
  return c;
}

class MtlsTest : public AuthorizationServerTest {
 protected:
  AuthorizationServerOptions server_options() override {
    AuthorizationServerOptions options = AuthorizationServerTest::server_options();
    options.mutual_tls = true;
    options.mtls_endpoint_base = kMtlsBase;
    return options;
  }
  void populate() override { as_->add_mtls_routes(mtls_router_); }

  // A tls_client_auth client "pki" known by `name`.
  void add_pki_client(CertificateName name, bool bound_tokens = false) {
    store::Client c = credentials_client("pki");
    c.auth_method = store::ClientAuthMethod::kTlsClientAuth;
    c.tls_client_auth_name = std::move(name);
    c.tls_client_certificate_bound_access_tokens = bound_tokens;
    insert_client(std::move(c));
  }
  // The tls_client_auth client "pki", now known by `name`.
  void update_or_add_pki(const CertificateName& name) {
    auto found = store_->clients().find("pki");
    ASSERT_TRUE(found);
    if (!*found) return add_pki_client(name);
    update_client("pki", [&](store::Client& c) { c.tls_client_auth_name = name; });
  }
  // A self_signed_tls_client_auth client "self" that registered the certificates `ders`.
  void add_self_signed_client(const std::vector<std::string>& ders) {
    store::Client c = credentials_client("self");
    c.auth_method = store::ClientAuthMethod::kSelfSignedTlsClientAuth;
    json::Json keys = json::Json::array();
    for (const std::string& der : ders) {
      json::Json key = generated(jose::Alg::kES256).public_key().to_json();
      key["x5c"] = json::Json::array({base64::encode(der)});
      keys.push_back(key);
    }
    c.jwks_json = json::Json{{"keys", keys}}.dump();
    insert_client(std::move(c));
  }

  // Client credentials for `client_id`, which names itself in the body (RFC 8705 §2), over the
  // TLS connection of `certificate`, on the main listener's routes or the mTLS alias's.
  http::Response token(const std::string& client_id,
                       const std::shared_ptr<http::ClientCertificate>& certificate,
                       bool via_alias = false, const std::vector<std::string>& proofs = {}) {
    client_cert_ = certificate;
    http::Request r = form_post(
        "/token", "grant_type=client_credentials&scope=invoices%3Aread&client_id=" + client_id,
        client_id, "", proofs);
    return via_alias ? call_alias(std::move(r)) : call(std::move(r));
  }
  http::Response call_alias(http::Request r) {
    r.set_target(std::string(r.target()));
    auto match = mtls_router_.match(r.method(), r.path(), r);
    if (match.kind != http::Router::Match::Kind::kFound) return http::Response(404);
    return match.route->handler(r);
  }
  void expect_invalid_client(const http::Response& r, const std::string& why) {
    EXPECT_EQ(r.status, 401) << why << ": " << r.body;
    EXPECT_EQ(error(r), "invalid_client") << why;
    EXPECT_FALSE(body(r).contains("access_token")) << why;
  }

  http::Router mtls_router_;
};

// ---- tls_client_auth (§2.1) -----------------------------------------------------------------

TEST_F(MtlsTest, PkiClientIsAuthenticatedByTheRegisteredDnsName) {
  add_pki_client({CertificateNameType::kSanDns, "client.example"});
  auto c = cert("certificate A");
  c->san_dns = {"other.example", "CLIENT.Example"};  // DNS names compare without case
  auto r = token("pki", c);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["token_type"], "Bearer");
  // Not registered for bound tokens: authentication alone does not bind them.
  EXPECT_FALSE(access_claims(body(r)["access_token"], kApi).contains("cnf"));
}

TEST_F(MtlsTest, PkiClientNeedsTheRegisteredNameOfTheRegisteredType) {
  add_pki_client({CertificateNameType::kSanDns, "client.example"});
  auto wrong_name = cert("certificate A");
  wrong_name->san_dns = {"client.example.evil"};
  expect_invalid_client(token("pki", wrong_name), "another DNS name");
  auto wrong_type = cert("certificate A");
  wrong_type->san_uri = {"client.example"};
  wrong_type->san_email = {"client.example"};
  wrong_type->subject = "client.example";
  expect_invalid_client(token("pki", wrong_type), "the name as another type");
}

TEST_F(MtlsTest, PkiClientNeedsAChainToATrustedClientCa) {
  add_pki_client({CertificateNameType::kSanDns, "client.example"});
  auto untrusted = cert("certificate A", /*chain_verified=*/false);
  untrusted->san_dns = {"client.example"};
  expect_invalid_client(token("pki", untrusted), "unverified chain");
}

TEST_F(MtlsTest, PkiClientWithoutACertificateOrWithASecretIsRefused) {
  add_pki_client({CertificateNameType::kSanDns, "client.example"});
  expect_invalid_client(token("pki", nullptr), "no certificate");
  // A secret is not its method, even with the right certificate (RFC 7591 §2).
  auto c = cert("certificate A");
  c->san_dns = {"client.example"};
  client_cert_ = c;
  auto r = call(form_post("/token", "grant_type=client_credentials", "pki", "guess", {}));
  expect_invalid_client(r, "a Basic secret");
}

TEST_F(MtlsTest, PkiClientBySubjectDnUriIpAndEmail) {
  struct Case {
    CertificateName name;
    std::function<void(http::ClientCertificate&)> present;
    std::function<void(http::ClientCertificate&)> absent;
  };
  const std::vector<Case> cases = {
      {{CertificateNameType::kSubjectDn, "CN=client,O=Example,C=SE"},
       [](auto& c) { c.subject = "CN=client,O=Example,C=SE"; },
       [](auto& c) { c.subject = "CN=client,O=Example,C=NO"; }},
      {{CertificateNameType::kSanUri, "spiffe://example.org/client"},
       [](auto& c) {
         c.san_uri = {"https://x.example", "spiffe://example.org/client"};
       },
       [](auto& c) { c.san_uri = {"spiffe://example.org/Client"}; }},
      {{CertificateNameType::kSanIp, "2001:db8::1"},
       [](auto& c) {
         c.san_ip = {"192.0.2.1", "2001:db8::1"};
       },
       [](auto& c) { c.san_ip = {"2001:db8::2"}; }},
      {{CertificateNameType::kSanEmail, "client@example.org"},
       [](auto& c) { c.san_email = {"client@example.org"}; },
       [](auto& c) { c.san_email = {"other@example.org"}; }},
  };
  for (const Case& k : cases) {
    const std::string what(store::metadata_name(k.name.type));
    update_or_add_pki(k.name);
    auto good = cert("certificate A");
    k.present(*good);
    EXPECT_EQ(token("pki", good).status, 200) << what;
    auto bad = cert("certificate A");
    k.absent(*bad);
    expect_invalid_client(token("pki", bad), what);
  }
}

// ---- self_signed_tls_client_auth (§2.2) -----------------------------------------------------

TEST_F(MtlsTest, SelfSignedClientIsAuthenticatedByARegisteredCertificate) {
  add_self_signed_client({"self-signed A", "self-signed B"});
  // The chain does not matter: the certificate itself was registered.
  EXPECT_EQ(token("self", cert("self-signed B", /*chain_verified=*/false)).status, 200);
  EXPECT_EQ(token("self", cert("self-signed A", /*chain_verified=*/true)).status, 200);
  expect_invalid_client(token("self", cert("self-signed C", false)), "unregistered certificate");
  expect_invalid_client(token("self", cert("self-signed A-", false)), "a longer certificate");
  expect_invalid_client(token("self", nullptr), "no certificate");
}

TEST_F(MtlsTest, CertificateNamesDoNotAuthenticateASelfSignedClient) {
  add_self_signed_client({"self-signed A"});
  auto c = cert("self-signed Z");
  c->subject = "CN=self";
  c->san_dns = {"self"};
  expect_invalid_client(token("self", c), "names are not what the self-signed method checks");
}

TEST_F(MtlsTest, OtherClientsCannotUseACertificateInsteadOfTheirMethod) {
  add_client("svc", "secret");
  auto c = cert("certificate A");
  c->san_dns = {"svc"};
  expect_invalid_client(token("svc", c), "a secret client with only a certificate");
}

// ---- Certificate-bound tokens (§3) with certificate authentication ---------------------------

TEST_F(MtlsTest, PkiClientsBoundTokensCarryTheCertificatesThumbprint) {
  add_pki_client({CertificateNameType::kSanDns, "client.example"}, /*bound_tokens=*/true);
  auto c = cert("certificate A");
  c->san_dns = {"client.example"};
  auto r = token("pki", c, /*via_alias=*/true);
  ASSERT_EQ(r.status, 200) << r.body;
  json::Json claims = access_claims(body(r)["access_token"], kApi);
  EXPECT_EQ(claims["cnf"], json::Json({{"x5t#S256", c->sha256_thumbprint()}}));
  EXPECT_EQ(claims["client_id"], "pki");
}

// ---- mTLS endpoint aliases (§5) -------------------------------------------------------------

TEST_F(MtlsTest, AliasServesTheClientEndpointsOnly) {
  add_self_signed_client({"self-signed A"});
  EXPECT_EQ(token("self", cert("self-signed A", false), /*via_alias=*/true).status, 200);
  for (const char* path : {"/par", "/introspect", "/revoke", "/userinfo"}) {
    http::Request r = form_request("");
    r.set_target(path);
    EXPECT_NE(call_alias(std::move(r)).status, 404) << path;
  }
  // Browser endpoints and metadata stay on the main listener, which never asks for a
  // certificate.
  for (const char* path : {"/authorize", "/jwks", "/.well-known/openid-configuration"}) {
    http::Request r;
    r.set_method("GET");
    r.set_target(path);
    EXPECT_EQ(call_alias(std::move(r)).status, 404) << path;
  }
}

TEST_F(MtlsTest, DpopProofsMayNameTheAliasOrTheIssuersTokenUrl) {
  add_self_signed_client({"self-signed A"});
  const auto proof = [&](const std::string& url) {
    return sign_proof(key_a_, proof_claims("POST", url));
  };
  auto a = cert("self-signed A", false);
  for (const std::string url : {kMtlsTokenUrl, kTokenUrl}) {
    auto r = token("self", a, /*via_alias=*/true, {proof(url)});
    ASSERT_EQ(r.status, 200) << url << ": " << r.body;
    EXPECT_EQ(body(r)["token_type"], "DPoP") << url;
  }
  auto other = token("self", a, true, {proof("https://mtls.as.example/par")});
  EXPECT_EQ(other.status, 400) << other.body;
  EXPECT_EQ(error(other), "invalid_dpop_proof");
}

TEST_F(MtlsTest, DiscoveryAdvertisesTheMethodsBindingAndAliases) {
  json::Json m = body(fetch("/.well-known/openid-configuration"));
  for (const char* member :
       {"token_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported"}) {
    const auto& methods = m[member];
    for (const char* method : {"tls_client_auth", "self_signed_tls_client_auth"}) {
      EXPECT_NE(std::find(methods.begin(), methods.end(), method), methods.end())
          << member << " lacks " << method;
    }
  }
  EXPECT_EQ(m["tls_client_certificate_bound_access_tokens"], true);
  EXPECT_EQ(
      m["mtls_endpoint_aliases"],
      json::Json({{"token_endpoint", "https://mtls.as.example/token"},
                  {"pushed_authorization_request_endpoint", "https://mtls.as.example/par"},
                  {"device_authorization_endpoint", "https://mtls.as.example/device_authorization"},
                  {"backchannel_authentication_endpoint", "https://mtls.as.example/bc-authorize"},
                  {"introspection_endpoint", "https://mtls.as.example/introspect"},
                  {"revocation_endpoint", "https://mtls.as.example/revoke"},
                  {"userinfo_endpoint", "https://mtls.as.example/userinfo"}}));
  // The issuer's own endpoints are unchanged.
  EXPECT_EQ(m["token_endpoint"], kTokenUrl);
}

class NoMtlsTest : public AuthorizationServerTest {};

TEST_F(NoMtlsTest, DiscoveryOffersNoCertificateMethodsWithoutMutualTls) {
  json::Json m = body(fetch("/.well-known/openid-configuration"));
  const auto& methods = m["token_endpoint_auth_methods_supported"];
  EXPECT_EQ(std::find(methods.begin(), methods.end(), "tls_client_auth"), methods.end());
  EXPECT_EQ(m["tls_client_certificate_bound_access_tokens"], false);
  EXPECT_FALSE(m.contains("mtls_endpoint_aliases"));
}

// A main listener that asks for certificates chained to its client CAs (client_auth optional):
// the self-signed method cannot work there, so it is not offered.
class CaOnlyMtlsTest : public AuthorizationServerTest {
 protected:
  AuthorizationServerOptions server_options() override {
    AuthorizationServerOptions options = AuthorizationServerTest::server_options();
    options.mutual_tls = true;
    return options;
  }
};

TEST_F(CaOnlyMtlsTest, DiscoveryOffersTlsClientAuthButNotSelfSigned) {
  json::Json m = body(fetch("/.well-known/openid-configuration"));
  const auto& methods = m["token_endpoint_auth_methods_supported"];
  EXPECT_NE(std::find(methods.begin(), methods.end(), "tls_client_auth"), methods.end());
  EXPECT_EQ(std::find(methods.begin(), methods.end(), "self_signed_tls_client_auth"),
            methods.end());
  EXPECT_EQ(m["tls_client_certificate_bound_access_tokens"], true);
  EXPECT_FALSE(m.contains("mtls_endpoint_aliases"));
}

// ---- certificate_has_name -------------------------------------------------------------------

TEST(CertificateHasName, EmptySubjectNeverMatches) {
  http::ClientCertificate c;
  EXPECT_FALSE(certificate_has_name(c, {CertificateNameType::kSubjectDn, ""}));
  c.subject = "CN=a";
  EXPECT_TRUE(certificate_has_name(c, {CertificateNameType::kSubjectDn, "CN=a"}));
  EXPECT_FALSE(certificate_has_name(c, {CertificateNameType::kSubjectDn, "cn=a"}));
}

TEST(CertificatesOf, ReadsTheFirstX5cEntryOfEachKey) {
  auto key = [](const char* x5c) {
    auto k = jose::Jwk::generate(jose::Alg::kES256);
    EXPECT_TRUE(k);
    json::Json j = k->public_key().to_json();
    if (x5c != nullptr) j["x5c"] = json::Json::parse(x5c);
    return j;
  };
  json::Json set = {{"keys",
                     {key(R"(["QUJD","REVG"])"), key(nullptr), key("[7]"), key(R"(["!!"])"),
                      key(R"(["WFla"])")}}};
  auto keys = jose::Jwks::from_json(set);
  ASSERT_TRUE(keys);
  EXPECT_EQ(certificates_of(*keys), (std::vector<std::string>{"ABC", "XYZ"}));
  // Kept through a copy without the private part, and written out again (x5c[0] only).
  auto round_trip = jose::Jwks::from_json(keys->to_json());
  ASSERT_TRUE(round_trip);
  EXPECT_EQ(certificates_of(*round_trip), (std::vector<std::string>{"ABC", "XYZ"}));
}

}  // namespace
}  // namespace tessera::oauth::testing
