#include "store/user_store.h"

#include "core/crypto.h"
#include "core/json.h"
#include "store/sql_stores.h"

namespace tessera::store {

std::optional<std::string> canonical_username(std::string_view username) {
  if (username.empty() || username.size() > 128) return std::nullopt;
  std::string canonical;
  canonical.reserve(username.size());
  for (char c : username) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' || c == '+' ||
                         c == '-';
    if (!allowed) return std::nullopt;
    canonical.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return canonical;
}

namespace {

constexpr std::string_view kColumns =
    "id, username, password_hash, disabled, totp_secret_encrypted, totp_last_step, profile,"
    " created_at, updated_at";

User to_user(const Row& row) {
  User user;
  user.id = row.text(0);
  user.username = row.text(1);
  user.password_hash = row.text(2);
  user.disabled = row.integer(3) != 0;
  if (!row.is_null(4)) user.totp_secret_encrypted = row.blob(4);
  user.totp_last_step = row.nullable_integer(5);
  user.profile_json = row.text(6);
  user.created_at = row.integer(7);
  user.updated_at = row.integer(8);
  return user;
}

StoreResult<Ok> check_profile(std::string_view profile_json) {
  auto parsed = json::parse_strict(profile_json, json::Limits{size_t{64} * 1024, 8});
  if (!parsed || !parsed->is_object()) {
    return store_error(StoreError::Code::kInvalidArgument,
                       "user profile must be a JSON object of at most 64 KiB");
  }
  return Ok{};
}

class SqlUserStore final : public UserStore {
 public:
  SqlUserStore(Database& database, const Clock& clock) : database_(database), clock_(clock) {}

  StoreResult<User> create(const NewUser& fresh) override {
    auto canonical = canonical_username(fresh.username);
    if (!canonical) {
      return store_error(StoreError::Code::kInvalidArgument,
                         "username must be 1 to 128 characters from A-Z a-z 0-9 . _ @ + -");
    }
    if (fresh.password_hash.empty()) {
      return store_error(StoreError::Code::kInvalidArgument, "password hash must not be empty");
    }
    if (auto valid = check_profile(fresh.profile_json); !valid) return Err(valid.error());
    User user;
    user.id = crypto::random_token(16);
    user.username = fresh.username;
    user.password_hash = fresh.password_hash;
    user.profile_json = fresh.profile_json;
    user.created_at = user.updated_at = clock_.now();
    // ON CONFLICT DO NOTHING rather than catching a unique violation: both dialects report it
    // as zero rows written, and a PostgreSQL transaction is not left aborted.
    auto inserted = database_.execute(
        "INSERT INTO users (id, username, username_canonical, password_hash, disabled, profile,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?)"
        " ON CONFLICT (username_canonical) DO NOTHING",
        {user.id, user.username, *canonical, user.password_hash, user.profile_json, user.created_at,
         user.updated_at});
    if (!inserted) return Err(inserted.error());
    if (*inserted == 0) {
      return store_error(StoreError::Code::kConflict,
                         "username " + fresh.username + " is already taken");
    }
    return user;
  }

  StoreResult<std::optional<User>> find_by_username(std::string_view username) override {
    auto canonical = canonical_username(username);
    if (!canonical) return std::optional<User>();
    return find_one("username_canonical", *canonical);
  }

  StoreResult<std::optional<User>> find_by_id(std::string_view id) override {
    return find_one("id", id);
  }

  StoreResult<std::vector<User>> list() override {
    auto rows = database_.query("SELECT " + std::string(kColumns) +
                                " FROM users ORDER BY username_canonical");
    if (!rows) return Err(rows.error());
    std::vector<User> users;
    users.reserve(rows->size());
    for (const Row& row : *rows) users.push_back(to_user(row));
    return users;
  }

  StoreResult<Ok> set_password_hash(std::string_view id, std::string_view hash) override {
    if (hash.empty()) {
      return store_error(StoreError::Code::kInvalidArgument, "password hash must not be empty");
    }
    return update_one(id, "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
                      {hash, clock_.now(), id});
  }

  StoreResult<Ok> set_disabled(std::string_view id, bool disabled) override {
    return update_one(id, "UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?",
                      {int64_t{disabled ? 1 : 0}, clock_.now(), id});
  }

  StoreResult<Ok> set_totp(std::string_view id,
                           std::optional<std::string> secret_encrypted) override {
    Value secret = secret_encrypted ? Value(Blob{std::move(*secret_encrypted)}) : Value(nullptr);
    return update_one(id,
                      "UPDATE users SET totp_secret_encrypted = ?, totp_last_step = NULL,"
                      " updated_at = ? WHERE id = ?",
                      {std::move(secret), clock_.now(), id});
  }

  StoreResult<bool> record_totp_step(std::string_view id, int64_t step) override {
    // One UPDATE whose WHERE re-checks the last step: SQLite serializes writers, and PostgreSQL
    // re-evaluates the condition on the row a concurrent writer committed (READ COMMITTED).
    auto written = database_.execute(
        "UPDATE users SET totp_last_step = ? WHERE id = ?"
        " AND (totp_last_step IS NULL OR totp_last_step < ?)",
        {step, id, step});
    if (!written) return Err(written.error());
    if (*written == 1) return true;
    auto user = find_by_id(id);
    if (!user) return Err(user.error());
    if (!*user) return store_error(StoreError::Code::kNotFound, "no such user");
    return false;
  }

  StoreResult<Ok> update_profile(std::string_view id, std::string_view profile_json) override {
    if (auto valid = check_profile(profile_json); !valid) return valid;
    return update_one(id, "UPDATE users SET profile = ?, updated_at = ? WHERE id = ?",
                      {profile_json, clock_.now(), id});
  }

 private:
  StoreResult<std::optional<User>> find_one(std::string_view column, std::string_view key) {
    auto rows = database_.query(
        "SELECT " + std::string(kColumns) + " FROM users WHERE " + std::string(column) + " = ?",
        {key});
    if (!rows) return Err(rows.error());
    if (rows->empty()) return std::optional<User>();
    return std::optional<User>(to_user(rows->front()));
  }

  StoreResult<Ok> update_one(std::string_view id, std::string_view sql,
                             std::initializer_list<Value> params) {
    auto written = database_.execute(sql, params);
    if (!written) return Err(written.error());
    if (*written == 0) {
      return store_error(StoreError::Code::kNotFound, "no user with id " + std::string(id));
    }
    return Ok{};
  }

  Database& database_;
  const Clock& clock_;
};

}  // namespace

std::unique_ptr<UserStore> make_sql_user_store(Database& database, const Clock& clock) {
  return std::make_unique<SqlUserStore>(database, clock);
}

}  // namespace tessera::store
