// ClaimsCache: principals keyed by the SHA-256 of their token, kept until the token's exp,
// bounded in estimated heap bytes with one LRU list per shard.
//
// Layout of a shard: an unordered_map from the 32-byte digest to an Entry, and an intrusive
// doubly linked LRU list threaded through the map's own nodes (unordered_map nodes never move),
// so an entry costs one allocation for the bookkeeping besides the Principal itself.
#include "tessera/claims_cache.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tessera::resource {
namespace {

using TokenDigest = std::array<unsigned char, 32>;

// SHA-256 output is uniform: its first 8 bytes are a hash already. The shard is chosen from
// bytes 8..15 so that the buckets of one shard still spread over all 64 bits.
struct TokenDigestHash {
  size_t operator()(const TokenDigest& d) const noexcept {
    uint64_t h = 0;
    std::memcpy(&h, d.data(), sizeof h);
    return static_cast<size_t>(h);
  }
};

struct MdDeleter {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// SHA-256 fetched once from the default provider: an implicit fetch per call (EVP_sha256())
// takes a lock in the method store and costs more than hashing a token.
const EVP_MD* sha256_md() {
  static const std::unique_ptr<EVP_MD, MdDeleter> md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  return md.get();
}

// The token's SHA-256 into `out`, through a digest context kept per thread (EVP_Digest() and
// the SHA256() one-shot allocate a fresh context on every call). False if OpenSSL fails.
bool token_digest(std::string_view token, TokenDigest& out) {
  thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  const EVP_MD* md = sha256_md();
  unsigned int len = 0;
  return ctx != nullptr && md != nullptr && EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1 &&
         EVP_DigestUpdate(ctx.get(), token.data(), token.size()) == 1 &&
         EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1 && len == out.size();
}

// What malloc really takes for a request of n bytes (glibc: an 8-byte header, 16-byte
// granularity, 32-byte minimum chunk). Other allocators are within a few bytes of this.
constexpr size_t chunk(size_t n) {
  if (n == 0) return 0;
  return std::max<size_t>(32, (n + 8 + 15) & ~size_t{15});
}

// The heap a string owns beyond its own object: nothing while it fits the small buffer.
size_t string_heap(const std::string& s) {
  static const size_t kSmallBuffer = std::string().capacity();
  return s.capacity() > kSmallBuffer ? chunk(s.capacity() + 1) : 0;
}

size_t strings_heap(const std::vector<std::string>& v) {
  size_t n = chunk(v.capacity() * sizeof(std::string));
  for (const auto& s : v) n += string_heap(s);
  return n;
}

// A std::map node (libstdc++ _Rb_tree_node_base): colour plus parent, left and right links,
// followed by the value.
constexpr size_t kTreeNodeHeader = 4 * sizeof(void*);

// The heap owned by a JSON value beyond its own 16-byte basic_json: objects and arrays are
// allocated containers with their members, strings and binaries allocated objects. Walked
// with an explicit stack: a ClaimsProvider's value may nest arbitrarily deep.
size_t json_heap(const nlohmann::json& root) {
  using Json = nlohmann::json;
  size_t n = 0;
  std::vector<const Json*> pending{&root};
  while (!pending.empty()) {
    const Json* j = pending.back();
    pending.pop_back();
    switch (j->type()) {
      case Json::value_t::object: {
        const auto& obj = j->get_ref<const Json::object_t&>();
        n += chunk(sizeof(Json::object_t));
        for (const auto& [key, value] : obj) {
          n += chunk(kTreeNodeHeader + sizeof(Json::object_t::value_type)) + string_heap(key);
          pending.push_back(&value);
        }
        break;
      }
      case Json::value_t::array: {
        const auto& arr = j->get_ref<const Json::array_t&>();
        n += chunk(sizeof(Json::array_t)) + chunk(arr.capacity() * sizeof(Json));
        for (const auto& value : arr) pending.push_back(&value);
        break;
      }
      case Json::value_t::string:
        n += chunk(sizeof(Json::string_t)) + string_heap(j->get_ref<const Json::string_t&>());
        break;
      case Json::value_t::binary:
        n += chunk(sizeof(Json::binary_t)) + chunk(j->get_binary().capacity());
        break;
      default:  // null, boolean, numbers, discarded: held inside the basic_json itself
        break;
    }
  }
  return n;
}

struct Entry {
  std::shared_ptr<const Principal> principal;
  int64_t expires_at = 0;
  size_t bytes = 0;
  // The key inside the map node that holds this entry, and the LRU links.
  const TokenDigest* key = nullptr;
  Entry* newer = nullptr;
  Entry* older = nullptr;
};

using Index = std::unordered_map<TokenDigest, Entry, TokenDigestHash>;

// One map node: the singly linked next pointer, the key and Entry, and room for a cached hash
// (libstdc++ caches it for slow hashes; counted anyway so the estimate never falls short).
constexpr size_t kIndexNode = sizeof(void*) + sizeof(Index::value_type) + sizeof(size_t);
// The bucket array grows by doubling at a load factor of 1: up to two pointers per entry.
constexpr size_t kBucketShare = 2 * sizeof(void*);
// A shared_ptr made from `new` has a separate control block (vtable, two counts, the pointer);
// make_shared folds it into the Principal's chunk, which this never undercounts.
constexpr size_t kControlBlock = 3 * sizeof(void*);

}  // namespace

struct alignas(64) ClaimsCache::Shard {
  std::mutex mu;
  Index index;
  Entry* newest = nullptr;
  Entry* oldest = nullptr;
  size_t bytes = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;

