// Client authentication (RFC 6749 §2.3): client_secret_basic, client_secret_post, none, and
// private_key_jwt (RFC 7523 §2.2, §3), each client held to its registered method.
#include "oauth/client_auth.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "http/server.h"
#include "oauth_fixture.h"

namespace tessera::oauth::testing {
namespace {

using store::ClientAuthMethod;

constexpr char kIssuer[] = "https://as.example";
constexpr char kTokenEndpoint[] = "https://as.example/token";
constexpr char kJwtBearer[] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

jose::Jwk generate(jose::Alg alg, const std::string& kid) {
  auto key = jose::Jwk::generate(alg);
  EXPECT_TRUE(key);
  return key->with_kid(kid);
}

std::string b64(const std::string& text) { return base64url::encode(text); }

class ClientAuthTest : public OAuthTest {
 protected:
  void SetUp() override {
    OAuthTest::SetUp();
    cache_ = std::make_unique<ClientCache>(store_->clients(), clock_);
    auth_ = std::make_unique<ClientAuthenticator>(*cache_, store_->replay_cache(), clock_,
                                                  ClientAuthOptions{kIssuer, kTokenEndpoint});
  }
  Result<AuthenticatedClient, OAuthError> authenticate(const http::Request& r) {
    auto form = r.form();
    EXPECT_TRUE(form);
    return auth_->authenticate(r, *form);
  }

  // RFC 7523 §3 claims of a good assertion from `id`.
  json::Json claims(const std::string& id) {
    return {{"iss", id},
            {"sub", id},
            {"aud", kTokenEndpoint},
            {"iat", clock_.now()},
            {"exp", clock_.now() + 60},
            {"jti", crypto::random_token(16)}};
  }
  static std::string sign(const json::Json& c, const jose::Jwk& key,
                          jose::Alg alg = jose::Alg::kES256) {
    auto jwt = jose::sign(c.dump(), key, alg);
    EXPECT_TRUE(jwt) << jose::to_string(jwt.error());
    return jwt ? *jwt : "";
  }
  static http::Request assertion_request(const std::string& jwt, const std::string& extra = "") {
    return form_request("grant_type=client_credentials&client_assertion_type=" +
                        std::string(kJwtBearer) + "&client_assertion=" + jwt + extra);
  }
  Result<AuthenticatedClient, OAuthError> authenticate_assertion(const std::string& jwt,
                                                                 const std::string& extra = "") {
    return authenticate(assertion_request(jwt, extra));
  }
  // A key client "rp" with an ES256 key "k1".
  void add_rp() { add_key_client("rp", {key_}); }

  // Expects invalid_client (401) and returns the description.
  static std::string expect_invalid_client(const Result<AuthenticatedClient, OAuthError>& r) {
    EXPECT_FALSE(r);
    if (r) return "";
    EXPECT_EQ(r.error().code, "invalid_client") << r.error().description;
    EXPECT_EQ(r.error().status, 401);
    return r.error().description;
  }

