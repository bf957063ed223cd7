// ClientStore on both backends: round trip of every field, the rules of validate_client,
// conflicts, updates and removal.
#include "store/client_store.h"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <vector>

#include "backend_fixture.h"
#include "core/crypto.h"

namespace tessera::store::testing {
namespace {

using Code = StoreError::Code;

// RFC 7517 Appendix A.1 (public) and A.2 (its private part "d").
constexpr char kEcPublicJwk[] =
    R"({"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",)"
    R"("y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","kid":"1"})";
constexpr char kEcPrivateJwk[] =
    R"({"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",)"
    R"("y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",)"
    R"("d":"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE","kid":"1"})";
constexpr char kOkpPublicJwk[] =
    R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";

std::string jwks_of(std::initializer_list<const char*> keys) {
  std::string out = R"({"keys":[)";
  for (const char* k : keys) {
    if (out.back() != '[') out += ',';
    out += k;
  }
  return out + "]}";
}

Client service_client(std::string id) {
  Client c;
  c.client_id = std::move(id);
  c.type = ClientType::kConfidential;
  c.auth_method = ClientAuthMethod::kClientSecretPost;
  c.secret_sha256 = crypto::sha256("s3cret");
  c.grant_types = {"client_credentials"};
  c.redirect_uris = {"https://app.example/cb", "https://app.example/cb?x=1 2"};
  c.scopes = {"invoices:read", "invoices:write"};
  c.audiences = {"https://api.example"};
  c.access_token_format = AccessTokenFormat::kOpaque;
  c.access_token_lifetime = 600;
  return c;
}

// A private_key_jwt client with every setting away from its default.
Client key_client(std::string id) {
  Client c = service_client(std::move(id));
  c.auth_method = ClientAuthMethod::kPrivateKeyJwt;
  c.secret_sha256.clear();
  c.jwks_json = jwks_of({kEcPublicJwk, kOkpPublicJwk});
  c.post_logout_redirect_uris = {"https://app.example/bye", "https://app.example/bye?x=\"1\""};
  c.refresh_token_lifetime = 7 * 86400;
  c.skip_consent = true;
  c.may_impersonate = true;
  return c;
}

class ClientStoreTest : public StoreTest {
 protected:
  ClientStore& clients() { return store_->clients(); }
};

TEST_P(ClientStoreTest, InsertedClientRoundTripsEveryField) {
  Client c = service_client("svc");
  ASSERT_TRUE(clients().insert(c));
  auto found = clients().find("svc");
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->has_value());
  const Client& f = **found;
  EXPECT_EQ(f.client_id, "svc");
  EXPECT_EQ(f.type, ClientType::kConfidential);
  EXPECT_EQ(f.auth_method, ClientAuthMethod::kClientSecretPost);
  EXPECT_EQ(f.secret_sha256, crypto::sha256("s3cret"));
  EXPECT_EQ(f.grant_types, c.grant_types);
  EXPECT_EQ(f.redirect_uris, c.redirect_uris);
  EXPECT_EQ(f.scopes, c.scopes);
  EXPECT_EQ(f.audiences, c.audiences);
  EXPECT_EQ(f.access_token_format, AccessTokenFormat::kOpaque);
  EXPECT_EQ(f.access_token_lifetime, 600);
  EXPECT_EQ(f.created_at, clock_.now());  // stamped by the store when not given
}

TEST_P(ClientStoreTest, NewSettingsRoundTrip) {
  Client c = key_client("rp");
  ASSERT_TRUE(clients().insert(c));
  auto found = clients().find("rp");
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->has_value());
  const Client& f = **found;
  EXPECT_EQ(f.auth_method, ClientAuthMethod::kPrivateKeyJwt);
  EXPECT_TRUE(f.secret_sha256.empty());
  EXPECT_EQ(f.jwks_json, c.jwks_json);
  EXPECT_EQ(f.post_logout_redirect_uris, c.post_logout_redirect_uris);
  EXPECT_EQ(f.refresh_token_lifetime, 7 * 86400);
  EXPECT_TRUE(f.skip_consent);
  EXPECT_TRUE(f.may_impersonate);
  auto listed = clients().list();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].jwks_json, c.jwks_json);
  EXPECT_TRUE((*listed)[0].may_impersonate);
}

