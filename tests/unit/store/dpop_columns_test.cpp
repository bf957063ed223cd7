// The DPoP columns of schema migration 14 on both backends: clients.dpop_bound_access_tokens
// (RFC 9449 §5.2) through insert, find, list and update, authorization_codes.dpop_jkt (§10)
// through create_grant and redeem_code, and rows written before the migration reading as
// "not bound" after it.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "backend_fixture.h"
#include "core/crypto.h"
#include "store/client_store.h"
#include "store/grant_store.h"
#include "store/migrations.h"
#include "store/sql_lists.h"

namespace tessera::store::testing {
namespace {

using CodeOutcome = GrantStore::CodeOutcome;

// A JWK SHA-256 thumbprint (RFC 7638), the RFC's own example.
constexpr char kJkt[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

Client client(const std::string& id, bool dpop_bound) {
  Client c;
  c.client_id = id;
  c.type = ClientType::kPublic;
  c.auth_method = ClientAuthMethod::kNone;
  c.grant_types = {"authorization_code", "refresh_token"};
  c.redirect_uris = {"https://app.example/cb"};
  c.scopes = {"openid"};
  c.audiences = {"https://api.example"};
  c.dpop_bound_access_tokens = dpop_bound;
  return c;
}

class DpopColumnsTest : public StoreTest {
 protected:
  ClientStore& clients() { return store_->clients(); }
  GrantStore& grants() { return store_->grants(); }

  bool stored_flag(const std::string& id) {
    auto found = clients().find(id);
    EXPECT_TRUE(found) << found.error().message;
    if (!found || !*found) {
      ADD_FAILURE() << "client " << id << " is not stored";
      return false;
    }
    return (*found)->dpop_bound_access_tokens;
  }

  GrantRecord grant(const std::string& id) const {
    GrantRecord g;
    g.id = id;
    g.client_id = "spa";
    g.subject = "alice";
    g.scopes = {"openid"};
    g.audiences = {"https://api.example"};
    g.created_at = clock_.now();
    g.expires_at = clock_.now() + 86400;
    return g;
  }
  CodeRecord code(const std::string& value, const std::string& grant_id,
                  std::optional<std::string> dpop_jkt) const {
    CodeRecord c;
    c.code_sha256 = crypto::sha256(value);
    c.grant_id = grant_id;
    c.client_id = "spa";
    c.redirect_uri = "https://app.example/cb";
    c.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    c.expires_at = clock_.now() + 60;
    c.dpop_jkt = std::move(dpop_jkt);
    return c;
  }
  // The code as redemption returns it; nullopt, with a failure recorded, unless `expected`.
  std::optional<CodeRecord> redeemed(const std::string& value, CodeOutcome expected) {
    auto r = grants().redeem_code(crypto::sha256(value));
    EXPECT_TRUE(r) << r.error().message;
    if (!r) return std::nullopt;
    EXPECT_EQ(r->outcome, expected);
    EXPECT_TRUE(r->code) << "no code record";
    if (r->outcome != expected) return std::nullopt;
    return r->code;
  }
};

// RFC 8705 §3.4 tls_client_certificate_bound_access_tokens (migration 16), beside the DPoP flag.
TEST_P(DpopColumnsTest, CertificateBoundFlagRoundTripsThroughInsertAndUpdate) {
  Client c = client("mtls", false);
  c.tls_client_certificate_bound_access_tokens = true;
  ASSERT_TRUE(clients().insert(c));
  auto found = clients().find("mtls");
  ASSERT_TRUE(found && *found);
  EXPECT_TRUE((*found)->tls_client_certificate_bound_access_tokens);
  EXPECT_FALSE((*found)->dpop_bound_access_tokens);
  c.tls_client_certificate_bound_access_tokens = false;
  c.dpop_bound_access_tokens = true;
  ASSERT_TRUE(clients().update(c));
  found = clients().find("mtls");
  ASSERT_TRUE(found && *found);
  EXPECT_FALSE((*found)->tls_client_certificate_bound_access_tokens);
  EXPECT_TRUE((*found)->dpop_bound_access_tokens);
}

// RFC 8705 §2.1.2 (migration 17): a tls_client_auth client's certificate name, both columns.
TEST_P(DpopColumnsTest, TlsClientAuthNameRoundTripsForEveryType) {
  for (CertificateNameType type :
       {CertificateNameType::kSubjectDn, CertificateNameType::kSanDns, CertificateNameType::kSanUri,
        CertificateNameType::kSanIp, CertificateNameType::kSanEmail}) {
    const std::string id = "pki-" + std::string(metadata_name(type));
    Client c = client(id, false);
    c.type = ClientType::kConfidential;
    c.auth_method = ClientAuthMethod::kTlsClientAuth;
    c.tls_client_auth_name = CertificateName{type, "value of " + id};
    ASSERT_TRUE(clients().insert(c)) << id;
    auto found = clients().find(id);
    ASSERT_TRUE(found && *found) << id;
    EXPECT_EQ((*found)->auth_method, ClientAuthMethod::kTlsClientAuth);
    EXPECT_EQ((*found)->tls_client_auth_name, c.tls_client_auth_name) << id;
    EXPECT_EQ(parse_certificate_name_type(metadata_name(type)), type);
  }
  // Changed by update, and gone with the method.
  Client c = client("pki-x", false);
  c.type = ClientType::kConfidential;
  c.auth_method = ClientAuthMethod::kTlsClientAuth;
  c.tls_client_auth_name = CertificateName{CertificateNameType::kSanDns, "a.example"};
  ASSERT_TRUE(clients().insert(c));
  c.tls_client_auth_name->value = "b.example";
  ASSERT_TRUE(clients().update(c));
  EXPECT_EQ((*clients().find("pki-x"))->tls_client_auth_name->value, "b.example");
  c.auth_method = ClientAuthMethod::kClientSecretBasic;
  c.secret_sha256 = crypto::sha256("s");
  c.tls_client_auth_name.reset();
  c.revision = 1;  // the update above was the first
  ASSERT_TRUE(clients().update(c));
  EXPECT_FALSE((*clients().find("pki-x"))->tls_client_auth_name);
}

TEST_P(DpopColumnsTest, CertificateMethodsAreValidated) {
  Client pki = client("pki", false);
  pki.type = ClientType::kConfidential;
  pki.auth_method = ClientAuthMethod::kTlsClientAuth;
  EXPECT_FALSE(clients().insert(pki)) << "tls_client_auth without a name";
  pki.tls_client_auth_name = CertificateName{CertificateNameType::kSanDns, ""};
  EXPECT_FALSE(clients().insert(pki)) << "an empty name";
  pki.tls_client_auth_name->value = "a.example";
  pki.secret_sha256 = crypto::sha256("s");
  EXPECT_FALSE(clients().insert(pki)) << "a secret as well";
  pki.secret_sha256.clear();
  EXPECT_TRUE(clients().insert(pki));

  Client other = client("other", false);
  other.tls_client_auth_name = CertificateName{CertificateNameType::kSanDns, "a.example"};
  EXPECT_FALSE(clients().insert(other)) << "a name on a client of another method";

  Client self = client("self", false);
  self.type = ClientType::kConfidential;
  self.auth_method = ClientAuthMethod::kSelfSignedTlsClientAuth;
  EXPECT_FALSE(clients().insert(self)) << "no jwks";
  self.jwks_json = R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]})";
  EXPECT_FALSE(clients().insert(self)) << "a key without x5c";
  self.jwks_json = R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA","x5c":["QUJD"]}]})";
  EXPECT_TRUE(clients().insert(self));
  auto found = clients().find("self");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->auth_method, ClientAuthMethod::kSelfSignedTlsClientAuth);
  EXPECT_EQ((*found)->jwks_json, self.jwks_json);
}

