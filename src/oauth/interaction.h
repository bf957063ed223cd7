// State that travels with the browser between /authorize and the login, second-factor and
// consent pages, so that no server-side row is written before the user has done anything:
//   - a browser id cookie (random), the anchor of everything else;
//   - CSRF tokens: HMAC of the browser id (the "HMAC-based synchronizer token" of the OWASP CSRF
//     cheat sheet), so a form posted from another browser or site is refused;
//   - the pending request, sealed (AES-256-GCM) and bound to the browser id and an expiry, so it
//     can be neither read, altered, replayed in another browser nor kept forever.
// Keys are derived from the instance secret key, one per purpose.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/json.h"
#include "http/cookie.h"
#include "http/message.h"

namespace tessera::oauth {

class InteractionSealer {
 public:
  InteractionSealer(std::string_view secret_key, const Clock& clock);

  std::string csrf_token(std::string_view browser_id) const;
  bool csrf_matches(std::string_view browser_id, std::string_view token) const;

  // `purpose` separates kinds of state ("authorize", "otp", "logout"): a blob sealed for one
  // does not open as another.
  std::string seal(std::string_view purpose, const json::Json& state, std::string_view browser_id,
                   int64_t lifetime) const;
  std::optional<json::Json> open(std::string_view purpose, std::string_view sealed,
                                 std::string_view browser_id) const;

 private:
  std::string csrf_key_;
  std::string seal_key_;
  const Clock& clock_;
};

// Cookie names and attributes. Over TLS the names take the __Host- prefix (RFC 6265bis §4.1.3.2:
// Secure, Path=/, no Domain), so a sibling subdomain cannot plant them.
struct CookieNames {
  explicit CookieNames(bool secure);
  bool secure;
  std::string browser;
  std::string session;

  std::string set(std::string_view name, std::string_view value,
                  std::optional<int64_t> max_age) const;
  std::string clear(std::string_view name) const;
};

}  // namespace tessera::oauth
