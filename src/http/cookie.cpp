#include "http/cookie.h"

namespace tessera::http {

namespace {

// RFC 6265 §5.4 and §4.2.1: pairs are separated by ';' followed by optional whitespace; user
// agents in the wild also pad around '=' and the ends, so trim SP and HTAB everywhere.
std::string_view trim(std::string_view s) { return trim_ows(s); }

// RFC 6265 §4.1.1 cookie-octet: US-ASCII except CTLs, whitespace, DQUOTE, comma, semicolon and
// backslash.
bool is_cookie_octet(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u <= 0x2B) || (u >= 0x2D && u <= 0x3A) ||
         (u >= 0x3C && u <= 0x5B) || (u >= 0x5D && u <= 0x7E);
}

// RFC 6265 §4.1.1 av-octet: any CHAR except CTLs or ';'.
bool is_av_octet(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x20 && u < 0x7F && c != ';';
}

bool all_cookie_octets(std::string_view s) {
  for (char c : s) {
    if (!is_cookie_octet(c)) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> request_cookie(const Request& request, std::string_view name) {
  for (const auto& [field, header] : request.headers()) {
    if (!iequals(field, "Cookie")) continue;
    std::string_view rest = header;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
      size_t eq = pair.find('=');
      // A pair without '=' carries no name we could match (RFC 6265 §4.2.1 cookie-pair).
      if (eq == std::string_view::npos) continue;
      if (trim(pair.substr(0, eq)) != name) continue;
      std::string_view value = trim(pair.substr(eq + 1));
      // RFC 6265 §4.1.1: cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE ).
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return std::string(value);
    }
  }
  return std::nullopt;
}

std::optional<std::string> set_cookie_header(const SetCookie& cookie) {
  if (!is_token(cookie.name) || !all_cookie_octets(cookie.value)) return std::nullopt;
  // RFC 6265 §5.2.4: a path not starting with '/' would be replaced by the default path.
  if (!cookie.path.empty() && cookie.path.front() != '/') return std::nullopt;
  for (char c : cookie.path) {
    if (!is_av_octet(c)) return std::nullopt;
  }
  if (cookie.max_age && *cookie.max_age < 0) return std::nullopt;
  if (!cookie.same_site.empty() && cookie.same_site != "Strict" && cookie.same_site != "Lax" &&
      cookie.same_site != "None") {
    return std::nullopt;
  }
  if (cookie.same_site == "None" && !cookie.secure) return std::nullopt;
  // RFC 6265bis §4.1.3.1 / §4.1.3.2: the prefixes are promises the browser enforces.
  if (cookie.name.starts_with("__Secure-") && !cookie.secure) return std::nullopt;
  if (cookie.name.starts_with("__Host-") && (!cookie.secure || cookie.path != "/")) {
    return std::nullopt;
  }

  std::string out;
  out.reserve(cookie.name.size() + cookie.value.size() + cookie.path.size() + 64);
  out.append(cookie.name).append("=").append(cookie.value);
  if (!cookie.path.empty()) out.append("; Path=").append(cookie.path);
  if (cookie.max_age) out.append("; Max-Age=").append(std::to_string(*cookie.max_age));
  if (cookie.secure) out.append("; Secure");
  if (cookie.http_only) out.append("; HttpOnly");
  if (!cookie.same_site.empty()) out.append("; SameSite=").append(cookie.same_site);
  return out;
}

}  // namespace tessera::http
