// Registered clients held in memory for a short time, so a token request costs no store read.
// Entries expire after `ttl` seconds (a client changed by `tessera client update` on another
// node is seen within that time) and invalidate() drops one at once on this node.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "store/client_store.h"

namespace tessera::oauth {

class ClientCache {
 public:
  ClientCache(store::ClientStore& store, const Clock& clock, int64_t ttl_seconds = 30,
              size_t max_entries = 10'000);

  // The client, or null when no client has this id (unknown ids are not cached: the cache
  // would otherwise fill with whatever a caller makes up).
  store::StoreResult<std::shared_ptr<const store::Client>> find(std::string_view client_id);
  void invalidate(std::string_view client_id);

 private:
  struct Entry {
    std::shared_ptr<const store::Client> client;
    int64_t expires_at;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  store::ClientStore& store_;
  const Clock& clock_;
  int64_t ttl_;
  size_t max_entries_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> entries_;
};

}  // namespace tessera::oauth
