#include "app/demo_seed.h"

#include <tuple>

#include "core/base64url.h"
#include "core/crypto.h"
#include "fga/dsl.h"
#include "fga/engine.h"
#include "identity/authenticator.h"
#include "identity/base32.h"
#include "identity/password_hash.h"
#include "identity/totp.h"
#include "oauth/ciba.h"
#include "oauth/client_auth.h"
#include "oauth/scope.h"

namespace tessera::app {
namespace {

// A value generated once per data directory.
Result<std::string> kept(store::Store& store, const std::string& name, std::string_view fresh) {
  auto value = store.settings().put_if_absent("demo." + name, fresh);
  if (!value) return Err("cannot keep demo." + name + ": " + value.error().message);
  return value->value;
}

// Inserts the client, or when it exists from an earlier start, points its redirect URIs at
// this start's issuer (the demo may run on another port over the same data directory).
Result<Ok> ensure_client(store::Store& store, const store::Client& client) {
  auto existing = store.clients().find(client.client_id);
  if (!existing) return Err("cannot read clients: " + existing.error().message);
  if (*existing) {
    store::Client current = **existing;
    if (current.redirect_uris == client.redirect_uris &&
        current.post_logout_redirect_uris == client.post_logout_redirect_uris) {
      return Ok{};
    }
    current.redirect_uris = client.redirect_uris;
    current.post_logout_redirect_uris = client.post_logout_redirect_uris;
    auto updated = store.clients().update(current);
    if (!updated) return Err("cannot update client " + client.client_id);
    return Ok{};
  }
  auto inserted = store.clients().insert(client);
  if (!inserted && inserted.error().code != store::StoreError::Code::kConflict) {
    return Err("cannot seed client " + client.client_id + ": " + inserted.error().message);
  }
  return Ok{};
}

// A confidential client whose secret is generated once per data directory (kept); returns its
// readiness entry without the audience, which the caller names.
Result<json::Json> ensure_confidential_client(store::Store& store, const DemoSeedOptions& options,
                                              store::Client client) {
  auto secret =
      kept(store, "clients." + client.client_id + ".secret", oauth::generate_client_secret());
  if (!secret) return Err(secret.error());
  client.type = store::ClientType::kConfidential;
  client.secret_sha256 = crypto::sha256(*secret);
  client.access_token_lifetime = options.access_token_lifetime;
  if (auto ok = ensure_client(store, client); !ok) return Err(ok.error());
  return json::Json{{"client_id", client.client_id},
                    {"client_secret", *secret},
                    {"token_endpoint_auth_method", store::to_string(client.auth_method)},
                    {"scope", oauth::join_scope(client.scopes)}};
}

Result<Ok> ensure_user(store::Store& store, const std::string& username,
                       const std::string& password, const json::Json& profile,
                       const std::optional<std::string>& totp_seed, const std::string& secret_key) {
  auto existing = store.users().find_by_username(username);
  if (!existing) return Err("cannot read users: " + existing.error().message);
  if (*existing) return Ok{};
  auto hash = identity::hash_password(password);
  if (!hash) return Err(std::string("cannot hash the demo password"));
  auto created = store.users().create({username, *hash, profile.dump()});
  if (!created) {
    if (created.error().code == store::StoreError::Code::kConflict) return Ok{};
    return Err("cannot seed user " + username + ": " + created.error().message);
  }
  if (totp_seed) {
    auto set = store.users().set_totp(
        created->id, identity::seal_totp_secret(secret_key, created->id, *totp_seed));
    if (!set) return Err("cannot enrol the demo TOTP: " + set.error().message);
  }
  return Ok{};
}

}  // namespace

Result<json::Json> seed_demo(store::Store& store, const DemoSeedOptions& options) {
  json::Json out = {{"clients", json::Json::object()}, {"users", json::Json::object()}};

  // The browser app: public, PKCE, refresh tokens rotated on every use.
  {
    store::Client spa;
    spa.client_id = "spa";
    spa.type = store::ClientType::kPublic;
    spa.auth_method = store::ClientAuthMethod::kNone;
    spa.grant_types = {"authorization_code", "refresh_token"};
    // The first for clients that read the code themselves; the second is the demo's
    // single-page app (demo_spa.h).
    spa.redirect_uris = {options.issuer + "/demo/callback", options.issuer + "/demo/app"};
    spa.post_logout_redirect_uris = {options.issuer + "/demo/signed-out"};
    spa.scopes = {"openid",         "profile",       "email",
                  "offline_access", "invoices:read", "invoices:write"};
    spa.audiences = {std::string(kDemoInvoicesAudience)};
    spa.access_token_lifetime = options.access_token_lifetime;
    if (auto ok = ensure_client(store, spa); !ok) return Err(ok.error());
    out["clients"]["spa"] = {{"client_id", spa.client_id},
                             {"redirect_uris", spa.redirect_uris},
                             {"post_logout_redirect_uris", spa.post_logout_redirect_uris},
                             {"scope", oauth::join_scope(spa.scopes)},
                             {"audience", kDemoInvoicesAudience}};
  }
  // The backend service: client credentials, client_secret_basic.
  {
    store::Client service;
    service.client_id = "service";
    service.auth_method = store::ClientAuthMethod::kClientSecretBasic;
    service.grant_types = {"client_credentials"};
    service.scopes = {"invoices:read", "invoices:write"};
    service.audiences = {std::string(kDemoInvoicesAudience)};
    auto entry = ensure_confidential_client(store, options, std::move(service));
    if (!entry) return Err(entry.error());
    (*entry)["audience"] = kDemoInvoicesAudience;
    out["clients"]["service"] = std::move(*entry);
  }
  // The API that calls another API on the user's behalf (RFC 8693): client_secret_post, and
  // introspection of the tokens aimed at it.
  {
    store::Client exchange;
    exchange.client_id = "exchange";
    exchange.auth_method = store::ClientAuthMethod::kClientSecretPost;
    exchange.grant_types = {"urn:ietf:params:oauth:grant-type:token-exchange",
                            "client_credentials"};
    exchange.scopes = {"invoices:read", "ledger:read"};
    exchange.audiences = {std::string(kDemoInvoicesAudience), std::string(kDemoLedgerAudience)};
    auto entry = ensure_confidential_client(store, options, std::move(exchange));
    if (!entry) return Err(entry.error());
    (*entry)["audience"] = kDemoLedgerAudience;
    out["clients"]["exchange"] = std::move(*entry);
  }
  // A service desk that signs users in from elsewhere (OpenID CIBA, poll mode): it names the user
  // (login_hint), the user approves at /ciba in their own browser.
  {
    store::Client desk;
    desk.client_id = "desk";
    desk.auth_method = store::ClientAuthMethod::kClientSecretBasic;
    desk.grant_types = {std::string(oauth::kCibaGrantType)};
    desk.scopes = {"openid", "profile", "invoices:read"};
    desk.audiences = {std::string(kDemoInvoicesAudience)};
    auto entry = ensure_confidential_client(store, options, std::move(desk));
    if (!entry) return Err(entry.error());
    (*entry)["grant_type"] = oauth::kCibaGrantType;
    (*entry)["audience"] = kDemoInvoicesAudience;
    out["clients"]["desk"] = std::move(*entry);
  }
  // Users: alice signs in with a password, bob also with TOTP.
  auto alice_password = kept(store, "users.alice.password", crypto::random_token(12));
  auto bob_password = kept(store, "users.bob.password", crypto::random_token(12));
  auto bob_totp = kept(store, "users.bob.totp",
                       identity::base32::encode(identity::new_totp_secret(), /*pad=*/false));
  if (!alice_password) return Err(alice_password.error());
  if (!bob_password) return Err(bob_password.error());
  if (!bob_totp) return Err(bob_totp.error());
  auto bob_seed = identity::base32::decode(*bob_totp);
  if (!bob_seed) return Err(std::string("the demo TOTP secret is unreadable"));
  json::Json alice_profile = {{"name", "Alice Example"},
                              {"given_name", "Alice"},
                              {"family_name", "Example"},
                              {"email", "alice@example.com"},
                              {"email_verified", true}};
  json::Json bob_profile = {{"name", "Bob Example"},
                            {"given_name", "Bob"},
                            {"family_name", "Example"},
                            {"email", "bob@example.com"},
                            {"email_verified", true}};
  if (auto ok = ensure_user(store, "alice", *alice_password, alice_profile, std::nullopt,
                            options.secret_key);
      !ok) {
    return Err(ok.error());
  }
  if (auto ok =
          ensure_user(store, "bob", *bob_password, bob_profile, *bob_seed, options.secret_key);
      !ok) {
    return Err(ok.error());
  }
  out["users"]["alice"] = {{"username", "alice"}, {"password", *alice_password}};
  out["users"]["bob"] = {
      {"username", "bob"}, {"password", *bob_password}, {"totp_secret", *bob_totp}};
  return out;
}

const char* const kDemoInvoicesModel = R"(model
  schema 1.1

type user

type tenant
  relations
    define member: [user]
    define accountant: [user]

type invoice
  relations
    define tenant: [tenant]
    define owner: [user]
    define viewer: owner or accountant from tenant
    define editor: owner
)";

