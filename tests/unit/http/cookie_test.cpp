// Cookie header parsing and Set-Cookie building (RFC 6265).
#include "http/cookie.h"

#include <gtest/gtest.h>

#include <vector>

namespace tessera::http {
namespace {

Request with_cookies(std::initializer_list<std::string_view> headers) {
  Request r;
  r.set_method("GET");
  r.set_target("/authorize");
  for (auto h : headers) r.mutable_headers().add("Cookie", h);
  return r;
}

TEST(RequestCookie, FindsEachOfSeveralCookies) {
  auto r = with_cookies({"a=1; sid=abc.def; theme=dark"});
  EXPECT_EQ(request_cookie(r, "a"), "1");
  EXPECT_EQ(request_cookie(r, "sid"), "abc.def");
  EXPECT_EQ(request_cookie(r, "theme"), "dark");
}

TEST(RequestCookie, AbsentCookieOrHeaderGivesNullopt) {
  EXPECT_EQ(request_cookie(with_cookies({}), "sid"), std::nullopt);
  auto r = with_cookies({"sidx=1; xsid=2; sid; SID=3"});
  EXPECT_EQ(request_cookie(r, "sid"), std::nullopt);  // no prefix/suffix match, no bare name
  EXPECT_EQ(request_cookie(r, "SID"), "3");           // names are case-sensitive
  EXPECT_EQ(request_cookie(r, ""), std::nullopt);
}

TEST(RequestCookie, TrimsSpacesAndTabsAroundPairs) {
  auto r = with_cookies({"  a = 1 ;\tb=2;c=3  ;;  d="});
  EXPECT_EQ(request_cookie(r, "a"), "1");
  EXPECT_EQ(request_cookie(r, "b"), "2");
  EXPECT_EQ(request_cookie(r, "c"), "3");
  EXPECT_EQ(request_cookie(r, "d"), "");  // present but empty is not absent
}

TEST(RequestCookie, UnwrapsQuotedValuesAndKeepsEqualsInValues) {
  auto r = with_cookies({R"(q="quoted value"; e=a=b==; lone=")"});
  EXPECT_EQ(request_cookie(r, "q"), "quoted value");
  EXPECT_EQ(request_cookie(r, "e"), "a=b==");
  EXPECT_EQ(request_cookie(r, "lone"), "\"");  // a single DQUOTE is not a quoted value
}

TEST(RequestCookie, FirstOccurrenceWinsAcrossRepeatedHeaders) {
  auto r = with_cookies({"x=1; sid=first", "sid=second; y=2"});
  EXPECT_EQ(request_cookie(r, "sid"), "first");
  EXPECT_EQ(request_cookie(r, "y"), "2");  // later Cookie fields are read too
  Request lower;
  lower.mutable_headers().add("cookie", "sid=lower");
  EXPECT_EQ(request_cookie(lower, "sid"), "lower");  // field name is case-insensitive
}

TEST(SetCookieHeader, WritesDefaultsInOrder) {
  EXPECT_EQ(set_cookie_header({.name = "sid", .value = "abc"}),
            "sid=abc; Path=/; HttpOnly; SameSite=Lax");
}

TEST(SetCookieHeader, WritesEveryAttribute) {
  SetCookie c{.name = "__Host-sid",
              .value = "tok-_.~",
              .path = "/",
              .max_age = 3600,
              .secure = true,
              .http_only = true,
              .same_site = "Strict"};
  EXPECT_EQ(set_cookie_header(c),
            "__Host-sid=tok-_.~; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Strict");
  c.http_only = false;
  c.same_site = "";
  EXPECT_EQ(set_cookie_header(c), "__Host-sid=tok-_.~; Path=/; Max-Age=3600; Secure");
}

TEST(SetCookieHeader, MaxAgeZeroDeletesWithAnEmptyValue) {
  EXPECT_EQ(set_cookie_header({.name = "sid", .value = "", .path = "/authorize", .max_age = 0}),
            "sid=; Path=/authorize; Max-Age=0; HttpOnly; SameSite=Lax");
}

TEST(SetCookieHeader, SameSiteNoneNeedsSecure) {
  EXPECT_EQ(set_cookie_header({.name = "a", .value = "b", .same_site = "None"}), std::nullopt);
  EXPECT_EQ(set_cookie_header({.name = "a", .value = "b", .secure = true, .same_site = "None"}),
            "a=b; Path=/; Secure; HttpOnly; SameSite=None");
}

TEST(SetCookieHeader, RefusesBadNames) {
  for (const std::string& bad :
       std::vector<std::string>{"", "a b", "a;b", "a=b", "a,b", "a\"b", "a(b)", "a\r\nb",
                                "caf\xc3\xa9", std::string("a\0b", 3)}) {
    EXPECT_EQ(set_cookie_header({.name = bad, .value = "v"}), std::nullopt) << bad;
  }
}

TEST(SetCookieHeader, RefusesValuesOutsideCookieOctet) {
  for (const std::string& bad :
       std::vector<std::string>{"a b", "a;b", "a,b", "a\"b", "a\\b", "a\r\nSet-Cookie: x=y", "a\tb",
                                "\x7f", "caf\xc3\xa9", std::string("a\0b", 3)}) {
    EXPECT_EQ(set_cookie_header({.name = "n", .value = bad}), std::nullopt) << bad;
  }
  EXPECT_TRUE(set_cookie_header({.name = "n", .value = "!#$%&'()*+-./:<=>?@[]^_`{|}~"}));
}

TEST(SetCookieHeader, RefusesBadAttributes) {
  EXPECT_EQ(set_cookie_header({.name = "n", .value = "v", .path = "x"}), std::nullopt);
  EXPECT_EQ(set_cookie_header({.name = "n", .value = "v", .path = "/a;Domain=evil"}), std::nullopt);
  EXPECT_EQ(set_cookie_header({.name = "n", .value = "v", .path = "/a\r\n"}), std::nullopt);
  EXPECT_EQ(set_cookie_header({.name = "n", .value = "v", .max_age = -1}), std::nullopt);
  EXPECT_EQ(set_cookie_header({.name = "n", .value = "v", .same_site = "lax"}), std::nullopt);
  EXPECT_EQ(set_cookie_header({.name = "n", .value = "v", .same_site = "Lax; x"}), std::nullopt);
}

TEST(SetCookieHeader, PrefixesRequireTheirAttributes) {
  EXPECT_EQ(set_cookie_header({.name = "__Secure-a", .value = "v"}), std::nullopt);
  EXPECT_TRUE(
      set_cookie_header({.name = "__Secure-a", .value = "v", .path = "/x", .secure = true}));
  EXPECT_EQ(set_cookie_header({.name = "__Host-a", .value = "v"}), std::nullopt);
  EXPECT_EQ(set_cookie_header({.name = "__Host-a", .value = "v", .path = "/x", .secure = true}),
            std::nullopt);
}

}  // namespace
}  // namespace tessera::http
