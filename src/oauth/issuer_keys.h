// JWTs signed by other parties this server trusts, each known by its issuer and the JWKS URI
// its keys are at: JWT bearer assertions (RFC 7523 §3) and software statements (RFC 7591 §2.3).
// Each issuer's keys are kept by a resource::JwksCache (refreshed periodically, and on an
// unknown kid at most once per min_refetch_seconds).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/result.h"
#include "http/client.h"
#include "jose/jose.h"
#include "resource/jwks_cache.h"

namespace tessera::oauth {

// Fetches a JWKS; empty: an HTTP GET (tests put their keys here).
using JwksFetch = std::function<Result<jose::Jwks, std::string>(const std::string& uri)>;

// `jws` verified with `cache`'s keys, and once more with a fresh set when it names a kid the set
// lacks (a key rotation, RFC 7517 §4.5; fetched again at most every min_refetch_seconds).
// The outer error: no key set could be had (why, in one line).
Result<Result<jose::VerifiedJws, jose::Status>, std::string> verify_with_rotation(
    resource::JwksCache& cache, std::string_view jws, const jose::VerifyOptions& options);
// The same with the key sets from `key_set`: the current one for a null argument, a fresh one
// for the set given (which lacked the kid).
using KeySetSource = std::function<Result<resource::JwksCache::KeySet, std::string>(
    const resource::JwksCache::KeySet* seen)>;
Result<Result<jose::VerifiedJws, jose::Status>, std::string> verify_with_rotation(
    const KeySetSource& key_set, std::string_view jws, const jose::VerifyOptions& options);

struct IssuerJwks {
  std::string issuer;    // the JWTs' iss, exactly
  std::string jwks_uri;  // https, or http on loopback
};

class IssuerKeys {
 public:
  IssuerKeys(const std::vector<IssuerJwks>& issuers, JwksFetch fetch, int64_t refresh_seconds,
             int64_t min_refetch_seconds, const Clock& clock);

  struct Verified {
    std::string issuer;
    json::Json header;
    json::Json claims;  // an object
  };
  enum class Failure {
    kMalformed,    // not a JWS, or its payload is not a JSON object
    kUntrusted,    // iss is missing or not one of the issuers
    kUnavailable,  // the issuer's JWKS could not be fetched (detail says why)
    kSignature,    // no key of the issuer verifies it under the options
  };
  struct Error {
    Failure failure;
    std::string detail;
  };
  // Picks the issuer by the JWT's iss (read before the signature is checked, only to choose
  // the keys), then verifies it with that issuer's keys. Claims other than iss are the
  // caller's to check (jose::validate_claims).
  Result<Verified, Error> verify(std::string_view jwt, const jose::VerifyOptions& options) const;

 private:
  JwksFetch fetch_;
  mutable http::HttpClient client_;
  std::unordered_map<std::string, std::unique_ptr<resource::JwksCache>> caches_;
};

}  // namespace tessera::oauth
