#include "tessera/claims_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace tessera::resource {
namespace {

constexpr int64_t kNow = 1'700'000'000;
constexpr int64_t kExp = kNow + 300;

// A principal as the validator builds it from an RFC 9068 access token (§2.2).
std::shared_ptr<Principal> make_principal(const std::string& subject, int64_t exp = kExp) {
  auto p = std::make_shared<Principal>();
  p->issuer = "https://as.tessera.example";
  p->subject = subject;
  p->client_id = "spa-web";
  p->scopes = {"invoices:read", "invoices:write"};
  p->audiences = {"https://api.tessera.example/invoices"};
  p->token_id = "jti-" + subject;
  p->issued_at = kNow - 10;
  p->expires_at = exp;
  p->claims = {{"iss", p->issuer},       {"sub", subject},
               {"aud", p->audiences},    {"exp", exp},
               {"iat", p->issued_at},    {"jti", p->token_id},
               {"client_id", "spa-web"}, {"scope", "invoices:read invoices:write"}};
  return p;
}

// Distinct tokens of the same length, so that principals built alike have the same size.
std::string token(int i) {
  std::string t = "eyJhbGciOiJFUzI1NiJ9.token-" + std::to_string(1'000'000 + i);
  return t;
}

// What an entry costs in the main tier once its client's shared part is there (the first entry
// of a client in a shard costs estimated_bytes(), later ones this), for subjects as long as `like`.
size_t later_bytes(const std::string& like = "user-1") {
  ClaimsCache scratch({.max_bytes = size_t{1} << 20, .shards = 1, .hot_bytes = 0});
  std::string other = like;
  other.back() = other.back() == '1' ? '2' : '1';
  EXPECT_TRUE(scratch.insert(token(1), make_principal(like), kNow));
  const size_t first = scratch.stats().bytes;
  EXPECT_TRUE(scratch.insert(token(2), make_principal(other), kNow));
  return scratch.stats().bytes - first;
}

TEST(ClaimsCache, HitReturnsTheSamePrincipal) {
  ClaimsCache cache;
  auto p = make_principal("alice");
  ASSERT_TRUE(cache.insert(token(1), p, kNow));
  auto found = cache.find(token(1), kNow);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found.get(), p.get());
  EXPECT_EQ(found->subject, "alice");
  const auto st = cache.stats();
  EXPECT_EQ(st.entries, 1U);
  EXPECT_EQ(st.hits, 1U);
  EXPECT_EQ(st.misses, 0U);
  EXPECT_EQ(st.bytes, ClaimsCache::estimated_bytes(*p));
}

TEST(ClaimsCache, UnknownTokenMisses) {
  ClaimsCache cache;
  ASSERT_TRUE(cache.insert(token(1), make_principal("alice"), kNow));
  EXPECT_EQ(cache.find(token(2), kNow), nullptr);
  EXPECT_EQ(cache.find("", kNow), nullptr);
  // A token differing in its last character only is a different key.
  std::string near = token(1);
  near.back() = near.back() == '0' ? '1' : '0';
  EXPECT_EQ(cache.find(near, kNow), nullptr);
  EXPECT_EQ(cache.stats().misses, 3U);
  EXPECT_EQ(cache.stats().hits, 0U);
}

TEST(ClaimsCache, EntryExpiresAtExactlyExp) {
  ClaimsCache cache;
  ASSERT_TRUE(cache.insert(token(1), make_principal("alice", kExp), kNow));
  EXPECT_NE(cache.find(token(1), kExp - 1), nullptr);
  // RFC 7519 §4.1.4: not accepted on or after exp; the entry is dropped on the way.
  EXPECT_EQ(cache.find(token(1), kExp), nullptr);
  const auto st = cache.stats();
  EXPECT_EQ(st.entries, 0U);
  EXPECT_EQ(st.bytes, 0U);
  EXPECT_EQ(st.hits, 1U);
  EXPECT_EQ(st.misses, 1U);
  EXPECT_EQ(st.evictions, 0U);
  // Gone for good, even asked with an earlier clock.
  EXPECT_EQ(cache.find(token(1), kExp - 1), nullptr);
}

