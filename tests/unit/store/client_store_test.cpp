// ClientStore on both backends: round trip of every field, the rules of validate_client,
// conflicts, updates and removal.
#include "store/client_store.h"

#include <gtest/gtest.h>

#include "backend_fixture.h"
#include "core/crypto.h"

namespace tessera::store::testing {
namespace {

using Code = StoreError::Code;

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
  for (const Client& c : bad) {
    auto inserted = clients().insert(c);
    ASSERT_FALSE(inserted) << c.client_id;
    EXPECT_EQ(inserted.error().code, Code::kInvalidArgument) << c.client_id;
  }
  auto all = clients().list();
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
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

TESSERA_ON_BOTH_BACKENDS(ClientStoreTest);

}  // namespace
}  // namespace tessera::store::testing
