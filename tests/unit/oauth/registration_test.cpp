// Dynamic client registration (RFC 7591) and its management (RFC 7592) through the routes
// AuthorizationServer registers: initial access tokens (missing, unknown, used up, expired, and
// not spent by a refused request), the metadata rules (redirect URIs, scopes, grant and response
// types, keys, methods), the credentials handed out working at the token endpoint and stored as
// hashes only, the client configuration endpoint (read, replace, delete with the registration
// access token, nobody else's), software statements signed by a configured issuer, open
// registration, the FAPI 2.0 profile, and no endpoint at all when registration is off.
#include "oauth/registration.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "as_fixture.h"
#include "core/crypto.h"

namespace tessera::oauth::testing {
namespace {

constexpr char kPublisher[] = "https://publisher.example";
constexpr char kPublisherJwks[] = "https://publisher.example/jwks";

class RegistrationTest : public AuthorizationServerTest {
 protected:
  AuthorizationServerOptions server_options() override {
    AuthorizationServerOptions options = AuthorizationServerTest::server_options();
    options.registration.enabled = true;
    options.registration.open = open_;
    options.registration.scopes = {"openid", "invoices:read"};
    options.registration.audiences = {kApiA};
    options.registration.software_statement_issuers = {{kPublisher, kPublisherJwks}};
    options.registration.require_software_statement = require_statement_;
    options.authorization_details_types =
        AuthorizationDetailsTypes(AuthorizationDetailsTypes::Map{{"payment_initiation", {}}});
    options.registration.fetch = [this](const std::string& uri) -> Result<jose::Jwks, std::string> {
      if (uri != kPublisherJwks) return Err(std::string("unknown JWKS ") + uri);
      jose::Jwks set;
      set.add(publisher_key_.public_key());
      return set;
    };
    options.profile.fapi2 = fapi2_;
    return options;
  }
  void populate() override { initial_token_ = make_initial_token(2); }

  // A new initial access token good for `uses` registrations for an hour.
  std::string make_initial_token(int64_t uses) {
    const std::string token = crypto::random_token(32);
    store::InitialAccessToken t{
        crypto::random_token(8), crypto::sha256(token), "test", uses, clock_.now(),
        clock_.now() + 3600};
    EXPECT_TRUE(store_->clients().create_initial_access_token(t));
    return token;
  }
  int64_t uses_left(const std::string& token) {
    auto found = store_->clients().find_initial_access_token(crypto::sha256(token));
    EXPECT_TRUE(found);
    return found && *found ? (*found)->uses_left : 0;
  }
  size_t client_count() {
    auto all = store_->clients().list();
    EXPECT_TRUE(all);
    return all ? all->size() : 0;
  }

  // `method` of `target` with a JSON body and a Bearer `token` (none when empty).
  http::Response send(const std::string& method, const std::string& target,
                      const std::string& token, const std::string& body = {},
                      const std::string& content_type = "application/json") {
    http::Request r;
    r.set_method(method);
    r.set_target(target);
    r.set_peer("192.0.2.7", 40000);
    if (!content_type.empty() && !body.empty()) {
      r.mutable_headers().add("Content-Type", content_type);
    }
    if (!token.empty()) r.mutable_headers().add("Authorization", "Bearer " + token);
    r.mutable_body() = body;
    return call(r);
  }
  http::Response register_with(const json::Json& metadata, const std::string& token) {
    return send("POST", "/register", token, metadata.dump());
  }
  http::Response register_client(const json::Json& metadata) {
    return register_with(metadata, initial_token_);
  }
  static json::Json body(const http::Response& r) {
    auto parsed = json::parse_strict(r.body);
    EXPECT_TRUE(parsed) << r.body;
    return parsed ? *parsed : json::Json();
  }
  static std::string error_of(const http::Response& r) {
    json::Json b = body(r);
    return b.is_object() && b.contains("error") ? b["error"].get<std::string>() : std::string();
  }
  // The configuration endpoint path of a registration response.
  static std::string path_of(const json::Json& registered) {
    const std::string uri = registered["registration_client_uri"].get<std::string>();
    EXPECT_TRUE(uri.starts_with(std::string(kIssuer) + "/register/")) << uri;
    return uri.substr(std::string(kIssuer).size());
  }
  // A client credentials token request of `client_id` with its secret (Basic).
  http::Response client_credentials(const std::string& client_id, const std::string& secret) {
    return call(form_post("/token", encoded({{"grant_type", "client_credentials"}}), client_id,
                          secret, {}));
  }
  static json::Json service_metadata() {
    return {{"grant_types", {"client_credentials"}}, {"scope", "invoices:read"}};
  }
  std::string statement(const json::Json& claims, const jose::Jwk& key) const {
    auto jwt = jose::sign(claims.dump(), key, jose::Alg::kES256);
    EXPECT_TRUE(jwt);
    return jwt ? *jwt : std::string();
  }

