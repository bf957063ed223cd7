// Validating access tokens in an API (or the gateway): JWT access tokens (RFC 9068) against the
// issuer's JWKS, cached and refreshed by the rotation rules below, or opaque tokens by
// introspection (RFC 7662), or both, told apart by shape. Hardened per RFC 8725: an algorithm
// allow-list of asymmetric algorithms only, exact issuer, audience required, typ at+jwt.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/challenge.h"
#include "tessera/claims_cache.h"
#include "tessera/principal.h"

namespace tessera::resource {

enum class TokenForm {
  kJwt,     // JWT access tokens only, validated locally
  kOpaque,  // every token introspected at the issuer
  kAny,     // a JWT (three base64url parts) locally, anything else by introspection
};

struct ValidatorOptions {
  std::string issuer;  // exact "iss" (RFC 9068 §4); discovery is read from here (RFC 8414 §3)
  // The token's aud must contain one of these (RFC 9068 §4, RFC 8725 §3.9). Required.
  std::vector<std::string> audiences;
  // RFC 8725 §3.1: the algorithms accepted. Asymmetric only: HS* and "none" are refused here.
  std::vector<std::string> algorithms = {"ES256", "PS256", "RS256", "EdDSA"};
  TokenForm accept = TokenForm::kJwt;
  // Empty: taken from the issuer's metadata (RFC 8414 §2 jwks_uri, introspection_endpoint).
  std::string jwks_uri;
  std::string introspection_endpoint;
  // Client credentials for introspection (client_secret_basic, RFC 6749 §2.3.1).
  std::string introspection_client_id;
  std::string introspection_client_secret;
  // RFC 9701 §4: ask the introspection endpoint for its signed JWT response (Accept:
  // application/token-introspection+jwt), verify it against the issuer's JWKS (typ
  // token-introspection+jwt, iss, aud = introspection_client_id), and keep it in
  // Principal::signed_introspection: the phantom token a gateway forwards upstream.
  bool introspection_jwt = false;
  // Accept, in place of a JWT access token, a signed introspection response (RFC 9701) whose aud
  // is one of these client ids (the gateways this API trusts to forward phantom tokens); its
  // token_introspection member is checked like an introspection answer (active, iss, aud, exp).
  // Empty: not accepted.
  std::vector<std::string> introspection_jwt_audiences;
  // How old (iat) such a forwarded response may be: a token revoked at the issuer keeps passing
  // this long at most. At least the gateway's introspection cache time.
  int64_t introspection_jwt_max_age_seconds = 300;
  // RFC 9068 §4: the header typ must be at+jwt (application/at+jwt). Off only for issuers that
  // do not set it.
  bool require_at_jwt = true;
  int64_t leeway_seconds = 30;  // clock skew allowed on exp, nbf and iat (RFC 7519 §4.1.4)
  // The JWKS is fetched again this often, and at once when a token names an unknown kid, but
  // never more than once per jwks_min_refetch_seconds, so a flood of tokens with made-up kids
  // cannot hammer the issuer.
  int64_t jwks_refresh_seconds = 300;
  int64_t jwks_min_refetch_seconds = 30;
  int64_t http_timeout_ms = 5'000;
  bool verify_tls = true;  // off only for tests against throwaway servers
  std::string ca_file;     // PEM trust anchors for the issuer; empty: the system's
  // Unix seconds; empty: the system clock. For tests.
  std::function<int64_t()> now;
};

// Every way a token can fail. Closed: add a value, add its string.
enum class Failure {
  kMissing,         // no bearer token (RFC 6750 §3.1: challenge without an error code)
  kInvalidRequest,  // malformed Authorization header (RFC 6750 §3.1 invalid_request)
  kMalformed,       // not a token this issuer could have issued
  kAlgorithm,       // alg not allowed (RFC 8725 §3.1)
  kUnknownKey,      // no key of the issuer's JWKS matches kid/alg, even after a refresh
  kBadSignature,    // the signature does not verify
  kWrongType,       // typ is not at+jwt (RFC 9068 §4)
  kWrongIssuer,     // iss is not the configured issuer
  kWrongAudience,   // aud holds none of the configured audiences
  kExpired,         // past exp (beyond the leeway)
  kNotYetValid,     // nbf or iat in the future (beyond the leeway)
  kInactive,        // introspection says active: false (revoked, expired, unknown)
  kUnavailable,     // the JWKS or introspection endpoint could not be reached or answered nonsense
};
const char* to_string(Failure failure);

struct ValidationError {
  Failure failure = Failure::kMalformed;
  std::string description;  // one line, safe to return to the client; never the token
};

struct Validation {
  std::shared_ptr<const Principal> principal;  // set when the token is valid
  ValidationError error;                       // meaningful when principal is null
  bool ok() const { return principal != nullptr; }
};

// The answer for a failed validation: 401 invalid_token, 400 invalid_request, the bare 401 for a
// missing token, or 503 when the issuer could not be reached.
Challenge challenge_for(std::string_view realm, const ValidationError& error);

// RFC 6750 §2.1: takes the token out of an Authorization field value ("Bearer <b64token>") into
// `token`. The error kMissing for an absent field or another scheme (RFC 6750 §3.1), and
// kInvalidRequest for a malformed Bearer credential; nullopt when `token` was filled.
std::optional<ValidationError> bearer_token(std::optional<std::string_view> authorization,
                                            std::string& token);

class Validator {
 public:
  // Checks the options (issuer, audiences, algorithms); throws std::invalid_argument on a
  // configuration error, at start-up. Nothing is fetched until the first token.
  explicit Validator(ValidatorOptions options);
  ~Validator();
  Validator(const Validator&) = delete;
  Validator& operator=(const Validator&) = delete;

  // Validates one token, without caching. Thread-safe.
  Validation validate(std::string_view token) const;

  // Fetches the issuer's metadata and JWKS now (e.g. at start-up, to fail fast). Empty on
  // success, else why not.
  std::string prefetch();
  // True when validate(token) will not reach the issuer: a JWT whose key the cached JWKS holds
  // (fresh, or kept after a failed refresh), or one refused before any key is needed. For servers
  // that validate on an event loop and hand the rest to threads that may wait.
  bool validates_without_waiting(std::string_view token) const;

  struct Stats {
    uint64_t jwks_fetches = 0;  // successful or not
    uint64_t introspections = 0;
  };
  Stats stats() const;

  int64_t now() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Validator + ClaimsCache + ClaimsProvider: what an API calls per request. A cached token costs a
// hash and a look-up; a new one is validated, its domain claims looked up once, and the result
// cached until exp. Inactive and invalid tokens are not cached.
class Authenticator {
 public:
  // `cache` may be null (no caching); `provider` may be empty. `max_cache_seconds` > 0 keeps a
  // token's principal at most that long (then it is validated again), instead of until its exp:
  // for introspected tokens, how long a revocation may go unnoticed (RFC 7662 §4).
  Authenticator(std::shared_ptr<const Validator> validator, std::shared_ptr<ClaimsCache> cache,
                ClaimsProvider provider = {}, int64_t max_cache_seconds = 0);

  Validation authenticate(std::string_view token) const;
  // From the Authorization field value (nullopt when the request had none).
  Validation authenticate_header(std::optional<std::string_view> authorization) const;

  const Validator& validator() const { return *validator_; }
  ClaimsCache* cache() const { return cache_.get(); }

 private:
  std::shared_ptr<const Validator> validator_;
  std::shared_ptr<ClaimsCache> cache_;
  ClaimsProvider provider_;
  int64_t max_cache_seconds_;
};

}  // namespace tessera::resource
