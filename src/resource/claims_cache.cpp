// ClaimsCache: two tiers.
//
// The main tier: principals keyed by the SHA-256 of their token, kept until the token's exp,
// bounded in estimated heap bytes with one LRU list per shard. A principal is stored in its
// compact byte form (principal_codec.h): the part many tokens share (issuer, client, scopes,
// audiences) once per shard with a reference count, the rest per entry. A shard is an
// unordered_map from the 32-byte digest to an Entry, with an intrusive doubly linked LRU list
// threaded through the map's own nodes (unordered_map nodes never move).
//
// The hot tier: a direct-mapped table of recently used tokens, each kept verbatim beside its
// decoded Principal. A hit there costs a hash of the token's last 32 bytes, one short critical
// section and a full comparison of the token; no SHA-256 (about 420 ns for a 600-byte token with
// SHA-NI, more than the 200 ns a 5-million-per-second hit may take) and no decoding. The full
// comparison makes the hot tier exact whatever the hash does; the hash only spreads tokens over
// the slots, and is seeded per cache so a client cannot aim its tokens at another's slot.
#include "tessera/claims_cache.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "resource/principal_codec.h"

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

// The heap a Principal as C++ objects owns (what a hot slot holds besides the token).
size_t principal_heap(const Principal& p) {
  // make_shared: the control block (vtable, two counts) and the Principal in one chunk.
  size_t n = chunk(3 * sizeof(void*) + sizeof(Principal));
  for (const std::string* s : {&p.issuer, &p.subject, &p.client_id, &p.token_id, &p.acr,
                               &p.dpop_jkt, &p.certificate_thumbprint, &p.signed_introspection}) {
    n += string_heap(*s);
  }
  n += strings_heap(p.scopes) + strings_heap(p.audiences) + strings_heap(p.amr);
  n += chunk(p.actors.capacity() * sizeof(Actor));
  for (const Actor& a : p.actors) n += string_heap(a.subject) + string_heap(a.client_id);
  // The claims' tree (parsed here if it was not yet: a cached principal's claims are read sooner
  // or later) on the heap, and the text it was parsed from.
  n += chunk(sizeof(nlohmann::json)) + json_heap(p.claims.json()) + string_heap(p.claims.text());
  n += json_heap(p.domain_claims);
  return n;
}

// The part many tokens share, stored once per shard: the bytes and how many entries use them.
using SharedParts = std::unordered_map<std::string, size_t>;
using SharedPart = SharedParts::value_type;

struct Entry {
  std::string own;  // the entry's own part of the encoded principal
  SharedPart* shared = nullptr;
  int64_t expires_at = 0;
  size_t bytes = 0;  // of this entry alone; the shared part is counted once, when created
  // The key inside the map node that holds this entry, and the LRU links.
  const TokenDigest* key = nullptr;
  Entry* newer = nullptr;
  Entry* older = nullptr;
};

using Index = std::unordered_map<TokenDigest, Entry, TokenDigestHash>;

// One map node: the singly linked next pointer, the key and value, and room for a cached hash
// (libstdc++ caches it for slow hashes; counted anyway so the estimate never falls short).
constexpr size_t kIndexNode = sizeof(void*) + sizeof(Index::value_type) + sizeof(size_t);
constexpr size_t kSharedNode = sizeof(void*) + sizeof(SharedPart) + sizeof(size_t);
// The bucket array grows by doubling at a load factor of 1: up to two pointers per entry.
constexpr size_t kBucketShare = 2 * sizeof(void*);

size_t entry_bytes(const std::string& own) {
  return chunk(kIndexNode) + kBucketShare + string_heap(own);
}
size_t shared_bytes(const std::string& shared) {
  return chunk(kSharedNode) + kBucketShare + string_heap(shared);
}

// A principal's bytes as the main tier keeps them: no spare capacity, so what is counted is what
// insert() stores.
detail::EncodedPrincipal encode_to_store(const Principal& p) {
  detail::EncodedPrincipal encoded = detail::encode_principal(p);
  encoded.own.shrink_to_fit();
  encoded.shared.shrink_to_fit();
  return encoded;
}

