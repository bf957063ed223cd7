// HTTP cookies as a server reads and writes them (RFC 6265): the Cookie request header and the
// Set-Cookie response header. Values are opaque to this layer; callers put random tokens in them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.h"

namespace tessera::http {

// RFC 6265 §5.4 / §4.2.1: the value of cookie `name` in the request's Cookie header(s); nullopt
// when absent. First occurrence wins (user agents send the most specific path first, §5.4 step 2).
// Names match case-sensitively; a value wrapped in DQUOTEs (§4.1.1) is returned without them.
// Several Cookie fields (HTTP/2 may split the header, RFC 9113 §8.2.3) are read in order.
std::optional<std::string> request_cookie(const Request& request, std::string_view name);

struct SetCookie {
  std::string name{};
  std::string value{};
  std::string path = "/";
  std::optional<int64_t> max_age = std::nullopt;  // seconds; 0 deletes
  bool secure = false;
  bool http_only = true;
  std::string same_site = "Lax";  // "Strict" | "Lax" | "None"; empty omits the attribute
};

// RFC 6265 §4.1.1 Set-Cookie header value, e.g. `sid=abc; Path=/; Max-Age=600; Secure; HttpOnly;
// SameSite=Lax`. Refuses (std::nullopt) a name that is not a token (RFC 9110 §5.6.2), a value with
// characters outside cookie-octet, a path that does not start with '/' or holds CTLs or ';'
// (§4.1.1 path-value), a negative Max-Age, an unknown SameSite, SameSite=None without Secure (the
// browser would drop it, RFC 6265bis §5.7 step 15) and a `__Secure-` / `__Host-` prefixed name
// without the attributes the prefix promises (RFC 6265bis §4.1.3).
std::optional<std::string> set_cookie_header(const SetCookie& cookie);

}  // namespace tessera::http