  jose::Jwk key_ = generate(jose::Alg::kES256, "k1");
  std::unique_ptr<ClientCache> cache_;
  std::unique_ptr<ClientAuthenticator> auth_;
};

// ---- client_secret_basic, client_secret_post, none ----

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
  expect_invalid_client(authenticate(form_request("client_id=svc")));
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

TEST_F(ClientAuthTest, AssertionWithAnotherMethodIsInvalidRequest) {
  add_rp();
  const std::string jwt = sign(claims("rp"), key_);
  // RFC 6749 §2.3: Basic + assertion, and client_secret + assertion.
  auto with_basic = assertion_request(jwt);
  with_basic.mutable_headers().add("Authorization", basic("rp", "x"));
  auto with_secret = assertion_request(jwt, "&client_id=rp&client_secret=x");
  for (const auto& r : {with_basic, with_secret}) {
    auto auth = authenticate(r);
    ASSERT_FALSE(auth);
    EXPECT_EQ(auth.error().code, "invalid_request");
    EXPECT_EQ(auth.error().status, 400);
  }
  // The control: the same assertion alone is accepted.
  EXPECT_TRUE(authenticate_assertion(jwt));
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
  expect_invalid_client(auth);
  ASSERT_FALSE(auth);
  auto response = auth.error().to_response();
  EXPECT_EQ(response.status, 401);
  ASSERT_TRUE(response.headers.get("WWW-Authenticate"));
  EXPECT_EQ(response.headers.get("WWW-Authenticate")->substr(0, 6), "Basic ");
  EXPECT_EQ(*response.headers.get("Cache-Control"), "no-store");
}

// RFC 7591 §2 token_endpoint_auth_method: the registered method and no other.
TEST_F(ClientAuthTest, BasicClientCannotUsePost) {
  add_client("svc", "secret");  // registered for client_secret_basic
  expect_invalid_client(authenticate(form_request("client_id=svc&client_secret=secret")));
  auto r = form_request("");
  r.mutable_headers().add("Authorization", basic("svc", "secret"));
  EXPECT_TRUE(authenticate(r));  // the control
}

TEST_F(ClientAuthTest, PostClientCannotUseBasic) {
  add_client("svc", "secret", ClientAuthMethod::kClientSecretPost);
  auto r = form_request("");
  r.mutable_headers().add("Authorization", basic("svc", "secret"));
  expect_invalid_client(authenticate(r));
  EXPECT_TRUE(authenticate(form_request("client_id=svc&client_secret=secret")));
}

TEST_F(ClientAuthTest, SecretClientsCannotUseAnAssertion) {
  // A key in the client's hands is no use when it registered a secret method.
  add_client("basic", "secret");
  add_client("post", "secret", ClientAuthMethod::kClientSecretPost);
  for (const char* id : {"basic", "post"}) {
    const std::string d = expect_invalid_client(authenticate_assertion(sign(claims(id), key_)));
    EXPECT_EQ(d, "client authentication failed") << id;
  }
}

TEST_F(ClientAuthTest, KeyClientCannotUseASecretOrNone) {
  add_rp();
  auto r = form_request("");
  r.mutable_headers().add("Authorization", basic("rp", "anything"));
  expect_invalid_client(authenticate(r));
  expect_invalid_client(authenticate(form_request("client_id=rp&client_secret=anything")));
  expect_invalid_client(authenticate(form_request("client_id=rp")));
  EXPECT_TRUE(authenticate_assertion(sign(claims("rp"), key_)));  // the control
}

TEST_F(ClientAuthTest, PublicClientCannotUseAnAssertion) {
  store::Client c;
  c.client_id = "spa";
  c.type = store::ClientType::kPublic;
  c.auth_method = ClientAuthMethod::kNone;
  ASSERT_TRUE(store_->clients().insert(c));
  expect_invalid_client(authenticate_assertion(sign(claims("spa"), key_)));
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
  expect_invalid_client(authenticate(form_request("grant_type=client_credentials")));
}

TEST_F(ClientAuthTest, SecretsAreGeneratedWith256Bits) {
  std::string a = generate_client_secret();
  EXPECT_EQ(a.size(), 43u);
  EXPECT_NE(a, generate_client_secret());
}

// ---- private_key_jwt (RFC 7523) ----

TEST_F(ClientAuthTest, GoodAssertionAuthenticatesTheClient) {
  add_rp();
  auto auth = authenticate_assertion(sign(claims("rp"), key_));
  ASSERT_TRUE(auth) << auth.error().description;
  EXPECT_EQ(auth->client->client_id, "rp");
  EXPECT_EQ(auth->method, ClientAuthMethod::kPrivateKeyJwt);
}

TEST_F(ClientAuthTest, EveryAsymmetricAlgorithmIsAccepted) {
  for (jose::Alg alg : client_assertion_algs()) {
    const std::string id = std::string("rp-") + jose::to_string(alg);
    jose::Jwk key = generate(alg, "k");
    add_key_client(id, {key});
    auto auth = authenticate_assertion(sign(claims(id), key, alg));
    EXPECT_TRUE(auth) << jose::to_string(alg) << ": " << (auth ? "" : auth.error().description);
  }
  EXPECT_EQ(client_assertion_algs().size(), 11u);
}

TEST_F(ClientAuthTest, AudienceMayBeTheIssuerOrTheTokenEndpointAsStringOrArray) {
  add_rp();
  for (const json::Json& aud : {json::Json(kIssuer), json::Json(kTokenEndpoint),
                                json::Json({"urn:other", kIssuer}), json::Json({kTokenEndpoint})}) {
    json::Json c = claims("rp");
    c["aud"] = aud;
    auto auth = authenticate_assertion(sign(c, key_));
    EXPECT_TRUE(auth) << aud.dump() << ": " << (auth ? "" : auth.error().description);
  }
}

TEST_F(ClientAuthTest, WrongAudienceIsRefused) {
  add_rp();
  for (const json::Json& aud :
       {json::Json("https://other.example"), json::Json({"https://as.example/other"}),
        json::Json("https://as.example/"), json::Json::array()}) {
    json::Json c = claims("rp");
    c["aud"] = aud;
    const std::string d = expect_invalid_client(authenticate_assertion(sign(c, key_)));
    EXPECT_NE(d.find("aud"), std::string::npos) << aud.dump() << ": " << d;
  }
  json::Json c = claims("rp");
  c.erase("aud");
  EXPECT_NE(expect_invalid_client(authenticate_assertion(sign(c, key_))).find("required claim"),
            std::string::npos);
}

TEST_F(ClientAuthTest, MatchingClientIdParameterIsAccepted) {
  add_rp();
  EXPECT_TRUE(authenticate_assertion(sign(claims("rp"), key_), "&client_id=rp"));
}

TEST_F(ClientAuthTest, ClientIdParameterMustNameTheAssertionsClient) {
  add_rp();
  add_key_client("other", {key_});
  const std::string d =
      expect_invalid_client(authenticate_assertion(sign(claims("rp"), key_), "&client_id=other"));
  EXPECT_NE(d.find("client_id"), std::string::npos) << d;
}

TEST_F(ClientAuthTest, KeyNotInTheClientsJwksIsRefused) {
  add_rp();
  // An unknown kid, and a key the client never registered under the registered kid.
  const std::string unknown_kid = sign(claims("rp"), generate(jose::Alg::kES256, "k2"));
  const std::string same_kid = sign(claims("rp"), generate(jose::Alg::kES256, "k1"));
  EXPECT_EQ(expect_invalid_client(authenticate_assertion(unknown_kid)),
            "client authentication failed");
  EXPECT_EQ(expect_invalid_client(authenticate_assertion(same_kid)),
            "client authentication failed");
}

TEST_F(ClientAuthTest, WrongSignatureIsRefused) {
  add_rp();
  std::string jwt = sign(claims("rp"), key_);
  // Another valid-length signature over the same header and payload.
  std::string other = sign(claims("rp"), key_);
  std::string forged = jwt.substr(0, jwt.rfind('.')) + other.substr(other.rfind('.'));
  EXPECT_EQ(expect_invalid_client(authenticate_assertion(forged)), "client authentication failed");
  EXPECT_TRUE(authenticate_assertion(jwt));  // the control
}

TEST_F(ClientAuthTest, KidIsOptionalWhenAKeyVerifies) {
  jose::Jwk second = generate(jose::Alg::kES256, "k2");
  add_key_client("rp", {key_, second});
  jose::SignOptions no_kid;
  no_kid.include_kid = false;
  auto jwt = jose::sign(claims("rp").dump(), second, jose::Alg::kES256, no_kid);
  ASSERT_TRUE(jwt);
  auto header = jose::decode_unverified(*jwt);
  ASSERT_TRUE(header);
  EXPECT_FALSE(header->header.contains("kid"));
  EXPECT_TRUE(authenticate_assertion(*jwt));
}

TEST_F(ClientAuthTest, AlgNoneAndHmacAreRefused) {
  add_rp();
  const std::string payload = b64(claims("rp").dump());
  const std::string none = b64(R"({"alg":"none","kid":"k1"})") + "." + payload + ".";
  jose::Jwk secret = jose::Jwk::from_secret(std::string(32, 's')).with_kid("k1");
  const std::string hs256 = sign(claims("rp"), secret, jose::Alg::kHS256);
  for (const std::string& jwt : {none, hs256}) {
    const std::string d = expect_invalid_client(authenticate_assertion(jwt));
    EXPECT_NE(d.find("must be signed with"), std::string::npos) << d;
  }
}

TEST_F(ClientAuthTest, IssAndSubMustBothBeTheClientId) {
  add_rp();
  add_key_client("other", {key_});
  json::Json wrong_iss = claims("rp");
  wrong_iss["iss"] = "other";
  json::Json wrong_sub = claims("rp");
  wrong_sub["sub"] = "other";
  json::Json no_iss = claims("rp");
  no_iss.erase("iss");
  for (const json::Json& c : {wrong_iss, wrong_sub, no_iss}) {
    const std::string d = expect_invalid_client(authenticate_assertion(sign(c, key_)));
    EXPECT_NE(d.find("iss and sub"), std::string::npos) << c.dump() << ": " << d;
  }
  json::Json no_sub = claims("rp");
  no_sub.erase("sub");
  expect_invalid_client(authenticate_assertion(sign(no_sub, key_)));
}

TEST_F(ClientAuthTest, ExpiredAssertionIsRefused) {
  add_rp();
  json::Json c = claims("rp");
  c["iat"] = clock_.now() - 120;
  c["exp"] = clock_.now() - 31;  // past the 30 s leeway
  const std::string d = expect_invalid_client(authenticate_assertion(sign(c, key_)));
  EXPECT_NE(d.find("expired"), std::string::npos) << d;
  c["exp"] = clock_.now() - 29;  // within the leeway
  c["jti"] = "another";
  EXPECT_TRUE(authenticate_assertion(sign(c, key_)));
}

TEST_F(ClientAuthTest, MissingExpIsRefused) {
  add_rp();
  json::Json c = claims("rp");
  c.erase("exp");
  const std::string d = expect_invalid_client(authenticate_assertion(sign(c, key_)));
  EXPECT_NE(d.find("required claim"), std::string::npos) << d;
}

TEST_F(ClientAuthTest, AssertionLivingTooLongIsRefused) {
  add_rp();
  json::Json c = claims("rp");
  c["exp"] = clock_.now() + 300 + 30 + 1;  // max_assertion_lifetime + leeway + 1
  const std::string d = expect_invalid_client(authenticate_assertion(sign(c, key_)));
  EXPECT_NE(d.find("expires more than 300 seconds"), std::string::npos) << d;
  c["exp"] = clock_.now() + 300;
  EXPECT_TRUE(authenticate_assertion(sign(c, key_)));
}

TEST_F(ClientAuthTest, NotYetValidAndFutureIatAreRefusedBeyondTheLeeway) {
  add_rp();
  json::Json nbf = claims("rp");
  nbf["nbf"] = clock_.now() + 31;
  EXPECT_NE(expect_invalid_client(authenticate_assertion(sign(nbf, key_))).find("nbf"),
            std::string::npos);
  json::Json iat = claims("rp");
  iat["iat"] = clock_.now() + 31;
  EXPECT_NE(expect_invalid_client(authenticate_assertion(sign(iat, key_))).find("iat"),
            std::string::npos);
  json::Json skewed = claims("rp");
  skewed["nbf"] = clock_.now() + 20;
  skewed["iat"] = clock_.now() + 20;
  EXPECT_TRUE(authenticate_assertion(sign(skewed, key_)));
}

TEST_F(ClientAuthTest, MissingOrEmptyJtiIsRefused) {
  add_rp();
  json::Json missing = claims("rp");
  missing.erase("jti");
  EXPECT_NE(expect_invalid_client(authenticate_assertion(sign(missing, key_))).find("required"),
            std::string::npos);
  json::Json empty = claims("rp");
  empty["jti"] = "";
  EXPECT_NE(expect_invalid_client(authenticate_assertion(sign(empty, key_))).find("jti"),
            std::string::npos);
  json::Json number = claims("rp");
  number["jti"] = 7;
  expect_invalid_client(authenticate_assertion(sign(number, key_)));
}

TEST_F(ClientAuthTest, ReplayedJtiIsRefused) {
  add_rp();
  const std::string jwt = sign(claims("rp"), key_);
  ASSERT_TRUE(authenticate_assertion(jwt));
  const std::string d = expect_invalid_client(authenticate_assertion(jwt));
  EXPECT_NE(d.find("jti was already used"), std::string::npos) << d;
  // A fresh assertion with the same jti, signed again, is a replay too.
  json::Json c = json::Json::parse(
      *base64url::decode(jwt.substr(jwt.find('.') + 1, jwt.rfind('.') - jwt.find('.') - 1)));
  c["iat"] = clock_.now() + 1;
  expect_invalid_client(authenticate_assertion(sign(c, key_)));
}

TEST_F(ClientAuthTest, JtiIsRememberedPerClientUntilTheAssertionExpires) {
  add_rp();
  add_key_client("other", {key_});
  json::Json a = claims("rp");
  a["jti"] = "shared";
  json::Json b = claims("other");
  b["jti"] = "shared";
  EXPECT_TRUE(authenticate_assertion(sign(a, key_)));
  EXPECT_TRUE(authenticate_assertion(sign(b, key_)));  // another client's jti space
  // The replay cache holds the jti until exp + leeway, and no longer.
  auto again =
      store_->replay_cache().remember_once("client_assertion", "rp shared", clock_.now() + 10);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  clock_.advance(60 + 30);
  again = store_->replay_cache().remember_once("client_assertion", "rp shared", clock_.now() + 10);
  ASSERT_TRUE(again);
  EXPECT_TRUE(*again);
}

TEST_F(ClientAuthTest, AssertionParametersMustComeTogetherWithTheJwtBearerType) {
  add_rp();
  const std::string jwt = sign(claims("rp"), key_);
  auto no_type = authenticate(form_request("client_assertion=" + jwt));
  ASSERT_FALSE(no_type);
  EXPECT_EQ(no_type.error().code, "invalid_request");
  auto no_assertion =
      authenticate(form_request(std::string("client_assertion_type=") + kJwtBearer));
  ASSERT_FALSE(no_assertion);
  EXPECT_EQ(no_assertion.error().code, "invalid_request");
  auto saml = authenticate(
      form_request("client_assertion_type=urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
                   "&client_assertion=" +
                   jwt));
  EXPECT_NE(expect_invalid_client(saml).find("client_assertion_type"), std::string::npos);
}

TEST_F(ClientAuthTest, MalformedAssertionsAreInvalidClient) {
  add_rp();
  for (const std::string& jwt :
       {std::string("abc"), std::string("a.b.c"), std::string(".."),
        b64(R"({"alg":"ES256"})") + "." + b64("[1]") + ".AAAA",
        b64(R"({"alg":"ES256"})") + "." + b64("not json") + ".AAAA", std::string(20000, 'a')}) {
    expect_invalid_client(authenticate_assertion(jwt));
  }
}

TEST_F(ClientAuthTest, UnknownClientAndBadSignatureFailAlike) {
  add_rp();
  auto unknown = authenticate_assertion(sign(claims("nobody"), key_));
  auto bad = authenticate_assertion(sign(claims("rp"), generate(jose::Alg::kES256, "k1")));
  EXPECT_EQ(expect_invalid_client(unknown), expect_invalid_client(bad));
}

TEST_F(ClientAuthTest, RotatedClientKeysTakeEffect) {
  store::Client c = add_key_client("rp", {key_});
  ASSERT_TRUE(authenticate_assertion(sign(claims("rp"), key_)));
  jose::Jwk next = generate(jose::Alg::kEdDSA, "k2");
  jose::Jwks jwks;
  jwks.add(next.public_key());
  c.jwks_json = jwks.to_json().dump();
  ASSERT_TRUE(store_->clients().update(c));
  cache_->invalidate("rp");
  expect_invalid_client(authenticate_assertion(sign(claims("rp"), key_)));
  EXPECT_TRUE(authenticate_assertion(sign(claims("rp"), next, jose::Alg::kEdDSA)));
}

TEST(ParseClientJwks, AcceptsPublicAsymmetricKeysOnly) {
  auto ec = jose::Jwk::generate(jose::Alg::kES256);
  auto rsa = jose::Jwk::generate(jose::Alg::kRS256);
  ASSERT_TRUE(ec && rsa);
  jose::Jwks good;
  good.add(ec->public_key());
  good.add(rsa->public_key());
  auto parsed = parse_client_jwks(good.to_json().dump());
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->keys().size(), 2u);

