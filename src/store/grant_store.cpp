#include "store/grant_store.h"

#include <set>

#include "core/json.h"
#include "store/sql_lists.h"
#include "store/sql_stores.h"

namespace tessera::store {

std::string_view to_string(TokenKind kind) {
  return kind == TokenKind::kRefresh ? "refresh" : "access";
}

std::string_view to_string(DeviceStatus status) {
  switch (status) {
    case DeviceStatus::kPending:
      return "pending";
    case DeviceStatus::kApproved:
      return "approved";
    case DeviceStatus::kDenied:
      return "denied";
    case DeviceStatus::kRedeemed:
      return "redeemed";
  }
  return "pending";
}

std::optional<DeviceStatus> parse_device_status(std::string_view text) {
  for (DeviceStatus s : {DeviceStatus::kPending, DeviceStatus::kApproved, DeviceStatus::kDenied,
                         DeviceStatus::kRedeemed}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

namespace {

constexpr size_t kSha256Bytes = 32;

std::optional<TokenKind> parse_token_kind(std::string_view text) {
  if (text == "access") return TokenKind::kAccess;
  if (text == "refresh") return TokenKind::kRefresh;
  return std::nullopt;
}

Unexpected<StoreError> invalid(const std::string& why) {
  return store_error(StoreError::Code::kInvalidArgument, why);
}

bool is_json_object(std::string_view text) {
  auto parsed = json::parse_strict(text, json::Limits{size_t{64} * 1024, 16});
  return parsed && parsed->is_object();
}

StoreResult<Ok> validate_grant(const GrantRecord& g, int64_t created_at) {
  if (g.id.empty()) return invalid("grant: id must not be empty");
  if (g.client_id.empty()) return invalid("grant " + g.id + ": client_id must not be empty");
  if (g.subject.empty()) return invalid("grant " + g.id + ": subject must not be empty");
  if (g.sid && g.sid->empty()) return invalid("grant " + g.id + ": sid, when set, is not empty");
  if (!is_json_object(g.claims_json)) {
    return invalid("grant " + g.id + ": claims_json must be a JSON object of at most 64 KiB");
  }
  if (g.expires_at <= created_at) {
    return invalid("grant " + g.id + ": expires_at must be after created_at");
  }
  return Ok{};
}

StoreResult<Ok> validate_code(const CodeRecord& code, const GrantRecord& g) {
  if (code.code_sha256.size() != kSha256Bytes) return invalid("code: hash must be 32 bytes");
  if (code.grant_id != g.id) return invalid("code: grant_id is not the grant's id");
  if (code.client_id != g.client_id) return invalid("code: client_id is not the grant's client");
  return Ok{};
}

StoreResult<Ok> validate_token(const TokenRecord& t) {
  if (t.token_sha256.size() != kSha256Bytes) return invalid("token: hash must be 32 bytes");
  if (t.grant_id && t.grant_id->empty()) return invalid("token: grant_id, when set, is not empty");
  if (t.client_id.empty()) return invalid("token: client_id must not be empty");
  if (t.subject.empty()) return invalid("token: subject must not be empty");
  if (!is_json_object(t.claims_json)) {
    return invalid("token: claims_json must be a JSON object of at most 64 KiB");
  }
  if (t.issued_at != 0 && t.expires_at <= t.issued_at) {
    return invalid("token: expires_at must be after issued_at");
  }
  return Ok{};
}

StoreResult<Ok> validate_hash(std::string_view hash, const char* what) {
  if (hash.size() != kSha256Bytes) return invalid(std::string(what) + ": hash must be 32 bytes");
  return Ok{};
}

// Reads list columns of a row into the fields named; false when one is not a JSON array.
bool read_lists(const Row& row,
                std::initializer_list<std::pair<size_t, std::vector<std::string>*>> lists) {
  for (auto [column, field] : lists) {
    auto list = list_from_text(row.text(column));
    if (!list) return false;
    *field = std::move(*list);
  }
  return true;
}

constexpr std::string_view kSelectGrants =
    "SELECT id, client_id, subject, sid, scopes, audiences, auth_time, acr, amr, claims,"
    " created_at, expires_at, revoked_at FROM grants";

StoreResult<GrantRecord> grant_from_row(const Row& row) {
  GrantRecord g;
  g.id = row.text(0);
  g.client_id = row.text(1);
  g.subject = row.text(2);
  if (!row.is_null(3)) g.sid = row.text(3);
  if (!read_lists(row, {{4, &g.scopes}, {5, &g.audiences}, {8, &g.amr}})) {
    return store_error(StoreError::Code::kInternal, "grant " + g.id + " has an unreadable list");
  }
  g.auth_time = row.integer(6);
  g.acr = row.text(7);
  g.claims_json = row.text(9);
  g.created_at = row.integer(10);
  g.expires_at = row.integer(11);
  g.revoked_at = row.nullable_integer(12);
  return g;
}

constexpr std::string_view kSelectTokens =
    "SELECT token_sha256, kind, grant_id, client_id, subject, scopes, audiences, claims,"
    " issued_at, expires_at, used_at, revoked_at FROM tokens";

StoreResult<TokenRecord> token_from_row(const Row& row) {
  TokenRecord t;
  t.token_sha256 = row.blob(0);
  auto kind = parse_token_kind(row.text(1));
  if (!kind) return store_error(StoreError::Code::kInternal, "a token has an unreadable kind");
  t.kind = *kind;
  if (!row.is_null(2)) t.grant_id = row.text(2);
  t.client_id = row.text(3);
  t.subject = row.text(4);
  if (!read_lists(row, {{5, &t.scopes}, {6, &t.audiences}})) {
    return store_error(StoreError::Code::kInternal, "a token has an unreadable list");
  }
  t.claims_json = row.text(7);
  t.issued_at = row.integer(8);
  t.expires_at = row.integer(9);
  t.used_at = row.nullable_integer(10);
  t.revoked_at = row.nullable_integer(11);
  return t;
}

constexpr std::string_view kSelectCodes =
    "SELECT code_sha256, grant_id, client_id, redirect_uri, code_challenge, nonce, expires_at,"
    " used_at, dpop_jkt FROM authorization_codes";

CodeRecord code_from_row(const Row& row) {
  CodeRecord code;
  code.code_sha256 = row.blob(0);
  code.grant_id = row.text(1);
  code.client_id = row.text(2);
  code.redirect_uri = row.text(3);
  code.code_challenge = row.text(4);
  if (!row.is_null(5)) code.nonce = row.text(5);
  code.expires_at = row.integer(6);
  code.used_at = row.nullable_integer(7);
  if (!row.is_null(8)) code.dpop_jkt = row.text(8);
  return code;
}

// Reads a grant on `c`; with `lock`, holds its row until the transaction ends. Every operation
// that writes under a grant takes this lock first (grant, then its tokens and codes), so that
// under PostgreSQL rotations, redemptions, token inserts and revocations of one grant run one
// after another and never deadlock.
StoreResult<std::optional<GrantRecord>> read_grant(Connection& c, std::string_view id, bool lock) {
  auto rows = c.query(std::string(kSelectGrants) + " WHERE id = ?" +
                          std::string(lock ? for_update(c.dialect()) : std::string_view()),
                      {id});
  if (!rows) return Err(rows.error());
  if (rows->empty()) return std::optional<GrantRecord>();
  auto grant = grant_from_row(rows->front());
  if (!grant) return Err(grant.error());
  return std::optional<GrantRecord>(std::move(*grant));
}

StoreResult<std::optional<TokenRecord>> read_token(Connection& c, std::string_view hash) {
  auto rows =
      c.query(std::string(kSelectTokens) + " WHERE token_sha256 = ?", {Blob{std::string(hash)}});
  if (!rows) return Err(rows.error());
  if (rows->empty()) return std::optional<TokenRecord>();
  auto token = token_from_row(rows->front());
  if (!token) return Err(token.error());
  return std::optional<TokenRecord>(std::move(*token));
}

StoreResult<std::optional<CodeRecord>> read_code(Connection& c, std::string_view hash) {
  auto rows =
      c.query(std::string(kSelectCodes) + " WHERE code_sha256 = ?", {Blob{std::string(hash)}});
  if (!rows) return Err(rows.error());
  if (rows->empty()) return std::optional<CodeRecord>();
  return std::optional<CodeRecord>(code_from_row(rows->front()));
}

// Revokes the grant, every token under it and marks its unused codes used, on `c` (inside the
// caller's transaction). Returns the number of tokens revoked.
StoreResult<int64_t> revoke_grant_on(Connection& c, std::string_view grant_id, int64_t now) {
  auto grant = c.execute("UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                         {now, grant_id});
  if (!grant) return grant;
  auto tokens =
      c.execute("UPDATE tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL",
                {now, grant_id});
  if (!tokens) return tokens;
  auto codes =
      c.execute("UPDATE authorization_codes SET used_at = ? WHERE grant_id = ? AND used_at IS NULL",
                {now, grant_id});
  if (!codes) return Err(codes.error());
  return *tokens;
}

// Inserts a validated grant on `c`; kConflict when its id exists.
StoreResult<Ok> insert_grant_on(Connection& c, const GrantRecord& g, int64_t created_at) {
  auto inserted = c.execute(
      "INSERT INTO grants (id, client_id, subject, sid, scopes, audiences, auth_time, acr, amr,"
      " claims, created_at, expires_at, revoked_at)"
      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      {g.id, g.client_id, g.subject, nullable_text(g.sid), list_to_text(g.scopes),
       list_to_text(g.audiences), g.auth_time, g.acr, list_to_text(g.amr), g.claims_json,
       created_at, g.expires_at, g.revoked_at});
  if (!inserted) return Err(inserted.error());
  if (*inserted == 0) return store_error(StoreError::Code::kConflict, "grant " + g.id + " exists");
  return Ok{};
}

constexpr std::string_view kSelectDevices =
    "SELECT device_code_sha256, user_code, client_id, params, status, grant_id, interval_seconds,"
    " last_polled_at, expires_at FROM device_authorizations";

StoreResult<DeviceAuthorization> device_from_row(const Row& row) {
  DeviceAuthorization d;
  d.device_code_sha256 = row.blob(0);
  d.user_code = row.text(1);
  d.client_id = row.text(2);
  d.params_json = row.text(3);
  auto status = parse_device_status(row.text(4));
  if (!status) {
    return store_error(StoreError::Code::kInternal, "a device authorization has a bad status");
  }
  d.status = *status;
  if (!row.is_null(5)) d.grant_id = row.text(5);
  d.interval = row.integer(6);
  d.last_polled_at = row.integer(7);
  d.expires_at = row.integer(8);
  return d;
}

// Inserts validated tokens on `c`; each named grant is locked and must exist unrevoked.
StoreResult<Ok> insert_tokens_on(Connection& c, std::span<const TokenRecord> tokens, int64_t now) {
  std::set<std::string, std::less<>> live_grants;
  for (const TokenRecord& t : tokens) {
    if (t.grant_id && !live_grants.contains(*t.grant_id)) {
      auto grant = read_grant(c, *t.grant_id, /*lock=*/true);
      if (!grant) return Err(grant.error());
      if (!*grant) {
        return store_error(StoreError::Code::kNotFound, "grant " + *t.grant_id + " does not exist");
      }
      if ((*grant)->revoked_at) {
        return store_error(StoreError::Code::kConflict, "grant " + *t.grant_id + " is revoked");
      }
      live_grants.insert(*t.grant_id);
    }
    auto inserted = c.execute(
        "INSERT INTO tokens (token_sha256, kind, grant_id, client_id, subject, scopes, audiences,"
        " claims, issued_at, expires_at, used_at, revoked_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        {Blob{t.token_sha256}, to_string(t.kind), nullable_text(t.grant_id), t.client_id, t.subject,
         list_to_text(t.scopes), list_to_text(t.audiences), t.claims_json,
         t.issued_at != 0 ? t.issued_at : now, t.expires_at, t.used_at, t.revoked_at});
    if (!inserted) return Err(inserted.error());
    if (*inserted == 0) return store_error(StoreError::Code::kConflict, "token exists");
  }
  return Ok{};
}

class SqlGrantStore final : public GrantStore {
 public:
  SqlGrantStore(Database& database, const Clock& clock) : database_(database), clock_(clock) {}

  StoreResult<Ok> create_grant(const GrantRecord& grant,
                               const std::optional<CodeRecord>& code) override {
    const int64_t now = clock_.now();
    const int64_t created_at = grant.created_at != 0 ? grant.created_at : now;
    if (auto valid = validate_grant(grant, created_at); !valid) return valid;
    if (code) {
      if (auto valid = validate_code(*code, grant); !valid) return valid;
    }
    return database_.in_transaction([&](Connection& c) -> StoreResult<Ok> {
      if (auto inserted = insert_grant_on(c, grant, created_at); !inserted) return inserted;
      if (!code) return Ok{};
      auto code_inserted = c.execute(
          "INSERT INTO authorization_codes (code_sha256, grant_id, client_id, redirect_uri,"
          " code_challenge, nonce, expires_at, used_at, dpop_jkt)"
          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
          {Blob{code->code_sha256}, code->grant_id, code->client_id, code->redirect_uri,
           code->code_challenge, nullable_text(code->nonce), code->expires_at, code->used_at,
           nullable_text(code->dpop_jkt)});
      if (!code_inserted) return Err(code_inserted.error());
      if (*code_inserted == 0) return store_error(StoreError::Code::kConflict, "code exists");
      return Ok{};
    });
  }

  StoreResult<std::optional<GrantRecord>> find_grant(std::string_view id) override {
    auto lease = database_.acquire();
    if (!lease) return Err(lease.error());
    return read_grant(**lease, id, /*lock=*/false);
  }

  StoreResult<Redemption> redeem_code(std::string_view code_sha256) override {
    if (auto valid = validate_hash(code_sha256, "code"); !valid) return Err(valid.error());
    return database_.in_transaction([&](Connection& c) -> StoreResult<Redemption> {
      const int64_t now = clock_.now();
      Redemption r;
      auto code = read_code(c, code_sha256);
      if (!code) return Err(code.error());
      if (!*code) return r;
      // The grant is locked before the code is written: the order every writer follows.
      auto grant = read_grant(c, (*code)->grant_id, /*lock=*/true);
      if (!grant) return Err(grant.error());
      if (!*grant) return r;  // purged after it expired: nothing is left of it
      r.code = std::move(*code);
      r.grant = std::move(*grant);
      if (r.grant->revoked_at) {
        r.outcome = CodeOutcome::kRevoked;
        return r;
      }
      if (r.grant->expires_at > now) {
        // RFC 6749 §4.1.2: single use. The WHERE is the compare-and-set; of concurrent
        // redemptions one writes the row, the others find it used.
        auto used = c.execute(
            "UPDATE authorization_codes SET used_at = ?"
            " WHERE code_sha256 = ? AND used_at IS NULL AND expires_at > ?",
            {now, Blob{std::string(code_sha256)}, now});
        if (!used) return Err(used.error());
        if (*used == 1) {
          r.code->used_at = now;
          r.outcome = CodeOutcome::kRedeemed;
          return r;
        }
      }
      auto current = read_code(c, code_sha256);
      if (!current) return Err(current.error());
      if (*current) r.code = std::move(**current);
      if (r.code->used_at) {
        // RFC 6749 §4.1.2: "the authorization server SHOULD revoke (when possible) all tokens
        // previously issued based on that authorization code". A replay after expiry is still
        // a replay: the code was stolen either way.
        auto revoked = revoke_grant_on(c, r.grant->id, now);
        if (!revoked) return Err(revoked.error());
        r.grant->revoked_at = now;
        r.outcome = CodeOutcome::kReplayed;
        return r;
      }
      r.outcome = CodeOutcome::kExpired;
      return r;
    });
  }

  StoreResult<Ok> insert_tokens(std::span<const TokenRecord> tokens) override {
    for (const TokenRecord& t : tokens) {
      if (auto valid = validate_token(t); !valid) return valid;
    }
    if (tokens.empty()) return Ok{};
    return database_.in_transaction(
        [&](Connection& c) { return insert_tokens_on(c, tokens, clock_.now()); });
  }

  StoreResult<std::optional<TokenRecord>> find_token(std::string_view token_sha256) override {
    if (auto valid = validate_hash(token_sha256, "token"); !valid) return Err(valid.error());
    auto lease = database_.acquire();
    if (!lease) return Err(lease.error());
    return read_token(**lease, token_sha256);
  }

  StoreResult<Rotation> rotate_refresh_token(std::string_view token_sha256,
                                             std::span<const TokenRecord> replacements) override {
    if (auto valid = validate_hash(token_sha256, "refresh token"); !valid) {
      return Err(valid.error());
    }
    for (const TokenRecord& t : replacements) {
      if (auto valid = validate_token(t); !valid) return Err(valid.error());
    }
    return database_.in_transaction([&](Connection& c) -> StoreResult<Rotation> {
      const int64_t now = clock_.now();
      Rotation r;
      auto token = read_token(c, token_sha256);
      if (!token) return Err(token.error());
      if (!*token || (*token)->kind != TokenKind::kRefresh) return r;
      r.token = std::move(*token);
      for (const TokenRecord& t : replacements) {
        if (t.grant_id != r.token->grant_id) {
          return invalid("rotation: a replacement token belongs to another grant");
        }
      }
      if (r.token->grant_id) {
        // Locked first: concurrent rotations of the family queue here (PostgreSQL), so the one
        // behind the winner sees the token used and revokes the family before the rest run.
        auto grant = read_grant(c, *r.token->grant_id, /*lock=*/true);
        if (!grant) return Err(grant.error());
        if (!*grant) {  // purged: only expired grants are
          r.outcome = RotateOutcome::kExpired;
          return r;
        }
        r.grant = std::move(*grant);
        if (r.grant->revoked_at) {
          r.outcome = RotateOutcome::kRevoked;
          return r;
        }
      }
      const bool grant_live = !r.grant || r.grant->expires_at > now;
      if (grant_live) {
        // RFC 9700 §4.14.2: the compare-and-set. A single UPDATE whose WHERE PostgreSQL
        // re-checks on the committed row after waiting for a concurrent writer's lock.
        auto used = c.execute(
            "UPDATE tokens SET used_at = ? WHERE token_sha256 = ? AND kind = 'refresh'"
            " AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
            {now, Blob{std::string(token_sha256)}, now});
        if (!used) return Err(used.error());
        if (*used == 1) {
          if (auto stored = insert_tokens_on(c, replacements, now); !stored) {
            return Err(stored.error());  // rolls the used mark back too
          }
          r.token->used_at = now;
          r.outcome = RotateOutcome::kRotated;
          return r;
        }
      }
      auto current = read_token(c, token_sha256);
      if (!current) return Err(current.error());
      if (*current) r.token = std::move(**current);
      if (r.token->revoked_at) {
        r.outcome = RotateOutcome::kRevoked;
        return r;
      }
      if (r.token->used_at) {
        // RFC 9700 §4.14.2: a rotated refresh token presented again means one of the two
        // parties holding it is an attacker; revoke the whole family. Replayed after its
        // expiry it is still reuse.
        if (r.grant) {
          auto revoked = revoke_grant_on(c, r.grant->id, now);
          if (!revoked) return Err(revoked.error());
          r.grant->revoked_at = now;
        } else {
          auto revoked = c.execute(
              "UPDATE tokens SET revoked_at = ? WHERE token_sha256 = ? AND revoked_at IS NULL",
              {now, Blob{std::string(token_sha256)}});
          if (!revoked) return Err(revoked.error());
        }
        r.token->revoked_at = now;
        r.outcome = RotateOutcome::kReused;
        return r;
      }
      r.outcome = RotateOutcome::kExpired;
      return r;
    });
  }

  StoreResult<int64_t> revoke_token(std::string_view token_sha256) override {
    if (auto valid = validate_hash(token_sha256, "token"); !valid) return Err(valid.error());
    return database_.in_transaction([&](Connection& c) -> StoreResult<int64_t> {
      const int64_t now = clock_.now();
      auto token = read_token(c, token_sha256);
      if (!token) return Err(token.error());
      if (!*token) return int64_t{0};
      if ((*token)->kind == TokenKind::kRefresh && (*token)->grant_id) {
        // RFC 7009 §2.1: revoking a refresh token also invalidates the access tokens of the
        // same grant.
        return revoke_grant_on(c, *(*token)->grant_id, now);
      }
      return c.execute(
          "UPDATE tokens SET revoked_at = ? WHERE token_sha256 = ? AND revoked_at IS NULL",
          {now, Blob{std::string(token_sha256)}});
    });
  }

  StoreResult<int64_t> revoke_grant(std::string_view grant_id) override {
    return database_.in_transaction(
        [&](Connection& c) { return revoke_grant_on(c, grant_id, clock_.now()); });
  }

  StoreResult<int64_t> revoke_grants_for_session(std::string_view sid) override {
    if (sid.empty()) return invalid("sid must not be empty");
    return revoke_grants_where("sid", sid);
  }

  StoreResult<std::vector<std::string>> clients_of_session(std::string_view sid) override {
    auto rows = database_.query(
        "SELECT DISTINCT client_id FROM grants WHERE sid = ? AND revoked_at IS NULL"
        " ORDER BY client_id",
        {sid});
    if (!rows) return Err(rows.error());
    std::vector<std::string> out;
    out.reserve(rows->size());
    for (const Row& row : *rows) out.push_back(row.text(0));
    return out;
  }

  StoreResult<int64_t> revoke_grants_for_client(std::string_view client_id) override {
    if (client_id.empty()) return invalid("client_id must not be empty");
    return revoke_grants_where("client_id", client_id);
  }

  StoreResult<std::vector<GrantRecord>> list_grants_for_subject(std::string_view subject) override {
    auto rows = database_.query(std::string(kSelectGrants) +
                                    " WHERE subject = ? AND revoked_at IS NULL AND expires_at > ?"
                                    " ORDER BY created_at DESC, id",
                                {subject, clock_.now()});
    if (!rows) return Err(rows.error());
    std::vector<GrantRecord> out;
    out.reserve(rows->size());
    for (const Row& row : *rows) {
      auto grant = grant_from_row(row);
      if (!grant) return Err(grant.error());
      out.push_back(std::move(*grant));
    }
    return out;
  }

  StoreResult<Ok> push_request(const PushedRequest& p) override {
    if (auto valid = validate_hash(p.request_uri_sha256, "request_uri"); !valid) return valid;
    if (p.client_id.empty()) {
      return store_error(StoreError::Code::kInvalidArgument, "pushed request without client_id");
    }
    auto inserted = database_.execute(
        "INSERT INTO pushed_requests (request_uri_sha256, client_id, params, expires_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        {Blob{p.request_uri_sha256}, p.client_id, p.params_json, p.expires_at});
    if (!inserted) return Err(inserted.error());
    if (*inserted == 0) return store_error(StoreError::Code::kConflict, "request_uri exists");
    return Ok{};
  }

  StoreResult<std::optional<PushedRequest>> take_pushed_request(
      std::string_view request_uri_sha256, std::string_view client_id) override {
    if (auto valid = validate_hash(request_uri_sha256, "request_uri"); !valid) {
      return Err(valid.error());
    }
    return database_.in_transaction(
        [&](Connection& c) -> StoreResult<std::optional<PushedRequest>> {
          // The DELETE is the compare-and-set: one use wins, the others find nothing.
          auto rows = c.query(
              "DELETE FROM pushed_requests"
              " WHERE request_uri_sha256 = ? AND client_id = ? AND expires_at > ?"
              " RETURNING params, expires_at",
              {Blob{std::string(request_uri_sha256)}, client_id, clock_.now()});
          if (!rows) return Err(rows.error());
          if (rows->empty()) return std::optional<PushedRequest>();
          PushedRequest out;
          out.request_uri_sha256 = std::string(request_uri_sha256);
          out.client_id = std::string(client_id);
          out.params_json = rows->front().text(0);
          out.expires_at = rows->front().integer(1);
          return std::optional<PushedRequest>(std::move(out));
        });
  }

  StoreResult<Ok> create_device_authorization(const DeviceAuthorization& d) override {
    if (auto valid = validate_hash(d.device_code_sha256, "device_code"); !valid) return valid;
    if (d.user_code.empty() || d.client_id.empty() || !is_json_object(d.params_json) ||
        d.interval <= 0) {
      return invalid("device authorization: user_code, client_id, params and interval needed");
    }
    return database_.in_transaction([&](Connection& c) -> StoreResult<Ok> {
      // An expired authorization gives its user code back (the column is unique).
      auto freed = c.execute(
          "DELETE FROM device_authorizations WHERE user_code = ? AND"
          " expires_at <= ?",
          {d.user_code, clock_.now()});
      if (!freed) return Err(freed.error());
      auto inserted = c.execute(
          "INSERT INTO device_authorizations (device_code_sha256, user_code, client_id, params,"
          " status, grant_id, interval_seconds, last_polled_at, expires_at)"
          " VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?) ON CONFLICT DO NOTHING",
          {Blob{d.device_code_sha256}, d.user_code, d.client_id, d.params_json,
           to_string(DeviceStatus::kPending), d.interval, d.last_polled_at, d.expires_at});
      if (!inserted) return Err(inserted.error());
      if (*inserted == 0) return store_error(StoreError::Code::kConflict, "code taken");
      return Ok{};
    });
  }

  StoreResult<std::optional<DeviceAuthorization>> find_device_by_user_code(
      std::string_view user_code) override {
    auto rows =
        database_.query(std::string(kSelectDevices) + " WHERE user_code = ? AND expires_at > ?",
                        {user_code, clock_.now()});
    if (!rows) return Err(rows.error());
    if (rows->empty()) return std::optional<DeviceAuthorization>();
    auto device = device_from_row(rows->front());
    if (!device) return Err(device.error());
    return std::optional<DeviceAuthorization>(std::move(*device));
  }

  StoreResult<bool> decide_device(std::string_view device_code_sha256, std::string_view client_id,
                                  const std::optional<GrantRecord>& grant) override {
    if (auto valid = validate_hash(device_code_sha256, "device_code"); !valid) {
      return Err(valid.error());
    }
    if (grant && grant->client_id != client_id) {
      return invalid("device authorization: the grant is another client's");
    }
    const int64_t now = clock_.now();
    if (grant) {
      const int64_t created_at = grant->created_at != 0 ? grant->created_at : now;
      if (auto valid = validate_grant(*grant, created_at); !valid) return Err(valid.error());
    }
    return database_.in_transaction([&](Connection& c) -> StoreResult<bool> {
      // The UPDATE is the compare-and-set: of two decisions one finds the row pending.
      auto decided = c.execute(
          "UPDATE device_authorizations SET status = ?, grant_id = ?"
          " WHERE device_code_sha256 = ? AND client_id = ? AND status = ? AND expires_at > ?",
          {to_string(grant ? DeviceStatus::kApproved : DeviceStatus::kDenied),
           grant ? Value(grant->id) : Value(nullptr), Blob{std::string(device_code_sha256)},
           client_id, to_string(DeviceStatus::kPending), now});
      if (!decided) return Err(decided.error());
      if (*decided == 0) return false;
      if (grant) {
        const int64_t created_at = grant->created_at != 0 ? grant->created_at : now;
        if (auto inserted = insert_grant_on(c, *grant, created_at); !inserted) {
          return Err(inserted.error());
        }
      }
      return true;
    });
  }

  StoreResult<Poll> poll_device(std::string_view device_code_sha256,
                                std::string_view client_id) override {
    if (auto valid = validate_hash(device_code_sha256, "device_code"); !valid) {
      return Err(valid.error());
    }
    return database_.in_transaction([&](Connection& c) -> StoreResult<Poll> {
      const int64_t now = clock_.now();
      const Blob hash{std::string(device_code_sha256)};
      auto rows = c.query(std::string(kSelectDevices) + " WHERE device_code_sha256 = ?" +
                              std::string(for_update(c.dialect())),
                          {hash});
      if (!rows) return Err(rows.error());
      Poll poll;
      if (rows->empty()) return poll;
      auto device = device_from_row(rows->front());
      if (!device) return Err(device.error());
      if (device->client_id != client_id) return poll;  // another client's: unknown
      poll.device = *device;
      if (device->expires_at <= now) {
        poll.outcome = PollOutcome::kExpired;
        return poll;
      }
      switch (device->status) {
        case DeviceStatus::kDenied:
          poll.outcome = PollOutcome::kDenied;
          return poll;
        case DeviceStatus::kRedeemed:
          poll.outcome = PollOutcome::kRedeemed;
          return poll;
        case DeviceStatus::kApproved:
          poll.outcome = PollOutcome::kApproved;
          return poll;
        case DeviceStatus::kPending:
          break;
      }
      // RFC 8628 §3.5: polling faster than the interval is slow_down, and the interval grows
      // by 5 seconds for this and every later request.
      const bool too_soon = now - device->last_polled_at < device->interval;
      const int64_t interval = device->interval + (too_soon ? 5 : 0);
      auto polled = c.execute(
          "UPDATE device_authorizations SET last_polled_at = ?, interval_seconds = ?"
          " WHERE device_code_sha256 = ?",
          {now, interval, hash});
      if (!polled) return Err(polled.error());
      poll.device->last_polled_at = now;
      poll.device->interval = interval;
      poll.outcome = too_soon ? PollOutcome::kSlowDown : PollOutcome::kPending;
      return poll;
    });
  }

  StoreResult<bool> redeem_device(std::string_view device_code_sha256,
                                  std::string_view client_id) override {
    if (auto valid = validate_hash(device_code_sha256, "device_code"); !valid) {
      return Err(valid.error());
    }
    auto spent = database_.execute(
        "UPDATE device_authorizations SET status = ?"
        " WHERE device_code_sha256 = ? AND client_id = ? AND status = ? AND expires_at > ?",
        {to_string(DeviceStatus::kRedeemed), Blob{std::string(device_code_sha256)}, client_id,
         to_string(DeviceStatus::kApproved), clock_.now()});
    if (!spent) return Err(spent.error());
    return *spent == 1;
  }

  StoreResult<int64_t> purge_expired() override {
    return database_.in_transaction([&](Connection& c) -> StoreResult<int64_t> {
      const int64_t now = clock_.now();
      auto pushed = c.execute("DELETE FROM pushed_requests WHERE expires_at <= ?", {now});
      if (!pushed) return pushed;
      auto devices = c.execute("DELETE FROM device_authorizations WHERE expires_at <= ?", {now});
      if (!devices) return devices;
      // Codes and tokens go with their grant even when their own expiry is later, so that no
      // row is left naming a grant that no longer exists.
      auto codes = c.execute(
          "DELETE FROM authorization_codes WHERE expires_at <= ?"
          " OR grant_id IN (SELECT id FROM grants WHERE expires_at <= ?)",
          {now, now});
      if (!codes) return codes;
      auto tokens = c.execute(
          "DELETE FROM tokens WHERE expires_at <= ?"
          " OR grant_id IN (SELECT id FROM grants WHERE expires_at <= ?)",
          {now, now});
      if (!tokens) return tokens;
      auto grants = c.execute("DELETE FROM grants WHERE expires_at <= ?", {now});
      if (!grants) return grants;
      return *pushed + *devices + *codes + *tokens + *grants;
    });
  }

 private:
  // Revokes every grant whose `column` ("sid" or "client_id") is `value`, with their tokens and
  // unused codes, in one transaction. Returns grants revoked.
  StoreResult<int64_t> revoke_grants_where(std::string_view column, std::string_view value) {
    const std::string grants_sql = "UPDATE grants SET revoked_at = ? WHERE " + std::string(column) +
                                   " = ? AND revoked_at IS NULL";
    const std::string in_grants =
        " AND grant_id IN (SELECT id FROM grants WHERE " + std::string(column) + " = ?)";
    const std::string tokens_sql =
        "UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL" + in_grants;
    const std::string codes_sql =
        "UPDATE authorization_codes SET used_at = ? WHERE used_at IS NULL" + in_grants;
    return database_.in_transaction([&](Connection& c) -> StoreResult<int64_t> {
      const int64_t now = clock_.now();
      auto grants = c.execute(grants_sql, {now, value});
      if (!grants) return grants;
      auto tokens = c.execute(tokens_sql, {now, value});
      if (!tokens) return Err(tokens.error());
      auto codes = c.execute(codes_sql, {now, value});
      if (!codes) return Err(codes.error());
      return *grants;
    });
  }

  Database& database_;
  const Clock& clock_;
};

}  // namespace

std::unique_ptr<GrantStore> make_sql_grant_store(Database& database, const Clock& clock) {
  return std::make_unique<SqlGrantStore>(database, clock);
}

}  // namespace tessera::store