TEST_P(ClientStoreTest, NewSettingsHaveTheirDefaults) {
  ASSERT_TRUE(clients().insert(service_client("svc")));
  auto found = clients().find("svc");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_FALSE((*found)->jwks_json.has_value());
  EXPECT_TRUE((*found)->post_logout_redirect_uris.empty());
  EXPECT_EQ((*found)->refresh_token_lifetime, 86400);
  EXPECT_FALSE((*found)->skip_consent);
  EXPECT_FALSE((*found)->may_impersonate);
}

TEST_P(ClientStoreTest, RowsWrittenWithoutTheNewColumnsReadTheSchemaDefaults) {
  // Clients stored before migration 7 get the column defaults.
  auto inserted = store_->database().execute(
      "INSERT INTO clients (client_id, client_type, token_endpoint_auth_method, secret_sha256,"
      " grant_types, redirect_uris, scopes, audiences, access_token_format,"
      " access_token_lifetime, created_at) VALUES"
      " ('old', 'confidential', 'client_secret_basic', ?, '[]', '[]', '[]', '[]', 'jwt', 300, 1)",
      {Blob{crypto::sha256("x")}});
  ASSERT_TRUE(inserted) << inserted.error().message;
  auto found = clients().find("old");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_FALSE((*found)->jwks_json.has_value());
  EXPECT_TRUE((*found)->post_logout_redirect_uris.empty());
  EXPECT_EQ((*found)->refresh_token_lifetime, 86400);
  EXPECT_FALSE((*found)->skip_consent);
  EXPECT_FALSE((*found)->may_impersonate);
}

TEST_P(ClientStoreTest, UpdateReplacesTheNewSettings) {
  ASSERT_TRUE(clients().insert(key_client("rp")));
  Client c = key_client("rp");
  c.jwks_json = jwks_of({kOkpPublicJwk});
  c.post_logout_redirect_uris = {};
  c.refresh_token_lifetime = 3600;
  c.skip_consent = false;
  c.may_impersonate = false;
  ASSERT_TRUE(clients().update(c));
  auto found = clients().find("rp");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->jwks_json, c.jwks_json);
  EXPECT_TRUE((*found)->post_logout_redirect_uris.empty());
  EXPECT_EQ((*found)->refresh_token_lifetime, 3600);
  EXPECT_FALSE((*found)->skip_consent);
  EXPECT_FALSE((*found)->may_impersonate);
  // Back to a secret: the keys go.
  Client basic = service_client("rp");
  basic.revision = (*found)->revision;
  ASSERT_TRUE(clients().update(basic));
  found = clients().find("rp");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->auth_method, ClientAuthMethod::kClientSecretPost);
  EXPECT_FALSE((*found)->jwks_json.has_value());
}

TEST_P(ClientStoreTest, PublicClientHasNoSecret) {
  Client c = service_client("spa");
  c.type = ClientType::kPublic;
  c.auth_method = ClientAuthMethod::kNone;
  c.secret_sha256.clear();
  ASSERT_TRUE(clients().insert(c));
  auto found = clients().find("spa");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->type, ClientType::kPublic);
  EXPECT_TRUE((*found)->secret_sha256.empty());
}