  jose::Jwks with_private;
  with_private.add(*ec);
  EXPECT_FALSE(parse_client_jwks(with_private.to_json(/*include_private=*/true).dump()));
  const std::string oct =
      R"({"keys":[)" + jose::Jwk::from_secret(std::string(32, 'k')).to_json(true).dump() + "]}";
  EXPECT_FALSE(parse_client_jwks(oct));
  EXPECT_FALSE(parse_client_jwks(R"({"keys":[]})"));
  EXPECT_FALSE(parse_client_jwks("not json"));
}

// ---- jwks_uri (RFC 7591 §2): the keys fetched, cached, fetched again on a new kid ----

class JwksUriTest : public ClientAuthTest {
 protected:
  void SetUp() override {
    ClientAuthTest::SetUp();
    ClientAuthOptions options{kIssuer, kTokenEndpoint};
    options.fetch_jwks = [this](const std::string& uri) -> Result<jose::Jwks, std::string> {
      fetched_uris_.push_back(uri);
      if (!published_) return Err(std::string("connection refused"));
      return *published_;
    };
    auth_ = std::make_unique<ClientAuthenticator>(*cache_, store_->replay_cache(), clock_,
                                                  std::move(options));
    store::Client c = credentials_client("rp");
    c.auth_method = ClientAuthMethod::kPrivateKeyJwt;
    c.jwks_uri = "https://rp.example/jwks";
    insert_client(std::move(c));
  }
  void publish(const std::vector<jose::Jwk>& keys) {
    jose::Jwks set;
    for (const jose::Jwk& k : keys) set.add(k.public_key());
    published_ = std::move(set);
  }
  std::optional<jose::Jwks> published_;
  std::vector<std::string> fetched_uris_;
};

TEST_F(JwksUriTest, TheSetIsFetchedOnceAndKept) {
  publish({key_});
  ASSERT_TRUE(authenticate_assertion(sign(claims("rp"), key_)));
  auto again = authenticate_assertion(sign(claims("rp"), key_));
  ASSERT_TRUE(again) << again.error().description;
  EXPECT_EQ(fetched_uris_, std::vector<std::string>{"https://rp.example/jwks"});
}

TEST_F(JwksUriTest, ARotatedKeyIsFetchedOnItsKidAndMadeUpKidsDoNotFloodTheClient) {
  publish({key_});
  ASSERT_TRUE(authenticate_assertion(sign(claims("rp"), key_)));
  // The client rotates to k2: the first assertion naming it fetches the set again.
  const jose::Jwk k2 = generate(jose::Alg::kES256, "k2");
  publish({k2});
  clock_.advance(31);
  auto rotated = authenticate_assertion(sign(claims("rp"), k2));
  ASSERT_TRUE(rotated) << rotated.error().description;
  EXPECT_EQ(fetched_uris_.size(), 2u);
  // Unknown kids within 30 s of that fetch are refused without another fetch.
  const jose::Jwk k3 = generate(jose::Alg::kES256, "k3");
  for (int i = 0; i < 5; ++i) expect_invalid_client(authenticate_assertion(sign(claims("rp"), k3)));
  EXPECT_EQ(fetched_uris_.size(), 2u);
}

TEST_F(JwksUriTest, AnUnreachableSetIsInvalidClientNotAServerError) {
  expect_invalid_client(authenticate_assertion(sign(claims("rp"), key_)));
  EXPECT_EQ(fetched_uris_.size(), 1u);
}

// Fetches of a self-registered client's set run while a request waits on an io thread: past
// max_concurrent_jwks_fetches (2) one fails at once instead of holding another thread, without
// counting as a try; clients an operator made are not counted.
TEST_F(ClientAuthTest, ConcurrentJwksUriFetchesOfRegisteredClientsAreCapped) {
  std::mutex mu;
  std::condition_variable changed;
  std::vector<std::string> fetched;
  bool release = false;
  ClientAuthOptions options{kIssuer, kTokenEndpoint};
  options.fetch_jwks = [&](const std::string& uri) -> Result<jose::Jwks, std::string> {
    std::unique_lock lock(mu);
    fetched.push_back(uri);
    changed.notify_all();
    // The slow ones hang until released (so a missing cap fails the test rather than hangs it).
    if (uri.find("slow") != std::string::npos) changed.wait(lock, [&] { return release; });
    jose::Jwks set;
    set.add(key_.public_key());
    return set;
  };
  auth_ = std::make_unique<ClientAuthenticator>(*cache_, store_->replay_cache(), clock_,
                                                std::move(options));
  for (const char* id : {"slow-1", "slow-2", "third", "operator-made", "stale"}) {
    store::Client c = credentials_client(id);
    c.auth_method = ClientAuthMethod::kPrivateKeyJwt;
    c.jwks_uri = "https://" + std::string(id) + ".example/jwks";
    if (std::string(id) != "operator-made") {
      c.registration_token_sha256 = crypto::sha256(std::string("token of ") + id);
    }
    insert_client(std::move(c));
  }
  // "stale" fetched its set long ago: past the refresh interval, it would be fetched again.
  ASSERT_TRUE(authenticate_assertion(sign(claims("stale"), key_)));
  clock_.advance(301);
  // Two fetches hang (as a registrant's slow URI would); their requests wait.
  std::vector<std::thread> waiting;
  std::atomic<int> authenticated{0};
  for (const char* id : {"slow-1", "slow-2"}) {
    const std::string jwt = sign(claims(id), key_);
    waiting.emplace_back([&, jwt] {
      if (auth_->authenticate(assertion_request(jwt), *assertion_request(jwt).form())) {
        ++authenticated;
      }
    });
  }
  {
    std::unique_lock lock(mu);
    changed.wait(lock, [&] { return fetched.size() == 3; });  // stale's, then both slow ones
  }
  // A third registered client's fetch is not started: its assertion is refused at once.
  expect_invalid_client(authenticate_assertion(sign(claims("third"), key_)));
  // A client an operator made is not held back.
  auto made = authenticate_assertion(sign(claims("operator-made"), key_));
  EXPECT_TRUE(made) << made.error().description;
  // A registered client with a set, however old, is served from it without a fetch.
  auto stale = authenticate_assertion(sign(claims("stale"), key_));
  EXPECT_TRUE(stale) << stale.error().description;
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(fetched.size(), 4u);  // stale (once, before), slow-1, slow-2, operator-made
    EXPECT_EQ(std::count(fetched.begin(), fetched.end(), "https://stale.example/jwks"), 1);
    EXPECT_EQ(std::count(fetched.begin(), fetched.end(), "https://third.example/jwks"), 0);
    release = true;
  }
  changed.notify_all();
  for (auto& t : waiting) t.join();
  EXPECT_EQ(authenticated.load(), 2);
  // Below the cap again, the third client's set is fetched at once: the refusal was not a try
  // (no wait for jwks_min_refetch_seconds).
  auto third = authenticate_assertion(sign(claims("third"), key_));
  EXPECT_TRUE(third) << third.error().description;
}