TEST(ClaimsCache, KeepUntilEndsAnEntryBeforeItsExpButNeverAfter) {
  ClaimsCache cache;
  ASSERT_TRUE(cache.insert(token(1), make_principal("alice", kExp), kNow, kNow + 10));
  EXPECT_NE(cache.find(token(1), kNow + 9), nullptr);
  EXPECT_EQ(cache.find(token(1), kNow + 10), nullptr);
  // A keep_until past exp does not stretch the entry beyond exp.
  ASSERT_TRUE(cache.insert(token(2), make_principal("bob", kNow + 5), kNow, kNow + 1000));
  EXPECT_EQ(cache.find(token(2), kNow + 5), nullptr);
  // Already over: nothing cached.
  EXPECT_FALSE(cache.insert(token(3), make_principal("carol", kExp), kNow, kNow));
}

TEST(ClaimsCache, InsertRefusesAnExpiredPrincipal) {
  ClaimsCache cache;
  EXPECT_FALSE(cache.insert(token(1), make_principal("alice", kNow), kNow));
  EXPECT_FALSE(cache.insert(token(2), make_principal("bob", kNow - 1), kNow));
  EXPECT_FALSE(cache.insert(token(3), nullptr, kNow));
  EXPECT_TRUE(cache.insert(token(4), make_principal("carol", kNow + 1), kNow));
  EXPECT_EQ(cache.stats().entries, 1U);
  EXPECT_EQ(cache.find(token(1), kNow - 10), nullptr);
}

TEST(ClaimsCache, LaterEntriesOfOneClientShareTheirCommonPart) {
  const size_t first = ClaimsCache::estimated_bytes(*make_principal("user-1"));
  const size_t later = later_bytes();
  EXPECT_LT(later, first);
  EXPECT_GT(later, 0U);
  ClaimsCache cache({.max_bytes = size_t{1} << 20, .shards = 1, .hot_bytes = 0});
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(cache.insert(token(i), make_principal("user-" + std::to_string(i)), kNow));
  }
  EXPECT_EQ(cache.stats().bytes, first + 9 * later);
  // Another client: its own shared part.
  auto other = make_principal("user-x");
  other->client_id = "cli";
  other->claims.mutable_json()["client_id"] = "cli";
  ASSERT_TRUE(cache.insert(token(10), other, kNow));
  EXPECT_EQ(cache.stats().bytes, first + 9 * later + ClaimsCache::estimated_bytes(*other));
  // The shared part goes with the last entry that uses it.
  for (int i = 0; i < 10; ++i) cache.erase(token(i));
  EXPECT_EQ(cache.stats().bytes, ClaimsCache::estimated_bytes(*other));
  cache.erase(token(10));
  EXPECT_EQ(cache.stats().bytes, 0U);
}

TEST(ClaimsCache, WithoutTheHotTierAHitDecodesAnEqualPrincipal) {
  ClaimsCache cache({.max_bytes = size_t{1} << 20, .shards = 4, .hot_bytes = 0});
  auto p = make_principal("alice");
  p->domain_claims = {{"tenant", "acme"}, {"roles", {"accountant"}}};
  p->actors = {{"api-a", "invoices-api"}};
  ASSERT_TRUE(cache.insert(token(1), p, kNow));
  auto found = cache.find(token(1), kNow);
  ASSERT_NE(found, nullptr);
  EXPECT_NE(found.get(), p.get());
  EXPECT_EQ(*found, *p);
  const auto st = cache.stats();
  EXPECT_EQ(st.hits, 1U);
  EXPECT_EQ(st.hot_hits, 0U);
  EXPECT_EQ(st.hot_entries, 0U);
}

