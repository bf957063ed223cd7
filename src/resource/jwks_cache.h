// The issuer's JWKS as a verifier keeps it (RFC 7517 §5): fetched on first use, fetched again
// every `refresh_seconds` (the request that notices keeps using the current set while it fetches;
// the others carry on undisturbed), and at once when a token names a kid the set lacks (a key
// rotation: RFC 7517 §4.5 kid) — but never more than once per `min_refetch_seconds`, failed
// fetches included, so neither made-up kids nor an issuer that is down turn into a flood of
// requests to the issuer. A failed refresh keeps the keys it has.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/result.h"
#include "http/client.h"
#include "jose/jose.h"

namespace tessera::resource {

// GET `uri` and parse the JWK Set (RFC 7517 §5); the error says why not, in one line.
Result<jose::Jwks, std::string> fetch_jwks(http::HttpClient& client, const std::string& uri);

class JwksCache {
 public:
  using KeySet = std::shared_ptr<const jose::Jwks>;
  // Fetches and parses the set; the error says why not (one line, for logs and descriptions).
  using Fetch = std::function<Result<jose::Jwks, std::string>()>;

  JwksCache(Fetch fetch, int64_t refresh_seconds, int64_t min_refetch_seconds,
            std::function<int64_t()> now);

  // The current set: fetched now if there is none yet or it is older than refresh_seconds. An
  // error only when no set was ever fetched.
  Result<KeySet, std::string> keys();
  // `seen` lacked the kid a token named: the set fetched since, or a fresh one unless the last
  // fetch was under min_refetch_seconds ago. The same set back means nothing newer is available.
  Result<KeySet, std::string> refresh_for_unknown_kid(const KeySet& seen);

  // The set keys() would return without fetching; null when keys() would fetch.
  KeySet current_without_fetch();
  // The last set fetched, however old; null when none was.
  KeySet held();

  uint64_t fetches() const { return fetches_.load(std::memory_order_relaxed); }

 private:
  // With fetch_mutex_ held: fetch once, publish the set on success.
  Result<KeySet, std::string> fetch_locked(int64_t now);

  Fetch fetch_;
  int64_t refresh_seconds_;
  int64_t min_refetch_seconds_;
  std::function<int64_t()> now_;

  std::mutex fetch_mutex_;  // one fetch at a time; held over the network call
  std::mutex state_mutex_;  // guards the fields below; never held over the network
  KeySet keys_;
  int64_t fetched_at_ = 0;    // when keys_ was fetched
  int64_t last_attempt_ = 0;  // when a fetch last started (successful or not)
  bool attempted_ = false;
  std::string last_error_;
  std::atomic<uint64_t> fetches_{0};
};

}  // namespace tessera::resource
