#include "resource/jwks_cache.h"

#include <optional>
#include <utility>

namespace tessera::resource {

Result<jose::Jwks, std::string> fetch_jwks(http::HttpClient& client, const std::string& uri) {
  auto response = client.get(uri);
  if (!response) {
    return Err(std::string("the JWKS could not be fetched: ") +
               http::to_string(response.error().code));
  }
  if (response->status != 200) {
    return Err("the JWKS endpoint answered HTTP " + std::to_string(response->status));
  }
  auto set = jose::Jwks::parse(response->body);
  if (!set) return Err(std::string("the JWKS is not valid: ") + jose::to_string(set.error()));
  return std::move(*set);
}

JwksCache::JwksCache(Fetch fetch, int64_t refresh_seconds, int64_t min_refetch_seconds,
                     std::function<int64_t()> now)
    : fetch_(std::move(fetch)),
      refresh_seconds_(refresh_seconds),
      min_refetch_seconds_(min_refetch_seconds),
      now_(std::move(now)) {}

Result<JwksCache::KeySet, std::string> JwksCache::fetch_locked(int64_t now) {
  {
    std::lock_guard state(state_mutex_);
    last_attempt_ = now;
    attempted_ = true;
  }
  fetches_.fetch_add(1, std::memory_order_relaxed);
  auto fetched = fetch_();
  std::lock_guard state(state_mutex_);
  if (!fetched) {
    last_error_ = fetched.error();
    if (keys_) return keys_;  // a failed refresh keeps the keys we have
    return Err(last_error_);
  }
  keys_ = std::make_shared<const jose::Jwks>(std::move(*fetched));
  fetched_at_ = now;
  last_error_.clear();
  return keys_;
}

JwksCache::KeySet JwksCache::current_without_fetch() {
  const int64_t now = now_();
  std::lock_guard state(state_mutex_);
  if (keys_ &&
      (now - fetched_at_ < refresh_seconds_ || now - last_attempt_ < min_refetch_seconds_)) {
    return keys_;
  }
  return nullptr;
}

Result<JwksCache::KeySet, std::string> JwksCache::keys() {
  const int64_t now = now_();
  {
    std::lock_guard state(state_mutex_);
    if (keys_ && now - fetched_at_ < refresh_seconds_) return keys_;
    if (keys_ && now - last_attempt_ < min_refetch_seconds_) return keys_;  // refresh failed lately
  }
  if (std::unique_lock fetching(fetch_mutex_, std::try_to_lock); fetching.owns_lock()) {
    {
      std::lock_guard state(state_mutex_);
      // Another request fetched (or tried) while we waited for the lock.
      if (keys_ && now - fetched_at_ < refresh_seconds_) return keys_;
      if (attempted_ && now - last_attempt_ < min_refetch_seconds_) {
        if (keys_) return keys_;
        return Err(last_error_);
      }
    }
    return fetch_locked(now);
  }
  // Someone else is fetching: a stale set serves meanwhile; with none, wait for theirs.
  {
    std::lock_guard state(state_mutex_);
    if (keys_) return keys_;
  }
  std::lock_guard fetching(fetch_mutex_);
  std::lock_guard state(state_mutex_);
  if (keys_) return keys_;
  return Err(last_error_.empty() ? std::string("the JWKS is not available") : last_error_);
}

JwksCache::KeySet JwksCache::held() {
  std::lock_guard state(state_mutex_);
  return keys_;
}

Result<JwksCache::KeySet, std::string> JwksCache::refresh_for_unknown_kid(const KeySet& seen) {
  const int64_t now = now_();
  // Answered without waiting when there is nothing to fetch: a fetch under way has set
  // last_attempt_, so a flood of unknown kids does not queue up behind a slow issuer.
  auto settled = [&]() -> std::optional<Result<KeySet, std::string>> {
    std::lock_guard state(state_mutex_);
    if (keys_ && keys_ != seen) return Result<KeySet, std::string>(keys_);  // fetched since
    if (attempted_ && now - last_attempt_ < min_refetch_seconds_) {
      if (keys_) return Result<KeySet, std::string>(keys_);
      return Result<KeySet, std::string>(Err(last_error_));
    }
    return std::nullopt;
  };
  if (auto answer = settled()) return std::move(*answer);
  std::lock_guard fetching(fetch_mutex_);
  if (auto answer = settled()) return std::move(*answer);
  return fetch_locked(now);
}

}  // namespace tessera::resource