TEST(ClaimsCache, TheHotTierAnswersRepeatHitsAndAMainTierHitPromotes) {
  // Room for one decoded principal in the hot tier: every token competes for it.
  ClaimsCache cache({.max_bytes = size_t{1} << 20, .shards = 4, .hot_bytes = 4096});
  auto a = make_principal("alice");
  ASSERT_TRUE(cache.insert(token(1), a, kNow));
  EXPECT_EQ(cache.find(token(1), kNow).get(), a.get());  // from the hot tier, as inserted
  EXPECT_EQ(cache.stats().hot_hits, 1U);
  ASSERT_TRUE(cache.insert(token(2), make_principal("bob"), kNow));  // takes the room
  auto again = cache.find(token(1), kNow);                           // from the main tier
  ASSERT_NE(again, nullptr);
  EXPECT_NE(again.get(), a.get());
  EXPECT_EQ(*again, *a);
  auto st = cache.stats();
  EXPECT_EQ(st.hits, 2U);
  EXPECT_EQ(st.hot_hits, 1U);
  EXPECT_EQ(st.hot_entries, 1U);
  // A token hit again and again gets back in: a main-tier hit takes a crowded hot tier one
  // time in eight.
  int finds = 0;
  while (cache.stats().hot_hits == 1 && finds < 20) {
    ASSERT_NE(cache.find(token(1), kNow), nullptr);
    ++finds;
  }
  EXPECT_LE(finds, 9);
  EXPECT_EQ(cache.stats().hot_hits, 2U);
  EXPECT_EQ(cache.find(token(1), kNow).get(), cache.find(token(1), kNow).get());
  st = cache.stats();
  EXPECT_EQ(st.hot_entries, 1U);  // bob made room
  EXPECT_GT(st.hot_bytes, ClaimsCache::estimated_bytes(*a));
  EXPECT_LE(st.hot_bytes, 4096U);
  // A token that differs only in its last byte is not the slot's token.
  std::string near = token(1);
  near.back() = near.back() == '0' ? '1' : '0';
  EXPECT_EQ(cache.find(near, kNow), nullptr);
  // Expiry, erase and clear reach the hot tier too.
  EXPECT_EQ(cache.find(token(1), kExp), nullptr);
  EXPECT_EQ(cache.stats().hot_entries, 0U);
  ASSERT_TRUE(cache.insert(token(3), make_principal("carol"), kNow));
  cache.erase(token(3));
  EXPECT_EQ(cache.find(token(3), kNow), nullptr);
  ASSERT_TRUE(cache.insert(token(4), make_principal("dave"), kNow));
  cache.clear();
  EXPECT_EQ(cache.find(token(4), kNow), nullptr);
  EXPECT_EQ(cache.stats().hot_entries, 0U);
  EXPECT_EQ(cache.stats().hot_bytes, 0U);
}

TEST(ClaimsCache, TheHotTierComparesWholeTokensNotTheirTails) {
  // Same length, same last 32 bytes (what picks the hot slot), different first bytes: another
  // token, which must never get alice's principal.
  const std::string tail(40, 's');
  const std::string alice_token = "eyJhbGciOiJFUzI1NiJ9.alice." + tail;
  const std::string forged_token = "eyJhbGciOiJFUzI1NiJ9.mally." + tail;
  ClaimsCache cache;
  ASSERT_TRUE(cache.insert(alice_token, make_principal("alice"), kNow));
  ASSERT_NE(cache.find(alice_token, kNow), nullptr);
  EXPECT_EQ(cache.find(forged_token, kNow), nullptr);
  EXPECT_EQ(cache.stats().hot_hits, 1U);
  // Nor does the other token's erase reach alice's.
  cache.erase(forged_token);
  EXPECT_NE(cache.find(alice_token, kNow), nullptr);
}