  bool open_ = false;
  bool require_statement_ = false;
  bool fapi2_ = false;
  std::string initial_token_;
  jose::Jwk publisher_key_ = *jose::Jwk::generate(jose::Alg::kES256);
};

TEST_F(RegistrationTest, DiscoveryListsTheRegistrationEndpoint) {
  EXPECT_EQ(as_->metadata()["registration_endpoint"], std::string(kIssuer) + "/register");
}

TEST_F(RegistrationTest, RegisteredCredentialsWorkAndOnlyTheirHashesAreStored) {
  auto r = register_client(service_metadata());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.headers.get("Cache-Control"), "no-store");
  json::Json b = body(r);
  const std::string id = b["client_id"].get<std::string>();
  const std::string secret = b["client_secret"].get<std::string>();
  const std::string registration_token = b["registration_access_token"].get<std::string>();
  EXPECT_EQ(b["client_secret_expires_at"], 0);
  EXPECT_EQ(b["client_id_issued_at"], clock_.now());
  EXPECT_EQ(b["token_endpoint_auth_method"], "client_secret_basic");
  EXPECT_EQ(b["grant_types"], json::Json::array({"client_credentials"}));
  EXPECT_EQ(b["response_types"], json::Json::array());
  EXPECT_EQ(b["scope"], "invoices:read");
  EXPECT_EQ(b["registration_client_uri"], std::string(kIssuer) + "/register/" + id);
  EXPECT_EQ(uses_left(initial_token_), 1);

  auto stored = store_->clients().find(id);
  ASSERT_TRUE(stored && *stored);
  const store::Client& c = **stored;
  EXPECT_EQ(c.secret_sha256, crypto::sha256(secret));
  EXPECT_EQ(c.registration_token_sha256, crypto::sha256(registration_token));
  EXPECT_FALSE(c.skip_consent);
  EXPECT_FALSE(c.may_impersonate);
  EXPECT_EQ(c.type, store::ClientType::kConfidential);

  auto token = client_credentials(id, secret);
  ASSERT_EQ(token.status, 200) << token.body;
  EXPECT_EQ(body(token)["scope"], "invoices:read");
  EXPECT_EQ(client_credentials(id, "not-the-secret").status, 401);
}

TEST_F(RegistrationTest, DisplayMetadataIsKeptAndReturned) {
  const json::Json display = {{"client_name", "Invoices \u00e0 la carte"},
                              {"client_uri", "https://app.example/"},
                              {"logo_uri", "https://cdn.example/logo.png"},
                              {"policy_uri", "https://app.example/privacy"},
                              {"tos_uri", "https://app.example/terms"},
                              {"contacts", {"ops@app.example", "security@app.example"}}};
  json::Json request = {{"redirect_uris", {"https://app.example/cb"}},
                        {"token_endpoint_auth_method", "none"}};
  request.update(display);
  auto r = register_client(request);
  ASSERT_EQ(r.status, 201) << r.body;
  json::Json b = body(r);
  for (const auto& [name, value] : display.items()) EXPECT_EQ(b[name], value) << name;
  auto stored = store_->clients().find(b["client_id"].get<std::string>());
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->client_name, "Invoices \u00e0 la carte");
  EXPECT_EQ((*stored)->tos_uri, "https://app.example/terms");
  EXPECT_EQ((*stored)->contacts.size(), 2U);

  // Refused, each with invalid_client_metadata: links shown to users are https; names are
  // bounded and printable; contacts are strings.
  for (const json::Json& bad :
       {json::Json{{"policy_uri", "http://app.example/privacy"}},
        json::Json{{"logo_uri", "javascript:alert(1)"}},
        json::Json{{"client_name", std::string(201, 'n')}},
        json::Json{{"client_name", "two\nlines"}}, json::Json{{"contacts", "ops@app.example"}},
        json::Json{{"contacts", json::Json::array({1})}}, json::Json{{"tos_uri", 42}}}) {
    json::Json refused = {{"redirect_uris", {"https://app.example/cb"}},
                          {"token_endpoint_auth_method", "none"}};
    refused.update(bad);
    auto answer = register_client(refused);
    EXPECT_EQ(answer.status, 400) << bad.dump();
    EXPECT_EQ(body(answer)["error"], "invalid_client_metadata") << bad.dump() << answer.body;
  }
}

