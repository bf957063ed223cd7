// Small key/value settings of one instance (e.g. the demo credentials that must survive a
// restart in the same data directory). Values are bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/database.h"

namespace tessera::store {

struct StoredSetting {
  std::string value;  // the value now stored
  bool inserted;      // true when this call stored it
};

class SettingStore {
 public:
  virtual ~SettingStore() = default;

  virtual StoreResult<std::optional<std::string>> get(std::string_view key) = 0;
  // Inserts or overwrites.
  virtual StoreResult<Ok> put(std::string_view key, std::string_view value) = 0;
  // Stores `value` unless the key exists, atomically: of concurrent callers exactly one inserts,
  // and every caller gets back the value that won.
  virtual StoreResult<StoredSetting> put_if_absent(std::string_view key,
                                                   std::string_view value) = 0;
};

}  // namespace tessera::store