// A dynamically registered client's jwks_uri is fetched from public addresses only: a name that
// resolves to this machine reaches nothing. The same URI on a client an operator made is fetched.
TEST_F(ClientAuthTest, ARegisteredClientsJwksUriNeverReachesThisMachine) {
  jose::Jwks set;
  set.add(key_.public_key());
  http::Router router;
  std::atomic<int> served{0};
  router.get("/jwks", [&](const http::Request&) {
    ++served;
    return http::Response::json(200, set.to_json(false));
  });
  auto server = start_local_server(std::move(router));
  ASSERT_TRUE(server);
  const std::string uri = "http://localhost:" + std::to_string(server->port()) + "/jwks";

  store::Client operator_made = credentials_client("operator-made");
  operator_made.auth_method = ClientAuthMethod::kPrivateKeyJwt;
  operator_made.jwks_uri = uri;
  insert_client(operator_made);
  store::Client registered = operator_made;
  registered.client_id = "registered";
  registered.registration_token_sha256 = crypto::sha256("registration token");
  insert_client(registered);

  auto made = authenticate_assertion(sign(claims("operator-made"), key_));
  EXPECT_TRUE(made) << made.error().description;
  EXPECT_EQ(served.load(), 1);
  expect_invalid_client(authenticate_assertion(sign(claims("registered"), key_)));
  EXPECT_EQ(served.load(), 1);
  server->stop();
}

