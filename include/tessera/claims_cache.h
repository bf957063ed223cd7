// The seeds' "claims caching": an API validates a token once and keeps what it learned (the
// Principal, with the domain claims a ClaimsProvider added) until the token's exp. Keyed by the
// SHA-256 of the token, so the cache holds no usable credential; bounded in bytes with LRU
// eviction; sharded so many threads hit it at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "tessera/principal.h"

namespace tessera::resource {

// Looks up the domain claims of a principal (tenant, roles, anything an API team needs) once per
// token; the result lands in Principal::domain_claims and is cached with it.
using ClaimsProvider = std::function<nlohmann::json(const Principal&)>;

struct ClaimsCacheOptions {
  // The bound on the cache's memory: the sum of each entry's estimated heap use (its key, its
  // Principal with every string and JSON value, and the bookkeeping around it).
  size_t max_bytes = size_t{64} << 20;
  // Independent LRU lists, each with its own lock and max_bytes / shards of the budget.
  size_t shards = 16;
};

class ClaimsCache {
 public:
  explicit ClaimsCache(ClaimsCacheOptions options = {});
  ~ClaimsCache();
  ClaimsCache(const ClaimsCache&) = delete;
  ClaimsCache& operator=(const ClaimsCache&) = delete;

  // The principal cached for `token`, if its exp is still after `now` (Unix seconds); an expired
  // entry is dropped on the way.
  std::shared_ptr<const Principal> find(std::string_view token, int64_t now);
  // Caches `principal` for `token` until principal->expires_at, or until `keep_until` when that
  // is sooner (RFC 7662 §4: a resource server bounds how long it trusts an introspection answer,
  // against the risk of a revoked token). False (nothing cached) when it has already expired at
  // `now` or alone exceeds a shard's budget.
  bool insert(std::string_view token, std::shared_ptr<const Principal> principal, int64_t now,
              std::optional<int64_t> keep_until = std::nullopt);
  // Forgets `token` (e.g. the API learned it was revoked).
  void erase(std::string_view token);
  void clear();

  struct Stats {
    size_t entries = 0;
    size_t bytes = 0;  // estimated, as counted against max_bytes
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t evictions = 0;  // dropped for room (not for expiry)
  };
  Stats stats() const;

  // The estimated heap use of one cached principal (what insert() counts), for sizing.
  static size_t estimated_bytes(const Principal& principal);

 private:
  struct Shard;
  Shard& shard_for(const unsigned char* digest) const;
  size_t shard_budget_;
  std::unique_ptr<Shard[]> shards_;
  size_t shard_count_;
};

}  // namespace tessera::resource
