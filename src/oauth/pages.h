// The authorization server's server-rendered HTML pages (sign-in, one-time code, consent, sign
// out, errors, OAuth 2.0 Form Post Response Mode) and the headers they are served with. No
// protocol logic: the /authorize interaction decides what to show and fills these structs.
//
// Every page is self-contained: one inline <style>, no external assets, no script except the
// form_post auto-submit, each allowed by its SHA-256 hash in the Content-Security-Policy. Every
// value placed into the HTML is escaped, in text and in (always double-quoted) attributes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.h"
#include "oauth/authorization_details.h"

namespace tessera::oauth::pages {

// POST target and the hidden fields every form carries: `csrf` (the anti-forgery token bound to
// the browser session) and `interaction` (the pending /authorize interaction's id).
struct Form {
  std::string action{};
  std::string csrf{};
  std::string interaction{};
};

struct LoginPage {
  Form form{};
  std::string client_name{};
  std::string client_id{};  // shown beside a client_name that differs from it (RFC 7591 §5)
  std::string username{};   // prefilled after a failed attempt
  std::optional<std::string> error = std::nullopt;
};
// Fields: username, password; one submit button.
std::string login(const LoginPage& page);

struct TotpPage {
  Form form{};
  std::string client_name{};
  std::string client_id{};  // as LoginPage's
  std::optional<std::string> error = std::nullopt;
};
// Field: code (6 digits, RFC 6238 with the RFC 4226 §5.3 default length).
std::string totp(const TotpPage& page);

struct ConsentPage {
  Form form{};
  std::string client_name{};
  // Shown beside a client_name that differs from it (a registered name is the registrant's
  // claim, RFC 7591 §5).
  std::string client_id{};
  // RFC 7591 §2 links the client registered (empty: none): its home page (the name links to
  // it), its privacy policy and terms of service.
  std::string client_uri{};
  std::string policy_uri{};
  std::string tos_uri{};
  std::string username{};
  std::vector<std::string> scopes{};
  // RFC 9396 §4: the authorization details asked for, each under its heading.
  std::vector<AuthorizationDetailSummary> authorization_details{};
  // RFC 8628 §5.4: the request comes from a device showing this code; the page warns the user
  // to allow only a device of their own.
  std::optional<std::string> device_user_code = std::nullopt;
  // CIBA §7.1: an application asked for the user out of band; the page shows its binding message
  // (empty: none given) and asks the user to allow only a request they started.
  std::optional<std::string> binding_message = std::nullopt;
};
// Lists the scopes with a human description for the OpenID Connect Core §5.4 / §11 scopes
// (openid, profile, email, address, phone, offline_access) and the raw name for others; two
// submit buttons name="decision" value="allow" / value="deny".
std::string consent(const ConsentPage& page);

// CIBA: the signed-in user's pending backchannel requests (oauth/ciba.h CibaInbox), each a link
// to its approval page.
struct CibaRequestsPage {
  struct Entry {
    std::string client_name;
    std::string binding_message;  // empty: none
    std::string user_code;
    std::string link;
  };
  std::string username{};
  std::vector<Entry> entries{};
};
std::string ciba_requests(const CibaRequestsPage& page);

// The user's own account page: their browser sessions (each can be signed out) and the
// applications they allowed (each can be withdrawn). Every button is its own form POSTing to
// `action` with the CSRF token and `sid` or `client_id`.
struct AccountPage {
  struct SessionRow {
    std::string sid;
    std::string signed_in;  // when, as text
    std::string method;     // "password", "password and one-time code"
    bool current = false;   // this browser's
  };
  struct ConsentRow {
    std::string client_id;
    std::vector<std::string> scopes;
  };
  std::string action{};
  std::string csrf{};
  std::string username{};
  std::vector<SessionRow> sessions{};
  std::vector<ConsentRow> consents{};
};
std::string account(const AccountPage& page);

struct DeviceCodePage {
  Form form{};
  std::string user_code{};  // prefilled from verification_uri_complete or a failed attempt
  std::optional<std::string> error = std::nullopt;
};
// RFC 8628 §3.3: the user types the code their device shows. Field: user_code; one button.
std::string device_code(const DeviceCodePage& page);

struct LogoutPage {
  Form form{};
  std::optional<std::string> client_name = std::nullopt;  // the relying party that asked, if known
};
// OpenID Connect RP-Initiated Logout §2: ask before ending the session. Buttons name="decision"
// value="logout" / value="cancel".
std::string logout_confirm(const LogoutPage& page);
// The signed-out page. OpenID Connect Front-Channel Logout 1.0 §3: with `frames`, one hidden
// iframe per client frontchannel_logout_uri (iss and sid already added); with `continue_to`, a
// link to it.
std::string logged_out(const std::vector<std::string>& frames = {},
                       std::string_view continue_to = {});

// A title and one paragraph: errors, and the outcome of a device's authorization.
struct ErrorPage {
  std::string title{};
  std::string message{};
};
std::string error(const ErrorPage& page);

// OAuth 2.0 Form Post Response Mode §2: an auto-submitting form POSTing `params` to
// `redirect_uri`, with a <noscript> submit button.
std::string form_post(std::string_view redirect_uri,
                      const std::vector<std::pair<std::string, std::string>>& params);

// text/html; charset=utf-8 with Cache-Control: no-store, Pragma: no-cache,
// X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer, X-Frame-Options: DENY and
// Content-Security-Policy: default-src 'none'; style-src 'sha256-<inline style>'; img-src data:;
// form-action 'self'; frame-ancestors 'none'; base-uri 'none'.
http::Response html(int status, std::string body);
// Same, with form-action 'self' plus the origin of `redirect_uri`. Use it for every page whose
// form submission may be answered with a redirect to the client (login, code, consent, logout
// confirmation): Chrome and Safari check form-action against each redirect hop after a form
// submission too (w3c/webappsec-csp#8), so 'self' alone would block the final redirect.
http::Response html(int status, std::string body, std::string_view redirect_uri);

// The signed-out page of logged_out(frames, continue_to) with html()'s headers, its CSP also
// allowing frame-src to the frames' origins, and with `continue_to` a Refresh header that moves
// on there after 2 seconds (no script needed).
http::Response logged_out_response(const std::vector<std::string>& frames,
                                   std::string_view continue_to);

// form_post's response: like html() but the CSP allows the one inline script by its sha256 hash
// and form-action to the redirect URI's origin (scheme://host[:port]).
http::Response form_post_response(std::string_view redirect_uri,
                                  const std::vector<std::pair<std::string, std::string>>& params);

// The HTML-escaped form of `text`, safe in element content and in double- or single-quoted
// attribute values (& < > " ' escaped; NUL becomes U+FFFD).
std::string escape(std::string_view text);

// The CSP source expression that allows exactly the origin of `uri` (RFC 6454 §4 origin, written
// as a CSP3 host-source: lower-case scheme://host[:port], default port omitted). http and https
// only; an IPv6 literal (not expressible as a host-source) falls back to the bare scheme-source;
// anything else gives 'none' so a malformed URI fails closed.
std::string csp_form_target(std::string_view uri);

}  // namespace tessera::oauth::pages