TEST(ClaimsCache, AHotTierTooSmallForAPrincipalHoldsNothingAndTheMainTierStillAnswers) {
  ClaimsCache cache({.max_bytes = size_t{1} << 20, .shards = 1, .hot_bytes = 1000});
  ASSERT_TRUE(cache.insert(token(1), make_principal("alice"), kNow));
  EXPECT_NE(cache.find(token(1), kNow), nullptr);
  EXPECT_NE(cache.find(token(1), kNow), nullptr);
  const auto st = cache.stats();
  EXPECT_EQ(st.hits, 2U);
  EXPECT_EQ(st.hot_hits, 0U);
  EXPECT_EQ(st.hot_entries, 0U);
  EXPECT_EQ(st.hot_bytes, 0U);
}

TEST(ClaimsCache, ReinsertingAnUncacheablePrincipalEmptiesTheHotSlotToo) {
  ClaimsCache cache;
  ASSERT_TRUE(cache.insert(token(1), make_principal("alice"), kNow));
  ASSERT_NE(cache.find(token(1), kNow), nullptr);
  EXPECT_FALSE(cache.insert(token(1), nullptr, kNow));
  EXPECT_EQ(cache.find(token(1), kNow), nullptr);
  EXPECT_EQ(cache.stats().hot_entries, 0U);
}

TEST(ClaimsCache, LruEvictsTheLeastRecentlyUsedAndFindRefreshesRecency) {
  const size_t first = ClaimsCache::estimated_bytes(*make_principal("user-1"));
  const size_t later = later_bytes();
  // Only main-tier hits move an entry up its LRU list: the hot tier is off here.
  ClaimsCache cache({.max_bytes = first + 2 * later, .shards = 1, .hot_bytes = 0});
  ASSERT_TRUE(cache.insert(token(1), make_principal("user-1"), kNow));
  ASSERT_TRUE(cache.insert(token(2), make_principal("user-2"), kNow));
  ASSERT_TRUE(cache.insert(token(3), make_principal("user-3"), kNow));
  ASSERT_NE(cache.find(token(1), kNow), nullptr);  // 1 is now the most recent; 2 the least
  ASSERT_TRUE(cache.insert(token(4), make_principal("user-4"), kNow));
  EXPECT_EQ(cache.find(token(2), kNow), nullptr);
  EXPECT_NE(cache.find(token(1), kNow), nullptr);
  EXPECT_NE(cache.find(token(3), kNow), nullptr);
  EXPECT_NE(cache.find(token(4), kNow), nullptr);
  // Recency is now 2 (gone), 1, 3, 4: the next insert evicts 1.
  ASSERT_TRUE(cache.insert(token(5), make_principal("user-5"), kNow));
  EXPECT_EQ(cache.find(token(1), kNow), nullptr);
  EXPECT_NE(cache.find(token(3), kNow), nullptr);
  const auto st = cache.stats();
  EXPECT_EQ(st.entries, 3U);
  EXPECT_EQ(st.bytes, first + 2 * later);
  EXPECT_EQ(st.evictions, 2U);
}

TEST(ClaimsCache, ExpiredEntriesDroppedForRoomAreNotEvictions) {
  const size_t first = ClaimsCache::estimated_bytes(*make_principal("user-1", kNow + 5));
  // Entries expiring at kNow + 5 and kNow + 50 encode to the same size.
  ASSERT_EQ(ClaimsCache::estimated_bytes(*make_principal("user-3", kNow + 50)), first);
  ClaimsCache cache({.max_bytes = first + later_bytes(), .shards = 1, .hot_bytes = 0});
  ASSERT_TRUE(cache.insert(token(1), make_principal("user-1", kNow + 5), kNow));
  ASSERT_TRUE(cache.insert(token(2), make_principal("user-2", kNow + 5), kNow));
  // At kNow + 5 both have expired; making room for a third drops the oldest silently.
  ASSERT_TRUE(cache.insert(token(3), make_principal("user-3", kNow + 50), kNow + 5));
  EXPECT_EQ(cache.stats().evictions, 0U);
  EXPECT_EQ(cache.stats().entries, 2U);
  // A live one dropped for room counts.
  ASSERT_TRUE(cache.insert(token(4), make_principal("user-4", kNow + 50), kNow + 5));
  ASSERT_TRUE(cache.insert(token(5), make_principal("user-5", kNow + 50), kNow + 5));
  EXPECT_EQ(cache.stats().evictions, 1U);
  EXPECT_EQ(cache.find(token(3), kNow + 5), nullptr);
  EXPECT_NE(cache.find(token(5), kNow + 5), nullptr);
}

