// ULIDs: format, time prefix, strict monotonic order within a millisecond and across a clock
// step back, and uniqueness across threads.
#include "store/ulid.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace tessera::store {
namespace {

TEST(Ulid, HasTwentySixCrockfordCharactersAndTheTimeFirst) {
  UlidGenerator generator([] { return int64_t{1'700'000'000'123}; });
  const std::string id = generator.next();
  EXPECT_EQ(id.size(), kUlidLength);
  EXPECT_TRUE(is_ulid(id)) << id;
  EXPECT_EQ(ulid_time_ms(id), int64_t{1'700'000'000'123});
  EXPECT_EQ(id.find_first_of("ILOU"), std::string::npos);
}

TEST(Ulid, EncodesTheTimeAsTheSpecsExample) {
  // github.com/ulid/spec's example ULID 01ARYZ6S41TSV4RRFFQ69G5FAV: 1469918176385 ms.
  UlidGenerator generator([] { return int64_t{1'469'918'176'385}; });
  EXPECT_EQ(generator.next().substr(0, 10), "01ARYZ6S41");
}

TEST(Ulid, RejectsWhatIsNotAUlid) {
  EXPECT_FALSE(is_ulid(""));
  EXPECT_FALSE(is_ulid("01ARYZ6S41"));
  EXPECT_FALSE(is_ulid("01ARYZ6S41TSV4RRFFQ69G5FAVX"));  // 27 characters
  EXPECT_FALSE(is_ulid("01ARYZ6S41TSV4RRFFQ69G5FAI"));   // I is not in the alphabet
  EXPECT_FALSE(is_ulid("01arYZ6S41TSV4RRFFQ69G5FAV"));   // lower case
  EXPECT_FALSE(is_ulid("81ARYZ6S41TSV4RRFFQ69G5FAV"));   // overflows 128 bits
  EXPECT_TRUE(is_ulid("01ARYZ6S41TSV4RRFFQ69G5FAV"));
  EXPECT_EQ(ulid_time_ms("not a ulid"), std::nullopt);
  EXPECT_EQ(ulid_time_ms("01ARYZ6S41TSV4RRFFQ69G5FAV"), int64_t{1'469'918'176'385});
}

TEST(Ulid, IncreasesWithinOneMillisecond) {
  UlidGenerator generator([] { return int64_t{1'700'000'000'000}; });
  std::string previous = generator.next();
  for (int i = 0; i < 1000; ++i) {
    std::string next = generator.next();
    ASSERT_LT(previous, next);
    ASSERT_EQ(ulid_time_ms(next), int64_t{1'700'000'000'000});
    previous = next;
  }
}

TEST(Ulid, KeepsIncreasingWhenTheClockStepsBack) {
  int64_t now = 1'700'000'000'500;
  UlidGenerator generator([&] { return now; });
  const std::string before = generator.next();
  now -= 400;
  const std::string after = generator.next();
  EXPECT_LT(before, after);
  EXPECT_EQ(ulid_time_ms(after), int64_t{1'700'000'000'500});
  now += 1000;
  const std::string later = generator.next();
  EXPECT_LT(after, later);
  EXPECT_EQ(ulid_time_ms(later), int64_t{1'700'000'001'100});
}

TEST(Ulid, NewMillisecondsDrawNewRandomBits) {
  int64_t now = 1'700'000'000'000;
  UlidGenerator generator([&] { return now++; });
  std::set<std::string> randoms;
  for (int i = 0; i < 100; ++i) randoms.insert(generator.next().substr(10));
  EXPECT_EQ(randoms.size(), 100U);
}

TEST(Ulid, IsUniqueAndOrderedAcrossThreads) {
  UlidGenerator generator;
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& ids : per_thread) {
    threads.emplace_back([&generator, &ids] {
      for (int i = 0; i < 2000; ++i) ids.push_back(generator.next());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (const auto& ids : per_thread) {
    for (size_t i = 1; i < ids.size(); ++i) ASSERT_LT(ids[i - 1], ids[i]);
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(all.size(), 8000U);
}

}  // namespace
}  // namespace tessera::store
