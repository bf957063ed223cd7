// Time as an injectable dependency so expiry rules are testable.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace tessera {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch (JWT NumericDate, RFC 7519 §2).
  virtual int64_t now() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static const SystemClock& instance() {
    static const SystemClock c;
    return c;
  }
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(int64_t t) : t_(t) {}
  int64_t now() const override { return t_.load(); }
  void set(int64_t t) { t_ = t; }
  void advance(int64_t s) { t_ += s; }

 private:
  std::atomic<int64_t> t_;
};

}  // namespace tessera
