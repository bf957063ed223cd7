#include "store/signing_key_store.h"

#include "store/sql_stores.h"

namespace tessera::store {

std::string_view to_string(KeyStatus status) {
  switch (status) {
    case KeyStatus::kNext:
      return "next";
    case KeyStatus::kActive:
      return "active";
    case KeyStatus::kRetired:
      return "retired";
  }
  return "retired";
}

std::optional<KeyStatus> parse_key_status(std::string_view text) {
  if (text == "next") return KeyStatus::kNext;
  if (text == "active") return KeyStatus::kActive;
  if (text == "retired") return KeyStatus::kRetired;
  return std::nullopt;
}

namespace {

constexpr std::string_view kSelectKeys =
    "SELECT kid, alg, private_jwk_encrypted, public_jwk, status, created_at, activated_at,"
    " retire_after FROM signing_keys";

StoreResult<SigningKey> key_from_row(const Row& row) {
  auto status = parse_key_status(row.text(4));
  if (!status) {
    return store_error(StoreError::Code::kInternal,
                       "signing key " + row.text(0) + " has unknown status in the database");
  }
  return SigningKey{row.text(0),
                    row.text(1),
                    row.blob(2),
                    row.text(3),
                    *status,
                    row.integer(5),
                    row.nullable_integer(6),
                    row.nullable_integer(7)};
}

class SqlSigningKeyStore final : public SigningKeyStore {
 public:
  explicit SqlSigningKeyStore(Database& database) : database_(database) {}

  StoreResult<std::vector<SigningKey>> list() override {
    auto rows = database_.query(std::string(kSelectKeys) + " ORDER BY created_at, kid");
    if (!rows) return Err(rows.error());
    std::vector<SigningKey> keys;
    keys.reserve(rows->size());
    for (const Row& row : *rows) {
      auto key = key_from_row(row);
      if (!key) return Err(key.error());
      keys.push_back(std::move(*key));
    }
    return keys;
  }

  StoreResult<std::optional<SigningKey>> find(std::string_view kid) override {
    auto rows = database_.query(std::string(kSelectKeys) + " WHERE kid = ?", {kid});
    if (!rows) return Err(rows.error());
    if (rows->empty()) return std::optional<SigningKey>();
    auto key = key_from_row(rows->front());
    if (!key) return Err(key.error());
    return std::optional<SigningKey>(std::move(*key));
  }

  StoreResult<Ok> insert(const SigningKey& key) override {
    if (key.kid.empty() || key.alg.empty() || key.public_jwk.empty()) {
      return store_error(StoreError::Code::kInvalidArgument,
                         "signing key needs a kid, an alg and a public JWK");
    }
    auto inserted = database_.execute(
        "INSERT INTO signing_keys (kid, alg, private_jwk_encrypted, public_jwk, status,"
        " created_at, activated_at, retire_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {key.kid, key.alg, Blob{key.private_jwk_encrypted}, key.public_jwk, to_string(key.status),
         key.created_at, key.activated_at, key.retire_after});
    if (!inserted) return Err(inserted.error());
    return Ok{};
  }

  StoreResult<Ok> update_status(std::string_view kid, KeyStatus from, KeyStatus to, int64_t now,
                                std::optional<int64_t> retire_after) override {
    StoreResult<int64_t> updated = int64_t{0};
    if (from == KeyStatus::kNext && to == KeyStatus::kActive) {
      updated = database_.execute(
          "UPDATE signing_keys SET status = 'active', activated_at = ?"
          " WHERE kid = ? AND status = 'next'",
          {now, kid});
    } else if (from != KeyStatus::kRetired && to == KeyStatus::kRetired) {
      updated = database_.execute(
          "UPDATE signing_keys SET status = 'retired', retire_after = ?"
          " WHERE kid = ? AND status = ?",
          {retire_after.value_or(now), kid, to_string(from)});
    } else {
      return store_error(StoreError::Code::kInvalidArgument,
                         "signing key status cannot go from " + std::string(to_string(from)) +
                             " to " + std::string(to_string(to)));
    }
    if (!updated) return Err(updated.error());
    if (*updated == 1) return Ok{};
    return explain_missed_update(kid, from);
  }

  StoreResult<Ok> activate(std::string_view kid, int64_t now,
                           int64_t retire_previous_after) override {
    return database_.in_transaction([&](Connection& connection) -> StoreResult<Ok> {
      auto rows = connection.query("SELECT alg, status FROM signing_keys WHERE kid = ?", {kid});
      if (!rows) return Err(rows.error());
      if (rows->empty()) {
        return store_error(StoreError::Code::kNotFound,
                           "signing key " + std::string(kid) + " does not exist");
      }
      if (rows->front().text(1) != "next") {
        return store_error(StoreError::Code::kConflict, "signing key " + std::string(kid) + " is " +
                                                            rows->front().text(1) + ", not next");
      }
      const std::string alg = rows->front().text(0);
      auto retired = connection.execute(
          "UPDATE signing_keys SET status = 'retired', retire_after = ?"
          " WHERE alg = ? AND status = 'active'",
          {retire_previous_after, alg});
      if (!retired) return Err(retired.error());
      auto activated = connection.execute(
          "UPDATE signing_keys SET status = 'active', activated_at = ?"
          " WHERE kid = ? AND status = 'next'",
          {now, kid});
      if (!activated) return Err(activated.error());
      if (*activated != 1) {
        return store_error(StoreError::Code::kConflict,
                           "signing key " + std::string(kid) + " changed during activation");
      }
      return Ok{};
    });
  }

  StoreResult<int64_t> delete_expired_retired(int64_t now) override {
    return database_.execute(
        "DELETE FROM signing_keys WHERE status = 'retired' AND retire_after IS NOT NULL"
        " AND retire_after <= ?",
        {now});
  }

 private:
  StoreResult<Ok> explain_missed_update(std::string_view kid, KeyStatus expected) {
    auto rows = database_.query("SELECT status FROM signing_keys WHERE kid = ?", {kid});
    if (!rows) return Err(rows.error());
    if (rows->empty()) {
      return store_error(StoreError::Code::kNotFound,
                         "signing key " + std::string(kid) + " does not exist");
    }
    return store_error(StoreError::Code::kConflict, "signing key " + std::string(kid) + " is " +
                                                        rows->front().text(0) + ", not " +
                                                        std::string(to_string(expected)));
  }

  Database& database_;
};

}  // namespace

std::unique_ptr<SigningKeyStore> make_sql_signing_key_store(Database& database) {
  return std::make_unique<SqlSigningKeyStore>(database);
}

}  // namespace tessera::store
