// The tuple cache: answers what its inner reader answered for the same store revision, never
// across revisions or stores, stays within its byte bound, and leaves point lookups to the store.
#include "fga/tuple_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "counting_reader.h"
#include "fga/memory_reader.h"

namespace tessera::fga {
namespace {

TupleKey key(std::string object, std::string relation, std::string user) {
  return TupleKey{std::move(object), std::move(relation), std::move(user), "", nullptr};
}

using test_support::CountingReader;

int calls(const CountingReader& r) {
  return r.reads + r.point_reads + r.userset_reads + r.reverse_reads;
}

TEST(TupleCache, ASecondReadOfTheSameRevisionComesFromTheCache) {
  MemoryTupleReader store;
  store.write(key("group:eng", "member", "user:anne"));
  store.write(key("group:eng", "member", "group:ops#member"));
  CountingReader counting(store);
  TupleCache cache(1 << 20);
  for (int request = 0; request < 3; ++request) {
    auto reader = cache.wrap(counting, "store1@7");
    auto all = reader->read("group:eng", "member");
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 2u);
    auto usersets = reader->read_userset_tuples("group:eng", "member");
    ASSERT_TRUE(usersets);
    ASSERT_EQ(usersets->size(), 1u);
    EXPECT_EQ(usersets->front().user, "group:ops#member");
    auto reverse = reader->read_starting_with_user("group", "member", {"user:anne", "user:bob"});
    ASSERT_TRUE(reverse);
    ASSERT_EQ(reverse->size(), 1u);
    EXPECT_EQ(reverse->front().object, "group:eng");
  }
  // read, read_userset_tuples, and one reverse lookup per user, once each.
  EXPECT_EQ(calls(counting), 4);
  auto stats = cache.stats();
  EXPECT_EQ(stats.misses, 4u);
  EXPECT_EQ(stats.hits, 8u);
  EXPECT_EQ(stats.entries, 4u);
  EXPECT_GT(stats.bytes, 0u);
}

TEST(TupleCache, AnotherRevisionOrStoreIsReadAgain) {
  MemoryTupleReader store;
  store.write(key("group:eng", "member", "user:anne"));
  CountingReader counting(store);
  TupleCache cache(1 << 20);
  ASSERT_TRUE(cache.wrap(counting, "store1@1")->read("group:eng", "member"));
  // A write: the store's revision moved on, and the new tuple is seen.
  store.write(key("group:eng", "member", "user:bob"));
  auto after = cache.wrap(counting, "store1@2")->read("group:eng", "member");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->size(), 2u);
  ASSERT_TRUE(cache.wrap(counting, "store2@1")->read("group:eng", "member"));
  EXPECT_EQ(calls(counting), 3);
}

TEST(TupleCache, PointLookupsGoToTheStore) {
  MemoryTupleReader store;
  store.write(key("doc:1", "viewer", "user:anne"));
  CountingReader counting(store);
  TupleCache cache(1 << 20);
  for (int i = 0; i < 2; ++i) {
    auto found = cache.wrap(counting, "s@1")->read_user_tuple("doc:1", "viewer", "user:anne");
    ASSERT_TRUE(found);
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->user, "user:anne");
  }
  EXPECT_EQ(calls(counting), 2);
}

TEST(TupleCache, StaysWithinItsByteBound) {
  MemoryTupleReader store;
  for (int i = 0; i < 2000; ++i) {
    store.write(key("group:" + std::to_string(i), "member", "user:" + std::to_string(i)));
  }
  CountingReader counting(store);
  constexpr size_t kBound = size_t{64} * 1024;
  TupleCache cache(kBound);
  auto reader = cache.wrap(counting, "s@1");
  for (int i = 0; i < 2000; ++i) {
    auto read = reader->read("group:" + std::to_string(i), "member");
    ASSERT_TRUE(read);
    ASSERT_EQ(read->size(), 1u);
    EXPECT_EQ(read->front().user, "user:" + std::to_string(i));
  }
  auto stats = cache.stats();
  EXPECT_LE(stats.bytes, kBound);
  EXPECT_GT(stats.entries, 0u);
  EXPECT_LT(stats.entries, 2000u);  // the oldest were evicted
  // The most recent read is still there; the first was evicted and is read again.
  const int before = calls(counting);
  ASSERT_TRUE(reader->read("group:1999", "member"));
  EXPECT_EQ(calls(counting), before);
  ASSERT_TRUE(reader->read("group:0", "member"));
  EXPECT_EQ(calls(counting), before + 1);
}

}  // namespace
}  // namespace tessera::fga