// The hot tier's slot for a token: its length and last 32 bytes (a JWS ends in its signature, an
// opaque token is random throughout), mixed with the cache's seed.
uint64_t hot_hash(std::string_view token, uint64_t seed) {
  uint64_t h = seed ^ (static_cast<uint64_t>(token.size()) * 0x9e3779b97f4a7c15ULL);
  const size_t tail = std::min<size_t>(token.size(), 32);
  const char* p = token.data() + token.size() - tail;
  for (size_t i = 0; i < tail; i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, p + i, std::min<size_t>(8, tail - i));
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

struct HotSlot {
  uint64_t hash = 0;
  bool referenced = false;  // hit since it came in or since the clock hand last passed
  std::string token;
  std::shared_ptr<const Principal> principal;
  int64_t expires_at = 0;
  size_t bytes = 0;
};

// What the main tier hands out of its critical section: copies, decoded after the lock.
struct Found {
  std::string shared;
  std::string own;
  int64_t expires_at = 0;
};

}  // namespace

struct alignas(64) ClaimsCache::Shard {
  std::mutex mu;
  Index index;
  SharedParts shared_parts;
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
  void release_shared(SharedPart* part) {
    if (--part->second == 0) {
      bytes -= shared_bytes(part->first);
      shared_parts.erase(part->first);
    }
  }
  void drop(Entry* e) {
    unlink(e);
    bytes -= e->bytes;
    release_shared(e->shared);
    const TokenDigest key = *e->key;  // erase() must not read a key inside the erased node
    index.erase(key);
  }
};

// A stripe of hot slots under one lock, with its share of the hot tier's budget.
struct alignas(64) ClaimsCache::HotStripe {
  std::mutex mu;
  size_t bytes = 0;
  size_t entries = 0;
  uint64_t hits = 0;

  size_t hand = 0;          // the clock hand over this stripe's slots
  uint64_t admissions = 0;  // promotions asked for, of which one in kAdmitOneIn is let in

  // Empties `slot`, handing its principal to `released` so it is freed after the lock.
  void vacate(HotSlot& slot, std::vector<std::shared_ptr<const Principal>>& released) {
    if (slot.principal == nullptr) return;
    released.push_back(std::move(slot.principal));
    slot.principal = nullptr;
    slot.referenced = false;
    std::string().swap(slot.token);
    bytes -= slot.bytes;
    --entries;
    slot.bytes = 0;
  }
};

// Two-way set associative: a token may sit in either slot of its set, so two tokens of a working
// set that fits rarely evict each other.
struct ClaimsCache::Hot {
  uint64_t seed = 0;
  size_t set_mask = 0;  // sets - 1
  size_t stripe_budget = 0;
  std::unique_ptr<HotSlot[]> slots;  // set s is slots 2s and 2s + 1
  std::unique_ptr<HotStripe[]> stripes;
  size_t stripe_count = 0;

  size_t set_of(uint64_t hash) const { return hash & set_mask; }
  HotStripe& stripe_of(size_t set) { return stripes[set % stripe_count]; }
  // The slot of `set` holding `token`, or null.
  HotSlot* match(size_t set, uint64_t hash, std::string_view token) {
    for (HotSlot* slot = &slots[2 * set]; slot != &slots[2 * set + 2]; ++slot) {
      if (slot->principal != nullptr && slot->hash == hash && slot->token == token) return slot;
    }
    return nullptr;
  }
};

namespace {

// Hot slots: four per 4 KiB of budget (a decoded principal of a typical access token and its
// token take about 3 KiB), a power of two: few tokens of a working set that fits the budget
// share a slot. A stripe shares its budget among its slots, and makes room with a clock hand.
constexpr size_t kHotBytesPerSlot = 1024;
constexpr size_t kHotStripes = 64;
// A stripe's share of the budget is at least this (room for a few principals), or there is one.
constexpr size_t kHotBytesPerStripe = 16384;
// A main-tier hit takes an occupied hot slot one time in this many: a token seen once in a
// while (a working set larger than the hot tier) does not churn it on every hit, while a token
// hit again and again gets in after a few hits.
constexpr uint64_t kAdmitOneIn = 8;

}  // namespace