TEST_P(ClientStoreTest, UnknownClientIsNotFoundNotAnError) {
  auto found = clients().find("nobody");
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TEST_P(ClientStoreTest, DuplicateClientIdIsAConflict) {
  ASSERT_TRUE(clients().insert(service_client("svc")));
  auto again = clients().insert(service_client("svc"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::kConflict);
}

TEST_P(ClientStoreTest, InconsistentClientsAreRefusedAndNothingIsWritten) {
  std::vector<Client> bad;
  bad.push_back(service_client(""));
  bad.push_back(service_client("public-with-secret"));
  bad.back().type = ClientType::kPublic;
  bad.back().auth_method = ClientAuthMethod::kNone;
  bad.push_back(service_client("confidential-without-auth"));
  bad.back().auth_method = ClientAuthMethod::kNone;
  bad.push_back(service_client("short-hash"));
  bad.back().secret_sha256 = "plain";
  bad.push_back(service_client("zero-lifetime"));
  bad.back().access_token_lifetime = 0;
  bad.push_back(service_client("long-lifetime"));
  bad.back().access_token_lifetime = kMaxAccessTokenLifetime + 1;
  bad.push_back(service_client("empty-scope"));
  bad.back().scopes.push_back("");
  bad.push_back(service_client("zero-refresh-lifetime"));
  bad.back().refresh_token_lifetime = 0;
  bad.push_back(service_client("long-refresh-lifetime"));
  bad.back().refresh_token_lifetime = kMaxRefreshTokenLifetime + 1;
  bad.push_back(service_client("empty-logout-uri"));
  bad.back().post_logout_redirect_uris = {""};
  for (const Client& c : bad) {
    auto inserted = clients().insert(c);
    ASSERT_FALSE(inserted) << c.client_id;
    EXPECT_EQ(inserted.error().code, Code::kInvalidArgument) << c.client_id;
  }
  auto all = clients().list();
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
}

TEST_P(ClientStoreTest, PrivateKeyJwtClientNeedsPublicAsymmetricKeysAndNoSecret) {
  std::vector<Client> bad;
  bad.push_back(key_client("with-secret"));
  bad.back().secret_sha256 = crypto::sha256("s");
  bad.push_back(key_client("without-jwks"));
  bad.back().jwks_json.reset();
  bad.push_back(key_client("not-json"));
  bad.back().jwks_json = "{keys:";
  bad.push_back(key_client("not-a-set"));
  bad.back().jwks_json = kEcPublicJwk;
  bad.push_back(key_client("empty-set"));
  bad.back().jwks_json = R"({"keys":[]})";
  bad.push_back(key_client("private-key"));
  bad.back().jwks_json = jwks_of({kEcPublicJwk, kEcPrivateJwk});
  bad.push_back(key_client("oct-key"));
  bad.back().jwks_json = jwks_of({R"({"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"})"});
  bad.push_back(key_client("unknown-kty"));
  bad.back().jwks_json = jwks_of({R"({"kty":"XYZ","x":"a"})"});
  bad.push_back(key_client("rsa-without-modulus"));
  bad.back().jwks_json = jwks_of({R"({"kty":"RSA","e":"AQAB"})"});
  bad.push_back(key_client("public-with-jwt"));
  bad.back().type = ClientType::kPublic;
  for (const Client& c : bad) {
    auto inserted = clients().insert(c);
    ASSERT_FALSE(inserted) << c.client_id;
    EXPECT_EQ(inserted.error().code, Code::kInvalidArgument) << c.client_id;
  }
  // The control: the same client with its public keys is accepted.
  EXPECT_TRUE(clients().insert(key_client("good")));
  // And validate_client on its own.
  EXPECT_TRUE(validate_client(key_client("x")));
  Client secret_hash_missing = service_client("y");
  secret_hash_missing.secret_sha256.clear();
  EXPECT_FALSE(validate_client(secret_hash_missing));
}

TEST(ClientAuthMethodNames, RoundTripIncludingPrivateKeyJwt) {
  for (auto m : {ClientAuthMethod::kClientSecretBasic, ClientAuthMethod::kClientSecretPost,
                 ClientAuthMethod::kPrivateKeyJwt, ClientAuthMethod::kNone}) {
    EXPECT_EQ(parse_client_auth_method(to_string(m)), m);
  }
  EXPECT_EQ(to_string(ClientAuthMethod::kPrivateKeyJwt), "private_key_jwt");
  EXPECT_FALSE(parse_client_auth_method("client_secret_jwt"));
}

TEST_P(ClientStoreTest, ListIsOrderedByClientId) {
  ASSERT_TRUE(clients().insert(service_client("b")));
  ASSERT_TRUE(clients().insert(service_client("a")));
  auto all = clients().list();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].client_id, "a");
  EXPECT_EQ((*all)[1].client_id, "b");
}

TEST_P(ClientStoreTest, UpdateReplacesFieldsAndKeepsCreatedAt) {
  ASSERT_TRUE(clients().insert(service_client("svc")));
  clock_.advance(100);
  Client c = service_client("svc");
  c.scopes = {"only:this"};
  c.secret_sha256 = crypto::sha256("rotated");
  c.created_at = 1;
  ASSERT_TRUE(clients().update(c));
  auto found = clients().find("svc");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->scopes, std::vector<std::string>{"only:this"});
  EXPECT_EQ((*found)->secret_sha256, crypto::sha256("rotated"));
  EXPECT_EQ((*found)->created_at, clock_.now() - 100);
  auto missing = clients().update(service_client("nobody"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::kNotFound);
}

