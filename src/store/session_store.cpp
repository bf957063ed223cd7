#include "store/session_store.h"

#include <algorithm>

#include "store/sql_lists.h"
#include "store/sql_stores.h"

namespace tessera::store {
namespace {

constexpr size_t kSha256Bytes = 32;

constexpr std::string_view kSessionColumns =
    "SELECT id_sha256, sid, user_id, auth_time, acr, amr, created_at, expires_at"
    " FROM auth_sessions";

StoreResult<Session> session_from_row(const Row& row) {
  Session s;
  s.id_sha256 = row.blob(0);
  s.sid = row.text(1);
  s.user_id = row.text(2);
  s.auth_time = row.integer(3);
  s.acr = row.text(4);
  auto amr = list_from_text(row.text(5));
  if (!amr) {
    return store_error(StoreError::Code::kInternal, "session " + s.sid + " has an unreadable amr");
  }
  s.amr = std::move(*amr);
  s.created_at = row.integer(6);
  s.expires_at = row.integer(7);
  return s;
}

StoreResult<std::optional<Session>> first_session(StoreResult<std::vector<Row>> rows) {
  if (!rows) return Err(rows.error());
  if (rows->empty()) return std::optional<Session>();
  auto session = session_from_row(rows->front());
  if (!session) return Err(session.error());
  return std::optional<Session>(std::move(*session));
}

class SqlSessionStore final : public SessionStore {
 public:
  SqlSessionStore(Database& database, const Clock& clock) : database_(database), clock_(clock) {}

  StoreResult<Ok> create(const Session& s) override {
    auto invalid = [](const char* why) {
      return store_error(StoreError::Code::kInvalidArgument, std::string("session: ") + why);
    };
    if (s.id_sha256.size() != kSha256Bytes) return invalid("id_sha256 must be 32 bytes");
    if (s.sid.empty()) return invalid("sid must not be empty");
    if (s.user_id.empty()) return invalid("user_id must not be empty");
    if (s.expires_at <= s.created_at) return invalid("expires_at must be after created_at");
    // ON CONFLICT DO NOTHING covers both unique keys (id_sha256, sid) on both dialects and
    // reports a duplicate as zero rows written.
    auto inserted = database_.execute(
        "INSERT INTO auth_sessions (id_sha256, sid, user_id, auth_time, acr, amr, created_at,"
        " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        {Blob{s.id_sha256}, s.sid, s.user_id, s.auth_time, s.acr, list_to_text(s.amr), s.created_at,
         s.expires_at});
    if (!inserted) return Err(inserted.error());
    if (*inserted == 0) {
      return store_error(StoreError::Code::kConflict, "session id or sid " + s.sid + " exists");
    }
    return Ok{};
  }

  StoreResult<std::optional<Session>> find(std::string_view id_sha256) override {
    if (id_sha256.size() != kSha256Bytes) return std::optional<Session>();
    return first_session(
        database_.query(std::string(kSessionColumns) + " WHERE id_sha256 = ? AND expires_at > ?",
                        {Blob{std::string(id_sha256)}, clock_.now()}));
  }

  StoreResult<std::optional<Session>> find_by_sid(std::string_view sid) override {
    return first_session(database_.query(
        std::string(kSessionColumns) + " WHERE sid = ? AND expires_at > ?", {sid, clock_.now()}));
  }

  StoreResult<Ok> update_authentication(std::string_view id_sha256, int64_t auth_time,
                                        std::string_view acr,
                                        const std::vector<std::string>& amr) override {
    if (id_sha256.size() != kSha256Bytes) {
      return store_error(StoreError::Code::kInvalidArgument, "session: id_sha256 must be 32 bytes");
    }
    auto updated = database_.execute(
        "UPDATE auth_sessions SET auth_time = ?, acr = ?, amr = ?"
        " WHERE id_sha256 = ? AND expires_at > ?",
        {auth_time, acr, list_to_text(amr), Blob{std::string(id_sha256)}, clock_.now()});
    if (!updated) return Err(updated.error());
    if (*updated == 0) return store_error(StoreError::Code::kNotFound, "no such live session");
    return Ok{};
  }

  StoreResult<bool> remove_by_sid(std::string_view sid) override {
    auto deleted = database_.execute("DELETE FROM auth_sessions WHERE sid = ?", {sid});
    if (!deleted) return Err(deleted.error());
    return *deleted > 0;
  }

  StoreResult<std::vector<Session>> list_for_user(std::string_view user_id) override {
    auto rows = database_.query(std::string(kSessionColumns) +
                                    " WHERE user_id = ? AND expires_at > ?"
                                    " ORDER BY created_at DESC, sid",
                                {user_id, clock_.now()});
    if (!rows) return Err(rows.error());
    std::vector<Session> out;
    out.reserve(rows->size());
    for (const Row& row : *rows) {
      auto session = session_from_row(row);
      if (!session) return Err(session.error());
      out.push_back(std::move(*session));
    }
    return out;
  }

