#include "oauth/pages.h"

#include "core/base64url.h"
#include "core/crypto.h"
#include "core/space_list.h"

namespace tessera::oauth::pages {

namespace {

// The one stylesheet, inlined in every page. Its hash goes into the CSP (style-src), computed
// from this very text, so editing the style can never leave a stale hash behind.
constexpr std::string_view kStyle =
    ":root{color-scheme:light dark;--fg:#1b1f24;--muted:#57606a;--bg:#f6f8fa;--card:#fff;"
    "--line:#8c959f;--accent:#0b5cad;--accent-fg:#fff;--err:#b42318;--err-bg:#fef3f2}"
    "@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9da7b3;--bg:#0d1117;"
    "--card:#161b22;--line:#6e7681;--accent:#58a6ff;--accent-fg:#0d1117;--err:#ffa198;"
    "--err-bg:#3c1618}}"
    "*{box-sizing:border-box}"
    "body{margin:0;min-height:100vh;display:flex;justify-content:center;align-items:flex-start;"
    "padding:1rem;background:var(--bg);color:var(--fg);"
    "font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}"
    "main{width:100%;max-width:26rem;margin-top:8vh;padding:1.5rem;background:var(--card);"
    "border:1px solid var(--line);border-radius:12px}"
    "h1{font-size:1.4rem;line-height:1.25;margin:0 0 .5rem}"
    "p{margin:.5rem 0}"
    ".muted{color:var(--muted)}"
    "label{display:block;font-weight:600;margin:1rem 0 .25rem}"
    "input{display:block;width:100%;font:inherit;padding:.65rem .75rem;color:var(--fg);"
    "background:var(--card);border:1px solid var(--line);border-radius:8px}"
    "input.code{letter-spacing:.3em;font-variant-numeric:tabular-nums}"
    "input:focus-visible,button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}"
    "button{display:block;width:100%;margin-top:1.25rem;padding:.7rem;font:inherit;"
    "font-weight:600;color:var(--accent-fg);background:var(--accent);"
    "border:1px solid var(--accent);border-radius:8px;cursor:pointer}"
    "button.secondary{margin-top:.75rem;color:var(--fg);background:transparent;"
    "border-color:var(--line)}"
    ".error{padding:.6rem .75rem;color:var(--err);background:var(--err-bg);border-radius:8px}"
    ".detail{margin:.75rem 0;padding:.5rem .75rem;border:1px solid var(--line);border-radius:8px}"
    ".detail h2{font-size:1rem;margin:0 0 .25rem}"
    ".detail dl{margin:0;display:grid;grid-template-columns:auto 1fr;gap:.1rem .75rem}"
    ".detail dt{color:var(--muted)}.detail dd{margin:0;overflow-wrap:anywhere}"
    "ul{padding-left:1.25rem}li{margin:.35rem 0}"
    "code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.95em}";

// The form_post auto-submit. Calls the prototype's submit() because a response parameter named
// "submit" would shadow form.submit (OAuth 2.0 Form Post Response Mode §2 lets any name through).
constexpr std::string_view kAutoSubmitScript =
    "HTMLFormElement.prototype.submit.call(document.forms[0]);";

// CSP3 §2.3.1 hash-source: 'sha256-' base64(SHA-256(element text)).
std::string hash_source(std::string_view inline_text) {
  return "'sha256-" + base64::encode(crypto::sha256(inline_text)) + "'";
}

const std::string& style_hash() {
  static const std::string hash = hash_source(kStyle);
  return hash;
}

const std::string& script_hash() {
  static const std::string hash = hash_source(kAutoSubmitScript);
  return hash;
}

std::string csp(std::string_view form_action, std::string_view script_src,
                std::string_view frame_src = {}) {
  std::string out = "default-src 'none'; style-src " + style_hash();
  if (!script_src.empty()) out.append("; script-src ").append(script_src);
  if (!frame_src.empty()) out.append("; frame-src ").append(frame_src);
  out.append("; img-src data:; form-action ").append(form_action);
  out.append("; frame-ancestors 'none'; base-uri 'none'");
  return out;
}

http::Response with_headers(int status, std::string body, const std::string& policy) {
  auto r = http::Response::text(status, std::move(body), "text/html; charset=utf-8");
  // Pages carry CSRF tokens and interaction ids: never cache them (RFC 9111 §5.2.2.5).
  r.headers.set("Cache-Control", "no-store");
  r.headers.set("Pragma", "no-cache");
  r.headers.set("X-Content-Type-Options", "nosniff");
  // Keep the authorization request's query (and form_post's target) out of Referer.
  r.headers.set("Referrer-Policy", "no-referrer");
  // RFC 6749 §10.13 clickjacking: no framing, by both the old header and CSP frame-ancestors.
  r.headers.set("X-Frame-Options", "DENY");
  r.headers.set("Content-Security-Policy", policy);
  return r;
}

// Only absolute http(s) URLs become links (the store admits no others; this keeps it so).
bool linkable(std::string_view url) {
  return url.starts_with("https://") || url.starts_with("http://");
}

std::string_view client_or_default(std::string_view client_name) {
  return client_name.empty() ? std::string_view("the application") : client_name;
}

void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '\0':
        out += "\xEF\xBF\xBD";  // U+FFFD, as the HTML parser would make it
        break;
      default:
        out += c;
    }
  }
}