// Migration 18: the FAPI 2.0 profile switch and RFC 9101 §10.5 require_signed_request_object,
// through insert, find and update; a FAPI 2.0 client must be confidential with a strong method.
TEST_P(DpopColumnsTest, Fapi2AndSignedRequestObjectFlagsRoundTripAndAreValidated) {
  Client fapi = client("fapi", false);
  fapi.fapi2 = true;
  EXPECT_FALSE(clients().insert(fapi)) << "a public FAPI 2.0 client";
  fapi.type = ClientType::kConfidential;
  fapi.auth_method = ClientAuthMethod::kClientSecretBasic;
  fapi.secret_sha256 = crypto::sha256("s");
  EXPECT_FALSE(clients().insert(fapi)) << "client_secret_basic under FAPI 2.0";
  fapi.secret_sha256.clear();
  fapi.auth_method = ClientAuthMethod::kTlsClientAuth;
  fapi.tls_client_auth_name = CertificateName{CertificateNameType::kSanDns, "a.example"};
  fapi.require_signed_request_object = true;
  ASSERT_TRUE(clients().insert(fapi));
  auto found = clients().find("fapi");
  ASSERT_TRUE(found && *found);
  EXPECT_TRUE((*found)->fapi2);
  EXPECT_TRUE((*found)->require_signed_request_object);

  fapi.fapi2 = false;
  ASSERT_TRUE(clients().update(fapi));
  found = clients().find("fapi");
  ASSERT_TRUE(found && *found);
  EXPECT_FALSE((*found)->fapi2);
  EXPECT_TRUE((*found)->require_signed_request_object);
  fapi.require_signed_request_object = false;
  fapi.revision = (*found)->revision;
  ASSERT_TRUE(clients().update(fapi));
  EXPECT_FALSE((*clients().find("fapi"))->require_signed_request_object);

  ASSERT_TRUE(clients().insert(client("plain-18", false)));
  found = clients().find("plain-18");
  ASSERT_TRUE(found && *found);
  EXPECT_FALSE((*found)->fapi2);
  EXPECT_FALSE((*found)->require_signed_request_object);
}

