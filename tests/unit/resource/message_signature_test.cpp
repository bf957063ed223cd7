// RFC 9421 HTTP Message Signatures, hmac-sha256 (tessera/message_signature.h): the signature bases
// and the hmac-sha256 signature of RFC 9421 Appendix B.2 (its test request, B.1.5's shared
// secret), then what a verifier must refuse.
#include "tessera/message_signature.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base64url.h"

namespace tessera::resource {
namespace {

// RFC 9421 Appendix B.2: the test request.
SignedMessage test_request() {
  SignedMessage m;
  m.method = "POST";
  m.scheme = "https";
  m.authority = "example.com";
  m.target = "/foo?param=Value&Pet=dog";
  m.fields = {
      {"Host", "example.com"},
      {"Date", "Tue, 20 Apr 2021 02:07:55 GMT"},
      {"Content-Type", "application/json"},
      {"Content-Digest",
       "sha-512=:WZDPaVn/"
       "7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"},
      {"Content-Length", "18"},
  };
  return m;
}

// RFC 9421 Appendix B.1.5: test-shared-secret.
HmacKey shared_secret() {
  return {
      "test-shared-secret",
      *base64::decode("uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pc"
                      "l8jsasjlTMtDQ==")};
}

constexpr int64_t kCreated = 1618884473;

SignaturePolicy b25_policy() {
  SignaturePolicy p;
  p.label = "sig-b25";
  p.keys = {shared_secret()};
  p.max_age_seconds = 300;
  return p;
}

TEST(MessageSignature, TheSignatureBasesOfAppendixB2) {
  // B.2.6: derived components and fields.
  EXPECT_EQ(
      signature_base(
          test_request(),
          {"date", "@method", "@path", "@authority", "content-type", "content-length"},
          R"(("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519")"),
      "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n"
      "\"@method\": POST\n"
      "\"@path\": /foo\n"
      "\"@authority\": example.com\n"
      "\"content-type\": application/json\n"
      "\"content-length\": 18\n"
      "\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" "
      "\"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"");
  // §2.2.7: @query with its "?"; "?" alone when the request has none.
  SignedMessage m = test_request();
  EXPECT_EQ(signature_base(m, {"@query"}, "()"),
            "\"@query\": ?param=Value&Pet=dog\n\"@signature-params\": ()");
  m.target = "/foo";
  EXPECT_EQ(signature_base(m, {"@query"}, "()"), "\"@query\": ?\n\"@signature-params\": ()");
}

TEST(MessageSignature, TheHmacSha256SignatureOfAppendixB25Verifies) {
  SignedMessage m = test_request();
  const char* input =
      R"(sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret")";
  const char* signature = "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:";
  const SignatureCheck check = verify_hmac_sha256(m, input, signature, b25_policy(), kCreated + 10);
  EXPECT_TRUE(check.valid) << check.error;
  EXPECT_EQ(check.covered, (std::vector<std::string>{"date", "@authority", "content-type"}));

  // One character of a covered field changed: refused.
  m.fields[2].second = "application/jsoN";
  EXPECT_FALSE(verify_hmac_sha256(m, input, signature, b25_policy(), kCreated + 10).valid);
  // An uncovered one: still valid (what is not covered is not protected).
  m = test_request();
  m.fields[4].second = "19";
  EXPECT_TRUE(verify_hmac_sha256(m, input, signature, b25_policy(), kCreated + 10).valid);
}

TEST(MessageSignature, SignedThenVerified) {
  const SignedMessage m = test_request();
  const std::vector<std::string> covered = {"@method", "@authority", "@path", "@query", "date"};
  auto fields = sign_hmac_sha256(m, covered, shared_secret(), kCreated, "tessera", "gw");
  ASSERT_TRUE(fields);
  EXPECT_EQ(
      fields->signature_input,
      R"(tessera=("@method" "@authority" "@path" "@query" "date");created=1618884473;keyid="test-shared-secret";alg="hmac-sha256";tag="gw")");
  SignaturePolicy p = b25_policy();
  p.label = "tessera";
  p.tag = "gw";
  p.required = {"@method", "@path"};
  const SignatureCheck check =
      verify_hmac_sha256(m, fields->signature_input, fields->signature, p, kCreated);
  EXPECT_TRUE(check.valid) << check.error;
  // Another signature beside ours in the same fields changes nothing.
  EXPECT_TRUE(verify_hmac_sha256(m, "other=();created=1, " + fields->signature_input,
                                 "other=:AAAA:, " + fields->signature, p, kCreated)
                  .valid);
  // A component absent from the message cannot be signed.
  EXPECT_FALSE(sign_hmac_sha256(m, {"x-absent"}, shared_secret(), kCreated, "tessera", ""));
}

TEST(MessageSignature, WhatAVerifierRefuses) {
  const SignedMessage m = test_request();
  const std::vector<std::string> covered = {"@method", "@path", "date"};
  auto good = *sign_hmac_sha256(m, covered, shared_secret(), kCreated, "tessera", "gw");
  SignaturePolicy p = b25_policy();
  p.label = "tessera";
  p.tag = "gw";
  p.max_age_seconds = 60;
  // Refused, and for the reason `why` names (the MAC is checked last, so a check that was gone
  // would show as another reason, or none).
  auto refused = [&](const SignaturePolicy& policy, const std::string& input,
                     const std::string& signature, std::string_view why, int64_t now = kCreated) {
    const SignatureCheck c = verify_hmac_sha256(m, input, signature, policy, now);
    if (c.valid) return ::testing::AssertionFailure() << "accepted";
    if (c.error.find(why) == std::string::npos) {
      return ::testing::AssertionFailure() << "refused for: " << c.error << ", not " << why;
    }
    return ::testing::AssertionSuccess() << c.error;
  };
  EXPECT_TRUE(refused(p, good.signature_input, good.signature, "too old", kCreated + 61))
      << "too old";
  EXPECT_TRUE(refused(p, good.signature_input, good.signature, "in the future", kCreated - 6))
      << "future";
  EXPECT_TRUE(refused(p, good.signature_input,
                      "tessera=:" + base64::encode(std::string(32, 'x')) + ":", "does not match"));
  EXPECT_TRUE(refused(p, good.signature_input, "", "no signature labelled")) << "no Signature";
  EXPECT_TRUE(refused(p, "", good.signature, "no signature labelled")) << "no Signature-Input";
  EXPECT_TRUE(refused(p, good.signature_input, "tessera=\"not bytes\"", "malformed"));
  SignaturePolicy other = p;
  other.label = "other";
  EXPECT_TRUE(refused(other, good.signature_input, good.signature, "no signature labelled"));
  other = p;
  other.keys = {{"another-key", shared_secret().secret}};
  EXPECT_TRUE(refused(other, good.signature_input, good.signature, "keyid names no key"));
  other = p;
  other.keys = {{"test-shared-secret", std::string(64, 'k')}};
  EXPECT_TRUE(refused(other, good.signature_input, good.signature, "does not match"));
  other = p;
  other.tag = "another-tag";
  EXPECT_TRUE(refused(other, good.signature_input, good.signature, "the tag is not"));
  other = p;
  other.required = {"@query"};
  EXPECT_TRUE(refused(other, good.signature_input, good.signature, "does not cover @query"));

  // Parameters changed after signing are in the base: the MAC no longer matches.
  auto edited = [&](std::string from, std::string to) {
    std::string s = good.signature_input;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  EXPECT_TRUE(refused(p, edited("created=1618884473", "created=1618884470"), good.signature,
                      "does not match"));
  EXPECT_TRUE(
      refused(p, edited(R"("date")", R"("content-type")"), good.signature, "does not match"));
  EXPECT_TRUE(refused(p, edited("hmac-sha256", "ed25519"), good.signature, "alg is not"));
  EXPECT_TRUE(refused(p, edited(";created=1618884473", ""), good.signature, "no created"));
  EXPECT_TRUE(refused(p, edited(R"(;keyid="test-shared-secret")", ""), good.signature, "no keyid"));
  EXPECT_TRUE(
      refused(p, edited(R"("date")", R"("date";sf)"), good.signature, "not a plain component"));
  EXPECT_TRUE(
      refused(p, edited(R"("date")", R"("date" "date")"), good.signature, "absent or malformed"));
  // A signature that has expired, even if signed as such.
  auto expiring = good;
  expiring.signature_input += ";expires=1618884474";
  EXPECT_TRUE(refused(p, expiring.signature_input, expiring.signature, "expired", kCreated + 2));
}

TEST(MessageSignature, FieldLinesAreJoinedAndTrimmedAsSection21Says) {
  SignedMessage m;
  m.method = "GET";
  m.scheme = "http";
  m.authority = "API.Example:80";
  m.target = "";
  m.fields = {{"X-Thing", "  one "}, {"x-thing", "two\t"}};
  EXPECT_EQ(signature_base(m, {"x-thing", "@authority", "@path"}, "()"),
            "\"x-thing\": one, two\n\"@authority\": api.example\n\"@path\": /\n"
            "\"@signature-params\": ()");
  EXPECT_FALSE(signature_base(m, {"X-Thing"}, "()")) << "identifiers are lowercase";
  EXPECT_FALSE(signature_base(m, {"@target-uri"}, "()")) << "not supported";
  m.fields.emplace_back("x-evil", "a\nb");
  EXPECT_FALSE(signature_base(m, {"x-evil"}, "()"));
  m.fields.emplace_back("x-name", "J\xc3\xbcrgen");
  EXPECT_FALSE(signature_base(m, {"x-name"}, "()")) << "§2.5: the base is ASCII";
  EXPECT_FALSE(signature_params({"x-thing"}, 1, "key\xc3\xa9", "")) << "a keyid outside ASCII";
}

}  // namespace
}  // namespace tessera::resource
