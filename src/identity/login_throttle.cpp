#include "identity/login_throttle.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>

namespace tessera::identity {

std::string throttle_address(std::string_view address) {
  std::string text(address);
  in6_addr v6{};
  if (address.find(':') == std::string_view::npos || inet_pton(AF_INET6, text.c_str(), &v6) != 1) {
    return text;
  }
  std::memset(v6.s6_addr + 8, 0, 8);
  std::array<char, INET6_ADDRSTRLEN> out{};
  if (inet_ntop(AF_INET6, &v6, out.data(), out.size()) == nullptr) return text;
  return std::string(out.data()) + "/64";
}

class LoginThrottle::Table {
 public:
  Table(ThrottleLimits limits, size_t max_keys, size_t shard_count)
      : limits_(limits), shards_(std::max<size_t>(shard_count, 1)) {
    per_shard_cap_ = std::max<size_t>(max_keys / shards_.size(), 1);
  }

  std::optional<int64_t> retry_after(std::string_view key, int64_t now) {
    if (key.empty()) return std::nullopt;
    Shard& shard = shard_of(key);
    std::lock_guard lock(shard.mutex);
    auto found = shard.index.find(std::string(key));
    if (found == shard.index.end()) return std::nullopt;
    const Entry& entry = *found->second;
    if (now < entry.locked_until) return entry.locked_until - now;
    return std::nullopt;
  }

  void record_failure(std::string_view key, int64_t now) {
    if (key.empty()) return;
    Shard& shard = shard_of(key);
    std::lock_guard lock(shard.mutex);
    Entry& entry = touch(shard, key);
    if (now < entry.locked_until) return;  // already locked; the attempt was refused
    if (now - std::max(entry.last_failure, entry.locked_until) >= limits_.window_seconds) {
      // A quiet window (no failure, no lockout running) forgets everything, including the
      // lockout history.
      entry.failures = 0;
      entry.lockouts = 0;
    }
    entry.last_failure = now;
    ++entry.failures;
    // After a first lockout, each further failure within the window locks again.
    const int threshold = entry.lockouts == 0 ? limits_.max_failures : 1;
    if (entry.failures >= threshold) {
      int64_t lockout = limits_.lockout_seconds;
      for (int i = 0; i < entry.lockouts && lockout < limits_.max_lockout_seconds; ++i) {
        lockout *= 2;
      }
      lockout = std::min(lockout, limits_.max_lockout_seconds);
      entry.locked_until = now + lockout;
      ++entry.lockouts;
      entry.failures = 0;
    }
  }

  void forget(std::string_view key) {
    if (key.empty()) return;
    Shard& shard = shard_of(key);
    std::lock_guard lock(shard.mutex);
    auto found = shard.index.find(std::string(key));
    if (found == shard.index.end()) return;
    shard.recency.erase(found->second);
    shard.index.erase(found);
  }

  size_t size() const {
    size_t total = 0;
    for (const Shard& shard : shards_) {
      std::lock_guard lock(shard.mutex);
      total += shard.index.size();
    }
    return total;
  }

 private:
  struct Entry {
    std::string key;
    int failures = 0;
    int lockouts = 0;
    int64_t last_failure = INT64_MIN / 2;
    int64_t locked_until = 0;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::list<Entry> recency;  // most recently touched first
    std::unordered_map<std::string, std::list<Entry>::iterator> index;
  };

  Shard& shard_of(std::string_view key) {
    return shards_[std::hash<std::string_view>{}(key) % shards_.size()];
  }

  // The key's entry, moved to the front; created (evicting the least recently touched entry
  // when the shard is full) when absent.
  Entry& touch(Shard& shard, std::string_view key) {
    auto found = shard.index.find(std::string(key));
    if (found != shard.index.end()) {
      shard.recency.splice(shard.recency.begin(), shard.recency, found->second);
      return shard.recency.front();
    }
    if (shard.index.size() >= per_shard_cap_) {
      shard.index.erase(shard.recency.back().key);
      shard.recency.pop_back();
    }
    shard.recency.push_front(Entry{std::string(key)});
    shard.index.emplace(std::string(key), shard.recency.begin());
    return shard.recency.front();
  }

  ThrottleLimits limits_;
  size_t per_shard_cap_ = 1;
  std::vector<Shard> shards_;
};

LoginThrottle::LoginThrottle(const Clock& clock, LoginThrottleOptions options)
    : clock_(clock),
      accounts_(std::make_unique<Table>(options.account, options.max_tracked_keys, options.shards)),
      addresses_(
          std::make_unique<Table>(options.address, options.max_tracked_keys, options.shards)) {}

LoginThrottle::~LoginThrottle() = default;

std::optional<int64_t> LoginThrottle::retry_after(std::string_view account,
                                                  std::string_view address) {
  const int64_t now = clock_.now();
  const auto by_account = accounts_->retry_after(account, now);
  const auto by_address = addresses_->retry_after(throttle_address(address), now);
  if (!by_account) return by_address;
  if (!by_address) return by_account;
  return std::max(*by_account, *by_address);
}

void LoginThrottle::record_failure(std::string_view account, std::string_view address) {
  const int64_t now = clock_.now();
  accounts_->record_failure(account, now);
  addresses_->record_failure(throttle_address(address), now);
}

void LoginThrottle::record_success(std::string_view account) { accounts_->forget(account); }

size_t LoginThrottle::tracked_keys() const { return accounts_->size() + addresses_->size(); }

}  // namespace tessera::identity
