// The seeds' "claims caching": an API validates a token once and keeps what it learned (the
// Principal, with the domain claims a ClaimsProvider added) until the token's exp.
//
// Two tiers, each bounded in bytes:
// - the main tier, keyed by the SHA-256 of the token, so it holds no usable credential; LRU
//   eviction, sharded so many threads hit it at once; principals kept in a compact byte form
//   (about 270 bytes for a typical access token instead of about 3 KB as C++ objects) and
//   decoded on a hit;
// - the hot tier, the most recently used tokens with their decoded Principal, for the hit that
//   costs neither a SHA-256 nor decoding. It keeps those tokens verbatim in memory (compared in
//   full on a hit); `hot_bytes = 0` turns it off for a cache that must hold no token.
#pragma once

#include <atomic>
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
  // The bound on the main tier's memory: the sum of each entry's estimated heap use (its key, its
  // encoded Principal and the bookkeeping around it; the part shared by many entries once).
  size_t max_bytes = size_t{64} << 20;
  // Independent LRU lists, each with its own lock and max_bytes / shards of the budget.
  size_t shards = 16;
  // The bound on the hot tier's memory (tokens and decoded principals); 0 = no hot tier.
  size_t hot_bytes = size_t{8} << 20;
};

class ClaimsCache {
 public:
  explicit ClaimsCache(ClaimsCacheOptions options = {});
  // A cache whose two tiers hold at most `bytes` together: an eighth for the hot tier (recent
  // tokens, decoded), the rest for the main one. Null when `bytes` is 0: no cache at all, since
  // a cache of no bytes would still hash and encode every token offered to it only to refuse it.
  static std::shared_ptr<ClaimsCache> within(size_t bytes);
  ~ClaimsCache();
  ClaimsCache(const ClaimsCache&) = delete;
  ClaimsCache& operator=(const ClaimsCache&) = delete;

  // The principal cached for `token`, if its exp is still after `now` (Unix seconds); an expired
  // entry is dropped on the way. `count_miss` false: a miss is not counted in stats(), for a
  // caller that looks first and then asks an Authenticator, which counts it.
  std::shared_ptr<const Principal> find(std::string_view token, int64_t now,
                                        bool count_miss = true);
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
    size_t entries = 0;  // in the main tier (every cached token is there)
    size_t bytes = 0;    // estimated, as counted against max_bytes
    uint64_t hits = 0;   // in either tier
    uint64_t misses = 0;
    uint64_t evictions = 0;  // dropped from the main tier for room (not for expiry)
    size_t hot_entries = 0;
    size_t hot_bytes = 0;   // estimated, as counted against hot_bytes
    uint64_t hot_hits = 0;  // the part of hits the hot tier answered
  };
  Stats stats() const;

  // The estimated main-tier heap use of one cached principal, its shared part included (what
  // insert() counts for the first entry of its client; later ones share that part), for sizing.
  static size_t estimated_bytes(const Principal& principal);

 private:
  struct Shard;
  struct HotStripe;
  struct Hot;
  Shard& shard_for(const unsigned char* digest) const;
  bool insert_main(std::string_view token, const std::shared_ptr<const Principal>& principal,
                   int64_t now, std::optional<int64_t> keep_until);
  // Puts `principal` in the token's hot slot when the stripe's budget allows; with a
  // `generation`, only if no insert() or erase() happened since it was read.
  void put_hot(std::string_view token, uint64_t hash, std::shared_ptr<const Principal> principal,
               int64_t expires_at, std::optional<uint64_t> generation);
  void drop_hot(std::string_view token);
  size_t shard_budget_;
  std::unique_ptr<Shard[]> shards_;
  size_t shard_count_;
  std::unique_ptr<Hot> hot_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace tessera::resource
