// What the oauth tests share: a fresh SQLite store per test in a temporary directory, a fixed
// clock, a secret key, the server's own SigningKeys, TokenService and TokenResolver on demand,
// and helpers to register clients, grants and tokens and to build requests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/base64url.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "http/message.h"
#include "http/server.h"
#include "jose/jose.h"
#include "oauth/keys.h"
#include "oauth/token_resolver.h"
#include "oauth/tokens.h"
#include "store/store.h"

namespace tessera::oauth::testing {

// An in-process HTTP server of `router` on 127.0.0.1 (an ephemeral port, one io thread): what a
// test has the authorization server call (a client's JWKS, a logout endpoint). Null when it does
// not start (the test then fails on it).
inline std::unique_ptr<http::Server> start_local_server(http::Router router) {
  http::ServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.io_threads = 1;
  auto server = std::make_unique<http::Server>(std::move(options), std::move(router));
  if (!server->start()) return nullptr;
  server->set_ready(true);
  return server;
}

class OAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("tessera-oauth-" + crypto::random_token(8));
    std::filesystem::create_directories(dir_);
    store::StoreConfig config;
    config.sqlite_path = (dir_ / "t.db").string();
    config.clock = &clock_;
    auto opened = store::open_store(config);
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
  }
  // Subclasses that hold objects built on the store reset them first, then call this.
  void TearDown() override {
    resolver_.reset();
    service_.reset();
    keys_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The server's own ES256 SigningKeys (sealed with secret_key_), a TokenService and a
  // TokenResolver for `issuer` on this store and clock. Call from SetUp under
  // ASSERT_NO_FATAL_FAILURE.
  void start_tokens(const std::string& issuer, int64_t leeway_seconds = 30) {
    keys_ = std::make_unique<SigningKeys>(store_->signing_keys(), secret_key_, jose::Alg::kES256,
                                          clock_);
    ASSERT_TRUE(keys_->load_or_create());
    service_ = std::make_unique<TokenService>(issuer, *keys_, clock_);
    resolver_ =
        std::make_unique<TokenResolver>(issuer, *keys_, store_->grants(), clock_, leeway_seconds);
  }

  // Stores `c` as it is; returns it.
  store::Client insert_client(store::Client c) {
    auto inserted = store_->clients().insert(c);
    EXPECT_TRUE(inserted) << (inserted ? "" : inserted.error().message);
    return c;
  }

  // A confidential client with `secret`, allowed client_credentials.
  store::Client add_client(
      const std::string& id, const std::string& secret,
      store::ClientAuthMethod method = store::ClientAuthMethod::kClientSecretBasic) {
    store::Client c = credentials_client(id);
    c.auth_method = method;
    c.secret_sha256 = crypto::sha256(secret);
    return insert_client(std::move(c));
  }

  // A confidential client that authenticates with private_key_jwt (RFC 7523 §2.2) using the
  // public halves of `keys`, allowed client_credentials.
  store::Client add_key_client(const std::string& id, const std::vector<jose::Jwk>& keys) {
    store::Client c = credentials_client(id);
    c.auth_method = store::ClientAuthMethod::kPrivateKeyJwt;
    jose::Jwks jwks;
    for (const jose::Jwk& k : keys) jwks.add(k.public_key());
    c.jwks_json = jwks.to_json().dump();
    return insert_client(std::move(c));
  }

  // A client of the authorization code and refresh token grants (scopes openid and
  // invoices:read) whose tokens may be aimed at `audiences`: public, or confidential with the
  // secret "ID-secret".
  store::Client add_code_client(const std::string& id, std::vector<std::string> audiences,
                                bool is_public = false) {
    store::Client c;
    c.client_id = id;
    c.grant_types = {"authorization_code", "refresh_token"};
    c.scopes = {"openid", "invoices:read"};
    c.audiences = std::move(audiences);
    if (is_public) {
      c.type = store::ClientType::kPublic;
      c.auth_method = store::ClientAuthMethod::kNone;
    } else {
      c.secret_sha256 = crypto::sha256(id + "-secret");
    }
    return insert_client(std::move(c));
  }

  // A grant of `client_id` to `subject`, created now and expiring in a day.
  void create_grant(const std::string& id, const std::string& client_id, const std::string& subject,
                    std::vector<std::string> scopes) {
    store::GrantRecord g;
    g.id = id;
    g.client_id = client_id;
    g.subject = subject;
    g.scopes = std::move(scopes);
    g.created_at = clock_.now();
    g.expires_at = clock_.now() + 86400;
    auto created = store_->grants().create_grant(g, std::nullopt);
    EXPECT_TRUE(created) << (created ? "" : created.error().message);
  }

  // Stores token records as the token endpoint does.
  void insert_tokens(std::span<const store::TokenRecord> records) {
    auto inserted = store_->grants().insert_tokens(records);
    EXPECT_TRUE(inserted) << (inserted ? "" : inserted.error().message);
  }

  static http::Request form_request(
      const std::string& body,
      const std::string& content_type = "application/x-www-form-urlencoded") {
    http::Request r;
    r.set_method("POST");
    r.set_target("/token");
    if (!content_type.empty()) r.mutable_headers().add("Content-Type", content_type);
    r.mutable_body() = body;
    return r;
  }

  static std::string basic(const std::string& id, const std::string& secret) {
    return "Basic " + base64::encode(id + ":" + secret);
  }

  FixedClock clock_{1'700'000'000};
  std::string secret_key_ = crypto::random_bytes(32);
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  // Set by start_tokens().
  std::unique_ptr<SigningKeys> keys_;
  std::unique_ptr<TokenService> service_;
  std::unique_ptr<TokenResolver> resolver_;

  // Confidential, client_credentials, invoices scopes and audiences, 600 s tokens.
  static store::Client credentials_client(const std::string& id) {
    store::Client c;
    c.client_id = id;
    c.type = store::ClientType::kConfidential;
    c.grant_types = {"client_credentials"};
    c.scopes = {"invoices:read", "invoices:write"};
    c.audiences = {"https://api.example", "urn:tessera:invoices"};
    c.access_token_lifetime = 600;
    return c;
  }
};

}  // namespace tessera::oauth::testing
