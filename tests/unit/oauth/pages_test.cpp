// The server-rendered pages: escaping of every interpolated value, the hidden form fields, the
// accessibility and self-containment rules, and the Content-Security-Policy their headers carry.
#include "oauth/pages.h"

#include <gtest/gtest.h>

#include <regex>

#include "core/base64url.h"
#include "core/crypto.h"

namespace tessera::oauth::pages {
namespace {

// A value that breaks out of text and of both attribute quotings if left unescaped, and carries
// an entity that must come out double-escaped.
std::string hostile(const std::string& tag) {
  return "\"><script>alert('" + tag + "')</script>&amp;";
}
// hostile(tag) as it must appear in the HTML, spelled out by hand (not via escape()).
std::string escaped(const std::string& tag) {
  return "&quot;&gt;&lt;script&gt;alert(&#39;" + tag + "&#39;)&lt;/script&gt;&amp;amp;";
}

size_t count(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string_view::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

std::string between(std::string_view body, std::string_view open, std::string_view close) {
  size_t start = body.find(open);
  if (start == std::string_view::npos) return "<missing>";
  start += open.size();
  size_t end = body.find(close, start);
  if (end == std::string_view::npos) return "<missing>";
  return std::string(body.substr(start, end - start));
}

std::string sha256_source(std::string_view text) {
  return "'sha256-" + base64::encode(crypto::sha256(text)) + "'";
}

Form hostile_form() {
  return {.action = hostile("action"), .csrf = hostile("csrf"), .interaction = hostile("ia")};
}

// What every page shares: the document shell, no raw markup from values, nothing fetched.
// `links`: absolute links the page may have (a client's registered pages, followed by the user;
// links fetch nothing).
void expect_common_shape(const std::string& body, size_t scripts = 0, size_t links = 0) {
  EXPECT_TRUE(body.starts_with("<!DOCTYPE html>\n<html lang=\"en\">")) << body;
  EXPECT_NE(body.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(body.find("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"),
            std::string::npos);
  EXPECT_EQ(count(body, "<style>"), 1u);
  EXPECT_EQ(count(body, "<script"), scripts) << body;
  EXPECT_EQ(body.find("<script>alert"), std::string::npos) << body;
  EXPECT_EQ(body.find("alert('"), std::string::npos);
  // No external assets: no src attributes, stylesheet links, CSS url() or absolute hrefs.
  EXPECT_EQ(body.find(" src="), std::string::npos);
  EXPECT_EQ(body.find("stylesheet"), std::string::npos);
  EXPECT_EQ(body.find("url("), std::string::npos);
  EXPECT_EQ(count(body, "href=\"http"), links);
  EXPECT_EQ(body.find("@import"), std::string::npos);
}

// Every form is POST and carries both hidden fields; every label points at an existing id.
void expect_forms_and_labels(const std::string& body, const std::string& action,
                             const std::string& csrf, const std::string& interaction) {
  EXPECT_EQ(count(body, "<form "), 1u);
  EXPECT_NE(body.find("<form method=\"post\" action=\"" + action + "\">"), std::string::npos)
      << body;
  EXPECT_NE(body.find("<input type=\"hidden\" name=\"csrf\" value=\"" + csrf + "\">"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("<input type=\"hidden\" name=\"interaction\" value=\"" + interaction + "\">"),
            std::string::npos)
      << body;
  std::regex label(R"re(<label for="([^"]+)">)re");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), label);
       it != std::sregex_iterator(); ++it) {
    std::string id = (*it)[1];
    EXPECT_EQ(count(body, "id=\"" + id + "\""), 1u) << id;
  }
}

TEST(PagesEscape, EscapesEveryHtmlSpecialCharacter) {
  EXPECT_EQ(escape("<a href=\"x\" title='y'>&amp;</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;");
  EXPECT_EQ(escape(std::string("a\0b", 3)),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(escape("plain caf\xC3\xA9"), "plain caf\xC3\xA9");
  EXPECT_EQ(escape(hostile("t")), escaped("t"));
}

TEST(LoginPage, EscapesEveryFieldAndCarriesTheHiddenFields) {
  std::string body = login({.form = hostile_form(),
                            .client_name = hostile("client"),
                            .username = hostile("user"),
                            .error = hostile("error")});
  expect_common_shape(body);
  expect_forms_and_labels(body, escaped("action"), escaped("csrf"), escaped("ia"));
  for (const char* tag : {"client", "user", "error"}) {
    EXPECT_NE(body.find(escaped(tag)), std::string::npos) << tag;
  }
  EXPECT_NE(body.find("value=\"" + escaped("user") + "\""), std::string::npos);
}

TEST(LoginPage, HasLabelledFieldsWithAutocompleteAndAnnouncesErrors) {
  Form form{.action = "/authorize/login", .csrf = "c1", .interaction = "i1"};
  std::string body = login({.form = form, .client_name = "Photos", .client_id = "photos-app"});
  expect_common_shape(body);
  expect_forms_and_labels(body, "/authorize/login", "c1", "i1");
  EXPECT_NE(body.find("<label for=\"username\">"), std::string::npos);
  EXPECT_NE(body.find("<label for=\"password\">"), std::string::npos);
  EXPECT_NE(body.find("name=\"username\" type=\"text\" autocomplete=\"username\""),
            std::string::npos);
  EXPECT_NE(body.find("name=\"password\" type=\"password\" autocomplete=\"current-password\""),
            std::string::npos);
  EXPECT_NE(body.find("<button type=\"submit\">"), std::string::npos);
  // The registered name, isolated, with the client_id beside it (RFC 7591 §5).
  EXPECT_NE(body.find("<strong><bdi>Photos</bdi></strong> <span class=\"muted\">(<bdi>photos-app"
                      "</bdi>)</span>"),
            std::string::npos)
      << body;
  std::string same = login({.form = form, .client_name = "spa", .client_id = "spa"});
  EXPECT_EQ(same.find("(<bdi>spa"), std::string::npos);
  EXPECT_EQ(body.find("role=\"alert\""), std::string::npos);
  EXPECT_EQ(body.find("aria-invalid"), std::string::npos);

  std::string failed = login({.form = form, .client_name = "", .error = "Wrong password"});
  EXPECT_NE(failed.find("role=\"alert\">Wrong password</p>"), std::string::npos);
  EXPECT_EQ(count(failed, "aria-describedby=\"error\""), 2u);
  EXPECT_NE(failed.find("the application"), std::string::npos);  // no client name given
}

TEST(DeviceCodePage, EscapesEveryFieldAndAnnouncesErrors) {
  std::string body = device_code(
      {.form = hostile_form(), .user_code = hostile("code"), .error = hostile("error")});
  expect_common_shape(body);
  expect_forms_and_labels(body, escaped("action"), escaped("csrf"), escaped("ia"));
  EXPECT_NE(body.find("value=\"" + escaped("code") + "\""), std::string::npos);
  EXPECT_NE(body.find("role=\"alert\">" + escaped("error")), std::string::npos);
  EXPECT_NE(body.find("<label for=\"user_code\">"), std::string::npos);
  std::string clean = device_code({.form = hostile_form(), .user_code = "BCDF-GHJK"});
  EXPECT_NE(clean.find("value=\"BCDF-GHJK\""), std::string::npos);
  EXPECT_EQ(clean.find("role=\"alert\""), std::string::npos);
}

TEST(TotpPage, EscapesEveryFieldAndAsksForASixDigitCode) {
  std::string body =
      totp({.form = hostile_form(), .client_name = hostile("client"), .error = hostile("error")});
  expect_common_shape(body);
  expect_forms_and_labels(body, escaped("action"), escaped("csrf"), escaped("ia"));
  EXPECT_NE(body.find(escaped("client")), std::string::npos);
  EXPECT_NE(body.find(escaped("error")), std::string::npos);
  EXPECT_NE(body.find("<label for=\"code\">"), std::string::npos);
  for (const char* attr : {"name=\"code\"", "inputmode=\"numeric\"", "pattern=\"[0-9]{6}\"",
                           "maxlength=\"6\"", "autocomplete=\"one-time-code\""}) {
    EXPECT_NE(body.find(attr), std::string::npos) << attr;
  }
}

TEST(ConsentPage, DescribesKnownScopesAndShowsOthersRaw) {
  std::string body = consent({.form = hostile_form(),
                              .client_name = hostile("client"),
                              .username = hostile("user"),
                              .scopes = {"openid", "profile", "email", "address", "phone",
                                         "offline_access", "invoices:read", hostile("scope")}});
  expect_common_shape(body);
  expect_forms_and_labels(body, escaped("action"), escaped("csrf"), escaped("ia"));
  for (const char* tag : {"client", "user"}) {
    EXPECT_NE(body.find(escaped(tag)), std::string::npos) << tag;
  }
  EXPECT_NE(body.find("<li><code>" + escaped("scope") + "</code></li>"), std::string::npos);
  EXPECT_NE(body.find("<li><code>invoices:read</code></li>"), std::string::npos);
  EXPECT_EQ(count(body, "<li>"), 8u);
  // The OpenID scopes get words, not their names.
  for (const char* raw : {">openid<", ">profile<", ">email<", ">address<", ">phone<",
                          ">offline_access<", "<code>openid", "<code>email"}) {
    EXPECT_EQ(body.find(raw), std::string::npos) << raw;
  }
  for (const char* words : {"email address", "postal address", "phone number", "profile",
                            "while you are not using it", "Sign you in"}) {
    EXPECT_NE(body.find(words), std::string::npos) << words;
  }
  EXPECT_NE(body.find("<button type=\"submit\" name=\"decision\" value=\"allow\">"),
            std::string::npos);
  EXPECT_NE(body.find("<button type=\"submit\" name=\"decision\" value=\"deny\""),
            std::string::npos);
}

// RFC 9396 §4: each authorization detail under its heading, every member escaped.
TEST(ConsentPage, ShowsEachAuthorizationDetailWithItsMembersEscaped) {
  std::string body =
      consent({.form = hostile_form(),
               .client_name = "Shop",
               .username = "alice",
               .authorization_details = {
                   {"Payment", {{"amount", "123.50 EUR"}, {"creditor", hostile("c")}}},
                   {hostile("heading"), {{hostile("member"), "x"}}}}});
  expect_common_shape(body);
  EXPECT_EQ(count(body, "<section class=\"detail\">"), 2u);
  EXPECT_NE(body.find("<h2>Payment</h2>"), std::string::npos);
  EXPECT_NE(body.find("<dt>amount</dt><dd>123.50 EUR</dd>"), std::string::npos);
  EXPECT_NE(body.find("<dd>" + escaped("c") + "</dd>"), std::string::npos);
  EXPECT_NE(body.find("<h2>" + escaped("heading") + "</h2>"), std::string::npos);
  EXPECT_NE(body.find("<dt>" + escaped("member") + "</dt>"), std::string::npos);
  // Details alone are not "know that you use it".
  EXPECT_EQ(body.find("Know that you use it"), std::string::npos);
}

// RFC 7591 §2 display metadata: the name (linking to client_uri), the client_id beside a name
// that differs (RFC 7591 §5: the name is the registrant's claim), the policy and terms links,
// all escaped; without them, none of it.
TEST(ConsentPage, ShowsTheRegisteredNameWithItsIdAndLinks) {
  std::string body = consent({.form = hostile_form(),
                              .client_name = hostile("name"),
                              .client_id = hostile("id"),
                              .client_uri = "https://app.example/?a=1&b=\"2\"",
                              .policy_uri = "https://app.example/privacy",
                              .tos_uri = "https://app.example/terms",
                              .username = "alice",
                              .scopes = {"openid"}});
  expect_common_shape(body, 0, 3);
  EXPECT_NE(body.find("<a href=\"https://app.example/?a=1&amp;b=&quot;2&quot;\" "
                      "rel=\"noreferrer\"><strong><bdi>" +
                      escaped("name") + "</bdi></strong></a>"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("<span class=\"muted\">(<bdi>" + escaped("id") + "</bdi>)</span>"),
            std::string::npos);
  EXPECT_NE(body.find("<a href=\"https://app.example/privacy\" rel=\"noreferrer\">privacy "
                      "policy</a> and <a href=\"https://app.example/terms\" "
                      "rel=\"noreferrer\">terms of service</a>"),
            std::string::npos);

  std::string plain = consent(
      {.form = hostile_form(), .client_name = "spa", .client_id = "spa", .username = "alice"});
  EXPECT_EQ(plain.find("<a href"), std::string::npos);
  EXPECT_EQ(plain.find("(spa)"), std::string::npos);
  EXPECT_EQ(plain.find("privacy policy"), std::string::npos);
  // Only http(s) URLs become links, whatever reached the page.
  std::string odd = consent({.form = hostile_form(),
                             .client_name = "x",
                             .client_uri = "javascript:alert(1)",
                             .policy_uri = "data:text/html,x",
                             .username = "alice"});
  EXPECT_EQ(odd.find("<a href"), std::string::npos);
  EXPECT_EQ(odd.find("javascript:"), std::string::npos);
}

// Front-Channel Logout: each frame's origin in frame-src once, compared whole, so an origin that
// is a prefix of another (no port, a shorter port) is not lost.
TEST(LoggedOut, ListsEveryFrameOriginOnceEvenWhenOneIsAPrefixOfAnother) {
  http::Response r = logged_out_response(
      {"https://rp.example:8443/fc", "https://rp.example/fc", "http://127.0.0.1:4000/a",
       "http://127.0.0.1:400/b", "https://rp.example/other"},
      "");
  std::string policy(*r.headers.get("Content-Security-Policy"));
  EXPECT_NE(policy.find("; frame-src https://rp.example:8443 https://rp.example "
                        "http://127.0.0.1:4000 http://127.0.0.1:400;"),
            std::string::npos)
      << policy;
}

TEST(LogoutPage, AsksWithTwoDecisionsAndEscapesTheClient) {
  std::string body = logout_confirm({.form = hostile_form(), .client_name = hostile("client")});
  expect_common_shape(body);
  expect_forms_and_labels(body, escaped("action"), escaped("csrf"), escaped("ia"));
  EXPECT_NE(body.find("<h1>Sign out?</h1>"), std::string::npos);
  EXPECT_NE(body.find(escaped("client")), std::string::npos);
  EXPECT_NE(body.find("name=\"decision\" value=\"logout\""), std::string::npos);
  EXPECT_NE(body.find("name=\"decision\" value=\"cancel\""), std::string::npos);

  std::string anonymous = logout_confirm({.form = {"/logout", "c", "i"}});
  expect_forms_and_labels(anonymous, "/logout", "c", "i");
  EXPECT_EQ(anonymous.find("asked to sign you out"), std::string::npos);
}

TEST(LoggedOutAndErrorPages, SayWhatHappenedAndEscape) {
  std::string out = logged_out();
  expect_common_shape(out);
  EXPECT_NE(out.find("You are signed out"), std::string::npos);
  EXPECT_EQ(out.find("<form"), std::string::npos);

  std::string body = error({.title = hostile("title"), .message = hostile("message")});
  expect_common_shape(body);
  EXPECT_NE(body.find("<title>" + escaped("title") + "</title>"), std::string::npos);
  EXPECT_NE(body.find("<h1>" + escaped("title") + "</h1>"), std::string::npos);
  EXPECT_NE(body.find("<p>" + escaped("message") + "</p>"), std::string::npos);
}

TEST(HtmlResponse, CarriesTheSecurityHeadersAndTheStyleHashOfTheBody) {
  std::string body = login({.form = {"/a", "c", "i"}, .client_name = "x"});
  http::Response r = html(401, body);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, body);
  EXPECT_EQ(r.headers.get("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.headers.get("Cache-Control"), "no-store");
  EXPECT_EQ(r.headers.get("Pragma"), "no-cache");
  EXPECT_EQ(r.headers.get("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r.headers.get("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(r.headers.get("X-Frame-Options"), "DENY");
  EXPECT_EQ(r.headers.count("Content-Security-Policy"), 1u);
  std::string style = between(body, "<style>", "</style>");
  ASSERT_GT(style.size(), 100u);
  EXPECT_EQ(r.headers.get("Content-Security-Policy"),
            "default-src 'none'; style-src " + sha256_source(style) +
                "; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  // One style for every page: the same hash fits them all.
  EXPECT_EQ(between(logged_out(), "<style>", "</style>"), style);
  EXPECT_EQ(between(form_post("https://c.example/cb", {}), "<style>", "</style>"), style);
}

TEST(HtmlResponse, CanAlsoAllowFormSubmissionsToRedirectToTheClient) {
  http::Response r = html(200, logged_out(), "https://Client.Example:8443/cb?x=1");
  std::string csp(*r.headers.get("Content-Security-Policy"));
  EXPECT_NE(csp.find("; form-action 'self' https://client.example:8443;"), std::string::npos)
      << csp;
  http::Response bad = html(200, logged_out(), "javascript:alert(1)");
  EXPECT_NE(bad.headers.get("Content-Security-Policy")->find("; form-action 'self';"),
            std::string::npos);
}

TEST(FormPost, PostsEveryParameterEscapedWithANoscriptButton) {
  std::vector<std::pair<std::string, std::string>> params = {{"code", "abc.DEF-123"},
                                                             {"state", hostile("state")},
                                                             {hostile("name"), "v"},
                                                             {"submit", "shadows form.submit"},
                                                             {"iss", "https://as.example"}};
  std::string uri = "https://client.example/cb?a=1&b=" + hostile("uri");
  std::string body = form_post(uri, params);
  expect_common_shape(body, 1);
  EXPECT_EQ(count(body, "<form "), 1u);
  EXPECT_NE(body.find("<form method=\"post\" action=\"https://client.example/cb?a=1&amp;b=" +
                      escaped("uri") + "\">"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("<input type=\"hidden\" name=\"code\" value=\"abc.DEF-123\">"),
            std::string::npos);
  EXPECT_NE(body.find("<input type=\"hidden\" name=\"state\" value=\"" + escaped("state") + "\">"),
            std::string::npos);
  EXPECT_NE(body.find("<input type=\"hidden\" name=\"" + escaped("name") + "\" value=\"v\">"),
            std::string::npos);
  EXPECT_NE(body.find("name=\"iss\" value=\"https://as.example\""), std::string::npos);
  EXPECT_EQ(count(body, "<input type=\"hidden\""), params.size());
  // Form Post Response Mode carries only the response parameters: no csrf/interaction to the RP.
  EXPECT_EQ(body.find("name=\"csrf\""), std::string::npos);
  EXPECT_NE(between(body, "<noscript>", "</noscript>").find("<button type=\"submit\">"),
            std::string::npos);
  // The script does not rely on form.submit, which a parameter named "submit" shadows.
  EXPECT_NE(between(body, "<script>", "</script>").find("HTMLFormElement.prototype.submit"),
            std::string::npos);
}

TEST(FormPostResponse, AllowsItsScriptByHashAndFormActionToExactlyTheRedirectOrigin) {
  std::string uri = "https://client.example:8443/cb?x=\"'; script-src *";
  http::Response r = form_post_response(uri, {{"code", "c"}, {"state", "s"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, form_post(uri, {{"code", "c"}, {"state", "s"}}));
  EXPECT_EQ(r.headers.get("Cache-Control"), "no-store");
  EXPECT_EQ(r.headers.get("X-Frame-Options"), "DENY");
  EXPECT_EQ(r.headers.get("Referrer-Policy"), "no-referrer");
  std::string style = between(r.body, "<style>", "</style>");
  std::string script = between(r.body, "<script>", "</script>");
  EXPECT_EQ(r.headers.get("Content-Security-Policy"),
            "default-src 'none'; style-src " + sha256_source(style) + "; script-src " +
                sha256_source(script) +
                "; img-src data:; form-action https://client.example:8443; "
                "frame-ancestors 'none'; base-uri 'none'");
}

TEST(CspFormTarget, IsTheOriginAndFailsClosedOnAnythingElse) {
  EXPECT_EQ(csp_form_target("https://Client.EXAMPLE/cb?x=1#f"), "https://client.example");
  EXPECT_EQ(csp_form_target("HTTPS://client.example"), "https://client.example");
  EXPECT_EQ(csp_form_target("http://127.0.0.1:53123/cb"), "http://127.0.0.1:53123");
  EXPECT_EQ(csp_form_target("https://a.example:443/"), "https://a.example");
  EXPECT_EQ(csp_form_target("http://a.example:80"), "http://a.example");
  EXPECT_EQ(csp_form_target("http://a.example:443"), "http://a.example:443");
  EXPECT_EQ(csp_form_target("https://user:pw@a.example/x@y"), "https://a.example");
  EXPECT_EQ(csp_form_target("https://a.example?q=1"), "https://a.example");
  EXPECT_EQ(csp_form_target("https://a.example:/"), "https://a.example");
  EXPECT_EQ(csp_form_target("http://[::1]:8080/cb"), "http:");
  for (const char* bad :
       {"", "/cb", "javascript:alert(1)", "com.example.app:/cb", "data:text/html,x",
        "https:/a.example", "https://", "https://:443/", "https://a..example/",
        "https://.a.example/", "https://a.example:99999/", "https://a.example:8a/",
        "https://a.example;script-src */", "https://a.example\"'/", "https://a b/",
        "https://caf\xC3\xA9.example/", "ftp://a.example/", "1http://a.example/"}) {
    EXPECT_EQ(csp_form_target(bad), "'none'") << bad;
  }
}

}  // namespace
}  // namespace tessera::oauth::pages
