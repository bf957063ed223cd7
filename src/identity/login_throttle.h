// Brute-force throttling of logins (issue 3: "throttling per account and per address, with the
// limits documented" -- see docs/identity.md). In memory, per process: each node of a cluster
// throttles on its own, so the effective limit grows with the node count.
//
// Per key (an account or a client address): N failures within a window lock the key; the lockout
// starts short and doubles with each further lockout, up to a cap. Once a key has been locked,
// a single failure within the window locks it again (for twice as long). A successful login
// clears the account's record; it never clears the address's, or one valid account would let an
// address guess at every other. IPv6 addresses count per /64 (throttle_address), since one host
// commonly holds a whole /64 (RFC 6177) and could otherwise change address with every guess.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"

namespace tessera::identity {

struct ThrottleLimits {
  int max_failures;             // failures within `window_seconds` that lock the key
  int64_t window_seconds;       // this long without a failure or a lockout forgets the key
  int64_t lockout_seconds;      // the first lockout
  int64_t max_lockout_seconds;  // lockouts double up to this
};

struct LoginThrottleOptions {
  ThrottleLimits account{5, int64_t{15} * 60, 60, int64_t{15} * 60};
  ThrottleLimits address{50, int64_t{15} * 60, 60, int64_t{15} * 60};
  // Keys tracked per kind (accounts, addresses); beyond it the least recently touched key is
  // forgotten, so memory stays bounded whatever an attacker sends.
  size_t max_tracked_keys = 100'000;
  // Independent locks, so logins for different keys rarely wait on each other. The bound and the
  // eviction order hold per shard.
  size_t shards = 16;
};

// The key an address is throttled under: IPv4 (and anything that is not IPv6) as it is, IPv6 as
// its /64 prefix ("2001:db8::/64").
std::string throttle_address(std::string_view address);

class LoginThrottle {
 public:
  explicit LoginThrottle(const Clock& clock, LoginThrottleOptions options = {});
  ~LoginThrottle();
  LoginThrottle(const LoginThrottle&) = delete;
  LoginThrottle& operator=(const LoginThrottle&) = delete;

  // Before checking a credential: nullopt when the attempt may go ahead, else the seconds until
  // it may (the longer of the account's and the address's lockouts). An empty key is not tracked.
  std::optional<int64_t> retry_after(std::string_view account, std::string_view address);
  void record_failure(std::string_view account, std::string_view address);
  // Clears the account's failures and lockouts; the address's stay.
  void record_success(std::string_view account);

  // Keys currently tracked (accounts + addresses), for tests and metrics.
  size_t tracked_keys() const;

 private:
  class Table;
  const Clock& clock_;
  std::unique_ptr<Table> accounts_;
  std::unique_ptr<Table> addresses_;
};

}  // namespace tessera::identity
