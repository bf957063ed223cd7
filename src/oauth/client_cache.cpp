#include "oauth/client_cache.h"

namespace tessera::oauth {

ClientCache::ClientCache(store::ClientStore& store, const Clock& clock, int64_t ttl_seconds,
                         size_t max_entries)
    : store_(store), clock_(clock), ttl_(ttl_seconds), max_entries_(max_entries) {}

store::StoreResult<std::shared_ptr<const store::Client>> ClientCache::find(
    std::string_view client_id) {
  const int64_t now = clock_.now();
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(client_id);
    if (it != entries_.end() && it->second.expires_at > now) return it->second.client;
  }
  auto found = store_.find(client_id);
  if (!found) return Err(found.error());
  if (!*found) return std::shared_ptr<const store::Client>();
  auto client = std::make_shared<const store::Client>(std::move(**found));
  std::lock_guard lock(mutex_);
  if (entries_.size() >= max_entries_) entries_.clear();  // crude bound; clients are few
  entries_.insert_or_assign(std::string(client_id), Entry{client, now + ttl_});
  return std::shared_ptr<const store::Client>(client);
}

void ClientCache::invalidate(std::string_view client_id) {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(client_id); it != entries_.end()) entries_.erase(it);
}

}  // namespace tessera::oauth
