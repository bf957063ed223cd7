// ULIDs (github.com/ulid/spec): 128 bits, a 48-bit Unix time in milliseconds then 80 random
// bits, written as 26 characters of Crockford's base32. They sort by time as text, which is what
// OpenFGA relies on for store ids, model ids ("latest" is the greatest id) and the change log.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace tessera::store {

inline constexpr size_t kUlidLength = 26;

// True for 26 characters of Crockford's base32 (upper case, as generated) whose first character
// is at most '7' (the spec: larger values overflow 128 bits).
bool is_ulid(std::string_view text);
// The millisecond timestamp of a ULID; nullopt when `text` is not one.
std::optional<int64_t> ulid_time_ms(std::string_view text);

// Generates ULIDs that increase strictly within this generator (the spec's monotonic mode):
// within one millisecond, and when the clock steps back, the previous ULID's random part is
// incremented instead of drawing new bits. Thread-safe.
class UlidGenerator {
 public:
  using MillisecondClock = std::function<int64_t()>;
  // `now_ms` defaults to the system clock.
  explicit UlidGenerator(MillisecondClock now_ms = {});

  std::string next();

 private:
  MillisecondClock now_ms_;
  std::mutex mutex_;
  int64_t last_ms_ = -1;
  std::array<uint8_t, 10> last_random_{};  // big-endian 80 bits
};

}  // namespace tessera::store
