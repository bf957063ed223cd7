// Keeps a running authorization server's signing keys in step with the store, so that
// `tessera key rotate` (or another node) needs no restart. Every `interval` it
//   1. re-reads the keys (a next key introduced elsewhere joins the JWKS);
//   2. activates the next key once it has been published for `min_published` seconds, the
//      JWKS cache max-age, so every verifier has seen it before a token it signed arrives;
//      the previous key retires and stays published `max_token_lifetime` seconds;
//   3. deletes retired keys whose last token has expired.
// Many nodes may run it on one store: the store's compare-and-set decides which node activates,
// and the others find the work done.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "core/clock.h"
#include "core/result.h"
#include "oauth/keys.h"
#include "store/client_store.h"
#include "store/signing_key_store.h"

namespace tessera::oauth {

// The environment variable that overrides KeyRefresherOptions::interval (whole seconds, 1 to
// 86400); tests set it low so they need not wait a minute.
inline constexpr const char* kKeyRefreshEnv = "TESSERA_KEY_REFRESH_SECONDS";

struct KeyRefresherOptions {
  std::chrono::seconds interval{60};
  // The JWKS response's Cache-Control max-age (authorization_server.cpp).
  int64_t min_published = 300;
  int64_t max_token_lifetime = store::kMaxAccessTokenLifetime;
  // Told about every failed round (store down, key that does not decrypt); the thread carries on.
  std::function<void(std::string_view)> on_error;
};

// kKeyRefreshEnv when set: nullopt when unset, an error when it is not a number of seconds in
// [1, 86400].
Result<std::optional<std::chrono::seconds>> key_refresh_interval_from_environment();

class KeyRefresher {
 public:
  // `keys` and `store` must outlive the refresher; `store` is the one `keys` reads.
  KeyRefresher(SigningKeys& keys, store::SigningKeyStore& store, const Clock& clock,
               KeyRefresherOptions options);
  ~KeyRefresher();
  KeyRefresher(const KeyRefresher&) = delete;
  KeyRefresher& operator=(const KeyRefresher&) = delete;

  // Starts the thread; its first round runs one interval from now. Starting twice is a no-op.
  void start();
  // Wakes the thread and joins it; returns once a round in progress has finished. Idempotent.
  void stop();

  // One round, synchronously (what the thread runs; for tests and for an explicit refresh).
  Result<Ok> tick();

 private:
  void run();
  Result<Ok> activate_if_due();

  SigningKeys& keys_;
  store::SigningKeyStore& store_;
  const Clock& clock_;
  KeyRefresherOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tessera::oauth
