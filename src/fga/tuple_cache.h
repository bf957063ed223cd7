// A process-wide cache of tuple reads, wrapped around a store's TupleReader (STYLE.md: caching
// wraps the evaluator, it never lives inside it). Exact, not time-based: entries are keyed by the
// store and its revision (TupleReader::revision(), which every tuple write changes in its own
// transaction), so a read is answered from the cache only for the very state of the store it was
// read from. A write makes the old entries unreachable at once, on every node, since each request
// reads the revision from the database in its own snapshot; they then age out of the LRU.
// Bounded by an approximate byte count; sharded so many threads rarely meet on one lock.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "fga/tuple.h"

namespace tessera::fga {

// 64 MiB unless configured: the tuple reads of some hundreds of thousands of checks.
inline constexpr size_t kDefaultTupleCacheBytes = size_t{64} << 20;

class TupleCache {
 public:
  explicit TupleCache(size_t max_bytes);
  TupleCache(const TupleCache&) = delete;
  TupleCache& operator=(const TupleCache&) = delete;

  // A reader over `inner` (not owned) for one state of one store: `scope` names both, e.g.
  // "<store id>@<revision>".
  std::unique_ptr<TupleReader> wrap(TupleReader& inner, std::string scope);

  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;
    size_t bytes = 0;
    size_t entries = 0;
  };
  Stats stats() const;

  // Internal (used by the wrapping reader).
  using Value = std::shared_ptr<const std::vector<TupleKey>>;
  Value find(const std::string& key);
  void put(const std::string& key, Value value);

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::mutex mutex;
    struct Entry {
      std::string key;
      Value value;
      size_t bytes = 0;
    };
    std::list<Entry> lru;  // least recently used first
    std::unordered_map<std::string, std::list<Entry>::iterator> index;
    size_t bytes = 0;
    uint64_t hits = 0;
    uint64_t misses = 0;
  };
  Shard& shard(const std::string& key);
  static size_t cost(const std::string& key, const std::vector<TupleKey>& value);

  size_t max_shard_bytes_;
  std::array<Shard, kShards> shards_;
};

}  // namespace tessera::fga