TEST_F(RegistrationTest, DefaultsAreTheCodeFlowAndTheRegistrationScopes) {
  auto r = register_client({{"redirect_uris", {"https://app.example/cb"}},
                            {"token_endpoint_auth_method", "none"},
                            {"client_name#fr", "ignoré"}});
  ASSERT_EQ(r.status, 201) << r.body;
  json::Json b = body(r);
  EXPECT_EQ(b["grant_types"], json::Json::array({"authorization_code"}));
  EXPECT_EQ(b["response_types"], json::Json::array({"code"}));
  EXPECT_EQ(b["scope"], "openid invoices:read");
  EXPECT_FALSE(b.contains("client_secret"));
  // RFC 7591 §2.2 language-tagged members are not kept (none is shown), and no name is made up.
  EXPECT_FALSE(b.contains("client_name#fr"));
  EXPECT_FALSE(b.contains("client_name"));
  auto stored = store_->clients().find(b["client_id"].get<std::string>());
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->type, store::ClientType::kPublic);
}

TEST_F(RegistrationTest, InitialAccessTokenIsRequiredAndSpentOncePerUse) {
  const size_t before = client_count();
  auto none = send("POST", "/register", "", service_metadata().dump());
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.headers.get("WWW-Authenticate"), std::string("Bearer realm=\"") + kIssuer + "\"");
  auto unknown = register_with(service_metadata(), "made-up-token");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_NE(unknown.headers.get("WWW-Authenticate")->find("error=\"invalid_token\""),
            std::string::npos);
  EXPECT_EQ(client_count(), before);

  const std::string once = make_initial_token(1);
  EXPECT_EQ(register_with(service_metadata(), once).status, 201);
  EXPECT_EQ(register_with(service_metadata(), once).status, 401);  // used up
  EXPECT_EQ(client_count(), before + 1);

  const std::string later = make_initial_token(5);
  clock_.advance(3601);
  EXPECT_EQ(register_with(service_metadata(), later).status, 401);  // expired
}

TEST_F(RegistrationTest, RefusedMetadataSpendsNothingAndSaysWhy) {
  const size_t before = client_count();
  struct Case {
    json::Json metadata;
    const char* error;
  };
  const Case cases[] = {
      {{{"redirect_uris", {"http://evil.example/cb"}}}, "invalid_redirect_uri"},
      {{{"redirect_uris", {"https://app.example/cb#frag"}}}, "invalid_redirect_uri"},
      {{{"redirect_uris", "https://app.example/cb"}}, "invalid_client_metadata"},
      {{{"grant_types", {"authorization_code"}}}, "invalid_redirect_uri"},
      {{{"grant_types", {"client_credentials"}}, {"scope", "invoices:write"}},
       "invalid_client_metadata"},
      {{{"grant_types", {"urn:ietf:params:oauth:grant-type:token-exchange"}}},
       "invalid_client_metadata"},
      {{{"grant_types", {"password"}}}, "invalid_client_metadata"},
      {{{"grant_types", {"client_credentials"}}, {"response_types", {"code"}}},
       "invalid_client_metadata"},
      {{{"redirect_uris", {"https://app.example/cb"}}, {"response_types", {"token"}}},
       "invalid_client_metadata"},
      {{{"grant_types", {"client_credentials"}}, {"token_endpoint_auth_method", "none"}},
       "invalid_client_metadata"},
      {{{"grant_types", {"client_credentials"}}, {"jwks_uri", "http://app.example/jwks"}},
       "invalid_client_metadata"},
      {{{"grant_types", {"client_credentials"}}, {"jwks_uri", "http://127.0.0.1:8080/jwks"}},
       "invalid_client_metadata"},
      {{{"grant_types", {"client_credentials"}},
        {"token_endpoint_auth_method", "private_key_jwt"},
        {"jwks_uri", "https://app.example/jwks"},
        {"jwks", {{"keys", {publisher_key_.public_key().to_json()}}}}},
       "invalid_client_metadata"},
      {{{"grant_types", {"client_credentials"}}, {"token_endpoint_auth_method", "private_key_jwt"}},
       "invalid_client_metadata"},
      {{{"grant_types", {"client_credentials"}},
        {"token_endpoint_auth_method", "private_key_jwt"},
        {"jwks", {{"keys", {publisher_key_.to_json(true)}}}}},
       "invalid_client_metadata"},
      {{{"grant_types", {"client_credentials"}},
        {"token_endpoint_auth_method", "tls_client_auth"},
        {"tls_client_auth_subject_dn", "CN=x"}},
       "invalid_client_metadata"},
      {{{"grant_types", {"client_credentials"}}, {"dpop_bound_access_tokens", "yes"}},
       "invalid_client_metadata"},
      {{{"grant_types", {"client_credentials"}},
        {"backchannel_logout_uri", "http://rp.example/logout"}},
       "invalid_client_metadata"},
      {{{"grant_types", {"client_credentials"}},
        {"backchannel_logout_uri", "com.example.app:/logout"}},
       "invalid_client_metadata"},
      // The server posts there itself: not this machine or a private network.
      {{{"grant_types", {"client_credentials"}},
        {"backchannel_logout_uri", "http://127.0.0.1:8080/logout"}},
       "invalid_client_metadata"},
      {{{"grant_types", {"client_credentials"}},
        {"backchannel_logout_uri", "https://localhost/logout"}},
       "invalid_client_metadata"},
      {{{"grant_types", {"client_credentials"}},
        {"backchannel_logout_uri", "https://169.254.169.254/latest"}},
       "invalid_client_metadata"},
      {{{"grant_types", {"client_credentials"}},
        {"backchannel_logout_uri", "https://[fd00::1]/logout"}},
       "invalid_client_metadata"},
  };
  for (const Case& c : cases) {
    auto r = register_client(c.metadata);
    EXPECT_EQ(r.status, 400) << c.metadata.dump() << " " << r.body;
    EXPECT_EQ(error_of(r), c.error) << c.metadata.dump() << " " << r.body;
  }
  auto form = send("POST", "/register", initial_token_, "grant_types=client_credentials",
                   "application/x-www-form-urlencoded");
  EXPECT_EQ(form.status, 400);
  EXPECT_EQ(error_of(form), "invalid_client_metadata");
  EXPECT_EQ(send("POST", "/register", initial_token_, "[1,2]").status, 400);
  EXPECT_EQ(client_count(), before);
  EXPECT_EQ(uses_left(initial_token_), 2);
}