// RFC 7592 §3 rotation: the update lands only while the registration token hash it was
// authorized with is still stored, so of two updates made with one token the second is refused.
TEST_P(ClientStoreTest, UpdateRegistrationIsACompareAndSetOnTheToken) {
  Client c = service_client("dyn");
  c.registration_token_sha256 = crypto::sha256("issued");
  ASSERT_TRUE(clients().insert(c));
  Client first = c;
  first.registration_token_sha256 = crypto::sha256("first");
  ASSERT_TRUE(clients().update_registration(first, crypto::sha256("issued")));
  Client second = c;
  second.revision = 1;  // current: only the token is stale
  second.registration_token_sha256 = crypto::sha256("second");
  second.scopes = {"only:this"};
  auto lost = clients().update_registration(second, crypto::sha256("issued"));
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, Code::kNotFound);
  auto found = clients().find("dyn");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->registration_token_sha256, crypto::sha256("first"));
  EXPECT_EQ((*found)->scopes, c.scopes);
  Client nobody = first;
  nobody.client_id = "nobody";
  auto missing = clients().update_registration(nobody, crypto::sha256("first"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::kNotFound);
}

// Every update is a compare-and-set on the revision it read: a write made from an older read is
// refused (kConflict) and changes nothing, so an operator's change and a client's own (RFC 7592)
// cannot undo each other.
TEST_P(ClientStoreTest, UpdateIsACompareAndSetOnTheRevision) {
  ASSERT_TRUE(clients().insert(service_client("svc")));
  const Client read = **clients().find("svc");
  EXPECT_EQ(read.revision, 0);
  Client operator_change = read;
  operator_change.may_impersonate = true;
  ASSERT_TRUE(clients().update(operator_change));
  EXPECT_EQ((*clients().find("svc"))->revision, 1);
  Client stale = read;
  stale.scopes = {"only:this"};
  auto lost = clients().update(stale);
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, Code::kConflict);
  Client after = **clients().find("svc");
  EXPECT_TRUE(after.may_impersonate);
  EXPECT_EQ(after.scopes, read.scopes);
  EXPECT_EQ(after.revision, 1);
  // Made again from a fresh read, it lands on top of the other.
  after.scopes = {"only:this"};
  ASSERT_TRUE(clients().update(after));
  const Client both = **clients().find("svc");
  EXPECT_TRUE(both.may_impersonate);
  EXPECT_EQ(both.scopes, std::vector<std::string>{"only:this"});
  EXPECT_EQ(both.revision, 2);
}

// A registration update whose token is still current but whose read is older than an operator's
// change is a conflict (the endpoint merges again), not a refused token.
TEST_P(ClientStoreTest, UpdateRegistrationConflictsWithAnOperatorChange) {
  Client c = service_client("dyn");
  c.registration_token_sha256 = crypto::sha256("issued");
  ASSERT_TRUE(clients().insert(c));
  const Client read = **clients().find("dyn");
  Client operator_change = read;
  operator_change.may_impersonate = false;
  operator_change.access_token_lifetime = 60;
  ASSERT_TRUE(clients().update(operator_change));
  Client own = read;
  own.registration_token_sha256 = crypto::sha256("next");
  auto lost = clients().update_registration(own, crypto::sha256("issued"));
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, Code::kConflict);
  const Client after = **clients().find("dyn");
  EXPECT_EQ(after.registration_token_sha256, crypto::sha256("issued"));
  EXPECT_EQ(after.access_token_lifetime, 60);
  own.revision = after.revision;
  ASSERT_TRUE(clients().update_registration(own, crypto::sha256("issued")));
  EXPECT_EQ((*clients().find("dyn"))->registration_token_sha256, crypto::sha256("next"));
}

// RFC 7592 §2.3 with rotated tokens: a delete lands only while the token it was authorized with
// is still the client's.
TEST_P(ClientStoreTest, RemoveRegistrationIsACompareAndSetOnTheToken) {
  Client c = service_client("dyn");
  c.registration_token_sha256 = crypto::sha256("issued");
  ASSERT_TRUE(clients().insert(c));
  auto stale = clients().remove_registration("dyn", crypto::sha256("spent"));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, Code::kNotFound);
  ASSERT_TRUE(clients().find("dyn")->has_value());
  ASSERT_TRUE(clients().insert(service_client("operator")));
  auto unregistered = clients().remove_registration("operator", crypto::sha256("issued"));
  ASSERT_FALSE(unregistered);
  EXPECT_EQ(unregistered.error().code, Code::kNotFound);
  ASSERT_TRUE(clients().remove_registration("dyn", crypto::sha256("issued")));
  EXPECT_FALSE(clients().find("dyn")->has_value());
  auto again = clients().remove_registration("dyn", crypto::sha256("issued"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::kNotFound);
}

