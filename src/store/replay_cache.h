// One-time-use identifiers: JWT `jti`, DPoP proof `jti` (RFC 9449 §11.1), client assertion `jti`
// (RFC 7523 §3). Shared by every node that uses the same store.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "store/database.h"

namespace tessera::store {

class ReplayCache {
 public:
  virtual ~ReplayCache() = default;

  // True exactly once per (ns, id) while the entry lives: of many concurrent callers, in this or
  // other processes, one gets true and the rest false. The entry lives until `expires_at` (Unix
  // seconds, at least one second from now); after that the id may be remembered afresh. Ids are
  // stored as SHA-256, so their length is not the store's concern.
  virtual StoreResult<bool> remember_once(std::string_view ns, std::string_view id,
                                          int64_t expires_at) = 0;
  // Deletes expired entries; returns how many.
  virtual StoreResult<int64_t> purge_expired() = 0;
};

// The argument rules every ReplayCache shares: `ns` of 1 to 64 characters, `id` not empty.
// nullopt when both hold, else a kInvalidArgument error saying which does not.
std::optional<StoreError> check_replay_key(std::string_view ns, std::string_view id);

}  // namespace tessera::store
