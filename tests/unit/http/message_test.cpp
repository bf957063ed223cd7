#include "http/message.h"

#include <gtest/gtest.h>

#include <cctype>

#include "core/base64url.h"
#include "core/crypto.h"
#include "http/bearer.h"
#include "http/client.h"

namespace tessera::http {
namespace {

TEST(PercentDecode, DecodesEscapesAndPlusOnlyInForms) {
  EXPECT_EQ(*percent_decode("a%20b+c", true), "a b c");
  EXPECT_EQ(*percent_decode("a%20b+c", false), "a b+c");
  EXPECT_EQ(*percent_decode("%C3%A9", false), "\xC3\xA9");
}

TEST(PercentDecode, RejectsTruncatedOrNonHexEscapes) {
  EXPECT_EQ(percent_decode("%", true).error(), DecodeError::kBadPercentEscape);
  EXPECT_EQ(percent_decode("%4", true).error(), DecodeError::kBadPercentEscape);
  EXPECT_EQ(percent_decode("%zz", true).error(), DecodeError::kBadPercentEscape);
}

TEST(PercentDecode, RejectsInvalidUtf8AndNul) {
  EXPECT_EQ(percent_decode("%C3", true).error(), DecodeError::kInvalidUtf8);
  EXPECT_EQ(percent_decode("%C0%AF", true).error(), DecodeError::kInvalidUtf8);  // overlong
  EXPECT_EQ(percent_decode("a%00b", true).error(), DecodeError::kNulByte);
}

TEST(FormParsing, ParsesPairsInOrderAndReportsDuplicates) {
  auto form = parse_form("grant_type=client_credentials&scope=a+b&&flag&scope=c");
  ASSERT_TRUE(form.ok());
  EXPECT_EQ(form->size(), 4u);
  EXPECT_EQ(*form->get("grant_type"), "client_credentials");
  EXPECT_EQ(*form->get("scope"), "a b");
  EXPECT_EQ(*form->get("flag"), "");
  EXPECT_EQ(*form->first_duplicate(), "scope");
}

TEST(FormParsing, OneBadEscapeFailsTheWholeBody) { EXPECT_FALSE(parse_form("a=1&b=%G1").ok()); }

TEST(FormEncoding, RoundTripsThroughTheParser) {
  Params p;
  p.add("token", "a b+c/=&é");
  p.add("x", "");
  auto parsed = parse_form(form_encode(p));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed->get("token"), "a b+c/=&é");
  EXPECT_EQ(*parsed->get("x"), "");
}

TEST(HeadersLookup, IsCaseInsensitiveAndSetReplacesAllValues) {
  Headers h;
  h.add("Content-Type", "a");
  h.add("content-type", "b");
  h.add("X-Other", "c");
  EXPECT_EQ(*h.get("CONTENT-TYPE"), "a");
  EXPECT_EQ(h.count("Content-type"), 2u);
  h.set("CONTENT-TYPE", "z");
  EXPECT_EQ(h.count("content-type"), 1u);
  EXPECT_EQ(*h.get("content-type"), "z");
  EXPECT_EQ(*h.get("x-other"), "c");
}

TEST(HeadersLookup, ClearKeepsNoStaleFields) {
  Headers h;
  h.add("A", "1");
  h.add("B", "2");
  h.clear();
  h.add("C", "3");
  EXPECT_EQ(h.size(), 1u);
  EXPECT_FALSE(h.get("A").has_value());
  EXPECT_EQ(*h.get("c"), "3");
}

TEST(HeadersLookup, RemoveKeepsTheOrderOfTheRestAndTheirValues) {
  Headers h;
  for (const char* name : {"A", "drop", "B", "DROP", "C", "Drop"}) h.add(name, name);
  h.remove("drop");
  std::vector<std::string> left;
  for (const auto& [name, value] : h) left.push_back(name + "=" += value);
  EXPECT_EQ(left, (std::vector<std::string>{"A=A", "B=B", "C=C"}));
  h.remove_if([](const Headers::Field& f) { return f.first == "B"; });
  h.add("D", "d");  // into the spare storage the removed fields left
  left.clear();
  for (const auto& [name, value] : h) left.push_back(name + "=" += value);
  EXPECT_EQ(left, (std::vector<std::string>{"A=A", "C=C", "D=d"}));
}

TEST(HeadersLookup, AMovedFromListIsEmptyAndUsable) {
  Headers h;
  h.add("A", "1");
  h.add("B", "2");
  // The state after a move is what is tested.
  // NOLINTBEGIN(bugprone-use-after-move,clang-analyzer-cplusplus.Move)
  Headers moved(std::move(h));
  EXPECT_EQ(moved.size(), 2u);
  EXPECT_EQ(h.size(), 0u);
  EXPECT_EQ(h.begin(), h.end());
  EXPECT_FALSE(h.get("A").has_value());
  h.add("C", "3");
  EXPECT_EQ(*h.get("C"), "3");
  Headers assigned;
  assigned.add("Z", "z");
  assigned = std::move(h);
  EXPECT_EQ(h.size(), 0u);
  EXPECT_EQ(assigned.size(), 1u);
  EXPECT_FALSE(assigned.get("Z").has_value());
  // NOLINTEND(bugprone-use-after-move,clang-analyzer-cplusplus.Move)
  EXPECT_EQ(*assigned.get("c"), "3");
}

TEST(HeadersLookup, ACopyHoldsTheSameFieldsAndIsIndependent) {
  Headers h;
  for (const char* name : {"A", "B", "C"}) h.add(name, name);
  h.remove("B");  // "B" stays behind as spare storage
  Headers copy(h);
  EXPECT_EQ(copy.size(), 2u);
  EXPECT_FALSE(copy.get("B").has_value());
  Headers assigned;
  assigned.add("X", "x");
  assigned = h;
  std::vector<std::string> left;
  for (const auto& [name, value] : assigned) left.push_back(name);
  EXPECT_EQ(left, (std::vector<std::string>{"A", "C"}));
  assigned.add("D", "d");
  copy.set("A", "changed");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(*h.get("A"), "A");
}

// RFC 9110 §5.5: every control but HTAB, and DEL, is unsafe in any position of a 16-byte block
// and of the tail; every other byte is safe in every position.
TEST(FieldValues, ControlCharactersAreUnsafeAnywhere) {
  EXPECT_TRUE(safe_field_value(""));
  EXPECT_TRUE(safe_field_value("a b\tc \x80\xff"));  // obs-text is a recipient's concern
  for (size_t length : {size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{1000}}) {
    const std::string value(length, 'v');
    for (size_t at : {size_t{0}, length / 2, length - 1}) {
      for (int byte = 0; byte < 256; ++byte) {
        std::string v = value;
        v[at] = static_cast<char>(byte);
        const bool control = (byte < 0x20 && byte != '\t') || byte == 0x7F;
        EXPECT_EQ(safe_field_value(v), !control) << length << " " << at << " " << byte;
      }
    }
  }
}

// RFC 9110 §5.6.2: tchar is ALPHA, DIGIT and fifteen marks; every other byte ends a token.
TEST(Tokens, EveryByteIsJudged) {
  const std::string marks = "!#$%&'*+-.^_`|~";
  for (int byte = 0; byte < 256; ++byte) {
    const char c = static_cast<char>(byte);
    const bool tchar = std::isalnum(byte) != 0 || marks.find(c) != std::string::npos;
    EXPECT_EQ(is_token(std::string(1, c)), tchar) << byte;
    EXPECT_EQ(is_token("Name" + std::string(1, c)), tchar) << byte;
  }
  EXPECT_FALSE(is_token(""));
}

// RFC 6750 §2.1 b64token, checked 16 bytes at a time: a byte outside it is found in any position
// of a block and of the tail, and every allowed byte passes in every position.
TEST(BearerCredential, EveryByteOfAB64TokenIsCheckedInEveryPosition) {
  const std::string allowed =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/";
  for (size_t length : {size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{33}, size_t{700}}) {
    std::string token;
    for (size_t i = 0; i < length; ++i) token += allowed[i % allowed.size()];
    auto good = bearer_credential("Bearer " + token + "==");
    ASSERT_TRUE(good.ok()) << length;
    EXPECT_EQ(good->value_or(""), token + "==");
    for (size_t at = 0; at < length; ++at) {
      if (at == 40 && length > 100) at = length - 40;  // the long one: its two ends
      for (int c = 0; c < 256; ++c) {
        if (allowed.find(static_cast<char>(c)) != std::string::npos) continue;
        if (at + 1 == length && c == '=') continue;  // trailing '=' are allowed
        std::string bad = token;
        bad[at] = static_cast<char>(c);
        if (c == ' ' && (at == 0 || at + 1 == length)) continue;  // trimmed, not part of it
        EXPECT_FALSE(bearer_credential("Bearer " + bad).ok()) << length << " " << at << " " << c;
      }
    }
  }
  // Every allowed byte, in each position of a 16-byte block.
  for (char c : allowed) {
    for (size_t at = 0; at < 16; ++at) {
      std::string token(32, 'a');
      token[at] = c;
      EXPECT_TRUE(bearer_credential("Bearer " + token).ok()) << c << " " << at;
    }
  }
  EXPECT_FALSE(bearer_credential("Bearer ===").ok());
  EXPECT_FALSE(bearer_credential("Bearer a=b").ok());
}

TEST(RequestQuery, DecodesParametersAndKeepsPathWithoutQuery) {
  Request r;
  r.set_target("/cb?code=abc%2Fd&state=x+y");
  EXPECT_EQ(r.path(), "/cb");
  EXPECT_EQ(r.raw_query(), "code=abc%2Fd&state=x+y");
  EXPECT_EQ(*r.query().get("code"), "abc/d");
  EXPECT_EQ(*r.query().get("state"), "x y");
  EXPECT_FALSE(r.query_error().has_value());
}

TEST(RequestQuery, MalformedQueryIsReportedNotThrown) {
  Request r;
  r.set_target("/cb?code=%ZZ");
  EXPECT_TRUE(r.query().empty());
  EXPECT_EQ(*r.query_error(), DecodeError::kBadPercentEscape);
}

TEST(ClientCertificateThumbprint, IsBase64UrlSha256OfDer) {
  ClientCertificate c;
  c.der = "not really DER";
  EXPECT_EQ(c.sha256_thumbprint(), base64url::encode(crypto::sha256("not really DER")));
  EXPECT_EQ(c.sha256_thumbprint().size(), 43u);
}

// RFC 9112 §3.2.2 absolute-form: the scheme's security, the authority, the origin-form target.
TEST(AbsoluteTarget, SplitsTheUriIntoAuthorityAndOriginForm) {
  auto a = parse_absolute_target("HTTP://Api.Example.com:8080/where/7?x=1");
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(a->secure);
  EXPECT_EQ(a->authority, "Api.Example.com:8080");
  EXPECT_EQ(a->origin_form, "/where/7?x=1");
  a = parse_absolute_target("https://[2001:db8::1]:8443?x=1");
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->secure);
  EXPECT_EQ(a->authority, "[2001:db8::1]:8443");
  EXPECT_EQ(a->origin_form, "/?x=1") << "an empty path is / (RFC 9112 §3.2.1)";
  a = parse_absolute_target("http://127.0.0.1");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->origin_form, "/");
}

TEST(AbsoluteTarget, RefusesWhatNamesNoHttpResource) {
  for (std::string_view t :
       {"/where/7", "*", "api.example.com:443", "ftp://api.example.com/", "http:///x",
        "http://:80/x", "http://user@api.example.com/x", "http://user:pw@api.example.com/x",
        "http://api.example.com:8o/x", "http://[::1/x", "http://[]/x", "http://[::1]x/",
        "http://api.example.com/x#frag", "http://api example.com/x", "http://[g::1]/"}) {
    EXPECT_FALSE(parse_absolute_target(t).has_value()) << t;
  }
}

TEST(ResponseHelpers, ErrorIsOAuthShapedJsonAndNotCacheable) {
  Response r = Response::error(400, "invalid_request", "missing grant_type");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(*r.headers.get("content-type"), "application/json");
  EXPECT_EQ(*r.headers.get("cache-control"), "no-store");
  auto j = json::parse_strict(r.body);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["error"], "invalid_request");
  EXPECT_EQ((*j)["error_description"], "missing grant_type");
}

}  // namespace
}  // namespace tessera::http