TEST_P(ClientStoreTest, RemoveDeletesOnce) {
  ASSERT_TRUE(clients().insert(service_client("svc")));
  ASSERT_TRUE(clients().remove("svc"));
  auto again = clients().remove("svc");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::kNotFound);
  auto found = clients().find("svc");
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

// RFC 7591 §3 initial access tokens and RFC 7592 registration tokens (schema migration 20).
InitialAccessToken initial_token(std::string id, std::string token, int64_t uses,
                                 int64_t expires_at) {
  return InitialAccessToken{std::move(id), crypto::sha256(token), "label " + token, uses, 0,
                            expires_at};
}

TEST_P(ClientStoreTest, RegistrationAndLogoutSettingsRoundTripAndDefaultToNone) {
  Client c = service_client("registered");
  c.registration_token_sha256 = crypto::sha256("rat");
  c.backchannel_logout_uri = "https://rp.example/logout";
  c.backchannel_logout_session_required = true;
  ASSERT_TRUE(clients().insert(c));
  ASSERT_TRUE(clients().insert(service_client("operator")));
  const Client registered = **clients().find("registered");
  EXPECT_EQ(registered.registration_token_sha256, crypto::sha256("rat"));
  EXPECT_EQ(registered.backchannel_logout_uri, "https://rp.example/logout");
  EXPECT_TRUE(registered.backchannel_logout_session_required);
  const Client other = **clients().find("operator");
  EXPECT_TRUE(other.registration_token_sha256.empty());
  EXPECT_TRUE(other.backchannel_logout_uri.empty());
  EXPECT_FALSE(other.backchannel_logout_session_required);
  c.registration_token_sha256 = "short";
  auto bad = clients().update(c);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::kInvalidArgument);
}

TEST_P(ClientStoreTest, DisplayMetadataRoundTripsAndIsBounded) {
  Client c = service_client("shown");
  c.client_name = "Invoices \xc3\xa0 la carte";
  c.client_uri = "https://app.example/";
  c.logo_uri = "https://cdn.example/logo.png";
  c.policy_uri = "https://app.example/privacy";
  c.tos_uri = "https://app.example/terms";
  c.contacts = {"ops@app.example", "sec@app.example"};
  ASSERT_TRUE(clients().insert(c));
  ASSERT_TRUE(clients().insert(service_client("plain")));
  const Client shown = **clients().find("shown");
  EXPECT_EQ(shown.client_name, c.client_name);
  EXPECT_EQ(shown.client_uri, c.client_uri);
  EXPECT_EQ(shown.logo_uri, c.logo_uri);
  EXPECT_EQ(shown.policy_uri, c.policy_uri);
  EXPECT_EQ(shown.tos_uri, c.tos_uri);
  EXPECT_EQ(shown.contacts, c.contacts);
  const Client plain = **clients().find("plain");
  EXPECT_TRUE(plain.client_name.empty() && plain.tos_uri.empty() && plain.contacts.empty());
  // Removing them all leaves nothing behind (the column goes back to NULL).
  for (const auto& [name, field] : kDisplayStrings) (c.*field).clear();
  c.contacts.clear();
  ASSERT_TRUE(clients().update(c));
  const Client cleared = **clients().find("shown");
  for (const auto& [name, field] : kDisplayStrings) EXPECT_TRUE((cleared.*field).empty()) << name;
  EXPECT_TRUE(cleared.contacts.empty());
  // Bounded and printable; URLs absolute http(s).
  for (const auto& change : std::vector<std::function<void(Client&)>>{
           [](Client& x) { x.client_name = std::string(kMaxClientNameBytes + 1, 'n'); },
           [](Client& x) { x.client_name = "tab\there"; },
           // RFC 7591 §5: nothing that hides or reorders text (U+202E, U+200B), no C1
           // control (U+0085), no invalid UTF-8.
           [](Client& x) { x.client_name = "Bank\xe2\x80\xae"; },
           [](Client& x) { x.client_name = "Ba\xe2\x80\x8bnk"; },
           [](Client& x) { x.client_name = "Bank\xc2\x85"; },
           [](Client& x) { x.client_name = "Bank\xff"; },
           [](Client& x) { x.client_name = "Bank\xc0\xaf"; },
           [](Client& x) { x.contacts = {"ops\xe2\x81\xa6@app.example"}; },
           [](Client& x) { x.policy_uri = "javascript:alert(1)"; },
           [](Client& x) { x.logo_uri = "https://cdn.example/a b.png"; },
           [](Client& x) {
             x.contacts = std::vector<std::string>(kMaxContacts + 1, "a@b.example");
           },
           [](Client& x) { x.contacts = {""}; }}) {
    Client bad = service_client("shown");
    change(bad);
    auto refused = clients().update(bad);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Code::kInvalidArgument);
  }
}

