#include "store/replay_cache.h"

#include <algorithm>

#include "core/crypto.h"
#include "store/sql_stores.h"

namespace tessera::store {
namespace {

constexpr size_t kMaxNamespaceLength = 64;

class SqlReplayCache final : public ReplayCache {
 public:
  SqlReplayCache(Database& database, const Clock& clock) : database_(database), clock_(clock) {}

  StoreResult<bool> remember_once(std::string_view ns, std::string_view id,
                                  int64_t expires_at) override {
    if (auto bad = check_replay_key(ns, id)) return Err(*bad);
    const int64_t now = clock_.now();
    // An entry must outlive the race it arbitrates: an expiry already past would let a second
    // caller replace it and also get true.
    const int64_t effective_expiry = std::max(expires_at, now + 1);
    // One statement decides: the insert wins, or the conflicting row is replaced only if it has
    // expired. Both engines serialize writers on the key, so exactly one caller writes a row.
    auto written = database_.execute(
        "INSERT INTO replay_cache (namespace, id_sha256, expires_at) VALUES (?, ?, ?)"
        " ON CONFLICT (namespace, id_sha256) DO UPDATE SET expires_at = excluded.expires_at"
        " WHERE replay_cache.expires_at <= ?",
        {ns, Blob{crypto::sha256(id)}, effective_expiry, now});
    if (!written) return Err(written.error());
    return *written == 1;
  }

  StoreResult<int64_t> purge_expired() override {
    return database_.execute("DELETE FROM replay_cache WHERE expires_at <= ?", {clock_.now()});
  }

 private:
  Database& database_;
  const Clock& clock_;
};

}  // namespace

std::optional<StoreError> check_replay_key(std::string_view ns, std::string_view id) {
  if (ns.empty() || ns.size() > kMaxNamespaceLength) {
    return StoreError{StoreError::Code::kInvalidArgument,
                      "replay cache namespace must be 1 to 64 characters"};
  }
  if (id.empty()) return StoreError{StoreError::Code::kInvalidArgument, "replay cache id is empty"};
  return std::nullopt;
}

std::unique_ptr<ReplayCache> make_sql_replay_cache(Database& database, const Clock& clock) {
  return std::make_unique<SqlReplayCache>(database, clock);
}

}  // namespace tessera::store