  StoreResult<int64_t> remove_for_user(std::string_view user_id) override {
    // Counts the live sessions it ends; expired rows of the user go too (purge would take them).
    return database_.in_transaction([&](Connection& c) -> StoreResult<int64_t> {
      const int64_t now = clock_.now();
      auto live = c.execute("DELETE FROM auth_sessions WHERE user_id = ? AND expires_at > ?",
                            {user_id, now});
      if (!live) return live;
      auto expired = c.execute("DELETE FROM auth_sessions WHERE user_id = ? AND expires_at <= ?",
                               {user_id, now});
      if (!expired) return Err(expired.error());
      return *live;
    });
  }

  StoreResult<int64_t> purge_expired() override {
    return database_.execute("DELETE FROM auth_sessions WHERE expires_at <= ?", {clock_.now()});
  }

 private:
  Database& database_;
  const Clock& clock_;
};

constexpr std::string_view kConsentColumns =
    "SELECT user_id, client_id, scopes, granted_at FROM consents";

StoreResult<Consent> consent_from_row(const Row& row) {
  Consent consent;
  consent.user_id = row.text(0);
  consent.client_id = row.text(1);
  auto scopes = list_from_text(row.text(2));
  if (!scopes) {
    return store_error(
        StoreError::Code::kInternal,
        "consent of " + consent.user_id + " to " + consent.client_id + " has unreadable scopes");
  }
  consent.scopes = std::move(*scopes);
  consent.granted_at = row.integer(3);
  return consent;
}

class SqlConsentStore final : public ConsentStore {
 public:
  SqlConsentStore(Database& database, const Clock& clock) : database_(database), clock_(clock) {}

  StoreResult<Consent> grant(std::string_view user_id, std::string_view client_id,
                             const std::vector<std::string>& scopes) override {
    if (user_id.empty() || client_id.empty()) {
      return store_error(StoreError::Code::kInvalidArgument,
                         "consent: user_id and client_id must not be empty");
    }
    if (std::any_of(scopes.begin(), scopes.end(), [](const auto& s) { return s.empty(); })) {
      return store_error(StoreError::Code::kInvalidArgument, "consent: empty scope");
    }
    return database_.in_transaction([&](Connection& c) -> StoreResult<Consent> {
      const int64_t now = clock_.now();
      // Make sure the row exists, then lock it: two concurrent grants for the same pair each
      // merge into what the other committed instead of overwriting it (PostgreSQL READ
      // COMMITTED; SQLite serializes the transactions anyway).
      auto ensured = c.execute(
          "INSERT INTO consents (user_id, client_id, scopes, granted_at) VALUES (?, ?, '[]', ?)"
          " ON CONFLICT (user_id, client_id) DO NOTHING",
          {user_id, client_id, now});
      if (!ensured) return Err(ensured.error());
      auto rows = c.query(std::string(kConsentColumns) + " WHERE user_id = ? AND client_id = ?" +
                              std::string(for_update(c.dialect())),
                          {user_id, client_id});
      if (!rows) return Err(rows.error());
      if (rows->empty()) return store_error(StoreError::Code::kInternal, "consent row vanished");
      auto consent = consent_from_row(rows->front());
      if (!consent) return consent;
      for (const std::string& scope : scopes) {
        if (std::find(consent->scopes.begin(), consent->scopes.end(), scope) ==
            consent->scopes.end()) {
          consent->scopes.push_back(scope);
        }
      }
      consent->granted_at = now;
      auto updated = c.execute(
          "UPDATE consents SET scopes = ?, granted_at = ? WHERE user_id = ? AND client_id = ?",
          {list_to_text(consent->scopes), now, user_id, client_id});
      if (!updated) return Err(updated.error());
      return consent;
    });
  }

  StoreResult<std::optional<Consent>> find(std::string_view user_id,
                                           std::string_view client_id) override {
    auto rows =
        database_.query(std::string(kConsentColumns) + " WHERE user_id = ? AND client_id = ?",
                        {user_id, client_id});
    if (!rows) return Err(rows.error());
    if (rows->empty()) return std::optional<Consent>();
    auto consent = consent_from_row(rows->front());
    if (!consent) return Err(consent.error());
    return std::optional<Consent>(std::move(*consent));
  }

  StoreResult<std::vector<Consent>> list_for_user(std::string_view user_id) override {
    auto rows = database_.query(
        std::string(kConsentColumns) + " WHERE user_id = ? ORDER BY client_id", {user_id});
    if (!rows) return Err(rows.error());
    std::vector<Consent> out;
    out.reserve(rows->size());
    for (const Row& row : *rows) {
      auto consent = consent_from_row(row);
      if (!consent) return Err(consent.error());
      out.push_back(std::move(*consent));
    }
    return out;
  }

  StoreResult<bool> revoke(std::string_view user_id, std::string_view client_id) override {
    auto deleted = database_.execute("DELETE FROM consents WHERE user_id = ? AND client_id = ?",
                                     {user_id, client_id});
    if (!deleted) return Err(deleted.error());
    return *deleted > 0;
  }

 private:
  Database& database_;
  const Clock& clock_;
};

}  // namespace

std::unique_ptr<SessionStore> make_sql_session_store(Database& database, const Clock& clock) {
  return std::make_unique<SqlSessionStore>(database, clock);
}

std::unique_ptr<ConsentStore> make_sql_consent_store(Database& database, const Clock& clock) {
  return std::make_unique<SqlConsentStore>(database, clock);
}

}  // namespace tessera::store