// A small writer so every interpolation goes through escaping unless it is a literal of ours.
class Html {
 public:
  Html& raw(std::string_view literal) {
    out_.append(literal);
    return *this;
  }
  Html& text(std::string_view value) {
    append_escaped(out_, value);
    return *this;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void open_page(Html& h, std::string_view title) {
  h.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
      .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
      .raw("<meta name=\"robots\" content=\"noindex, nofollow\">\n")
      // A data: icon keeps the browser from fetching /favicon.ico (img-src allows data: only).
      .raw("<link rel=\"icon\" href=\"data:,\">\n")
      .raw("<title>")
      .text(title)
      .raw("</title>\n<style>")
      .raw(kStyle)
      .raw("</style>\n</head>\n<body>\n<main>\n");
}

void close_page(Html& h) { h.raw("</main>\n</body>\n</html>\n"); }

void open_form(Html& h, const Form& form) {
  h.raw("<form method=\"post\" action=\"")
      .text(form.action)
      .raw("\">\n<input type=\"hidden\" name=\"csrf\" value=\"")
      .text(form.csrf)
      .raw("\">\n<input type=\"hidden\" name=\"interaction\" value=\"")
      .text(form.interaction)
      .raw("\">\n");
}

// The error, announced to screen readers (role=alert) and tied to the fields it is about.
void error_message(Html& h, const std::optional<std::string>& error) {
  if (!error) return;
  h.raw("<p class=\"error\" id=\"error\" role=\"alert\">").text(*error).raw("</p>\n");
}

std::string_view invalid_attrs(const std::optional<std::string>& error) {
  return error ? " aria-invalid=\"true\" aria-describedby=\"error\"" : "";
}

// OpenID Connect Core §5.4 (profile, email, address, phone) and §11 (offline_access).
std::optional<std::string_view> scope_description(std::string_view scope) {
  if (scope == "openid") return "Sign you in with your account";
  if (scope == "profile") return "See your basic profile: name, username and picture";
  if (scope == "email") return "See your email address";
  if (scope == "address") return "See your postal address";
  if (scope == "phone") return "See your phone number";
  if (scope == "offline_access") return "Keep access while you are not using it";
  return std::nullopt;
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_escaped(out, text);
  return out;
}

std::string csp_form_target(std::string_view uri) {
  constexpr std::string_view kNone = "'none'";
  // RFC 3986 §3.1 scheme, compared case-insensitively.
  size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::string(kNone);
  std::string scheme;
  for (char c : uri.substr(0, colon)) {
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') {
      return std::string(kNone);
    }
    scheme += lower(c);
  }
  if ((scheme != "http" && scheme != "https") || !is_alpha(uri.front())) {
    return std::string(kNone);
  }
  std::string_view rest = uri.substr(colon + 1);
  if (!rest.starts_with("//")) return std::string(kNone);
  rest.remove_prefix(2);
  // RFC 3986 §3.2: authority ends at the first '/', '?' or '#'; userinfo is not part of the origin.
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  // CSP3 host-source has no syntax for IP-literals: allow the scheme alone.
  if (authority.starts_with("[")) return scheme + ":";
  size_t port_at = authority.find(':');
  std::string_view host = authority.substr(0, port_at);
  std::string_view port =
      port_at == std::string_view::npos ? std::string_view{} : authority.substr(port_at + 1);
  // CSP3 §2.3.1 host-part: host-char (ALPHA / DIGIT / "-") labels separated by dots.
  if (host.empty() || host.front() == '.') return std::string(kNone);
  std::string out = scheme + "://";
  char prev = '.';
  for (char c : host) {
    if (c == '.' && prev == '.') return std::string(kNone);
    if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.') return std::string(kNone);
    out += lower(c);
    prev = c;
  }
  if (port_at != std::string_view::npos) {
    // RFC 3986 §3.2.3: an empty port is the scheme's default.
    if (port.size() > 5) return std::string(kNone);
    int value = 0;
    for (char c : port) {
      if (!is_digit(c)) return std::string(kNone);
      value = value * 10 + (c - '0');
    }
    if (value > 65535) return std::string(kNone);
    // RFC 6454 §4: the default port is the same origin; CSP matches it when the port is omitted.
    bool default_port = (scheme == "http" && value == 80) || (scheme == "https" && value == 443);
    if (!port.empty() && !default_port) out.append(":").append(std::to_string(value));
  }
  return out;
}

// The client as a page names it: its name in bold (isolated with <bdi>, so no character of it
// can reorder the text around it), linked to `uri` when given, and its client_id beside a name
// that differs from it, since a registered name is the registrant's own claim (RFC 7591 §5).
void client_label(Html& h, std::string_view name, std::string_view id, std::string_view uri = {}) {
  const bool link = !uri.empty() && linkable(uri);
  if (link) h.raw("<a href=\"").text(uri).raw("\" rel=\"noreferrer\">");
  h.raw("<strong><bdi>").text(client_or_default(name)).raw("</bdi></strong>");
  if (link) h.raw("</a>");
  if (!id.empty() && id != name) {
    h.raw(" <span class=\"muted\">(<bdi>").text(id).raw("</bdi>)</span>");
  }
}

std::string login(const LoginPage& page) {
  Html h;
  open_page(h, "Sign in");
  h.raw("<h1>Sign in</h1>\n<p class=\"muted\">to continue to ");
  client_label(h, page.client_name, page.client_id);
  h.raw("</p>\n");
  error_message(h, page.error);
  open_form(h, page.form);
  h.raw("<label for=\"username\">Username</label>\n")
      .raw("<input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" ")
      .raw("autocapitalize=\"none\" spellcheck=\"false\" required")
      .raw(page.username.empty() ? " autofocus" : "")
      .raw(invalid_attrs(page.error))
      .raw(" value=\"")
      .text(page.username)
      .raw("\">\n<label for=\"password\">Password</label>\n")
      .raw("<input id=\"password\" name=\"password\" type=\"password\" ")
      .raw("autocomplete=\"current-password\" required")
      .raw(page.username.empty() ? "" : " autofocus")
      .raw(invalid_attrs(page.error))
      .raw(">\n<button type=\"submit\">Sign in</button>\n</form>\n");
  close_page(h);
  return h.take();
}

std::string totp(const TotpPage& page) {
  Html h;
  open_page(h, "Two-step verification");
  h.raw("<h1>Two-step verification</h1>\n<p class=\"muted\">to continue to ");
  client_label(h, page.client_name, page.client_id);
  h.raw("</p>\n");
  error_message(h, page.error);
  open_form(h, page.form);
  h.raw("<label for=\"code\">6-digit code from your authenticator app</label>\n")
      .raw("<input id=\"code\" name=\"code\" class=\"code\" type=\"text\" inputmode=\"numeric\" ")
      .raw("pattern=\"[0-9]{6}\" minlength=\"6\" maxlength=\"6\" autocomplete=\"one-time-code\" ")
      .raw("required autofocus")
      .raw(invalid_attrs(page.error))
      .raw(">\n<button type=\"submit\">Verify</button>\n</form>\n");
  close_page(h);
  return h.take();
}

std::string consent(const ConsentPage& page) {
  Html h;
  open_page(h, "Allow access?");
  h.raw("<h1>Allow access?</h1>\n<p>");
  client_label(h, page.client_name, page.client_id, page.client_uri);
  h.raw(" wants to:</p>\n<ul>\n");
  for (const auto& scope : page.scopes) {
    h.raw("<li>");
    if (auto description = scope_description(scope)) {
      h.text(*description);
    } else {
      h.raw("<code>").text(scope).raw("</code>");
    }
    h.raw("</li>\n");
  }
  if (page.scopes.empty() && page.authorization_details.empty()) {
    h.raw("<li>Know that you use it</li>\n");
  }
  h.raw("</ul>\n");
  // RFC 9396 §4: each authorization detail, its heading and members, so the user sees exactly
  // what they allow (the amount, the account, the actions).
  for (const auto& detail : page.authorization_details) {
    h.raw("<section class=\"detail\"><h2>").text(detail.heading).raw("</h2>\n<dl>\n");
    for (const auto& [name, value] : detail.members) {
      h.raw("<dt>").text(name).raw("</dt><dd>").text(value).raw("</dd>\n");
    }
    h.raw("</dl></section>\n");
  }
  if (page.binding_message) {
    h.raw("<p>The application asked for you from elsewhere");
    if (!page.binding_message->empty()) {
      h.raw(". It shows: <strong>").text(*page.binding_message).raw("</strong>");
    }
    h.raw(". Allow it only if you started this yourself.</p>\n");
  }
  if (page.device_user_code) {
    h.raw("<p>This connects a device showing the code <strong>")
        .text(*page.device_user_code)
        .raw("</strong>. Allow it only if you started this on a device of your own.</p>\n");
  }
  const bool policy = linkable(page.policy_uri);
  const bool terms = linkable(page.tos_uri);
  if (policy || terms) {
    h.raw("<p class=\"muted\">Its ");
    if (policy) {
      h.raw("<a href=\"").text(page.policy_uri).raw("\" rel=\"noreferrer\">privacy policy</a>");
    }
    if (policy && terms) h.raw(" and ");
    if (terms) {
      h.raw("<a href=\"").text(page.tos_uri).raw("\" rel=\"noreferrer\">terms of service</a>");
    }
    h.raw(" say what it does with your data.</p>\n");
  }
  h.raw("<p class=\"muted\">Signed in as <strong>").text(page.username).raw("</strong></p>\n");
  open_form(h, page.form);
  h.raw("<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\n")
      .raw("<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">")
      .raw("Deny</button>\n</form>\n");
  close_page(h);
  return h.take();
}

std::string ciba_requests(const CibaRequestsPage& page) {
  Html h;
  open_page(h, "Requests waiting for you");
  h.raw("<h1>Requests waiting for you</h1>\n");
  if (page.entries.empty()) h.raw("<p>Nothing is waiting.</p>\n");
  for (const auto& entry : page.entries) {
    h.raw("<section class=\"detail\"><h2>").text(client_or_default(entry.client_name));
    h.raw("</h2>\n");
    if (!entry.binding_message.empty()) {
      h.raw("<p>It shows: <strong>").text(entry.binding_message).raw("</strong></p>\n");
    }
    h.raw("<p><a href=\"").text(entry.link).raw("\">Review request ").text(entry.user_code);
    h.raw("</a></p></section>\n");
  }
  h.raw("<p class=\"muted\">Signed in as <strong>").text(page.username).raw("</strong></p>\n");
  close_page(h);
  return h.take();
}

namespace {

// One button in a form of its own, with the CSRF token and one hidden field.
void action_button(Html& h, const AccountPage& page, std::string_view field, std::string_view value,
                   std::string_view label) {
  h.raw("<form method=\"post\" action=\"")
      .text(page.action)
      .raw("\">\n<input type=\"hidden\" name=\"csrf\" value=\"")
      .text(page.csrf)
      .raw("\">\n<input type=\"hidden\" name=\"")
      .text(field)
      .raw("\" value=\"")
      .text(value)
      .raw("\">\n<button type=\"submit\" class=\"secondary\">")
      .text(label)
      .raw("</button>\n</form>\n");
}

}  // namespace

std::string account(const AccountPage& page) {
  Html h;
  open_page(h, "Your account");
  h.raw("<h1>Your account</h1>\n<p class=\"muted\">Signed in as <strong>")
      .text(page.username)
      .raw("</strong></p>\n");
  h.raw("<h2>Where you are signed in</h2>\n");
  for (const auto& session : page.sessions) {
    h.raw("<section class=\"detail\"><p>Signed in ")
        .text(session.signed_in)
        .raw(" with ")
        .text(session.method);
    if (session.current) h.raw(" <strong>(this browser)</strong>");
    h.raw("</p>\n");
    action_button(h, page, "sid", session.sid, "Sign out there");
    h.raw("</section>\n");
  }
  h.raw("<h2>Applications you allowed</h2>\n");
  if (page.consents.empty()) h.raw("<p>None.</p>\n");
  for (const auto& consent : page.consents) {
    h.raw("<section class=\"detail\"><p><strong>").text(consent.client_id).raw("</strong>");
    if (!consent.scopes.empty()) {
      h.raw(": <code>").text(join_space_list(consent.scopes)).raw("</code>");
    }
    h.raw("</p>\n");
    action_button(h, page, "client_id", consent.client_id, "Withdraw access");
    h.raw("</section>\n");
  }
  close_page(h);
  return h.take();
}

std::string device_code(const DeviceCodePage& page) {
  Html h;
  open_page(h, "Connect a device");
  h.raw("<h1>Connect a device</h1>\n<p class=\"muted\">Enter the code your device shows.</p>\n");
  error_message(h, page.error);
  open_form(h, page.form);
  h.raw("<label for=\"user_code\">Code</label>\n")
      .raw("<input id=\"user_code\" name=\"user_code\" type=\"text\" autocomplete=\"off\" ")
      .raw("autocapitalize=\"characters\" spellcheck=\"false\" required autofocus")
      .raw(invalid_attrs(page.error))
      .raw(" value=\"")
      .text(page.user_code)
      .raw("\">\n<button type=\"submit\">Continue</button>\n</form>\n");
  close_page(h);
  return h.take();
}

std::string logout_confirm(const LogoutPage& page) {
  Html h;
  open_page(h, "Sign out?");
  h.raw("<h1>Sign out?</h1>\n");
  if (page.client_name) {
    h.raw("<p><strong>")
        .text(client_or_default(*page.client_name))
        .raw("</strong> asked to sign you out.</p>\n");
  }
  h.raw("<p class=\"muted\">You will need to sign in again to use your applications.</p>\n");
  open_form(h, page.form);
  h.raw("<button type=\"submit\" name=\"decision\" value=\"logout\">Sign out</button>\n")
      .raw("<button type=\"submit\" name=\"decision\" value=\"cancel\" class=\"secondary\">")
      .raw("Stay signed in</button>\n</form>\n");
  close_page(h);
  return h.take();
}

std::string logged_out(const std::vector<std::string>& frames, std::string_view continue_to) {
  Html h;
  open_page(h, "Signed out");
  h.raw("<h1>You are signed out</h1>\n");
  if (continue_to.empty()) {
    h.raw("<p class=\"muted\">You can close this window.</p>\n");
  } else {
    h.raw("<p><a href=\"").text(continue_to).raw("\">Continue</a></p>\n");
  }
  for (const std::string& frame : frames) {
    h.raw("<iframe src=\"").text(frame).raw("\" hidden title=\"sign-out\"></iframe>\n");
  }
  close_page(h);
  return h.take();
}

std::string error(const ErrorPage& page) {
  Html h;
  open_page(h, page.title);
  h.raw("<h1>").text(page.title).raw("</h1>\n<p>").text(page.message).raw("</p>\n");
  close_page(h);
  return h.take();
}

std::string form_post(std::string_view redirect_uri,
                      const std::vector<std::pair<std::string, std::string>>& params) {
  Html h;
  open_page(h, "Returning to the application");
  h.raw("<h1>Returning to the application</h1>\n")
      .raw("<form method=\"post\" action=\"")
      .text(redirect_uri)
      .raw("\">\n");
  for (const auto& [name, value] : params) {
    h.raw("<input type=\"hidden\" name=\"").text(name).raw("\" value=\"").text(value).raw("\">\n");
  }
  h.raw("<noscript><p class=\"muted\">JavaScript is off: press Continue.</p>")
      .raw("<button type=\"submit\">Continue</button></noscript>\n</form>\n<script>")
      .raw(kAutoSubmitScript)
      .raw("</script>\n");
  close_page(h);
  return h.take();
}

http::Response html(int status, std::string body) {
  return with_headers(status, std::move(body), csp("'self'", ""));
}

http::Response html(int status, std::string body, std::string_view redirect_uri) {
  std::string target = csp_form_target(redirect_uri);
  std::string form_action = target == "'none'" ? "'self'" : "'self' " + target;
  return with_headers(status, std::move(body), csp(form_action, ""));
}

http::Response logged_out_response(const std::vector<std::string>& frames,
                                   std::string_view continue_to) {
  // Each origin once, compared whole: https://rp.example is not https://rp.example:8443.
  std::vector<std::string> origins;
  for (const std::string& frame : frames) {
    std::string origin = csp_form_target(frame);
    if (origin != "'none'" && !list_contains(origins, origin)) origins.push_back(std::move(origin));
  }
  const std::string frame_src = join_space_list(origins);
  http::Response r =
      with_headers(200, logged_out(frames, continue_to), csp("'self'", "", frame_src));
  // Time for the frames to load before the browser moves on (Front-Channel Logout §3); the
  // Refresh header needs no script.
  if (!continue_to.empty()) r.headers.set("Refresh", "2;url=" + std::string(continue_to));
  return r;
}

http::Response form_post_response(std::string_view redirect_uri,
                                  const std::vector<std::pair<std::string, std::string>>& params) {
  return with_headers(200, form_post(redirect_uri, params),
                      csp(csp_form_target(redirect_uri), script_hash()));
}

}  // namespace tessera::oauth::pages
