#include "oauth/issuer_keys.h"

namespace tessera::oauth {

IssuerKeys::IssuerKeys(const std::vector<IssuerJwks>& issuers, JwksFetch fetch,
                       int64_t refresh_seconds, int64_t min_refetch_seconds, const Clock& clock)
    : fetch_(std::move(fetch)) {
  for (const IssuerJwks& trusted : issuers) {
    auto get = [this, uri = trusted.jwks_uri]() -> Result<jose::Jwks, std::string> {
      if (fetch_) return fetch_(uri);
      return resource::fetch_jwks(client_, uri);
    };
    caches_.emplace(trusted.issuer,
                    std::make_unique<resource::JwksCache>(get, refresh_seconds, min_refetch_seconds,
                                                          [&clock] { return clock.now(); }));
  }
}

Result<IssuerKeys::Verified, IssuerKeys::Error> IssuerKeys::verify(
    std::string_view jwt, const jose::VerifyOptions& options) const {
  auto unverified = jose::decode_unverified(jwt, options.max_size);
  if (!unverified) return Err(Error{Failure::kMalformed, "not a JWS compact serialization"});
  auto unverified_claims = json::parse_strict(unverified->payload);
  if (!unverified_claims || !unverified_claims->is_object()) {
    return Err(Error{Failure::kMalformed, "the payload is not a JSON object"});
  }
  auto iss = unverified_claims->find("iss");
  if (iss == unverified_claims->end() || !iss->is_string()) {
    return Err(Error{Failure::kUntrusted, "iss is missing"});
  }
  auto cache = caches_.find(iss->get_ref<const std::string&>());
  if (cache == caches_.end()) return Err(Error{Failure::kUntrusted, "iss is not trusted"});
  auto keys = cache->second->keys();
  if (!keys) return Err(Error{Failure::kUnavailable, "the issuer's keys: " + keys.error()});
  auto verified = jose::verify(jwt, **keys, options);
  if (!verified && verified.error() == jose::Status::kKidNotFound) {
    // A key rotation at the issuer (RFC 7517 §4.5 kid): fetch again, at most every 30 s.
    auto fresh = cache->second->refresh_for_unknown_kid(*keys);
    if (fresh && *fresh != *keys) verified = jose::verify(jwt, **fresh, options);
  }
  if (!verified) {
    return Err(Error{Failure::kSignature, "the signature does not verify with the issuer's keys"});
  }
  auto claims = json::parse_strict(verified->payload);
  if (!claims || !claims->is_object()) {
    return Err(Error{Failure::kMalformed, "the payload is not a JSON object"});
  }
  return Verified{cache->first, std::move(verified->header), std::move(*claims)};
}

}  // namespace tessera::oauth