TEST_P(DpopColumnsTest, DpopBoundAccessTokensDefaultsToFalse) {
  EXPECT_FALSE(Client{}.dpop_bound_access_tokens);
  ASSERT_TRUE(clients().insert(client("plain", false)));
  EXPECT_FALSE(stored_flag("plain"));
}

TEST_P(DpopColumnsTest, DpopBoundAccessTokensRoundTripsThroughInsertFindAndList) {
  ASSERT_TRUE(clients().insert(client("bound", true)));
  ASSERT_TRUE(clients().insert(client("free", false)));
  EXPECT_TRUE(stored_flag("bound"));
  EXPECT_FALSE(stored_flag("free"));
  auto listed = clients().list();
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 2u);
  for (const Client& c : *listed) {
    EXPECT_EQ(c.dpop_bound_access_tokens, c.client_id == "bound") << c.client_id;
  }
}

TEST_P(DpopColumnsTest, DpopBoundAccessTokensFollowsUpdatesBothWays) {
  Client c = client("spa", false);
  ASSERT_TRUE(clients().insert(c));
  c.dpop_bound_access_tokens = true;
  ASSERT_TRUE(clients().update(c));
  EXPECT_TRUE(stored_flag("spa"));
  c.dpop_bound_access_tokens = false;
  c.revision = 1;
  ASSERT_TRUE(clients().update(c));
  EXPECT_FALSE(stored_flag("spa"));
}

TEST_P(DpopColumnsTest, UpdateOfOneClientLeavesTheOthersFlag) {
  ASSERT_TRUE(clients().insert(client("a", true)));
  Client b = client("b", false);
  ASSERT_TRUE(clients().insert(b));
  b.scopes = {"openid", "profile"};
  ASSERT_TRUE(clients().update(b));
  EXPECT_TRUE(stored_flag("a"));
  EXPECT_FALSE(stored_flag("b"));
}

TEST_P(DpopColumnsTest, CodeDpopJktRoundTripsThroughRedemption) {
  ASSERT_TRUE(grants().create_grant(grant("g1"), code("code-1", "g1", kJkt)));
  auto c = redeemed("code-1", CodeOutcome::kRedeemed);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->dpop_jkt, std::optional<std::string>(kJkt));
  // A replayed code still names its key.
  auto again = redeemed("code-1", CodeOutcome::kReplayed);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->dpop_jkt, std::optional<std::string>(kJkt));
}

