// What the oauth tests share: a fresh SQLite store per test, a fixed clock, a secret key, and
// helpers to register clients and build requests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/base64url.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "http/message.h"
#include "jose/jose.h"
#include "store/store.h"

namespace tessera::oauth::testing {

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
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A confidential client with `secret`, allowed client_credentials.
  store::Client add_client(
      const std::string& id, const std::string& secret,
      store::ClientAuthMethod method = store::ClientAuthMethod::kClientSecretBasic) {
    store::Client c;
    c.client_id = id;
    c.type = store::ClientType::kConfidential;
    c.auth_method = method;
    c.secret_sha256 = crypto::sha256(secret);
    c.grant_types = {"client_credentials"};
    c.scopes = {"invoices:read", "invoices:write"};
    c.audiences = {"https://api.example", "urn:tessera:invoices"};
    c.access_token_lifetime = 600;
    auto inserted = store_->clients().insert(c);
    EXPECT_TRUE(inserted) << (inserted ? "" : inserted.error().message);
    return c;
  }

  // A confidential client that authenticates with private_key_jwt (RFC 7523 §2.2) using the
  // public halves of `keys`, allowed client_credentials.
  store::Client add_key_client(const std::string& id, const std::vector<jose::Jwk>& keys) {
    store::Client c;
    c.client_id = id;
    c.type = store::ClientType::kConfidential;
    c.auth_method = store::ClientAuthMethod::kPrivateKeyJwt;
    jose::Jwks jwks;
    for (const jose::Jwk& k : keys) jwks.add(k.public_key());
    c.jwks_json = jwks.to_json().dump();
    c.grant_types = {"client_credentials"};
    c.scopes = {"invoices:read", "invoices:write"};
    c.audiences = {"https://api.example", "urn:tessera:invoices"};
    c.access_token_lifetime = 600;
    auto inserted = store_->clients().insert(c);
    EXPECT_TRUE(inserted) << (inserted ? "" : inserted.error().message);
    return c;
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
};

}  // namespace tessera::oauth::testing
