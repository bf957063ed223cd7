#include "fga/tuple_cache.h"

#include <functional>
#include <optional>
#include <string_view>
#include <utility>

namespace tessera::fga {
namespace {

// Key parts are joined with a byte no object, relation or user contains (they are validated
// text without control characters), so two different reads never share a key.
constexpr char kSeparator = '\x1f';

std::string key_of(const std::string& scope, char kind,
                   std::initializer_list<std::string_view> parts) {
  std::string key = scope;
  key += kSeparator;
  key += kind;
  for (std::string_view part : parts) {
    key += kSeparator;
    key += part;
  }
  return key;
}

class CachingTupleReader final : public TupleReader {
 public:
  CachingTupleReader(TupleCache& cache, TupleReader& inner, std::string scope)
      : cache_(cache), inner_(inner), scope_(std::move(scope)) {}

  Result<std::vector<TupleKey>, Error> read(std::string_view object,
                                            std::string_view relation) override {
    return cached(key_of(scope_, 'r', {object, relation}),
                  [&] { return inner_.read(object, relation); });
  }

  // Not cached: a point lookup names one user, so it rarely repeats across checks, and one
  // indexed probe costs about what a cache entry would; kept, they would push out the userset
  // reads (groups, parents) that many checks share.
  Result<std::optional<TupleKey>, Error> read_user_tuple(std::string_view object,
                                                         std::string_view relation,
                                                         std::string_view user) override {
    return inner_.read_user_tuple(object, relation, user);
  }

  Result<std::vector<TupleKey>, Error> read_userset_tuples(std::string_view object,
                                                           std::string_view relation) override {
    return cached(key_of(scope_, 's', {object, relation}),
                  [&] { return inner_.read_userset_tuples(object, relation); });
  }

  // Cached per user, so requests naming overlapping sets of users share their entries.
  Result<std::vector<TupleKey>, Error> read_starting_with_user(
      std::string_view object_type, std::string_view relation,
      const std::vector<std::string>& users) override {
    std::vector<TupleKey> out;
    for (const std::string& user : users) {
      auto found = cached(key_of(scope_, 'w', {object_type, relation, user}), [&] {
        return inner_.read_starting_with_user(object_type, relation, {user});
      });
      if (!found) return Err(found.error());
      for (TupleKey& key : *found) out.push_back(std::move(key));
    }
    return out;
  }

  Result<std::optional<std::string>, Error> revision() override { return inner_.revision(); }

 private:
  // The cached answer (a copy: the engine owns what it reads), or the inner reader's, kept.
  Result<std::vector<TupleKey>, Error> cached(
      const std::string& key, const std::function<Result<std::vector<TupleKey>, Error>()>& load) {
    if (TupleCache::Value hit = cache_.find(key)) return *hit;
    auto loaded = load();
    if (!loaded) return Err(loaded.error());
    cache_.put(key, std::make_shared<const std::vector<TupleKey>>(*loaded));
    return loaded;
  }

  TupleCache& cache_;
  TupleReader& inner_;
  std::string scope_;
};

}  // namespace

TupleCache::TupleCache(size_t max_bytes) : max_shard_bytes_(max_bytes / kShards) {}

std::unique_ptr<TupleReader> TupleCache::wrap(TupleReader& inner, std::string scope) {
  return std::make_unique<CachingTupleReader>(*this, inner, std::move(scope));
}

TupleCache::Shard& TupleCache::shard(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

size_t TupleCache::cost(const std::string& key, const std::vector<TupleKey>& value) {
  // The key twice (list and index), the nodes, and each tuple's strings; a stored context is
  // counted by its size as text.
  size_t bytes = 2 * key.size() + 128 + sizeof(std::vector<TupleKey>);
  for (const TupleKey& t : value) {
    bytes += sizeof(TupleKey) + t.object.size() + t.relation.size() + t.user.size() +
             t.condition.size() + (t.context.is_null() ? 0 : t.context.dump().size());
  }
  return bytes;
}

TupleCache::Value TupleCache::find(const std::string& key) {
  Shard& s = shard(key);
  std::lock_guard lock(s.mutex);
  auto it = s.index.find(key);
  if (it == s.index.end()) {
    ++s.misses;
    return nullptr;
  }
  ++s.hits;
  s.lru.splice(s.lru.end(), s.lru, it->second);
  return it->second->value;
}

void TupleCache::put(const std::string& key, Value value) {
  const size_t bytes = cost(key, *value);
  if (bytes > max_shard_bytes_) return;  // larger than the shard: never kept
  Shard& s = shard(key);
  std::lock_guard lock(s.mutex);
  if (s.index.find(key) != s.index.end()) return;  // another request loaded it meanwhile
  while (s.bytes + bytes > max_shard_bytes_ && !s.lru.empty()) {
    s.bytes -= s.lru.front().bytes;
    s.index.erase(s.lru.front().key);
    s.lru.pop_front();
  }
  s.lru.push_back({key, std::move(value), bytes});
  s.index.emplace(key, std::prev(s.lru.end()));
  s.bytes += bytes;
}

TupleCache::Stats TupleCache::stats() const {
  Stats out;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mutex);
    out.hits += s.hits;
    out.misses += s.misses;
    out.bytes += s.bytes;
    out.entries += s.index.size();
  }
  return out;
}

}  // namespace tessera::fga
