#include "store/setting_store.h"

#include "store/sql_stores.h"

namespace tessera::store {
namespace {

class SqlSettingStore final : public SettingStore {
 public:
  SqlSettingStore(Database& database, const Clock& clock) : database_(database), clock_(clock) {}

  StoreResult<std::optional<std::string>> get(std::string_view key) override {
    if (auto valid = check_key(key); !valid) return Err(valid.error());
    auto rows = database_.query("SELECT value FROM settings WHERE key = ?", {key});
    if (!rows) return Err(rows.error());
    if (rows->empty()) return std::optional<std::string>();
    return std::optional<std::string>(rows->front().blob(0));
  }

  StoreResult<Ok> put(std::string_view key, std::string_view value) override {
    if (auto valid = check_key(key); !valid) return valid;
    auto written = database_.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
        " updated_at = excluded.updated_at",
        {key, Blob{std::string(value)}, clock_.now()});
    if (!written) return Err(written.error());
    return Ok{};
  }

  StoreResult<StoredSetting> put_if_absent(std::string_view key, std::string_view value) override {
    if (auto valid = check_key(key); !valid) return Err(valid.error());
    auto inserted = database_.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (key) DO NOTHING",
        {key, Blob{std::string(value)}, clock_.now()});
    if (!inserted) return Err(inserted.error());
    if (*inserted == 1) return StoredSetting{std::string(value), true};
    // Lost the race (or the key was already there): report the winner's value. Settings are
    // never deleted, so the row is still there.
    auto stored = get(key);
    if (!stored) return Err(stored.error());
    if (!*stored) {
      return store_error(StoreError::Code::kConflict,
                         "setting " + std::string(key) + " vanished while being stored");
    }
    return StoredSetting{std::move(**stored), false};
  }

 private:
  static StoreResult<Ok> check_key(std::string_view key) {
    if (key.empty() || key.size() > 200) {
      return store_error(StoreError::Code::kInvalidArgument,
                         "setting key must be 1 to 200 characters");
    }
    return Ok{};
  }

  Database& database_;
  const Clock& clock_;
};

}  // namespace

std::unique_ptr<SettingStore> make_sql_setting_store(Database& database, const Clock& clock) {
  return std::make_unique<SqlSettingStore>(database, clock);
}

}  // namespace tessera::store