ClaimsCache::ClaimsCache(ClaimsCacheOptions options)
    : shard_budget_(0), shard_count_(std::max<size_t>(options.shards, 1)) {
  shard_budget_ = options.max_bytes / shard_count_;
  shards_ = std::make_unique<Shard[]>(shard_count_);
  if (options.hot_bytes > 0) {
    hot_ = std::make_unique<Hot>();
    const size_t sets =
        std::bit_floor(std::max<size_t>(options.hot_bytes / kHotBytesPerSlot / 2, 1));
    hot_->set_mask = sets - 1;
    hot_->slots = std::make_unique<HotSlot[]>(2 * sets);
    hot_->stripe_count =
        std::clamp<size_t>(options.hot_bytes / kHotBytesPerStripe, 1, std::min(sets, kHotStripes));
    hot_->stripes = std::make_unique<HotStripe[]>(hot_->stripe_count);
    hot_->stripe_budget = options.hot_bytes / hot_->stripe_count;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&hot_->seed), sizeof hot_->seed) != 1) {
      hot_->seed = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(this)) * 0x9e3779b97f4a7c15ULL;
    }
  }
}

ClaimsCache::~ClaimsCache() = default;

std::shared_ptr<ClaimsCache> ClaimsCache::within(size_t bytes) {
  if (bytes == 0) return nullptr;
  const size_t hot = bytes / 8;
  return std::make_shared<ClaimsCache>(
      ClaimsCacheOptions{.max_bytes = bytes - hot, .hot_bytes = hot});
}

ClaimsCache::Shard& ClaimsCache::shard_for(const unsigned char* digest) const {
  uint64_t h = 0;
  std::memcpy(&h, digest + 8, sizeof h);
  return shards_[h % shard_count_];
}

std::shared_ptr<const Principal> ClaimsCache::find(std::string_view token, int64_t now,
                                                   bool count_miss) {
  uint64_t hash = 0;
  if (hot_) {
    hash = hot_hash(token, hot_->seed);
    const size_t set = hot_->set_of(hash);
    HotStripe& stripe = hot_->stripe_of(set);
    std::vector<std::shared_ptr<const Principal>> expired;  // released after the lock
    std::lock_guard<std::mutex> lock(stripe.mu);
    if (HotSlot* slot = hot_->match(set, hash, token)) {
      // RFC 7519 §4.1.4: the token must not be accepted on or after exp.
      if (now < slot->expires_at) {
        ++stripe.hits;
        slot->referenced = true;
        return slot->principal;
      }
      stripe.vacate(*slot, expired);
    }
  }
  // Read before the main tier: an erase() or insert() after this point bumps it, and the
  // principal found below is then not put in the hot tier (it may be the word erase() undid).
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  thread_local Found found;
  TokenDigest key;
  if (!token_digest(token, key)) return nullptr;
  Shard& s = shard_for(key.data());
  {
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.index.find(key);
    if (it == s.index.end()) {
      if (count_miss) ++s.misses;
      return nullptr;
    }
    Entry* e = &it->second;
    if (now >= e->expires_at) {
      s.drop(e);
      if (count_miss) ++s.misses;
      return nullptr;
    }
    if (e != s.newest) {
      s.unlink(e);
      s.push_newest(e);
    }
    ++s.hits;
    found.shared.assign(e->shared->first);
    found.own.assign(e->own);
    found.expires_at = e->expires_at;
  }
  std::shared_ptr<const Principal> principal;
  try {
    principal =
        std::make_shared<const Principal>(detail::decode_principal(found.shared, found.own));
  } catch (const std::runtime_error&) {
    // Bytes this cache wrote always decode; should they not, the token is validated afresh.
    erase(token);
    return nullptr;
  }
  if (hot_) put_hot(token, hash, principal, found.expires_at, generation);
  return principal;
}