  void unlink(Entry* e) {
    (e->newer != nullptr ? e->newer->older : newest) = e->older;
    (e->older != nullptr ? e->older->newer : oldest) = e->newer;
    e->newer = e->older = nullptr;
  }
  void push_newest(Entry* e) {
    e->older = newest;
    e->newer = nullptr;
    (newest != nullptr ? newest->newer : oldest) = e;
    newest = e;
  }
  // Removes `e` and hands back its principal, so the caller releases it after unlocking.
  std::shared_ptr<const Principal> drop(Entry* e) {
    unlink(e);
    bytes -= e->bytes;
    std::shared_ptr<const Principal> p = std::move(e->principal);
    const TokenDigest key = *e->key;  // erase() must not read a key inside the erased node
    index.erase(key);
    return p;
  }
};

ClaimsCache::ClaimsCache(ClaimsCacheOptions options)
    : shard_budget_(0), shard_count_(std::max<size_t>(options.shards, 1)) {
  shard_budget_ = options.max_bytes / shard_count_;
  shards_ = std::make_unique<Shard[]>(shard_count_);
}

ClaimsCache::~ClaimsCache() = default;

ClaimsCache::Shard& ClaimsCache::shard_for(const unsigned char* digest) const {
  uint64_t h = 0;
  std::memcpy(&h, digest + 8, sizeof h);
  return shards_[h % shard_count_];
}

std::shared_ptr<const Principal> ClaimsCache::find(std::string_view token, int64_t now) {
  TokenDigest key;
  if (!token_digest(token, key)) return nullptr;
  Shard& s = shard_for(key.data());
  std::shared_ptr<const Principal> expired;  // released after the lock
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) {
    ++s.misses;
    return nullptr;
  }
  Entry* e = &it->second;
  // RFC 7519 §4.1.4: the token must not be accepted on or after exp.
  if (now >= e->expires_at) {
    expired = s.drop(e);
    ++s.misses;
    return nullptr;
  }
  if (e != s.newest) {
    s.unlink(e);
    s.push_newest(e);
  }
  ++s.hits;
  return e->principal;
}

bool ClaimsCache::insert(std::string_view token, std::shared_ptr<const Principal> principal,
                         int64_t now, std::optional<int64_t> keep_until) {
  TokenDigest key;
  if (!token_digest(token, key)) return false;
  Shard& s = shard_for(key.data());
  const size_t bytes = principal != nullptr ? estimated_bytes(*principal) : 0;
  // Principals leaving the cache are released after the lock (declared before it).
  std::vector<std::shared_ptr<const Principal>> released;
  std::lock_guard<std::mutex> lock(s.mu);
  // The newest word on a token replaces the old one, even when it is not cacheable itself.
  if (auto it = s.index.find(key); it != s.index.end()) released.push_back(s.drop(&it->second));
  if (principal == nullptr) return false;
  const int64_t expires_at =
      keep_until ? std::min(*keep_until, principal->expires_at) : principal->expires_at;
  if (now >= expires_at || bytes > shard_budget_) return false;
  while (s.bytes + bytes > shard_budget_ && s.oldest != nullptr) {
    // An entry past its exp was dead already: dropping it is not an eviction.
    if (now < s.oldest->expires_at) ++s.evictions;
    released.push_back(s.drop(s.oldest));
  }
  auto [it, inserted] = s.index.try_emplace(key);
  (void)inserted;  // the key was dropped above
  Entry* e = &it->second;
  e->principal = std::move(principal);
  e->expires_at = expires_at;
  e->bytes = bytes;
  e->key = &it->first;
  s.push_newest(e);
  s.bytes += bytes;
  return true;
}

void ClaimsCache::erase(std::string_view token) {
  TokenDigest key;
  if (!token_digest(token, key)) return;
  Shard& s = shard_for(key.data());
  std::shared_ptr<const Principal> released;
  std::lock_guard<std::mutex> lock(s.mu);
  if (auto it = s.index.find(key); it != s.index.end()) released = s.drop(&it->second);
}

void ClaimsCache::clear() {
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& s = shards_[i];
    Index released;  // destroyed after the lock
    std::lock_guard<std::mutex> lock(s.mu);
    released.swap(s.index);
    s.newest = s.oldest = nullptr;
    s.bytes = 0;
  }
}

ClaimsCache::Stats ClaimsCache::stats() const {
  Stats out;
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& s = shards_[i];
    std::lock_guard<std::mutex> lock(s.mu);
    out.entries += s.index.size();
    out.bytes += s.bytes;
    out.hits += s.hits;
    out.misses += s.misses;
    out.evictions += s.evictions;
  }
  return out;
}

size_t ClaimsCache::estimated_bytes(const Principal& p) {
  size_t n = chunk(sizeof(Principal)) + chunk(kControlBlock) + chunk(kIndexNode) + kBucketShare;
  for (const std::string* s : {&p.issuer, &p.subject, &p.client_id, &p.token_id, &p.acr,
                               &p.dpop_jkt, &p.certificate_thumbprint, &p.signed_introspection}) {
    n += string_heap(*s);
  }
  n += strings_heap(p.scopes) + strings_heap(p.audiences) + strings_heap(p.amr);
  n += chunk(p.actors.capacity() * sizeof(Actor));
  for (const Actor& a : p.actors) n += string_heap(a.subject) + string_heap(a.client_id);
  n += json_heap(p.claims) + json_heap(p.domain_claims);
  return n;
}

}  // namespace tessera::resource