TEST(ClaimsCache, BytesNeverExceedMaxBytes) {
  constexpr size_t kMax = size_t{64} * 1024;
  ClaimsCache cache({.max_bytes = kMax, .shards = 4});
  size_t refused = 0;
  for (int i = 0; i < 3000; ++i) {
    auto p = make_principal("user-" + std::to_string(i));
    // Sizes vary from a few hundred bytes to several kilobytes.
    p->domain_claims["notes"] = std::string(static_cast<size_t>(i % 40) * 100, 'x');
    if (!cache.insert(token(i), p, kNow)) ++refused;
    const auto st = cache.stats();
    ASSERT_LE(st.bytes, kMax) << "after insert " << i;
  }
  const auto st = cache.stats();
  EXPECT_EQ(refused, 0U);
  EXPECT_GT(st.entries, 4U);
  EXPECT_LT(st.entries, 3000U);
  EXPECT_EQ(st.evictions, 3000U - st.entries);
  // Most of the budget is in use once full.
  EXPECT_GT(st.bytes, kMax / 2);
}

TEST(ClaimsCache, PrincipalLargerThanAShardIsRefused) {
  auto big = make_principal("alice");
  big->domain_claims["blob"] = std::string(10'000, 'x');
  ClaimsCache cache({.max_bytes = size_t{8} * 4096, .shards = 8});  // 4 KiB per shard
  EXPECT_FALSE(cache.insert(token(1), big, kNow));
  EXPECT_TRUE(cache.insert(token(2), make_principal("bob"), kNow));
  EXPECT_EQ(cache.stats().entries, 1U);
}

TEST(ClaimsCache, ReinsertReplacesTheEntryAndAdjustsBytes) {
  ClaimsCache cache;
  auto small = make_principal("alice");
  auto big = make_principal("alice");
  big->domain_claims["roles"] = std::vector<std::string>(50, std::string(40, 'r'));
  ASSERT_GT(ClaimsCache::estimated_bytes(*big), ClaimsCache::estimated_bytes(*small));

  ASSERT_TRUE(cache.insert(token(1), small, kNow));
  EXPECT_EQ(cache.stats().bytes, ClaimsCache::estimated_bytes(*small));
  ASSERT_TRUE(cache.insert(token(1), big, kNow));
  EXPECT_EQ(cache.stats().entries, 1U);
  EXPECT_EQ(cache.stats().bytes, ClaimsCache::estimated_bytes(*big));
  EXPECT_EQ(cache.find(token(1), kNow).get(), big.get());
  ASSERT_TRUE(cache.insert(token(1), small, kNow));
  EXPECT_EQ(cache.stats().bytes, ClaimsCache::estimated_bytes(*small));
  EXPECT_EQ(cache.find(token(1), kNow).get(), small.get());
}

TEST(ClaimsCache, RefusedReinsertForgetsTheOldEntry) {
  ClaimsCache cache;
  ASSERT_TRUE(cache.insert(token(1), make_principal("alice"), kNow));
  EXPECT_FALSE(cache.insert(token(1), make_principal("alice", kNow - 1), kNow));
  EXPECT_EQ(cache.find(token(1), kNow), nullptr);
  EXPECT_EQ(cache.stats().entries, 0U);
  EXPECT_EQ(cache.stats().bytes, 0U);
}

TEST(ClaimsCache, EraseForgetsOneToken) {
  ClaimsCache cache;
  ASSERT_TRUE(cache.insert(token(1), make_principal("alice"), kNow));
  ASSERT_TRUE(cache.insert(token(2), make_principal("bob"), kNow));
  cache.erase(token(1));
  cache.erase(token(3));  // unknown: nothing happens
  EXPECT_EQ(cache.find(token(1), kNow), nullptr);
  ASSERT_NE(cache.find(token(2), kNow), nullptr);
  const auto st = cache.stats();
  EXPECT_EQ(st.entries, 1U);
  EXPECT_EQ(st.bytes, ClaimsCache::estimated_bytes(*make_principal("bob")));
  EXPECT_EQ(st.evictions, 0U);
}

TEST(ClaimsCache, ClearEmptiesEveryShard) {
  ClaimsCache cache({.max_bytes = size_t{1} << 20, .shards = 4});
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(cache.insert(token(i), make_principal("u" + std::to_string(i)), kNow));
  }
  ASSERT_EQ(cache.stats().entries, 100U);
  cache.clear();
  EXPECT_EQ(cache.stats().entries, 0U);
  EXPECT_EQ(cache.stats().bytes, 0U);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(cache.find(token(i), kNow), nullptr);
  // Usable again after clearing.
  ASSERT_TRUE(cache.insert(token(7), make_principal("u7"), kNow));
  EXPECT_NE(cache.find(token(7), kNow), nullptr);
}

