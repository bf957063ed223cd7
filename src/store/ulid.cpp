#include "store/ulid.h"

#include <chrono>

#include "core/crypto.h"

namespace tessera::store {
namespace {

// Crockford's base32 alphabet: no I, L, O, U.
constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr int64_t kMaxTime = (int64_t{1} << 48) - 1;
constexpr size_t kTimeChars = 10;

int decode_char(char c) {
  const size_t at = kAlphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

int64_t system_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Adds one to the big-endian 80-bit number; false when it wraps around.
bool increment(std::array<uint8_t, 10>& bytes) {
  for (size_t i = bytes.size(); i-- > 0;) {
    if (++bytes[i] != 0) return true;
  }
  return false;
}

std::string encode(int64_t time_ms, const std::array<uint8_t, 10>& random) {
  std::string out(kUlidLength, '0');
  // 48 bits of time in 10 characters (50 bits: the first character carries 3).
  auto time = static_cast<uint64_t>(time_ms);
  for (size_t i = kTimeChars; i-- > 0;) {
    out[i] = kAlphabet[time & 31U];
    time >>= 5U;
  }
  // 80 random bits in 16 characters, 5 bits at a time from the most significant.
  for (size_t i = 0; i < kUlidLength - kTimeChars; ++i) {
    unsigned value = 0;
    for (size_t bit = 0; bit < 5; ++bit) {
      const size_t index = (i * 5) + bit;
      const unsigned b = (random[index / 8] >> (7 - (index % 8))) & 1U;
      value = (value << 1U) | b;
    }
    out[kTimeChars + i] = kAlphabet[value];
  }
  return out;
}

}  // namespace

bool is_ulid(std::string_view text) {
  if (text.size() != kUlidLength || text[0] > '7') return false;
  for (char c : text) {
    if (decode_char(c) < 0) return false;
  }
  return true;
}

std::optional<int64_t> ulid_time_ms(std::string_view text) {
  if (!is_ulid(text)) return std::nullopt;
  int64_t time = 0;
  for (size_t i = 0; i < kTimeChars; ++i) time = (time << 5) | decode_char(text[i]);
  return time;
}

UlidGenerator::UlidGenerator(MillisecondClock now_ms)
    : now_ms_(now_ms ? std::move(now_ms) : MillisecondClock(system_ms)) {}

std::string UlidGenerator::next() {
  int64_t now = now_ms_();
  if (now < 0) now = 0;
  if (now > kMaxTime) now = kMaxTime;
  std::lock_guard lock(mutex_);
  if (now > last_ms_) {
    const std::string bytes = crypto::random_bytes(last_random_.size());
    for (size_t i = 0; i < last_random_.size(); ++i) {
      last_random_[i] = static_cast<uint8_t>(bytes[i]);
    }
    last_ms_ = now;
  } else if (!increment(last_random_)) {
    // The spec fails here; moving to the next millisecond keeps the ids increasing instead.
    last_ms_ = std::min(last_ms_ + 1, kMaxTime);
  }
  return encode(last_ms_, last_random_);
}

}  // namespace tessera::store
