#include "app/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

using tessera::app::parse_config;

namespace {
// Replaces `path`'s content (a secret file the configuration names).
void write_file(const std::string& path, const std::string& content) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(content.c_str(), f);
  std::fclose(f);
}

std::string error_of(const std::string& yaml) {
  auto r = parse_config(yaml, "tessera.yaml");
  EXPECT_FALSE(r.ok()) << "accepted:\n" << yaml;
  return r.ok() ? "" : r.error();
}
}  // namespace

TEST(Config, EmptyFileMeansDefaults) {
  auto r = parse_config("", "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->http.port, 8080);
  EXPECT_EQ(r->store.driver, "sqlite");
}

TEST(Config, ReadsHttpAndStoreSettings) {
  auto r = parse_config(R"(
http:
  listen: 0.0.0.0:9443
  threads: 2
  max_body_bytes: 4096
  access_log: false
store:
  driver: postgres
  url: postgresql://127.0.0.1:5432/tessera
)",
                        "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->http.host, "0.0.0.0");
  EXPECT_EQ(r->http.port, 9443);
  EXPECT_EQ(r->http.threads, 2);
  EXPECT_EQ(r->http.max_body_bytes, 4096u);
  EXPECT_FALSE(r->http.access_log);
  EXPECT_EQ(r->store.driver, "postgres");
}

TEST(Config, UnknownKeyNamesFileLineAndKey) {
  auto e = error_of("http:\n  listen: 127.0.0.1:1\n  max_body_byte: 10\n");
  EXPECT_EQ(e, "tessera.yaml:3: key 'http.max_body_byte': unknown key");
}

TEST(Config, WrongTypeNamesTheKeyAndLine) {
  auto e = error_of("http:\n  threads: many\n");
  EXPECT_EQ(e, "tessera.yaml:2: key 'http.threads': expected an integer");
}

TEST(Config, OutOfRangeValueIsRefused) {
  EXPECT_NE(error_of("http:\n  listen: 127.0.0.1:70000\n").find("http.listen"), std::string::npos);
  EXPECT_NE(error_of("http:\n  max_connections: 0\n").find("between"), std::string::npos);
}

TEST(Config, RoleListIsCheckedNotSilentlySkipped) {
  EXPECT_EQ(error_of("roles: [gateway]\n"),
            "tessera.yaml:1: key 'gateway': required when the gateway role is on (at least "
            "gateway.routes)");
  EXPECT_NE(error_of("roles: [as, as]\n").find("listed twice"), std::string::npos);
  EXPECT_NE(error_of("roles: [webserver]\n").find("must be one of"), std::string::npos);
}

TEST(Config, GatewayReadsPlansKeysUsersAndChecks) {
  const std::string hex(64, 'a');
  auto r = parse_config(
      "roles: [gateway]\ngateway:\n  issuer: https://as.example\n  audiences: [api]\n"
      "  rate_plans:\n    - {name: per-client, quota: 10, window_seconds: 60, burst: 5}\n"
      "  api_keys:\n    - {id: k1, owner: acme, sha256: " +
          hex +
          ", scopes: [a], rate_plan: per-client}\n"
          "  basic_users:\n    - {username: old, password_hash: '$argon2id$v=19$x', scopes: [b]}\n"
          "  routes:\n    - path_prefix: /d\n      upstream: http://127.0.0.1:9\n"
          "      policy: basic\n      rate_limit: {plan: per-client, by: address}\n"
          "      fga: {object_type: doc, relations: {GET: viewer}}\n",
      "tessera.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  const auto& o = r->gateway->options;
  ASSERT_EQ(o.rate_plans.size(), 1u);
  EXPECT_EQ(o.rate_plans[0].burst, 5);
  ASSERT_EQ(o.api_keys.size(), 1u);
  EXPECT_EQ(o.api_keys[0].sha256_hex, hex);
  EXPECT_EQ(o.api_keys[0].rate_plan, "per-client");
  ASSERT_EQ(o.basic_users.size(), 1u);
  EXPECT_EQ(o.basic_users[0].scopes, std::vector<std::string>{"b"});
  const auto& route = o.routes.at(0);
  EXPECT_EQ(route.policy, tessera::gateway::Policy::kBasic);
  ASSERT_TRUE(route.rate_limit);
  EXPECT_EQ(route.rate_limit->by, tessera::gateway::RateKey::kAddress);
  ASSERT_TRUE(route.fga);
  EXPECT_EQ(route.fga->relations.at("GET"), "viewer");
  EXPECT_EQ(route.fga->user_claim, "sub");
}

TEST(Config, GatewayRefusesKeysInPlainTextAndNonArgonPasswords) {
  const std::string head =
      "roles: [gateway]\ngateway:\n  routes:\n    - {path_prefix: /, upstream: http://x}\n";
  EXPECT_NE(error_of(head + "  api_keys:\n    - {id: k, sha256: my-secret-key}\n")
                .find("key 'gateway.api_keys[0].sha256': expected 64 lowercase hex"),
            std::string::npos);
  EXPECT_NE(error_of(head + "  basic_users:\n    - {username: u, password_hash: plain}\n")
                .find("gateway.basic_users[0].password_hash"),
            std::string::npos);
  EXPECT_NE(error_of(head + "  rate_plans:\n    - {name: p, quota: 0, window_seconds: 1}\n")
                .find("gateway.rate_plans[0].quota"),
            std::string::npos);
}

TEST(Config, GatewayDpopNoncesTakeAPeriodAndASharedSecretOfAtLeast32Bytes) {
  const std::string head =
      "roles: [gateway]\ngateway:\n  routes:\n    - {path_prefix: /, upstream: http://x}\n";
  auto off = parse_config(head, "tessera.yaml");
  ASSERT_TRUE(off.ok()) << off.error();
  EXPECT_EQ(off->gateway->options.dpop.nonces, nullptr);

  const std::string secret_path = ::testing::TempDir() + "dpop_nonce_secret";
  auto write = [&](const std::string& content) { write_file(secret_path, content); };
  write(std::string(40, 'n') + "\n");
  const std::string with_secret =
      head + "  dpop_nonce_seconds: 30\n  dpop_nonce_secret_file: " + secret_path + "\n";
  auto a = parse_config(with_secret, "tessera.yaml");
  auto b = parse_config(with_secret, "tessera.yaml");
  ASSERT_TRUE(a.ok() && b.ok());
  const auto* nonces = a->gateway->options.dpop.nonces.get();
  ASSERT_NE(nonces, nullptr);
  // The same secret file: two gateways accept each other's nonces.
  EXPECT_TRUE(b->gateway->options.dpop.nonces->valid(nonces->current()));

  write("too-short");
  EXPECT_NE(error_of(with_secret).find("at least 32 bytes"), std::string::npos);
  EXPECT_NE(error_of(head + "  dpop_nonce_seconds: 5\n").find("gateway.dpop_nonce_seconds"),
            std::string::npos);
  EXPECT_NE(error_of(head + "  dpop_nonce_secret_file: " + secret_path + "\n")
                .find("needs gateway.dpop_nonce_seconds"),
            std::string::npos);
  std::remove(secret_path.c_str());
}

TEST(Config, GatewayUpstreamSignatureKeysAreNamedAndAtLeast32Bytes) {
  const std::string key_path = ::testing::TempDir() + "hop_key";
  auto write = [&](const std::string& content) { write_file(key_path, content); };
  write(std::string(64, 'a') + "\n");
  const std::string sig = "{key_id: hop-1, key_file: " + key_path + "}";
  const std::string config =
      "roles: [gateway]\ngateway:\n  upstream_signature: " + sig +
      "\n  routes:\n    - {path_prefix: /a, upstream: http://x}\n"
      "    - {path_prefix: /b, upstream: http://y, upstream_signature: {key_id: "
      "hop-2, key_file: " +
      key_path + "}}\n";
  auto parsed = parse_config(config, "tessera.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  const auto& o = parsed->gateway->options;
  ASSERT_TRUE(o.upstream_signature);
  EXPECT_EQ(o.upstream_signature->id, "hop-1");
  EXPECT_EQ(o.upstream_signature->secret, std::string(64, 'a')) << "without the line break";
  EXPECT_FALSE(o.routes[0].upstream_signature);
  ASSERT_TRUE(o.routes[1].upstream_signature);
  EXPECT_EQ(o.routes[1].upstream_signature->id, "hop-2");

  write(std::string(31, 'a'));
  EXPECT_NE(error_of(config).find("gateway.upstream_signature.key_file"), std::string::npos);
  write(std::string(64, 'a'));
  EXPECT_NE(error_of("roles: [gateway]\ngateway:\n  upstream_signature: {key_file: " + key_path +
                     "}\n  routes:\n    - {path_prefix: /, upstream: http://x}\n")
                .find("gateway.upstream_signature.key_id"),
            std::string::npos);
  std::remove(key_path.c_str());
}

TEST(Config, AsRoleReadsItsSection) {
  auto r = parse_config(
      "roles: [as]\nas:\n  issuer: https://as.example/t1\n  signing_alg: EdDSA\n"
      "  access_token_lifetime: 900\n  scopes_supported: [a, b]\n",
      "tessera.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->roles, std::vector<std::string>{"as"});
  ASSERT_TRUE(r->as);
  EXPECT_EQ(r->as->issuer, "https://as.example/t1");
  EXPECT_EQ(r->as->signing_alg, "EdDSA");
  EXPECT_EQ(r->as->access_token_lifetime, 900);
  EXPECT_EQ(r->as->scopes_supported, (std::vector<std::string>{"a", "b"}));
}

TEST(Config, AsRoleNeedsAnIssuer) {
  EXPECT_EQ(error_of("roles: [as]\n"),
            "tessera.yaml:1: key 'as': required when the as role is on (at least as.issuer)");
  EXPECT_NE(error_of("roles: [as]\nas:\n  signing_alg: ES256\n").find("as.issuer"),
            std::string::npos);
}

TEST(Config, IssuerMustBeHttpsOrLoopbackWithoutQueryOrFragment) {
  for (const char* bad : {"http://as.example", "https://as.example/?x=1", "https://as.example#f",
                          "https://as.example/", "as.example", "https://", "ftp://as.example"}) {
    auto e = error_of(std::string("roles: [as]\nas:\n  issuer: \"") + bad + "\"\n");
    EXPECT_NE(e.find("tessera.yaml:3: key 'as.issuer'"), std::string::npos) << bad << ": " << e;
  }
  for (const char* good : {"http://127.0.0.1:8080", "http://localhost", "https://as.example"}) {
    auto r =
        parse_config(std::string("roles: [as]\nas:\n  issuer: \"") + good + "\"\n", "tessera.yaml");
    EXPECT_TRUE(r.ok()) << good;
  }
}

TEST(Config, AsValuesAreChecked) {
  EXPECT_NE(
      error_of("as:\n  issuer: https://a.example\n  signing_alg: HS256\n").find("as.signing_alg"),
      std::string::npos);
  EXPECT_NE(
      error_of("as:\n  issuer: https://a.example\n  access_token_lifetime: 5\n").find("between"),
      std::string::npos);
  EXPECT_NE(error_of("as:\n  issuer: https://a.example\n  secret_key_file: /nonexistent/k\n")
                .find("cannot read file"),
            std::string::npos);
  EXPECT_NE(error_of("as:\n  issuer: https://a.example\n  colour: red\n").find("unknown key"),
            std::string::npos);
}

TEST(Config, AsProfileSwitches) {
  auto r = parse_config(
      "as:\n  issuer: https://as.example\n  fapi2: true\n  require_signed_request_object: true\n"
      "  signing_alg: PS256\n",
      "tessera.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r->as->fapi2);
  EXPECT_TRUE(r->as->require_signed_request_object);
  auto off = parse_config("as:\n  issuer: https://as.example\n", "tessera.yaml");
  ASSERT_TRUE(off.ok()) << off.error();
  EXPECT_FALSE(off->as->fapi2);
  EXPECT_FALSE(off->as->require_signed_request_object);
  // FAPI 2.0 §5.4.1: the server's own signatures use the profile's algorithms.
  EXPECT_NE(error_of("as:\n  issuer: https://as.example\n  fapi2: true\n  signing_alg: RS256\n")
                .find("as.signing_alg"),
            std::string::npos);
  EXPECT_NE(error_of("as:\n  issuer: https://as.example\n  fapi2: maybe\n").find("as.fapi2"),
            std::string::npos);
}

TEST(Config, JwtBearerIssuers) {
  auto r = parse_config(
      "as:\n  issuer: https://as.example\n  jwt_bearer_issuers:\n"
      "    - issuer: https://partner.example\n      jwks_uri: https://partner.example/jwks?v=2\n"
      "      subjects: [u1, u2]\n      scopes: [read]\n"
      "    - issuer: dev\n      jwks_uri: http://127.0.0.1:9999/jwks\n",
      "tessera.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->as->jwt_bearer_issuers.size(), 2u);
  EXPECT_EQ(r->as->jwt_bearer_issuers[0].issuer, "https://partner.example");
  EXPECT_EQ(r->as->jwt_bearer_issuers[0].jwks_uri, "https://partner.example/jwks?v=2");
  EXPECT_EQ(r->as->jwt_bearer_issuers[0].subjects, (std::vector<std::string>{"u1", "u2"}));
  EXPECT_EQ(r->as->jwt_bearer_issuers[0].scopes, std::vector<std::string>{"read"});
  EXPECT_TRUE(r->as->jwt_bearer_issuers[1].subjects.empty());
  const std::string head = "as:\n  issuer: https://as.example\n  jwt_bearer_issuers:\n";
  EXPECT_NE(error_of(head + "    - issuer: p\n      jwks_uri: http://partner.example/jwks\n")
                .find("jwks_uri"),
            std::string::npos)
      << "plain http off loopback";
  EXPECT_NE(error_of(head + "    - issuer: p\n").find("required"), std::string::npos);
  EXPECT_NE(error_of(head + "    - issuer: p\n      jwks_uri: https://p/j\n      colour: red\n")
                .find("unknown key"),
            std::string::npos);
  EXPECT_NE(error_of(head + "    - {issuer: p, jwks_uri: 'https://p/j'}\n"
                            "    - {issuer: p, jwks_uri: 'https://p/k'}\n")
                .find("twice"),
            std::string::npos);
}

// RFC 7591: as.registration turns dynamic registration on; software statement issuers are read
// like the JWT bearer issuers.
TEST(Config, Registration) {
  const std::string head = "as:\n  issuer: https://as.example\n  registration:\n";
  auto none = parse_config("as:\n  issuer: https://as.example\n", "tessera.yaml");
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_FALSE(none->as->registration.has_value());
  auto r = parse_config(head +
                            "    open: true\n    scopes: [openid, profile]\n"
                            "    audiences: [https://api.example]\n"
                            "    require_software_statement: true\n"
                            "    software_statement_issuers:\n"
                            "      - issuer: https://publisher.example\n"
                            "        jwks_uri: https://publisher.example/jwks\n",
                        "tessera.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_TRUE(r->as->registration.has_value());
  const tessera::app::RegistrationConfig& c = *r->as->registration;
  EXPECT_TRUE(c.enabled);
  EXPECT_TRUE(c.open);
  EXPECT_EQ(c.scopes, (std::vector<std::string>{"openid", "profile"}));
  EXPECT_EQ(c.audiences, std::vector<std::string>{"https://api.example"});
  EXPECT_TRUE(c.require_software_statement);
  ASSERT_EQ(c.software_statement_issuers.size(), 1u);
  EXPECT_EQ(c.software_statement_issuers[0].jwks_uri, "https://publisher.example/jwks");
  auto off = parse_config(head + "    enabled: false\n", "tessera.yaml");
  ASSERT_TRUE(off.ok()) << off.error();
  EXPECT_FALSE(off->as->registration->enabled);
  EXPECT_FALSE(off->as->registration->open);
  EXPECT_NE(error_of(head + "    require_software_statement: true\n")
                .find("needs software_statement_issuers"),
            std::string::npos);
  EXPECT_NE(error_of(head + "    software_statement_issuers:\n"
                            "      - {issuer: p, jwks_uri: 'http://p.example/j'}\n")
                .find("jwks_uri"),
            std::string::npos);
  EXPECT_NE(error_of(head + "    colour: red\n").find("unknown key"), std::string::npos);
  EXPECT_NE(error_of(head + "    open: sometimes\n").find("as.registration.open"),
            std::string::npos);
}

// RFC 9396: as.authorization_details_types, each type's schema written in YAML and read as the
// JSON it stands for (plain numbers and booleans typed, quoted scalars strings); a schema the
// validator cannot apply is refused with its place.
TEST(Config, AuthorizationDetailsTypes) {
  const std::string head = "as:\n  issuer: https://as.example\n  authorization_details_types:\n";
  auto r = parse_config(head +
                            "    payment_initiation:\n"
                            "      description: Payment\n"
                            "      schema:\n"
                            "        type: object\n"
                            "        required: [creditorName]\n"
                            "        additionalProperties: false\n"
                            "        properties:\n"
                            "          creditorName: {type: string, maxLength: 70}\n"
                            "          amount: {type: number, minimum: 0.01}\n"
                            "          code: {const: '42'}\n"
                            "    account_information:\n"
                            "      schema: true\n",
                        "tessera.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  const auto& types = r->as->authorization_details_types;
  ASSERT_EQ(types.size(), 2u);
  const auto& payment = types.at("payment_initiation");
  EXPECT_EQ(payment.description, "Payment");
  EXPECT_EQ(payment.schema["additionalProperties"], false);
  EXPECT_EQ(payment.schema["properties"]["creditorName"]["maxLength"], 70);
  EXPECT_EQ(payment.schema["properties"]["amount"]["minimum"], 0.01);
  EXPECT_EQ(payment.schema["properties"]["code"]["const"], "42");  // quoted: a string
  EXPECT_EQ(payment.schema["required"], tessera::json::Json::array({"creditorName"}));
  EXPECT_EQ(types.at("account_information").schema, true);

  EXPECT_NE(error_of(head + "    p:\n      schema:\n        pattern: '^a+$'\n")
                .find("as.authorization_details_types.p.schema"),
            std::string::npos);
  EXPECT_NE(error_of(head + "    p:\n      schema: {oneOf: []}\n").find("keyword not supported"),
            std::string::npos);
  EXPECT_NE(error_of(head + "    p:\n      description: x\n").find("required"), std::string::npos);
  EXPECT_NE(error_of(head + "    p:\n      schema: true\n      colour: red\n").find("unknown key"),
            std::string::npos);
  EXPECT_NE(error_of(head + "    - p\n").find("mapping"), std::string::npos);
}

TEST(Config, PostgresNeedsAUrl) {
  EXPECT_NE(error_of("store:\n  driver: postgres\n").find("store.url"), std::string::npos);
}

TEST(Config, TlsNeedsReadableFiles) {
  EXPECT_NE(error_of("http:\n  tls:\n    key_file: k.pem\n").find("http.tls.cert_file"),
            std::string::npos);
  EXPECT_NE(
      error_of(
          "http:\n  tls:\n    cert_file: /nonexistent/c.pem\n    key_file: /nonexistent/k.pem\n")
          .find("cannot read file"),
      std::string::npos);
}

// RFC 8705 §5: the mTLS listener, and which listeners make the server offer mutual TLS.
TEST(Config, AsMtlsListenerNeedsTlsAndAPort) {
  // Readable files stand in for the certificate and key; parsing does not load them.
  const std::string file = TESSERA_SOURCE_DIR "/CMakeLists.txt";
  const std::string tls = "http:\n  listen: 127.0.0.1:8443\n  tls:\n    cert_file: " + file +
                          "\n    key_file: " + file + "\n";
  auto r = parse_config(tls + "as:\n  issuer: https://as.example\n  mtls:\n    port: 9443\n",
                        "tessera.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_TRUE(r->as->mtls);
  EXPECT_EQ(r->as->mtls->port, 9443);
  EXPECT_EQ(r->as->mtls->url, "https://127.0.0.1:9443");  // the default
  EXPECT_TRUE(r->as->mutual_tls);
  auto named = parse_config(tls +
                                "as:\n  issuer: https://as.example\n  mtls:\n    port: 9443\n"
                                "    url: https://mtls.as.example\n    client_ca_file: " +
                                file + "\n",
                            "tessera.yaml");
  ASSERT_TRUE(named.ok()) << named.error();
  EXPECT_EQ(named->as->mtls->url, "https://mtls.as.example");
  EXPECT_EQ(named->as->mtls->client_ca_file, file);
  EXPECT_TRUE(named->as->self_signed_certificates);
  // Without its own client CA, the mTLS listener trusts the main listener's.
  auto inherited = parse_config("http:\n  tls:\n    cert_file: " + file +
                                    "\n    key_file: " + file + "\n    client_ca_file: " + file +
                                    "\n    client_auth: optional\n"
                                    "as:\n  issuer: https://as.example\n  mtls:\n    port: 9443\n",
                                "tessera.yaml");
  ASSERT_TRUE(inherited.ok()) << inherited.error();
  EXPECT_EQ(inherited->as->mtls->client_ca_file, file);

  EXPECT_NE(error_of("as:\n  issuer: https://as.example\n  mtls:\n    port: 9443\n")
                .find("key 'as.mtls': needs http.tls"),
            std::string::npos);
  EXPECT_NE(error_of(tls + "as:\n  issuer: https://as.example\n  mtls:\n    url: https://m\n")
                .find("as.mtls.port"),
            std::string::npos);
  EXPECT_NE(error_of(tls + "as:\n  issuer: https://as.example\n  mtls:\n    port: 9443\n"
                           "    url: http://mtls.as.example\n")
                .find("as.mtls.url"),
            std::string::npos);
  EXPECT_NE(error_of(tls + "as:\n  issuer: https://as.example\n  mtls:\n    port: 9443\n"
                           "    client_ca_file: /nonexistent/ca.pem\n")
                .find("cannot read file"),
            std::string::npos);
}

TEST(Config, ClientCertificatesOnTheMainListenerOfferMutualTls) {
  const std::string file = TESSERA_SOURCE_DIR "/CMakeLists.txt";
  const auto with = [&](const std::string& client_auth) {
    return "http:\n  tls:\n    cert_file: " + file + "\n    key_file: " + file +
           "\n    client_auth: " + client_auth + "\nas:\n  issuer: https://as.example\n";
  };
  auto none = parse_config(with("none"), "tessera.yaml");
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_FALSE(none->as->mutual_tls);
  // Any issuer needs no client CA (self-signed certificates, RFC 8705 §2.2).
  auto any = parse_config(with("optional_any_issuer"), "tessera.yaml");
  ASSERT_TRUE(any.ok()) << any.error();
  EXPECT_TRUE(any->as->mutual_tls);
  EXPECT_EQ(any->http.tls->client_auth, "optional_any_issuer");
  EXPECT_TRUE(any->as->self_signed_certificates);
  // A listener that refuses unknown issuers in the handshake cannot take self-signed ones.
  const std::string ca_line = "\n    client_ca_file: " + file;
  auto optional =
      parse_config("http:\n  tls:\n    cert_file: " + file + "\n    key_file: " + file + ca_line +
                       "\n    client_auth: optional\nas:\n  issuer: https://as.example\n",
                   "tessera.yaml");
  ASSERT_TRUE(optional.ok()) << optional.error();
  EXPECT_TRUE(optional->as->mutual_tls);
  EXPECT_FALSE(optional->as->self_signed_certificates);
  EXPECT_NE(error_of(with("optional")).find("http.tls.client_ca_file"), std::string::npos);
  EXPECT_NE(error_of(with("sometimes")).find("http.tls.client_auth"), std::string::npos);
}

// Session ticket keys: files of exactly 80 bytes, on a listener without client certificates.
TEST(Config, SessionTicketKeyFilesAreEightyBytesEachAndNotWithClientAuth) {
  const std::string file = TESSERA_SOURCE_DIR "/CMakeLists.txt";
  const std::string key = ::testing::TempDir() + "/ticket-" + std::to_string(::getpid()) + ".key";
  const std::string short_key = key + ".short";
  std::ofstream(key, std::ios::binary) << std::string(80, 'k');
  std::ofstream(short_key, std::ios::binary) << std::string(48, 'k');
  const auto with = [&](const std::string& files, const std::string& client_auth = "none") {
    return "http:\n  tls:\n    cert_file: " + file + "\n    key_file: " + file +
           "\n    client_auth: " + client_auth + "\n    client_ca_file: " + file +
           "\n    session_ticket_key_files: " + files + "\n";
  };
  auto ok = parse_config(with("[" + key + "]"), "tessera.yaml");
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(ok->http.tls->session_ticket_key_files, (std::vector<std::string>{key}));
  EXPECT_NE(error_of(with("[" + short_key + "]")).find("48 bytes, not 80"), std::string::npos);
  EXPECT_NE(error_of(with("[/nonexistent/ticket.key]")).find("cannot read file"),
            std::string::npos);
  EXPECT_NE(error_of(with("[]")).find("expected a list"), std::string::npos);
  EXPECT_NE(error_of(with("[" + key + "]", "optional")).find("not with client_auth"),
            std::string::npos);
  std::remove(key.c_str());
  std::remove(short_key.c_str());
}

TEST(Config, YamlSyntaxErrorNamesTheLine) {
  auto e = error_of("http:\n  listen: [unclosed\n");
  EXPECT_EQ(e.rfind("tessera.yaml:", 0), 0u) << e;
}

TEST(Config, ReadsPerAudienceTokenSettings) {
  auto r = parse_config(R"(
as:
  issuer: http://127.0.0.1:8080
  audiences:
    urn:tessera:api:ledger: {access_token_format: opaque}
    https://reports.example: {access_token_format: jwt, access_token_lifetime: 120}
    urn:tessera:api:scoped: {scopes: [reports:read, "reports:write"]}
)",
                        "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->as->audiences.size(), 3u);
  EXPECT_FALSE(r->as->audiences.at("urn:tessera:api:ledger").scopes.has_value());
  EXPECT_EQ(r->as->audiences.at("urn:tessera:api:scoped").scopes,
            (std::vector<std::string>{"reports:read", "reports:write"}));
  EXPECT_EQ(r->as->audiences.at("urn:tessera:api:ledger").access_token_format, "opaque");
  EXPECT_EQ(r->as->audiences.at("urn:tessera:api:ledger").access_token_lifetime, 0);
  EXPECT_EQ(r->as->audiences.at("https://reports.example").access_token_format, "jwt");
  EXPECT_EQ(r->as->audiences.at("https://reports.example").access_token_lifetime, 120);
}

TEST(Config, PerAudienceSettingsAreCheckedLikeTheRest) {
  const std::string head = "as:\n  issuer: http://127.0.0.1:8080\n  audiences:\n";
  EXPECT_EQ(error_of(head + "    urn:a: {access_token_format: paseto}\n"),
            "tessera.yaml:4: key 'as.audiences.urn:a.access_token_format': must be one of: jwt, "
            "opaque");
  EXPECT_EQ(error_of(head + "    urn:a: {lifetime: 5}\n"),
            "tessera.yaml:4: key 'as.audiences.urn:a.lifetime': unknown key");
  EXPECT_NE(error_of(head + "    urn:a: {access_token_lifetime: 5}\n").find("between 60"),
            std::string::npos);
  EXPECT_NE(error_of(head + "    - urn:a\n").find("expected a mapping"), std::string::npos);
}

TEST(Config, FgaRoleReadsItsSection) {
  const std::string digest(64, 'a');
  auto r = parse_config("roles: [fga]\nfga:\n  port: 8082\n  preshared_keys_sha256: [" + digest +
                            "]\n  access_tokens: false\n  resolve_node_limit: 50\n"
                            "  tuple_cache_bytes: 0\n",
                        "tessera.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->roles, std::vector<std::string>{"fga"});
  EXPECT_EQ(r->fga.port, 8082);
  EXPECT_EQ(r->fga.preshared_keys_sha256, std::vector<std::string>{digest});
  EXPECT_FALSE(r->fga.access_tokens);
  EXPECT_EQ(r->fga.resolve_node_limit, 50);
  EXPECT_EQ(r->fga.tuple_cache_bytes, 0u);
  // Defaults: on the main listener, access tokens accepted, OpenFGA's depth limit.
  auto d = parse_config("roles: [fga]\n", "tessera.yaml");
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_EQ(d->fga.port, 0);
  EXPECT_TRUE(d->fga.access_tokens);
  EXPECT_EQ(d->fga.resolve_node_limit, 25);
  EXPECT_EQ(d->fga.tuple_cache_bytes, size_t{64} << 20);
}

TEST(Config, FgaKeysMustBeSha256DigestsNotKeys) {
  EXPECT_NE(error_of("fga:\n  preshared_keys_sha256: [my-secret-key]\n").find("64 hex digits"),
            std::string::npos);
  EXPECT_NE(error_of("fga:\n  preshared_keys_sha256: " + std::string(64, 'g') + "\n")
                .find("fga.preshared_keys_sha256"),
            std::string::npos);
  EXPECT_NE(error_of("fga:\n  resolve_node_limit: 0\n").find("fga.resolve_node_limit"),
            std::string::npos);
  EXPECT_NE(error_of("fga:\n  ports: 1\n").find("unknown key"), std::string::npos);
}

TEST(Config, FgaAcceptsTokensOfAnIssuerInAnotherProcess) {
  auto r = parse_config(
      "roles: [fga]\nfga:\n  issuer: https://as.example\n  audiences: [urn:tessera:fga]\n"
      "  algorithms: [ES256]\n  jwks_refresh_seconds: 60\n  claims_cache_bytes: 0\n",
      "tessera.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_TRUE(r->fga.issuer_tokens);
  EXPECT_EQ(r->fga.issuer_tokens->issuer, "https://as.example");
  EXPECT_EQ(r->fga.issuer_tokens->audiences, std::vector<std::string>{"urn:tessera:fga"});
  EXPECT_EQ(r->fga.issuer_tokens->algorithms, std::vector<std::string>{"ES256"});
  EXPECT_EQ(r->fga.issuer_tokens->jwks_refresh_seconds, 60);
  EXPECT_EQ(r->fga.issuer_tokens->accept, tessera::resource::TokenForm::kJwt);
  EXPECT_EQ(r->fga.claims_cache_bytes, 0u);
  EXPECT_FALSE(parse_config("roles: [fga]\n", "tessera.yaml")->fga.issuer_tokens);
  EXPECT_EQ(parse_config("fga: {}\n", "tessera.yaml")->fga.check_threads, -1);  // one per core
  auto threads =
      parse_config("fga:\n  check_threads: 0\n  check_concurrency_after: 7\n", "tessera.yaml");
  ASSERT_TRUE(threads.ok()) << threads.error();
  EXPECT_EQ(threads->fga.check_threads, 0);
  EXPECT_EQ(threads->fga.check_concurrency_after, 7u);
  EXPECT_NE(error_of("fga:\n  check_threads: -2\n").find("fga.check_threads"), std::string::npos);

  // Opaque tokens too, by introspection, with the client's secret read from its file.
  const std::string secret_path = ::testing::TempDir() + "fga_introspection_secret";
  FILE* f = std::fopen(secret_path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("s3cret\n", f);
  std::fclose(f);
  auto i = parse_config(
      "fga:\n  issuer: https://as.example\n  audiences: [a]\n"
      "  introspection: {client_id: fga-rs, client_secret_file: " +
          secret_path + "}\n",
      "tessera.yaml");
  ASSERT_TRUE(i.ok()) << i.error();
  EXPECT_EQ(i->fga.issuer_tokens->accept, tessera::resource::TokenForm::kAny);
  EXPECT_EQ(i->fga.issuer_tokens->introspection_client_id, "fga-rs");
  EXPECT_EQ(i->fga.issuer_tokens->introspection_client_secret, "s3cret");

  // RFC 9068 §4: an audience is required; the other keys mean nothing without an issuer.
  EXPECT_NE(error_of("fga:\n  issuer: https://as.example\n").find("fga.audiences"),
            std::string::npos);
  EXPECT_NE(error_of("fga:\n  audiences: [a]\n").find("needs fga.issuer"), std::string::npos);
  EXPECT_NE(error_of("fga:\n  issuer: http://as.example\n  audiences: [a]\n").find("https"),
            std::string::npos);
  EXPECT_NE(
      error_of("fga:\n  issuer: https://as.example\n  audiences: [a]\n  algorithms: [HS256]\n")
          .find("fga.algorithms[0]"),
      std::string::npos);
  // Keys and client secrets travel over TLS (plain http only to loopback).
  EXPECT_NE(error_of("fga:\n  issuer: https://as.example\n  audiences: [a]\n"
                     "  jwks_uri: http://keys.example/jwks\n")
                .find("fga.jwks_uri"),
            std::string::npos);
  EXPECT_NE(error_of("fga:\n  issuer: https://as.example\n  audiences: [a]\n"
                     "  introspection: {endpoint: 'http://as.example/introspect', client_id: x, "
                     "client_secret_file: " +
                     secret_path + "}\n")
                .find("fga.introspection.endpoint"),
            std::string::npos);
  EXPECT_TRUE(parse_config("fga:\n  issuer: https://as.example\n  audiences: [a]\n"
                           "  jwks_uri: http://127.0.0.1:9000/jwks\n",
                           "tessera.yaml")
                  .ok());
  // Loopback means the host is loopback: not a port that smuggles another host in.
  EXPECT_NE(error_of("fga:\n  issuer: https://as.example\n  audiences: [a]\n"
                     "  jwks_uri: 'http://localhost:1\\\\evil.example/jwks'\n")
                .find("fga.jwks_uri"),
            std::string::npos);
  EXPECT_NE(error_of("fga:\n  issuer: https://as.example\n  audiences: [a]\n"
                     "  jwks_uri: 'http://localhost:x/jwks'\n")
                .find("fga.jwks_uri"),
            std::string::npos);
  EXPECT_NE(error_of("fga:\n  issuer: https://as.example\n  audiences: [a]\n"
                     "  introspection: {client_id: x}\n")
                .find("fga.introspection.client_secret_file"),
            std::string::npos);
  std::remove(secret_path.c_str());
}

TEST(Config, RedisTakesAUrlAPasswordFileAndItsLimits) {
  auto none = parse_config("roles: []\n", "tessera.yaml");
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_FALSE(none->redis.has_value());

  const std::string password_path = ::testing::TempDir() + "redis_password";
  FILE* f = std::fopen(password_path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("s3cret-redis\n", f);
  std::fclose(f);
  auto c = parse_config(
      "redis:\n  url: redis://tessera@10.0.0.5:6380/2\n  password_file: " + password_path +
          "\n  connections: 16\n  timeout_ms: 250\n  key_prefix: \"prod:\"\n"
          "  rate_limits_when_down: refuse\n",
      "tessera.yaml");
  ASSERT_TRUE(c.ok()) << c.error();
  ASSERT_TRUE(c->redis.has_value());
  const auto& o = c->redis->options;
  EXPECT_EQ(o.host, "10.0.0.5");
  EXPECT_EQ(o.port, 6380);
  EXPECT_EQ(o.database, 2);
  EXPECT_EQ(o.username, "tessera");
  EXPECT_EQ(o.password, "s3cret-redis");
  EXPECT_EQ(o.connections, 16u);
  EXPECT_EQ(o.timeout_ms, 250);
  EXPECT_EQ(o.key_prefix, "prod:");
  EXPECT_TRUE(c->redis->refuse_rate_limits_when_down);
  auto defaults = parse_config("redis: {url: \"redis://127.0.0.1\"}\n", "tessera.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.error();
  EXPECT_FALSE(defaults->redis->refuse_rate_limits_when_down);
  EXPECT_EQ(defaults->redis->options.key_prefix, "tessera:");
  std::remove(password_path.c_str());

  const std::string in_url = error_of("redis: {url: \"redis://u:hunter2@127.0.0.1\"}\n");
  EXPECT_NE(in_url.find("password_file"), std::string::npos) << in_url;
  EXPECT_EQ(in_url.find("hunter2"), std::string::npos) << in_url;
  EXPECT_NE(error_of("redis: {}\n").find("redis.url"), std::string::npos);
  EXPECT_NE(error_of("redis: {url: \"redis://tessera@h\"}\n").find("redis.password_file"),
            std::string::npos);
  EXPECT_NE(error_of("redis: {url: \"redis://h\", connections: 0}\n").find("redis.connections"),
            std::string::npos);
  EXPECT_NE(error_of("redis: {url: \"redis://h\", rate_limits_when_down: open}\n")
                .find("redis.rate_limits_when_down"),
            std::string::npos);
  EXPECT_NE(error_of("redis: {url: \"redis://h\", key_prefix: \"a b\"}\n").find("key_prefix"),
            std::string::npos);
  EXPECT_NE(error_of("redis: {url: \"redis://h\", pool: 3}\n").find("pool"), std::string::npos);
}