TEST_P(DpopColumnsTest, CodeWithoutDpopJktRedeemsWithNullopt) {
  ASSERT_TRUE(grants().create_grant(grant("g1"), code("code-1", "g1", std::nullopt)));
  auto c = redeemed("code-1", CodeOutcome::kRedeemed);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->dpop_jkt, std::nullopt);
}

TEST_P(DpopColumnsTest, ExpiredCodeKeepsItsDpopJkt) {
  ASSERT_TRUE(grants().create_grant(grant("g1"), code("code-1", "g1", kJkt)));
  clock_.advance(61);
  auto c = redeemed("code-1", CodeOutcome::kExpired);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->dpop_jkt, std::optional<std::string>(kJkt));
}

// A database at schema 13 (before the DPoP columns) with a client and a code in it, migrated by
// open_store: the client is not DPoP-bound, the code is bound to no key.
class DpopMigrationTest : public BackendTest {};

TEST_P(DpopMigrationTest, RowsFromBeforeMigration14ReadAsUnbound) {
  {
    auto database = open_database_or_fail();
    ASSERT_NE(database, nullptr);
    std::vector<Migration> before;
    for (const Migration& m : tessera_schema()) {
      if (m.version < 14) before.push_back(m);
    }
    ASSERT_EQ(before.back().version, 13);
    auto migrated = migrate(*database, before);
    ASSERT_TRUE(migrated) << migrated.error().message;
    const int64_t lifetime = 600;
    const int64_t now = clock_.now();
    const int64_t expires = now + 60;
    const int64_t grant_expires = now + 86400;
    auto client_row = database->execute(
        "INSERT INTO clients (client_id, client_type, token_endpoint_auth_method, secret_sha256,"
        " grant_types, redirect_uris, scopes, audiences, access_token_format,"
        " access_token_lifetime, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {"old", to_string(ClientType::kPublic), to_string(ClientAuthMethod::kNone), nullptr,
         list_to_text({"authorization_code"}), list_to_text({"https://app.example/cb"}),
         list_to_text({"openid"}), list_to_text({"https://api.example"}),
         to_string(AccessTokenFormat::kJwt), lifetime, now});
    ASSERT_TRUE(client_row) << client_row.error().message;
    auto grant_row = database->execute(
        "INSERT INTO grants (id, client_id, subject, sid, scopes, audiences, auth_time, acr, amr,"
        " claims, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {"g-old", "old", "alice", nullptr, list_to_text({"openid"}),
         list_to_text({"https://api.example"}), now, "", list_to_text({}), "{}", now,
         grant_expires});
    ASSERT_TRUE(grant_row) << grant_row.error().message;
    auto code_row = database->execute(
        "INSERT INTO authorization_codes (code_sha256, grant_id, client_id, redirect_uri,"
        " code_challenge, nonce, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {Blob{crypto::sha256("code-old")}, "g-old", "old", "https://app.example/cb",
         "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", nullptr, expires, nullptr});
    ASSERT_TRUE(code_row) << code_row.error().message;
  }
  auto store = open_store_or_fail();
  ASSERT_NE(store, nullptr);
  auto found = store->clients().find("old");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(*found);
  EXPECT_FALSE((*found)->dpop_bound_access_tokens);
  auto redeemed = store->grants().redeem_code(crypto::sha256("code-old"));
  ASSERT_TRUE(redeemed) << redeemed.error().message;
  EXPECT_EQ(redeemed->outcome, CodeOutcome::kRedeemed);
  ASSERT_TRUE(redeemed->code);
  EXPECT_EQ(redeemed->code->dpop_jkt, std::nullopt);
  // The upgraded client takes the new setting.
  Client c = **found;
  c.dpop_bound_access_tokens = true;
  ASSERT_TRUE(store->clients().update(c));
  auto updated = store->clients().find("old");
  ASSERT_TRUE(updated && *updated);
  EXPECT_TRUE((*updated)->dpop_bound_access_tokens);
}

TESSERA_ON_BOTH_BACKENDS(DpopColumnsTest);
TESSERA_ON_BOTH_BACKENDS(DpopMigrationTest);

}  // namespace
}  // namespace tessera::store::testing