TEST_F(RegistrationTest, BackchannelLogoutUriIsRegistered) {
  json::Json metadata = service_metadata();
  metadata["backchannel_logout_uri"] = "https://rp.example/logout?from=as";
  metadata["backchannel_logout_session_required"] = true;
  auto r = register_client(metadata);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body(r)["backchannel_logout_uri"], "https://rp.example/logout?from=as");
  EXPECT_EQ(body(r)["backchannel_logout_session_required"], true);
  auto stored = store_->clients().find(body(r)["client_id"].get<std::string>());
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->backchannel_logout_uri, "https://rp.example/logout?from=as");
  EXPECT_TRUE((*stored)->backchannel_logout_session_required);
}

// RFC 9396 §10.2: the types a client uses, each one the server knows; CIBA is not registrable.
TEST_F(RegistrationTest, AuthorizationDetailsTypesAreRegisteredWhenKnown) {
  json::Json metadata = service_metadata();
  metadata["authorization_details_types"] = {"payment_initiation"};
  auto r = register_client(metadata);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body(r)["authorization_details_types"], json::Json({"payment_initiation"}));
  auto stored = store_->clients().find(body(r)["client_id"].get<std::string>());
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->authorization_details_types, std::vector<std::string>{"payment_initiation"});

  metadata["authorization_details_types"] = {"wire_transfer"};
  auto unknown = register_client(metadata);
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(error(unknown), "invalid_client_metadata");
  metadata["authorization_details_types"] = "payment_initiation";
  EXPECT_EQ(error(register_client(metadata)), "invalid_client_metadata");
  metadata.erase("authorization_details_types");
  metadata["grant_types"] = {"urn:openid:params:grant-type:ciba"};
  EXPECT_EQ(error(register_client(metadata)), "invalid_client_metadata");
}

