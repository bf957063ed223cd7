// SettingStore on both backends.
#include "store/setting_store.h"

#include <gtest/gtest.h>

#include <latch>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "backend_fixture.h"

namespace tessera::store::testing {
namespace {

using Code = StoreError::Code;

class SettingStoreTest : public StoreTest {
 protected:
  SettingStore& settings() { return store_->settings(); }
};

TEST_P(SettingStoreTest, MissingKeyReadsAsAbsent) {
  auto value = settings().get("demo.alice.password");
  ASSERT_TRUE(value) << value.error().message;
  EXPECT_FALSE(value->has_value());
}

TEST_P(SettingStoreTest, PutOverwritesAndGetReturnsTheLatestBytes) {
  const std::string binary("\x00\x01\xfe\xff", 4);
  ASSERT_TRUE(settings().put("k", "first"));
  ASSERT_TRUE(settings().put("k", binary));
  auto value = settings().get("k");
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, std::optional<std::string>(binary));
}

TEST_P(SettingStoreTest, PutIfAbsentKeepsTheFirstValue) {
  auto first = settings().put_if_absent("k", "one");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(first->inserted);
  EXPECT_EQ(first->value, "one");
  auto second = settings().put_if_absent("k", "two");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_FALSE(second->inserted);
  EXPECT_EQ(second->value, "one");
  EXPECT_EQ(settings().get("k").value(), std::optional<std::string>("one"));
}

TEST_P(SettingStoreTest, PutIfAbsentRaceHasOneWinnerWhoseValueEveryoneSees) {
  constexpr int kRacers = 50;
  std::latch start(kRacers);
  std::mutex mutex;
  int inserted = 0;
  std::set<std::string> seen;
  std::vector<std::string> errors;
  std::vector<std::thread> racers;
  for (int i = 0; i < kRacers; ++i) {
    racers.emplace_back([&, i] {
      start.arrive_and_wait();
      auto stored = settings().put_if_absent("demo.secret", "candidate-" + std::to_string(i));
      std::lock_guard lock(mutex);
      if (!stored) {
        errors.push_back(stored.error().message);
        return;
      }
      inserted += stored->inserted ? 1 : 0;
      seen.insert(stored->value);
    });
  }
  for (auto& racer : racers) racer.join();
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_EQ(inserted, 1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(settings().get("demo.secret").value(), std::optional<std::string>(*seen.begin()));
}

TEST_P(SettingStoreTest, SettingsSurviveReopeningTheStore) {
  ASSERT_TRUE(settings().put_if_absent("demo.credentials", "s3cret"));
  store_.reset();
  auto reopened = open_store_or_fail();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->settings().get("demo.credentials").value(),
            std::optional<std::string>("s3cret"));
}

TEST_P(SettingStoreTest, EmptyKeyIsRejected) {
  auto rejected = settings().put("", "x");
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code, Code::kInvalidArgument);
}

TESSERA_ON_BOTH_BACKENDS(SettingStoreTest);

}  // namespace
}  // namespace tessera::store::testing