TEST(ClaimsCache, StatsCountHitsMissesAndEvictionsAcrossShards) {
  const size_t first = ClaimsCache::estimated_bytes(*make_principal("user-1000"));
  const size_t later = later_bytes("user-1000");
  // Room for ten entries per shard; no hot tier, which would answer for evicted entries.
  ClaimsCache cache({.max_bytes = size_t{4} * (first + 9 * later), .shards = 4, .hot_bytes = 0});
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(cache.insert(token(i), make_principal("user-" + std::to_string(1000 + i)), kNow));
  }
  auto st = cache.stats();
  EXPECT_LE(st.entries, 40U);
  EXPECT_EQ(st.evictions, 200U - st.entries);
  EXPECT_EQ(st.entries, 40U);
  EXPECT_EQ(st.bytes, 4 * first + (st.entries - 4) * later);
  uint64_t found = 0;
  for (int i = 0; i < 200; ++i) found += cache.find(token(i), kNow) != nullptr ? 1 : 0;
  st = cache.stats();
  EXPECT_EQ(found, st.entries);
  EXPECT_EQ(st.hits, found);
  EXPECT_EQ(st.misses, 200U - found);
  // The most recent insert of each shard is always still there.
  EXPECT_NE(cache.find(token(199), kNow), nullptr);
}

TEST(ClaimsCache, EstimatedBytesGrowsWithClaims) {
  auto p = make_principal("alice");
  const size_t base = ClaimsCache::estimated_bytes(*p);
  // The key, the bookkeeping, subject, jti and the shared part at least.
  EXPECT_GT(base, 32 + p->subject.size() + p->token_id.size() + p->issuer.size());

  p->claims.mutable_json()["tenant_description"] = std::string(1000, 'd');
  const size_t with_string = ClaimsCache::estimated_bytes(*p);
  EXPECT_GE(with_string, base + 1000);

  p->claims.mutable_json()["groups"] = std::vector<std::string>(20, std::string(30, 'g'));
  const size_t with_array = ClaimsCache::estimated_bytes(*p);
  EXPECT_GE(with_array, with_string + size_t{20} * 30);

  p->domain_claims["tenant"] = {{"id", "acme"}, {"roles", {"admin", "billing"}}};
  const size_t with_domain = ClaimsCache::estimated_bytes(*p);
  EXPECT_GT(with_domain, with_array);

  p->amr = {"pwd", "otp", "hwk"};
  p->actors = {{"service-a", "client-a"}, {std::string(100, 'a'), "client-b"}};
  const size_t with_actors = ClaimsCache::estimated_bytes(*p);
  EXPECT_GE(with_actors, with_domain + 100);

  nlohmann::json deep = "leaf";
  for (int i = 0; i < 1000; ++i) deep = nlohmann::json::array({std::move(deep)});
  p->domain_claims["deep"] = std::move(deep);
  EXPECT_GE(ClaimsCache::estimated_bytes(*p), with_actors + 1000);
}

