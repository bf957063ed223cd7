// Client authentication at the token endpoint (RFC 6749 §2.3).
#include "oauth/client_auth.h"

#include <gtest/gtest.h>

#include "oauth_fixture.h"

namespace tessera::oauth::testing {
namespace {

using store::ClientAuthMethod;

class ClientAuthTest : public OAuthTest {
 protected:
  void SetUp() override {
    OAuthTest::SetUp();
    cache_ = std::make_unique<ClientCache>(store_->clients(), clock_);
  }
  Result<AuthenticatedClient, OAuthError> authenticate(const http::Request& r) {
    auto form = r.form();
    EXPECT_TRUE(form);
    return authenticate_client(r, *form, *cache_);
  }
  std::unique_ptr<ClientCache> cache_;
};

TEST_F(ClientAuthTest, BasicDecodesFormUrlencodedIdAndSecret) {
  // RFC 6749 §2.3.1: "a b:c" and "p+w%" are form-urlencoded before base64.
  add_client("a b:c", "p+w%");
  auto r = form_request("grant_type=client_credentials");
  r.mutable_headers().add("Authorization", basic("a+b%3Ac", "p%2Bw%25"));
  auto auth = authenticate(r);
  ASSERT_TRUE(auth) << auth.error().description;
  EXPECT_EQ(auth->client->client_id, "a b:c");
  EXPECT_EQ(auth->method, ClientAuthMethod::kClientSecretBasic);
}

TEST_F(ClientAuthTest, SchemeNameIsCaseInsensitive) {
  add_client("svc", "secret");
  auto r = form_request("grant_type=client_credentials");
  r.mutable_headers().add("Authorization", "bAsIc " + basic("svc", "secret").substr(6));
  EXPECT_TRUE(authenticate(r));
}

TEST_F(ClientAuthTest, PostCredentialsInTheBody) {
  add_client("svc", "secret", ClientAuthMethod::kClientSecretPost);
  auto auth = authenticate(form_request("client_id=svc&client_secret=secret"));
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->method, ClientAuthMethod::kClientSecretPost);
}

TEST_F(ClientAuthTest, PublicClientWithNone) {
  store::Client c;
  c.client_id = "spa";
  c.type = store::ClientType::kPublic;
  c.auth_method = ClientAuthMethod::kNone;
  ASSERT_TRUE(store_->clients().insert(c));
  auto auth = authenticate(form_request("client_id=spa"));
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->method, ClientAuthMethod::kNone);
}

TEST_F(ClientAuthTest, ConfidentialClientCannotSkipItsSecret) {
  add_client("svc", "secret", ClientAuthMethod::kClientSecretPost);
  auto auth = authenticate(form_request("client_id=svc"));
  ASSERT_FALSE(auth);
  EXPECT_EQ(auth.error().code, "invalid_client");
}

TEST_F(ClientAuthTest, TwoMethodsInOneRequestIsInvalidRequest) {
  add_client("svc", "secret");
  auto r = form_request("client_id=svc&client_secret=secret");
  r.mutable_headers().add("Authorization", basic("svc", "secret"));
  auto auth = authenticate(r);
  ASSERT_FALSE(auth);
  EXPECT_EQ(auth.error().code, "invalid_request");
  EXPECT_EQ(auth.error().status, 400);
}

TEST_F(ClientAuthTest, TwoAuthorizationHeadersIsInvalidRequest) {
  add_client("svc", "secret");
  auto r = form_request("");
  r.mutable_headers().add("Authorization", basic("svc", "secret"));
  r.mutable_headers().add("Authorization", basic("svc", "secret"));
  auto auth = authenticate(r);
  ASSERT_FALSE(auth);
  EXPECT_EQ(auth.error().code, "invalid_request");
}

TEST_F(ClientAuthTest, WrongSecretIsInvalidClientWithBasicChallenge) {
  add_client("svc", "secret");
  auto r = form_request("grant_type=client_credentials");
  r.mutable_headers().add("Authorization", basic("svc", "wrong"));
  auto auth = authenticate(r);
  ASSERT_FALSE(auth);
  EXPECT_EQ(auth.error().code, "invalid_client");
  auto response = auth.error().to_response();
  EXPECT_EQ(response.status, 401);
  ASSERT_TRUE(response.headers.get("WWW-Authenticate"));
  EXPECT_EQ(response.headers.get("WWW-Authenticate")->substr(0, 6), "Basic ");
  EXPECT_EQ(*response.headers.get("Cache-Control"), "no-store");
}

TEST_F(ClientAuthTest, ConfidentialClientMayUseEitherSecretMethod) {
  add_client("svc", "secret");  // registered for client_secret_basic
  auto post = authenticate(form_request("client_id=svc&client_secret=secret"));
  ASSERT_TRUE(post) << post.error().description;
  EXPECT_EQ(post->method, ClientAuthMethod::kClientSecretPost);
}

TEST_F(ClientAuthTest, UnknownClientAndWrongSecretFailAlike) {
  add_client("svc", "secret");
  auto unknown = authenticate(form_request("client_id=nobody&client_secret=x"));
  auto wrong_method = authenticate(form_request("client_id=svc&client_secret=wrong"));
  ASSERT_FALSE(unknown);
  ASSERT_FALSE(wrong_method);
  EXPECT_EQ(unknown.error().code, "invalid_client");
  EXPECT_EQ(unknown.error().description, wrong_method.error().description);
}

TEST_F(ClientAuthTest, MalformedBasicIsInvalidClient) {
  add_client("svc", "secret");
  for (const char* value : {"Basic", "Basic !!!", "Basic c3Zj", "Bearer abc"}) {
    auto r = form_request("");
    r.mutable_headers().add("Authorization", value);
    auto auth = authenticate(r);
    ASSERT_FALSE(auth) << value;
    EXPECT_EQ(auth.error().code, "invalid_client") << value;
  }
}

TEST_F(ClientAuthTest, NoCredentialsIsInvalidClient) {
  auto auth = authenticate(form_request("grant_type=client_credentials"));
  ASSERT_FALSE(auth);
  EXPECT_EQ(auth.error().code, "invalid_client");
}

TEST_F(ClientAuthTest, SecretsAreGeneratedWith256Bits) {
  std::string a = generate_client_secret();
  EXPECT_EQ(a.size(), 43u);
  EXPECT_NE(a, generate_client_secret());
}

}  // namespace
}  // namespace tessera::oauth::testing