// RFC 8705 §2.2.2: a self-signed client may publish its certificates at its jwks_uri. The set
// is fetched once and kept; a certificate it lacks fetches it again (the client rotated), at
// most once per jwks_min_refetch_seconds.
TEST_F(JwksUriTest, ASelfSignedClientsCertificatesMayBeAtItsJwksUri) {
  store::Client c = credentials_client("self");
  c.auth_method = ClientAuthMethod::kSelfSignedTlsClientAuth;
  c.jwks_uri = "https://self.example/jwks";
  insert_client(std::move(c));
  auto with_certificate = [this](const std::string& der) {
    json::Json j = key_.public_key().to_json();
    j["x5c"] = json::Json::array({base64::encode(der)});
    auto k = jose::Jwk::from_json(j);
    EXPECT_TRUE(k);
    return *k;
  };
  auto present = [this](const std::string& der) {
    http::Request r = form_request("grant_type=client_credentials&client_id=self");
    auto certificate = std::make_shared<http::ClientCertificate>();
    certificate->der = der;
    r.mutable_tls().secure = true;
    r.mutable_tls().client_certificate = certificate;
    return authenticate(r);
  };
  publish({with_certificate("certificate A")});
  auto first = present("certificate A");
  ASSERT_TRUE(first) << first.error().description;
  EXPECT_EQ(first->method, ClientAuthMethod::kSelfSignedTlsClientAuth);
  ASSERT_TRUE(present("certificate A"));
  EXPECT_EQ(fetched_uris_.size(), 1u);
  // The client rotates to B: within 30 s of the last fetch a certificate the set lacks is
  // refused without another fetch; after that, it fetches the set again.
  publish({with_certificate("certificate B")});
  expect_invalid_client(present("certificate B"));
  EXPECT_EQ(fetched_uris_.size(), 1u);
  clock_.advance(31);
  auto rotated = present("certificate B");
  ASSERT_TRUE(rotated) << rotated.error().description;
  EXPECT_EQ(fetched_uris_.size(), 2u);
  expect_invalid_client(present("certificate A"));  // gone from the set
  expect_invalid_client(present("certificate C"));  // never in it; no fetch within 30 s
  EXPECT_EQ(fetched_uris_.size(), 2u);
}