TEST(ClaimsCache, ZeroShardsActsAsOne) {
  ClaimsCache cache({.max_bytes = size_t{1} << 20, .shards = 0});
  ASSERT_TRUE(cache.insert(token(1), make_principal("alice"), kNow));
  EXPECT_NE(cache.find(token(1), kNow), nullptr);
  EXPECT_EQ(cache.stats().entries, 1U);
  cache.erase(token(1));
  cache.clear();
  EXPECT_EQ(cache.stats().entries, 0U);
}

TEST(ClaimsCache, ZeroMaxBytesCachesNothing) {
  ClaimsCache cache({.max_bytes = 0, .shards = 16});
  EXPECT_FALSE(cache.insert(token(1), make_principal("alice"), kNow));
  EXPECT_EQ(cache.find(token(1), kNow), nullptr);
  const auto st = cache.stats();
  EXPECT_EQ(st.entries, 0U);
  EXPECT_EQ(st.bytes, 0U);
  EXPECT_EQ(st.misses, 1U);
}

TEST(ClaimsCache, WithinABudgetOfNoBytesIsNoCache) {
  EXPECT_EQ(ClaimsCache::within(0), nullptr);
  const auto cache = ClaimsCache::within(size_t{1} << 20);
  ASSERT_NE(cache, nullptr);
  ASSERT_TRUE(cache->insert(token(1), make_principal("alice"), kNow));
  EXPECT_NE(cache->find(token(1), kNow), nullptr);
}

TEST(ClaimsCache, ConcurrentFindAndInsertFromEightThreads) {
  constexpr int kThreads = 8;
  constexpr int kTokens = 2000;
  constexpr int kRounds = 4;
  const size_t first = ClaimsCache::estimated_bytes(*make_principal("user-1000"));
  const size_t later = later_bytes("user-1000");
  // Room for about half the tokens, so evictions race with finds and inserts; a hot tier of
  // 64 slots for about a tenth of them, so promotions race too.
  const size_t max_bytes = kTokens / 2 * later;
  ClaimsCache cache({.max_bytes = max_bytes, .shards = 8, .hot_bytes = 64 * 4096});
  std::atomic<int> wrong{0};
  std::atomic<uint64_t> finds{0};
  std::atomic<uint64_t> hits{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      uint64_t my_finds = 0;
      uint64_t my_hits = 0;
      for (int r = 0; r < kRounds; ++r) {
        for (int k = 0; k < kTokens; ++k) {
          const int i = (k * 7 + t * 131 + r * 17) % kTokens;
          const std::string subject = "user-" + std::to_string(1000 + i);
          if ((k + t) % 3 == 0) {
            if (!cache.insert(token(i), make_principal(subject), kNow)) wrong.fetch_add(1);
          } else if ((k + t) % 17 == 1) {
            cache.erase(token(i));
          } else {
            ++my_finds;
            auto p = cache.find(token(i), kNow);
            if (p != nullptr) {
              ++my_hits;
              // Another token's principal would be a security bug, not a cache miss.
              if (p->subject != subject) wrong.fetch_add(1);
            }
          }
        }
      }
      finds.fetch_add(my_finds);
      hits.fetch_add(my_hits);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  const auto st = cache.stats();
  EXPECT_EQ(st.hits + st.misses, finds.load());
  EXPECT_EQ(st.hits, hits.load());
  EXPECT_GT(st.hits, 0U);
  EXPECT_LE(st.bytes, max_bytes);
  EXPECT_GE(st.bytes, st.entries * later);
  EXPECT_LE(st.bytes, st.entries * later + 8 * (first - later));
  EXPECT_GT(st.evictions, 0U);
  EXPECT_GT(st.hot_hits, 0U);
  EXPECT_LE(st.hot_bytes, size_t{64} * 4096);
}

}  // namespace
}  // namespace tessera::resource
