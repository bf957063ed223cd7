#include "oauth/key_refresher.h"

#include <charconv>
#include <cstdlib>
#include <string>

#include "core/audit.h"

namespace tessera::oauth {

Result<std::optional<std::chrono::seconds>> key_refresh_interval_from_environment() {
  const char* text = std::getenv(kKeyRefreshEnv);
  if (text == nullptr || *text == '\0') return std::optional<std::chrono::seconds>();
  const std::string_view value(text);
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds < 1 || seconds > 86400) {
    return Err(std::string(kKeyRefreshEnv) + " must be a number of seconds from 1 to 86400");
  }
  return std::optional<std::chrono::seconds>(std::chrono::seconds(seconds));
}

KeyRefresher::KeyRefresher(SigningKeys& keys, store::SigningKeyStore& store, const Clock& clock,
                           KeyRefresherOptions options)
    : keys_(keys), store_(store), clock_(clock), options_(std::move(options)) {}

KeyRefresher::~KeyRefresher() { stop(); }

void KeyRefresher::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void KeyRefresher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void KeyRefresher::run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
    lock.unlock();
    auto done = tick();
    if (!done && options_.on_error) options_.on_error(done.error());
    lock.lock();
  }
}

Result<Ok> KeyRefresher::tick() {
  if (auto reloaded = keys_.reload(); !reloaded) return reloaded;
  if (auto activated = activate_if_due(); !activated) return activated;
  auto deleted = keys_.delete_expired();
  if (!deleted) return Err(deleted.error());
  return Ok{};
}

Result<Ok> KeyRefresher::activate_if_due() {
  auto rows = store_.list();
  if (!rows) return Err("cannot list signing keys: " + rows.error().message);
  const std::string alg(jose::to_string(keys_.alg()));
  std::optional<store::SigningKey> next;
  for (store::SigningKey& row : *rows) {
    if (row.status == store::KeyStatus::kNext && row.alg == alg) next = std::move(row);
  }
  // Not yet: a verifier that fetched the JWKS just before the key appeared may cache that set
  // for max-age seconds (RFC 9111 §5.2.2.1), and would reject tokens the new key signs.
  if (!next || clock_.now() - next->created_at < options_.min_published) return Ok{};
  auto activated = keys_.activate_next(options_.max_token_lifetime, options_.min_published);
  if (activated) {
    audit::emit("signing_key.activated", {{"kid", next->kid}, {"alg", alg}, {"by", "refresher"}});
    return Ok{};
  }
  // Another node may have activated it between our read and our write (the store's
  // compare-and-set refused ours): the work is done, take the store's word for it.
  auto now_row = store_.find(next->kid);
  if (now_row && *now_row && (**now_row).status != store::KeyStatus::kNext) {
    return keys_.reload();
  }
  return activated;
}

}  // namespace tessera::oauth