TEST_F(RegistrationTest, PrivateKeyJwtClientRegistersItsPublicKeys) {
  const jose::Jwk key = *jose::Jwk::generate(jose::Alg::kES256);
  auto r = register_client({{"grant_types", {"client_credentials"}},
                            {"token_endpoint_auth_method", "private_key_jwt"},
                            {"jwks", {{"keys", {key.public_key().to_json()}}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  json::Json b = body(r);
  EXPECT_FALSE(b.contains("client_secret"));
  EXPECT_EQ(b["jwks"]["keys"].size(), 1U);
  auto stored = store_->clients().find(b["client_id"].get<std::string>());
  ASSERT_TRUE(stored && *stored);
  EXPECT_TRUE((*stored)->secret_sha256.empty());
  EXPECT_EQ((*stored)->auth_method, store::ClientAuthMethod::kPrivateKeyJwt);
}

TEST_F(RegistrationTest, ConfigurationEndpointReadsWithItsOwnTokenOnly) {
  json::Json a = body(register_client(service_metadata()));
  json::Json b = body(register_client(service_metadata()));
  const std::string path = path_of(a);
  auto read = send("GET", path, a["registration_access_token"].get<std::string>());
  ASSERT_EQ(read.status, 200) << read.body;
  json::Json got = body(read);
  EXPECT_EQ(got["client_id"], a["client_id"]);
  EXPECT_EQ(got["registration_access_token"], a["registration_access_token"]);
  EXPECT_FALSE(got.contains("client_secret"));  // only its hash is kept

  auto other = send("GET", path, b["registration_access_token"].get<std::string>());
  EXPECT_EQ(other.status, 401);
  EXPECT_NE(other.headers.get("WWW-Authenticate")->find("invalid_token"), std::string::npos);
  EXPECT_EQ(send("GET", path, "").status, 401);
  EXPECT_EQ(
      send("GET", "/register/nobody", a["registration_access_token"].get<std::string>()).status,
      401);
  // A client an operator made has no registration access token: not manageable here.
  add_client("operator-made", "s3cret");
  EXPECT_EQ(send("GET", "/register/operator-made", "").status, 401);
}

TEST_F(RegistrationTest, UpdateReplacesTheMetadataAndKeepsTheSecret) {
  json::Json a = body(register_client(service_metadata()));
  const std::string id = a["client_id"].get<std::string>();
  std::string token = a["registration_access_token"].get<std::string>();
  const std::string path = path_of(a);
  ASSERT_EQ(client_credentials(id, a["client_secret"].get<std::string>()).status, 200);

  json::Json update = {{"client_id", id},
                       {"client_secret", a["client_secret"]},
                       {"grant_types", {"authorization_code", "refresh_token"}},
                       {"redirect_uris", {"https://app.example/new"}},
                       {"scope", "openid"}};
  auto r = send("PUT", path, token, update.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json::Json b = body(r);
  // RFC 7592 §3: a new registration access token; the one used stops working.
  ASSERT_TRUE(b["registration_access_token"].is_string());
  const std::string rotated = b["registration_access_token"].get<std::string>();
  EXPECT_NE(rotated, token);
  EXPECT_EQ(send("GET", path, token).status, 401);
  EXPECT_EQ(send("PUT", path, token, update.dump()).status, 401);
  auto read = send("GET", path, rotated);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(body(read)["registration_access_token"], rotated);  // a read does not rotate
  token = rotated;
  EXPECT_EQ(b["redirect_uris"], json::Json::array({"https://app.example/new"}));
  EXPECT_EQ(b["scope"], "openid");
  EXPECT_FALSE(b.contains("client_secret"));  // unchanged, not shown
  auto stored = store_->clients().find(id);
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->secret_sha256, crypto::sha256(a["client_secret"].get<std::string>()));
  EXPECT_EQ((*stored)->created_at, a["client_id_issued_at"]);
  // client_credentials is gone: the cache was told at once.
  EXPECT_EQ(client_credentials(id, a["client_secret"].get<std::string>()).status, 400);

  // What an operator set stays: the client replaces its metadata, not the server's policy.
  update_client(id, [](store::Client& c) {
    c.access_token_lifetime = 60;
    c.audiences = {"urn:operator:choice"};
  });
  auto second = send("PUT", path, token, update.dump());
  ASSERT_EQ(second.status, 200) << second.body;
  token = body(second)["registration_access_token"].get<std::string>();
  auto kept = store_->clients().find(id);
  ASSERT_TRUE(kept && *kept);
  EXPECT_EQ((*kept)->access_token_lifetime, 60);
  EXPECT_EQ((*kept)->audiences, std::vector<std::string>{"urn:operator:choice"});

  auto refused = [&](json::Json changed) {
    auto answer = send("PUT", path, token, changed.dump());
    EXPECT_EQ(answer.status, 400) << changed.dump();
    EXPECT_EQ(error_of(answer), "invalid_client_metadata") << answer.body;
  };
  json::Json wrong_id = update;
  wrong_id["client_id"] = "someone-else";
  refused(wrong_id);
  json::Json no_id = update;
  no_id.erase("client_id");
  refused(no_id);
  json::Json server_member = update;
  server_member["registration_access_token"] = token;
  refused(server_member);
  json::Json chosen_secret = update;
  chosen_secret["client_secret"] = "my-own-secret";
  refused(chosen_secret);
  auto again = store_->clients().find(id);
  ASSERT_TRUE(again && *again);
  EXPECT_EQ((*again)->redirect_uris, std::vector<std::string>{"https://app.example/new"});
  // A refused update rotates nothing: the token still works.
  EXPECT_EQ(send("GET", path, token).status, 200);
  EXPECT_EQ((*again)->registration_token_sha256, crypto::sha256(token));
}

TEST_F(RegistrationTest, DeleteEndsTheClientAndItsGrants) {
  json::Json a = body(register_client(service_metadata()));
  const std::string id = a["client_id"].get<std::string>();
  const std::string secret = a["client_secret"].get<std::string>();
  const std::string token = a["registration_access_token"].get<std::string>();
  store::GrantRecord grant;
  grant.id = "grant-of-registered";
  grant.client_id = id;
  grant.subject = "user-1";
  grant.scopes = {"invoices:read"};
  grant.expires_at = clock_.now() + 3600;
  ASSERT_TRUE(store_->grants().create_grant(grant, std::nullopt));
  ASSERT_EQ(client_credentials(id, secret).status, 200);

  auto r = send("DELETE", path_of(a), token);
  EXPECT_EQ(r.status, 204);
  auto stored = store_->clients().find(id);
  ASSERT_TRUE(stored);
  EXPECT_FALSE(*stored);
  auto revoked = store_->grants().find_grant("grant-of-registered");
  ASSERT_TRUE(revoked && *revoked);
  EXPECT_TRUE((*revoked)->revoked_at.has_value());
  EXPECT_EQ(client_credentials(id, secret).status, 401);
  EXPECT_EQ(send("GET", path_of(a), token).status, 401);
}

// The store a second RegistrationEndpoint works on in the race tests: every call goes to the real
// store, and `before_write` (when set) runs just before each conditional write, as another writer
// that lands between the endpoint's read of the client and its write.
class RacingClientStore final : public store::ClientStore {
 public:
  explicit RacingClientStore(store::ClientStore& real) : real_(real) {}
  std::function<void()> before_write;
  int writes = 0;

  store::StoreResult<Ok> insert(const store::Client& c) override { return real_.insert(c); }
  store::StoreResult<std::optional<store::Client>> find(std::string_view id) override {
    return real_.find(id);
  }
  store::StoreResult<std::vector<store::Client>> list() override { return real_.list(); }
  store::StoreResult<Ok> update(const store::Client& c) override { return real_.update(c); }
  store::StoreResult<Ok> update_registration(const store::Client& c,
                                             std::string_view token_sha256) override {
    race();
    return real_.update_registration(c, token_sha256);
  }
  store::StoreResult<Ok> remove(std::string_view id) override { return real_.remove(id); }
  store::StoreResult<Ok> remove_registration(std::string_view id,
                                             std::string_view token_sha256) override {
    race();
    return real_.remove_registration(id, token_sha256);
  }
  store::StoreResult<Ok> register_client(const store::Client& c,
                                         std::optional<std::string> initial_token_sha256) override {
    return real_.register_client(c, std::move(initial_token_sha256));
  }
  store::StoreResult<Ok> create_initial_access_token(const store::InitialAccessToken& t) override {
    return real_.create_initial_access_token(t);
  }
  store::StoreResult<std::optional<store::InitialAccessToken>> find_initial_access_token(
      std::string_view token_sha256) override {
    return real_.find_initial_access_token(token_sha256);
  }
  store::StoreResult<std::vector<store::InitialAccessToken>> list_initial_access_tokens() override {
    return real_.list_initial_access_tokens();
  }
  store::StoreResult<Ok> revoke_initial_access_token(std::string_view id) override {
    return real_.revoke_initial_access_token(id);
  }

 private:
  void race() {
    ++writes;
    if (before_write) before_write();
  }
  store::ClientStore& real_;
};

// RFC 7592 management racing other writers: an operator's `tessera client update`, or the
// client's own update with the same token, landing between the endpoint's read and its write.
class RegistrationRaceTest : public RegistrationTest {
 protected:
  void SetUp() override {
    RegistrationTest::SetUp();
    RegistrationOptions options = server_options().registration;
    options.issuer = kIssuer;
    racing_ = std::make_unique<RacingClientStore>(store_->clients());
    cache_ = std::make_unique<ClientCache>(*racing_, clock_);
    endpoint_ = std::make_unique<RegistrationEndpoint>(options, *racing_, store_->grants(), *cache_,
                                                       clock_);
    registered_ = body(register_client(service_metadata()));
    id_ = registered_["client_id"].get<std::string>();
    token_ = registered_["registration_access_token"].get<std::string>();
  }
  // `method` on the client's configuration endpoint of the racing endpoint.
  http::Response manage(const std::string& method, const std::string& token,
                        const std::string& body = {}) {
    http::Request r;
    r.set_method(method);
    r.set_target("/register/" + id_);
    r.mutable_params().emplace_back("client_id", id_);
    r.mutable_headers().add("Authorization", "Bearer " + token);
    if (!body.empty()) r.mutable_headers().add("Content-Type", "application/json");
    r.mutable_body() = body;
    return method == "PUT" ? endpoint_->update(r) : endpoint_->remove(r);
  }
  std::string update_body() const {
    return json::Json{
        {"client_id", id_}, {"grant_types", {"client_credentials"}}, {"scope", "openid"}}
        .dump();
  }
  store::Client stored() {
    auto found = store_->clients().find(id_);
    EXPECT_TRUE(found && *found);
    return found && *found ? **found : store::Client{};
  }

  std::unique_ptr<RacingClientStore> racing_;
  std::unique_ptr<ClientCache> cache_;
  std::unique_ptr<RegistrationEndpoint> endpoint_;
  json::Json registered_;
  std::string id_;
  std::string token_;
};

// An operator's change that lands first is kept: the client's update is merged again on top of
// it instead of writing back what it read.
TEST_F(RegistrationRaceTest, UpdateKeepsAnOperatorChangeMadeMeanwhile) {
  racing_->before_write = [&] {
    racing_->before_write = nullptr;
    store::Client c = stored();
    c.may_impersonate = true;
    c.access_token_lifetime = 60;
    ASSERT_TRUE(store_->clients().update(c));
  };
  auto r = manage("PUT", token_, update_body());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(racing_->writes, 2);  // the first write lost, the second landed
  const store::Client after = stored();
  EXPECT_TRUE(after.may_impersonate);
  EXPECT_EQ(after.access_token_lifetime, 60);
  EXPECT_EQ(after.scopes, std::vector<std::string>{"openid"});
  EXPECT_EQ(after.registration_token_sha256,
            crypto::sha256(body(r)["registration_access_token"].get<std::string>()));
  EXPECT_EQ(after.revision, 2);
}

// Two updates made with one token: the one that lands second finds the token spent (401) and
// changes nothing.
TEST_F(RegistrationRaceTest, UpdateAfterTheTokenWasRotatedMeanwhileIsRefused) {
  std::string rotated;
  racing_->before_write = [&] {
    racing_->before_write = nullptr;
    auto other =
        manage("PUT", token_,
               json::Json{{"client_id", id_}, {"grant_types", {"client_credentials"}}}.dump());
    ASSERT_EQ(other.status, 200) << other.body;
    rotated = body(other)["registration_access_token"].get<std::string>();
  };
  auto r = manage("PUT", token_, update_body());
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.headers.get("WWW-Authenticate").value_or("").find("invalid_token"),
            std::string::npos);
  const store::Client after = stored();
  EXPECT_EQ(after.registration_token_sha256, crypto::sha256(rotated));
  EXPECT_NE(after.scopes, std::vector<std::string>{"openid"});
}

// A client whose operator changes it on every try gets 503 after three tries, and nothing of its
// update is written.
TEST_F(RegistrationRaceTest, UpdateGivesUpAfterThreeLostWrites) {
  racing_->before_write = [&] {
    store::Client c = stored();
    c.access_token_lifetime = c.access_token_lifetime == 60 ? 120 : 60;
    ASSERT_TRUE(store_->clients().update(c));
  };
  auto r = manage("PUT", token_, update_body());
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(error_of(r), "temporarily_unavailable");
  EXPECT_EQ(racing_->writes, 3);
  const store::Client after = stored();
  EXPECT_EQ(after.registration_token_sha256, crypto::sha256(token_));
  EXPECT_NE(after.scopes, std::vector<std::string>{"openid"});
}

// RFC 7592 §2.3 with rotated tokens: a delete authorized with a token that an update spent in the
// meantime is refused, and the client stays.
TEST_F(RegistrationRaceTest, DeleteAfterTheTokenWasRotatedMeanwhileIsRefused) {
  racing_->before_write = [&] {
    racing_->before_write = nullptr;
    auto other = manage("PUT", token_, update_body());
    ASSERT_EQ(other.status, 200) << other.body;
  };
  auto r = manage("DELETE", token_);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(stored().scopes, std::vector<std::string>{"openid"});  // the update landed, and stays
}

TEST_F(RegistrationTest, SoftwareStatementClaimsWin) {
  json::Json claims = {
      {"iss", kPublisher}, {"software_id", "app-1"}, {"scope", "openid"}, {"iat", clock_.now()}};
  json::Json metadata = service_metadata();
  metadata["scope"] = "openid invoices:read";
  metadata["software_statement"] = statement(claims, publisher_key_);
  auto r = register_client(metadata);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body(r)["scope"], "openid");

  const jose::Jwk rogue = *jose::Jwk::generate(jose::Alg::kES256);
  metadata["software_statement"] = statement(claims, rogue);
  auto forged = register_client(metadata);
  EXPECT_EQ(forged.status, 400);
  EXPECT_EQ(error_of(forged), "invalid_software_statement");

  json::Json stranger = claims;
  stranger["iss"] = "https://stranger.example";
  metadata["software_statement"] = statement(stranger, publisher_key_);
  auto unapproved = register_client(metadata);
  EXPECT_EQ(unapproved.status, 400);
  EXPECT_EQ(error_of(unapproved), "unapproved_software_statement");

  json::Json expired = claims;
  expired["exp"] = clock_.now() - 3600;
  metadata["software_statement"] = statement(expired, publisher_key_);
  EXPECT_EQ(error_of(register_client(metadata)), "invalid_software_statement");
  metadata["software_statement"] = "not-a-jwt";
  EXPECT_EQ(error_of(register_client(metadata)), "invalid_software_statement");
}

class RequiredStatementTest : public RegistrationTest {
 protected:
  void SetUp() override {
    require_statement_ = true;
    RegistrationTest::SetUp();
  }
};

TEST_F(RequiredStatementTest, RegistrationWithoutAStatementIsRefused) {
  auto r = register_client(service_metadata());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_of(r), "invalid_software_statement");
  json::Json metadata = service_metadata();
  metadata["software_statement"] = statement({{"iss", kPublisher}}, publisher_key_);
  EXPECT_EQ(register_client(metadata).status, 201);
}

class OpenRegistrationTest : public RegistrationTest {
 protected:
  void SetUp() override {
    open_ = true;
    RegistrationTest::SetUp();
  }
};

TEST_F(OpenRegistrationTest, AnyoneMayRegisterWithinABudgetPerAddress) {
  auto r = send("POST", "/register", "", service_metadata().dump());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(uses_left(initial_token_), 2);
  // Registrations from one address until the budget runs out.
  int registered = 1;
  http::Response last;
  for (int i = 0; i < 60; ++i) {
    last = send("POST", "/register", "", service_metadata().dump());
    if (last.status != 201) break;
    ++registered;
  }
  EXPECT_EQ(last.status, 429);
  EXPECT_TRUE(last.headers.get("Retry-After").has_value());
  EXPECT_EQ(registered, identity::LoginThrottleOptions{}.address.max_failures);
  EXPECT_EQ(client_count(), static_cast<size_t>(registered));
}

class FapiRegistrationTest : public RegistrationTest {
 protected:
  void SetUp() override {
    fapi2_ = true;
    RegistrationTest::SetUp();
  }
};

TEST_F(FapiRegistrationTest, SecretsAreRefusedKeysAccepted) {
  auto secret = register_client(service_metadata());
  EXPECT_EQ(secret.status, 400);
  EXPECT_EQ(error_of(secret), "invalid_client_metadata");
  const jose::Jwk key = *jose::Jwk::generate(jose::Alg::kES256);
  json::Json metadata = service_metadata();
  metadata["token_endpoint_auth_method"] = "private_key_jwt";
  metadata["jwks"] = {{"keys", {key.public_key().to_json()}}};
  EXPECT_EQ(register_client(metadata).status, 201);
}

TEST_F(RegistrationTest, InitialTokenGuessesAreThrottledPerAddress) {
  int refused = 0;
  for (int i = 0; i < 60; ++i) {
    if (register_with(service_metadata(), "guess-" + std::to_string(i)).status == 401) ++refused;
  }
  EXPECT_EQ(refused, 60);
  auto r = register_client(service_metadata());  // the right token, from the same address
  EXPECT_EQ(r.status, 401);
  EXPECT_TRUE(r.headers.get("Retry-After").has_value());
  EXPECT_EQ(uses_left(initial_token_), 2);
}

class RegistrationOffTest : public AuthorizationServerTest {};

TEST_F(RegistrationOffTest, NoEndpointAndNoMetadataWhenOff) {
  EXPECT_FALSE(as_->metadata().contains("registration_endpoint"));
  http::Request r;
  r.set_method("POST");
  r.set_target("/register");
  r.mutable_headers().add("Content-Type", "application/json");
  r.mutable_body() = "{}";
  EXPECT_EQ(call(r).status, 404);
}

}  // namespace
}  // namespace tessera::oauth::testing
