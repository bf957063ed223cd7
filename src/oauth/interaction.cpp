#include "oauth/interaction.h"

#include "core/aead.h"
#include "core/base64url.h"
#include "core/crypto.h"

namespace tessera::oauth {

InteractionSealer::InteractionSealer(std::string_view secret_key, const Clock& clock)
    : csrf_key_(crypto::hmac(crypto::Digest::kSha256, secret_key, "tessera/csrf/v1")),
      seal_key_(crypto::hmac(crypto::Digest::kSha256, secret_key, "tessera/interaction/v1")),
      clock_(clock) {}

std::string InteractionSealer::csrf_token(std::string_view browser_id) const {
  return base64url::encode(crypto::hmac(crypto::Digest::kSha256, csrf_key_, browser_id));
}

bool InteractionSealer::csrf_matches(std::string_view browser_id, std::string_view token) const {
  if (browser_id.empty() || token.empty()) return false;
  return crypto::equal_ct(csrf_token(browser_id), token);
}

std::string InteractionSealer::seal(std::string_view purpose, const json::Json& state,
                                    std::string_view browser_id, int64_t lifetime) const {
  json::Json envelope = {{"exp", clock_.now() + lifetime}, {"s", state}};
  // The aad binds the blob to its purpose and to this browser.
  std::string aad = std::string(purpose) + "\n" + std::string(browser_id);
  return base64url::encode(aead::seal(seal_key_, envelope.dump(), aad));
}

std::optional<json::Json> InteractionSealer::open(std::string_view purpose, std::string_view sealed,
                                                  std::string_view browser_id) const {
  // Request values are each at most 4096 bytes (authorize_request.cpp); escaped and sealed they
  // stay well under this.
  if (browser_id.empty() || sealed.size() > 131072) return std::nullopt;
  auto bytes = base64url::decode(sealed);
  if (!bytes) return std::nullopt;
  std::string aad = std::string(purpose) + "\n" + std::string(browser_id);
  auto plain = aead::open(seal_key_, *bytes, aad);
  if (!plain) return std::nullopt;
  auto envelope = json::parse_strict(*plain);
  if (!envelope || !envelope->is_object() || !envelope->contains("exp") ||
      !(*envelope)["exp"].is_number_integer() || !envelope->contains("s")) {
    return std::nullopt;
  }
  if ((*envelope)["exp"].get<int64_t>() < clock_.now()) return std::nullopt;
  return (*envelope)["s"];
}

CookieNames::CookieNames(bool secure_cookies)
    : secure(secure_cookies),
      browser(secure_cookies ? "__Host-tessera_browser" : "tessera_browser"),
      session(secure_cookies ? "__Host-tessera_session" : "tessera_session") {}

std::string CookieNames::set(std::string_view name, std::string_view value,
                             std::optional<int64_t> max_age) const {
  http::SetCookie c;
  c.name = std::string(name);
  c.value = std::string(value);
  c.max_age = max_age;
  c.secure = secure;
  c.http_only = true;
  c.same_site = "Lax";  // sent on the top-level navigation back from a client, not on its POSTs
  return http::set_cookie_header(c).value_or("");
}

std::string CookieNames::clear(std::string_view name) const { return set(name, "", 0); }

}  // namespace tessera::oauth