std::string demo_fga_token(std::string_view secret_key) {
  return base64url::encode(
      crypto::hmac(crypto::Digest::kSha256, secret_key, "tessera demo fga preshared key"));
}

resource::HmacKey demo_gateway_signing_key(std::string_view secret_key) {
  return {"demo-gateway",
          crypto::hmac(crypto::Digest::kSha256, secret_key, "tessera demo gateway signature key")};
}

Result<json::Json> seed_demo_fga(store::Store& store) {
  json::Json out = json::Json::object();
  auto store_id = store.settings().get("demo.fga.store");
  auto model_id = store.settings().get("demo.fga.model");
  if (!store_id || !model_id) return Err(std::string("cannot read the demo FGA settings"));
  if (*store_id && *model_id) {
    out["fga_store"] = **store_id;
    out["fga_model"] = **model_id;
    return out;
  }
  auto fail = [](const fga::Error& e) {
    return Err("cannot seed the demo FGA store: " + std::string(fga::error_name(e.code)) + ": " +
               e.message);
  };
  auto model = fga::parse_dsl(kDemoInvoicesModel);
  if (!model) return Err("the demo model does not parse: " + model.error().message);
  auto created = store.fga().create_store("demo");
  if (!created) return fail(created.error());
  auto written = store.fga().write_model(created->id, *model);
  if (!written) return fail(written.error());
  auto engine = fga::Engine::create(*model);
  if (!engine) return fail(engine.error());
  store::FgaWriteRequest tuples;
  tuples.model_id = *written;
  for (auto [object, relation, user] : {std::tuple{"tenant:acme", "member", "user:alice"},
                                        std::tuple{"tenant:acme", "member", "user:bob"},
                                        std::tuple{"tenant:acme", "accountant", "user:bob"},
                                        std::tuple{"invoice:inv-1", "tenant", "tenant:acme"},
                                        std::tuple{"invoice:inv-1", "owner", "user:alice"},
                                        std::tuple{"invoice:inv-2", "tenant", "tenant:acme"},
                                        std::tuple{"invoice:inv-2", "owner", "user:bob"}}) {
    tuples.writes.push_back({object, relation, user, "", nullptr});
  }
  tuples.validate_write = [&engine](const fga::Model&, const fga::TupleKey& key) {
    return engine->validate_tuple(key);
  };
  if (auto ok = store.fga().write_tuples(created->id, tuples); !ok) return fail(ok.error());
  if (!store.settings().put("demo.fga.model", *written) ||
      !store.settings().put("demo.fga.store", created->id)) {
    return Err(std::string("cannot keep the demo FGA store"));
  }
  out["fga_store"] = created->id;
  out["fga_model"] = *written;
  return out;
}

}  // namespace tessera::app