void ClaimsCache::put_hot(std::string_view token, uint64_t hash,
                          std::shared_ptr<const Principal> principal, int64_t expires_at,
                          std::optional<uint64_t> generation) {
  const size_t set = hot_->set_of(hash);
  HotStripe& stripe = hot_->stripe_of(set);
  HotSlot* pair = &hot_->slots[2 * set];
  // The slot to fill: the token's own, else an empty one, else one not hit since it came in.
  auto choose = [&] {
    if (HotSlot* own = hot_->match(set, hash, token)) return own;
    if (pair[0].principal == nullptr || pair[1].principal == nullptr) {
      return &pair[pair[0].principal == nullptr ? 0 : 1];
    }
    return &pair[pair[0].referenced && !pair[1].referenced ? 1 : 0];
  };
  std::vector<std::shared_ptr<const Principal>> released;  // released after the lock
  std::unique_lock<std::mutex> lock(stripe.mu);
  if (generation) {
    // A promotion after a main-tier hit. Not when an insert() or erase() came in between (the
    // principal may be the word it replaced); into an occupied slot or a nearly full stripe, only
    // sometimes, and never over a token that was hit since it came in (a second chance).
    if (generation_.load(std::memory_order_acquire) != *generation) return;
    const HotSlot* victim = choose();
    const bool occupied = victim->principal != nullptr;
    if (occupied && victim->referenced) {
      pair[0].referenced = pair[1].referenced = false;
      return;
    }
    const bool crowded = occupied || stripe.bytes > hot_->stripe_budget / 4 * 3;
    if (crowded && ++stripe.admissions % kAdmitOneIn != 0) return;
  }
  // Sized outside the lock (it walks the claims); the slot is chosen again after.
  lock.unlock();
  const size_t bytes = principal_heap(*principal) + chunk(token.size() + 1);
  if (bytes > hot_->stripe_budget) return;
  lock.lock();
  if (generation && generation_.load(std::memory_order_acquire) != *generation) return;
  HotSlot* slot = choose();
  stripe.vacate(*slot, released);
  // The clock: over the stripe's other slots, a referenced token loses its mark, an unmarked one
  // its place, until the newcomer fits (twice round at most: every mark is gone after one).
  const size_t sets_per_stripe = (hot_->set_mask + 1) / hot_->stripe_count;
  const size_t first = set % hot_->stripe_count;
  for (size_t step = 0; stripe.bytes + bytes > hot_->stripe_budget && step < 4 * sets_per_stripe;
       ++step) {
    const size_t other_set = first + (stripe.hand / 2 % sets_per_stripe) * hot_->stripe_count;
    HotSlot& other = hot_->slots[2 * other_set + stripe.hand % 2];
    ++stripe.hand;
    if (&other == slot) continue;
    if (other.referenced) {
      other.referenced = false;
    } else {
      stripe.vacate(other, released);
    }
  }
  slot->hash = hash;
  slot->token.assign(token);
  slot->principal = std::move(principal);
  slot->expires_at = expires_at;
  slot->bytes = bytes;
  slot->referenced = false;
  stripe.bytes += bytes;
  ++stripe.entries;
}

void ClaimsCache::drop_hot(std::string_view token) {
  const uint64_t hash = hot_hash(token, hot_->seed);
  const size_t set = hot_->set_of(hash);
  HotStripe& stripe = hot_->stripe_of(set);
  std::vector<std::shared_ptr<const Principal>> released;
  std::lock_guard<std::mutex> lock(stripe.mu);
  if (HotSlot* slot = hot_->match(set, hash, token)) stripe.vacate(*slot, released);
}

bool ClaimsCache::insert(std::string_view token, std::shared_ptr<const Principal> principal,
                         int64_t now, std::optional<int64_t> keep_until) {
  const bool stored = insert_main(token, principal, now, keep_until);
  // The newest word on a token replaces the old one in both tiers, even when it is not
  // cacheable itself; a find() decoding the old word meanwhile no longer promotes it.
  generation_.fetch_add(1, std::memory_order_acq_rel);
  if (hot_) {
    if (stored) {
      const int64_t expires_at =
          keep_until ? std::min(*keep_until, principal->expires_at) : principal->expires_at;
      put_hot(token, hot_hash(token, hot_->seed), std::move(principal), expires_at, std::nullopt);
    } else {
      drop_hot(token);
    }
  }
  return stored;
}