TEST(JwksUriProblem, HttpsAlwaysHttpOnlyToLoopbackAndOnlyWhenAllowed) {
  EXPECT_FALSE(jwks_uri_problem("https://rp.example/jwks", false));
  EXPECT_FALSE(jwks_uri_problem("https://rp.example/jwks", true));
  for (const char* loopback : {"http://127.0.0.1:8080/jwks", "http://127.1.2.3/jwks",
                               "http://[::1]:9/jwks", "http://localhost/jwks"}) {
    EXPECT_FALSE(jwks_uri_problem(loopback, true)) << loopback;
    EXPECT_TRUE(jwks_uri_problem(loopback, false)) << loopback;
  }
  for (const char* bad :
       {"http://rp.example/jwks", "http://localhost.example/jwks", "http://127.0.0.1.example/jwks",
        "http://10.0.0.1/jwks", "https://", "https://rp.example/jwks#k", "ftp://rp.example/jwks",
        "jwks", "http://localhost:80@evil.example/jwks", "http://127.0.0.1:80@evil.example/jwks",
        "https://rp.example@evil.example/jwks", "HTTP://127.0.0.1/jwks"}) {
    EXPECT_TRUE(jwks_uri_problem(bad, true)) << bad;
  }
}

TEST(JwksUriProblem, ARegistrationMayNotNameThisMachineOrAPrivateNetwork) {
  for (const char* local :
       {"https://localhost/jwks", "https://LOCALHOST:8443/jwks", "https://a.localhost/jwks",
        "https://127.0.0.1/jwks", "https://127.9.9.9:8443/jwks", "https://0.0.0.0/jwks",
        "https://10.1.2.3/jwks", "https://172.16.0.1/jwks", "https://172.31.255.255/jwks",
        "https://192.168.1.1/jwks", "https://169.254.169.254/latest", "https://100.64.0.1/jwks",
        "https://[::1]/jwks", "https://[::1]:8443/jwks", "https://[fe80::1]/jwks",
        "https://[fd00::1]/jwks", "https://[::ffff:127.0.0.1]/jwks", "https://[::]/jwks"}) {
    EXPECT_TRUE(jwks_uri_problem(local, false)) << local;
    EXPECT_FALSE(jwks_uri_problem(local, true)) << local;  // an operator may
  }
  for (const char* public_host :
       {"https://rp.example/jwks", "https://rp.example:8443/jwks", "https://172.32.0.1/jwks",
        "https://8.8.8.8/jwks", "https://[2606:4700::1111]/jwks",
        "https://localhost.example/jwks"}) {
    EXPECT_FALSE(jwks_uri_problem(public_host, false)) << public_host;
  }
}

TEST(JwksUriStore, JwksAndJwksUriAreNeverBoth) {
  store::Client c;
  c.client_id = "rp";
  c.auth_method = ClientAuthMethod::kPrivateKeyJwt;
  c.grant_types = {"client_credentials"};
  c.jwks_uri = "https://rp.example/jwks";
  EXPECT_TRUE(store::validate_client(c));
  c.jwks_json = R"({"keys":[]})";
  EXPECT_FALSE(store::validate_client(c));
  c.jwks_json.reset();
  c.jwks_uri = "rp.example/jwks";
  EXPECT_FALSE(store::validate_client(c));
}

}  // namespace
}  // namespace tessera::oauth::testing