TEST_P(ClientStoreTest, RegistrationSpendsOneUseOfTheInitialToken) {
  const int64_t now = clock_.now();
  ASSERT_TRUE(clients().create_initial_access_token(initial_token("t1", "tok", 2, now + 60)));
  auto dup = clients().create_initial_access_token(initial_token("t1", "other", 1, now + 60));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Code::kConflict);
  EXPECT_FALSE(clients().create_initial_access_token(initial_token("t2", "x", 0, now + 60)));

  ASSERT_TRUE(clients().register_client(service_client("a"), crypto::sha256("tok")));
  EXPECT_EQ((*clients().find_initial_access_token(crypto::sha256("tok")))->uses_left, 1);
  // A registration that fails (the id exists) spends nothing.
  auto taken = clients().register_client(service_client("a"), crypto::sha256("tok"));
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, Code::kConflict);
  EXPECT_EQ((*clients().find_initial_access_token(crypto::sha256("tok")))->uses_left, 1);
  ASSERT_TRUE(clients().register_client(service_client("b"), crypto::sha256("tok")));
  // Used up: not found, and no client is written.
  EXPECT_FALSE(*clients().find_initial_access_token(crypto::sha256("tok")));
  auto spent = clients().register_client(service_client("c"), crypto::sha256("tok"));
  ASSERT_FALSE(spent);
  EXPECT_EQ(spent.error().code, Code::kNotFound);
  EXPECT_FALSE(*clients().find("c"));
  auto unknown = clients().register_client(service_client("d"), crypto::sha256("nope"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Code::kNotFound);
  // The spent token is still listed (uses_left 0) until revoked.
  auto listed = clients().list_initial_access_tokens();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1U);
  EXPECT_EQ(listed->front().uses_left, 0);
  EXPECT_EQ(listed->front().label, "label tok");
  ASSERT_TRUE(clients().revoke_initial_access_token("t1"));
  EXPECT_EQ(clients().revoke_initial_access_token("t1").error().code, Code::kNotFound);
}

TEST_P(ClientStoreTest, ExpiredInitialTokenAdmitsNothing) {
  ASSERT_TRUE(
      clients().create_initial_access_token(initial_token("t1", "tok", 5, clock_.now() + 10)));
  clock_.advance(10);
  EXPECT_FALSE(*clients().find_initial_access_token(crypto::sha256("tok")));
  auto late = clients().register_client(service_client("late"), crypto::sha256("tok"));
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Code::kNotFound);
}

TEST_P(ClientStoreTest, ConcurrentRegistrationsShareTheLastUseOnce) {
  ASSERT_TRUE(
      clients().create_initial_access_token(initial_token("t1", "tok", 1, clock_.now() + 60)));
  constexpr int kThreads = 8;
  std::array<int, kThreads> won{};
  race(kThreads, [&](int i) {
    auto r =
        clients().register_client(service_client("c" + std::to_string(i)), crypto::sha256("tok"));
    won[i] = r ? 1 : (r.error().code == Code::kNotFound ? 0 : -1);
  });
  int winners = 0;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_NE(won[i], -1) << "thread " << i;
    winners += won[i];
    EXPECT_EQ(clients().find("c" + std::to_string(i))->has_value(), won[i] == 1) << i;
  }
  EXPECT_EQ(winners, 1);
}

TESSERA_ON_BOTH_BACKENDS(ClientStoreTest);

}  // namespace
}  // namespace tessera::store::testing