bool ClaimsCache::insert_main(std::string_view token, const std::shared_ptr<const Principal>& p,
                              int64_t now, std::optional<int64_t> keep_until) {
  // With no bytes nothing was ever stored (the hot tier only takes what the main tier holds):
  // nothing to encode, nothing to drop.
  if (shard_budget_ == 0) return false;
  TokenDigest key;
  if (!token_digest(token, key)) return false;
  Shard& s = shard_for(key.data());
  detail::EncodedPrincipal encoded;
  if (p != nullptr) {
    encoded = encode_to_store(*p);
  }
  const size_t bytes = entry_bytes(encoded.own);
  const size_t new_shared_bytes = shared_bytes(encoded.shared);
  std::lock_guard<std::mutex> lock(s.mu);
  if (auto it = s.index.find(key); it != s.index.end()) s.drop(&it->second);
  if (p == nullptr) return false;
  const int64_t expires_at = keep_until ? std::min(*keep_until, p->expires_at) : p->expires_at;
  if (now >= expires_at || bytes + new_shared_bytes > shard_budget_) return false;
  // Room for the entry and, unless its shared part is there already, for that too (evicting may
  // remove the shared part; then it is created again, within the room made).
  auto room = [&] {
    const bool have = s.shared_parts.find(encoded.shared) != s.shared_parts.end();
    return bytes + (have ? 0 : new_shared_bytes);
  };
  while (s.bytes + room() > shard_budget_ && s.oldest != nullptr) {
    // An entry past its exp was dead already: dropping it is not an eviction.
    if (now < s.oldest->expires_at) ++s.evictions;
    s.drop(s.oldest);
  }
  auto [part, created] = s.shared_parts.try_emplace(std::move(encoded.shared), 0);
  if (created) s.bytes += new_shared_bytes;
  ++part->second;
  auto [it, inserted] = s.index.try_emplace(key);
  (void)inserted;  // the key was dropped above
  Entry* e = &it->second;
  e->own = std::move(encoded.own);
  e->shared = &*part;
  e->expires_at = expires_at;
  e->bytes = bytes;
  e->key = &it->first;
  s.push_newest(e);
  s.bytes += bytes;
  return true;
}

void ClaimsCache::erase(std::string_view token) {
  TokenDigest key;
  if (token_digest(token, key)) {
    Shard& s = shard_for(key.data());
    std::lock_guard<std::mutex> lock(s.mu);
    if (auto it = s.index.find(key); it != s.index.end()) s.drop(&it->second);
  }
  generation_.fetch_add(1, std::memory_order_acq_rel);
  if (hot_) drop_hot(token);
}

void ClaimsCache::clear() {
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& s = shards_[i];
    Index released;  // destroyed after the lock
    SharedParts released_parts;
    std::lock_guard<std::mutex> lock(s.mu);
    released.swap(s.index);
    released_parts.swap(s.shared_parts);
    s.newest = s.oldest = nullptr;
    s.bytes = 0;
  }
  generation_.fetch_add(1, std::memory_order_acq_rel);
  if (!hot_) return;
  for (size_t i = 0; i < 2 * (hot_->set_mask + 1); ++i) {
    HotStripe& stripe = hot_->stripe_of(i / 2);
    std::vector<std::shared_ptr<const Principal>> released;
    std::lock_guard<std::mutex> lock(stripe.mu);
    stripe.vacate(hot_->slots[i], released);
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
  if (hot_) {
    for (size_t i = 0; i < hot_->stripe_count; ++i) {
      HotStripe& stripe = hot_->stripes[i];
      std::lock_guard<std::mutex> lock(stripe.mu);
      out.hot_entries += stripe.entries;
      out.hot_bytes += stripe.bytes;
      out.hot_hits += stripe.hits;
    }
    out.hits += out.hot_hits;
  }
  return out;
}

size_t ClaimsCache::estimated_bytes(const Principal& p) {
  const detail::EncodedPrincipal encoded = encode_to_store(p);
  return entry_bytes(encoded.own) + shared_bytes(encoded.shared);
}

}  // namespace tessera::resource
