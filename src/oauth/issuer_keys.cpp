#include "oauth/issuer_keys.h"

namespace tessera::oauth {

Result<Result<jose::VerifiedJws, jose::Status>, std::string> verify_with_rotation(
    resource::JwksCache& cache, std::string_view jws, const jose::VerifyOptions& options) {
  return verify_with_rotation(
      [&cache](const resource::JwksCache::KeySet* seen) {
        return seen == nullptr ? cache.keys() : cache.refresh_for_unknown_kid(*seen);
      },
      jws, options);
}

Result<Result<jose::VerifiedJws, jose::Status>, std::string> verify_with_rotation(
    const KeySetSource& key_set, std::string_view jws, const jose::VerifyOptions& options) {
  auto keys = key_set(nullptr);
  if (!keys) return Err(keys.error());
  auto verified = jose::verify(jws, **keys, options);
  if (!verified && verified.error() == jose::Status::kKidNotFound) {
    auto fresh = key_set(&*keys);
    if (fresh && *fresh != *keys) verified = jose::verify(jws, **fresh, options);
  }
  return verified;
}

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
  auto checked = verify_with_rotation(*cache->second, jwt, options);
  if (!checked) return Err(Error{Failure::kUnavailable, "the issuer's keys: " + checked.error()});
  auto& verified = *checked;
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
