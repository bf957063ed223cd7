// Tessera's schema, one migration per feature. Append only: a shipped migration never changes.
// Columns use types both dialects share (TEXT, BIGINT); binary columns are BLOB on SQLite and
// BYTEA on PostgreSQL, so each migration is written once, for SQLite, and PostgreSQL's text is
// derived from it. Times are Unix seconds (BIGINT), as in JWT claims.
#include <string>
#include <vector>

#include "store/migrations.h"

namespace tessera::store {
namespace {

// A migration in SQLite's spelling. PostgreSQL's differs only in the binary column type.
struct SchemaStep {
  int64_t version;
  std::string_view name;
  std::string_view sqlite_sql;
};

constexpr SchemaStep kSteps[] = {
    {1, "signing_keys",
     R"sql(
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  private_jwk_encrypted BLOB NOT NULL,
  public_jwk TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('next', 'active', 'retired')),
  created_at BIGINT NOT NULL,
  activated_at BIGINT,
  retire_after BIGINT
);
CREATE UNIQUE INDEX signing_keys_one_active_per_alg ON signing_keys (alg) WHERE status = 'active';
)sql"},
    {2, "replay_cache",
     R"sql(
CREATE TABLE replay_cache (
  namespace TEXT NOT NULL,
  id_sha256 BLOB NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (namespace, id_sha256)
);
CREATE INDEX replay_cache_by_expiry ON replay_cache (expires_at);
)sql"},
    {3, "settings",
     R"sql(
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value BLOB NOT NULL,
  updated_at BIGINT NOT NULL
);
)sql"},
    // username keeps the spelling given at creation; username_canonical (see
    // canonical_username() in user_store.h) is what uniqueness and look-ups use. profile holds
    // the OpenID Connect standard claims as a JSON object. BLOB DEFAULT NULL, not "BLOB,": the
    // PostgreSQL spelling rewrites " BLOB ".
    {4, "users",
     R"sql(
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL,
  username_canonical TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  disabled BIGINT NOT NULL DEFAULT 0,
  totp_secret_encrypted BLOB DEFAULT NULL,
  totp_last_step BIGINT,
  profile TEXT NOT NULL DEFAULT '{}',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
)sql"},
    {5, "clients",
     R"sql(
CREATE TABLE clients (
  client_id TEXT PRIMARY KEY,
  client_type TEXT NOT NULL CHECK (client_type IN ('public', 'confidential')),
  token_endpoint_auth_method TEXT NOT NULL,
  secret_sha256 BLOB NULL,
  grant_types TEXT NOT NULL,
  redirect_uris TEXT NOT NULL,
  scopes TEXT NOT NULL,
  audiences TEXT NOT NULL,
  access_token_format TEXT NOT NULL CHECK (access_token_format IN ('jwt', 'opaque')),
  access_token_lifetime BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
)sql"},
    // The authorization code flow's state. auth_sessions: browser login sessions, found by the
    // SHA-256 of the cookie; sid is the public id (OpenID `sid`). consents: what a user let a
    // client have. grants: one authorization (a code and the refresh-token family it starts),
    // the unit that reuse detection and logout revoke. tokens: opaque access tokens and refresh
    // tokens by SHA-256. authorization_codes: single use (used_at) and bound to client,
    // redirect URI and PKCE challenge. Lists (scopes, audiences, amr) are JSON arrays of strings,
    // claims a JSON object.
    {6, "oauth_state",
     R"sql(
CREATE TABLE auth_sessions (
  id_sha256 BLOB PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL,
  auth_time BIGINT NOT NULL,
  acr TEXT NOT NULL,
  amr TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX auth_sessions_by_user ON auth_sessions (user_id);
CREATE INDEX auth_sessions_by_expiry ON auth_sessions (expires_at);
CREATE TABLE consents (
  user_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  scopes TEXT NOT NULL,
  granted_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, client_id)
);
CREATE TABLE grants (
  id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  sid TEXT,
  scopes TEXT NOT NULL,
  audiences TEXT NOT NULL,
  auth_time BIGINT NOT NULL,
  acr TEXT NOT NULL,
  amr TEXT NOT NULL,
  claims TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX grants_by_sid ON grants (sid);
CREATE INDEX grants_by_subject ON grants (subject);
CREATE INDEX grants_by_expiry ON grants (expires_at);
CREATE TABLE tokens (
  token_sha256 BLOB PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
  grant_id TEXT,
  client_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  scopes TEXT NOT NULL,
  audiences TEXT NOT NULL,
  claims TEXT NOT NULL,
  issued_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX tokens_by_grant ON tokens (grant_id);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);
CREATE TABLE authorization_codes (
  code_sha256 BLOB PRIMARY KEY,
  grant_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  nonce TEXT,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);
)sql"},
    // Client settings the code flow, logout, private_key_jwt and token exchange need. jwks: the
    // client's public keys (RFC 7591 §2) for private_key_jwt; lists are JSON arrays like the
    // other list columns.
    {7, "client_settings",
     R"sql(
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN refresh_token_lifetime BIGINT NOT NULL DEFAULT 86400;
ALTER TABLE clients ADD COLUMN skip_consent BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN may_impersonate BIGINT NOT NULL DEFAULT 0;
)sql"},
    // The fga role (issue 5), as OpenFGA stores it. fga_stores: tenants, soft-deleted like
    // OpenFGA's DeleteStore. fga_models: immutable authorization models in their JSON form; ids
    // are ULIDs, so the latest is the greatest. fga_tuples: one row per object#relation@user,
    // split into columns so each query path has an index: the primary key serves the forward
    // reads (object#relation, and the point lookup), fga_tuples_by_user the reverse lookup
    // ListObjects needs, fga_tuples_by_ulid Read in write order. ulid is the change that wrote
    // the row. fga_changes: the change log (ReadChanges, consistency tokens), in ULID order.
    {8, "fga",
     R"sql(
CREATE TABLE fga_stores (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deleted_at BIGINT
);
CREATE TABLE fga_models (
  store_id TEXT NOT NULL,
  id TEXT NOT NULL,
  schema_version TEXT NOT NULL,
  model TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (store_id, id)
);
CREATE TABLE fga_tuples (
  store_id TEXT NOT NULL,
  object_type TEXT NOT NULL,
  object_id TEXT NOT NULL,
  relation TEXT NOT NULL,
  user_type TEXT NOT NULL,
  user_id TEXT NOT NULL,
  user_relation TEXT NOT NULL,
  condition_name TEXT NOT NULL,
  condition_context TEXT,
  ulid TEXT NOT NULL,
  inserted_at BIGINT NOT NULL,
  PRIMARY KEY (store_id, object_type, object_id, relation, user_type, user_id, user_relation)
);
CREATE INDEX fga_tuples_by_user
  ON fga_tuples (store_id, object_type, relation, user_type, user_id, user_relation);
CREATE UNIQUE INDEX fga_tuples_by_ulid ON fga_tuples (store_id, ulid);
CREATE TABLE fga_changes (
  store_id TEXT NOT NULL,
  ulid TEXT NOT NULL,
  operation TEXT NOT NULL CHECK (operation IN ('write', 'delete')),
  object_type TEXT NOT NULL,
  object_id TEXT NOT NULL,
  relation TEXT NOT NULL,
  user_type TEXT NOT NULL,
  user_id TEXT NOT NULL,
  user_relation TEXT NOT NULL,
  condition_name TEXT NOT NULL,
  condition_context TEXT,
  inserted_at BIGINT NOT NULL,
  PRIMARY KEY (store_id, ulid)
);
CREATE INDEX fga_changes_by_type ON fga_changes (store_id, object_type, ulid);
)sql"},
    // read_userset_tuples (every direct check) wants only the userset and wildcard entries of
    // an object#relation; through the primary key it walked every member, 100,000 rows for a
    // group of 100,000 users. A partial index holds only those entries; its WHERE is spelled
    // exactly as the query's so both SQLite and PostgreSQL match it.
    {9, "fga_userset_index",
     R"sql(
CREATE INDEX fga_tuples_usersets ON fga_tuples (store_id, object_type, object_id, relation)
  WHERE (user_relation <> '' OR user_id = '*');
)sql"},
    // OpenFGA's WriteAssertions / ReadAssertions: one row per model holding its assertions as a
    // JSON array (written whole, read whole, like OpenFGA's own storage).
    {10, "fga_assertions",
     R"sql(
CREATE TABLE fga_assertions (
  store_id TEXT NOT NULL,
  model_id TEXT NOT NULL,
  assertions TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (store_id, model_id)
);
)sql"},
    // Read by a type and a user (`document:` + user:anne, with or without a relation) found no
    // index that leads with the user: fga_tuples_by_user puts relation before the user, so
    // without a relation it walked every tuple of the type. The user now leads, followed by the
    // type, relation and object id: the same six equalities serve the engine's reverse lookup
    // (read_starting_with_user), and Read without a relation is a range of the index, already
    // in (relation, object_id) order for its pages.
    {11, "fga_tuples_user_first",
     R"sql(
DROP INDEX fga_tuples_by_user;
CREATE INDEX fga_tuples_by_user_and_type
  ON fga_tuples (store_id, user_type, user_id, user_relation, object_type, relation, object_id);
)sql"},
    // Migration 9's predicate `user_relation <> '' OR user_id = '*'` has a term of the same shape
    // as the point lookup's `user_id = ?`; SQLite, checking whether that query may use the partial
    // index, compares the bound value with '*' and so marks the statement to be re-prepared on
    // every new binding (sqlite3ExprCompare on a TK_VARIABLE). Every direct check re-parsed and
    // re-planned its statement: half the CPU of an HTTP Check. The same set spelled as one NOT
    // shares no term shape with any query's equalities; the userset read spells it the same way.
    {12, "fga_userset_index_without_reprepare",
     R"sql(
DROP INDEX fga_tuples_usersets;
CREATE INDEX fga_tuples_usersets ON fga_tuples (store_id, object_type, object_id, relation)
  WHERE NOT (user_relation = '' AND user_id <> '*');
)sql"},
    // A counter each tuple write of a store increments in its transaction (under the store's row
    // lock): what the engine's tuple cache keys on. A change log ULID could not serve: ULIDs of
    // two nodes are not ordered by commit, so the greatest one need not change on a write.
    {13, "fga_store_revision",
     R"sql(
ALTER TABLE fga_stores ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
)sql"},
    // DPoP (RFC 9449): a client that always uses it (§5.2 dpop_bound_access_tokens), and the key
    // an authorization code is bound to (§10 dpop_jkt, a JWK SHA-256 thumbprint).
    {14, "dpop",
     R"sql(
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE authorization_codes ADD COLUMN dpop_jkt TEXT;
)sql"},
    // Pushed authorization requests (RFC 9126): the parameters a client pushed, found by the
    // SHA-256 of their request_uri, spent by the /authorize that uses them; and the clients
    // that must push (§6 require_pushed_authorization_requests).
    {15, "pushed_authorization_requests",
     R"sql(
CREATE TABLE pushed_requests (
  request_uri_sha256 BLOB PRIMARY KEY,
  client_id TEXT NOT NULL,
  params TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX pushed_requests_by_expiry ON pushed_requests (expires_at);
ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests BIGINT NOT NULL DEFAULT 0;
)sql"},
    // RFC 8705 §3.4 tls_client_certificate_bound_access_tokens: the client's tokens are bound to
    // the TLS client certificate of the request that got them.
    {16, "certificate_bound_tokens",
     R"sql(
ALTER TABLE clients ADD COLUMN tls_client_certificate_bound_access_tokens BIGINT NOT NULL DEFAULT 0;
)sql"},
    // RFC 8705 §2.1.2: the certificate name a tls_client_auth client is known by, as the
    // metadata parameter that registered it (tls_client_auth_san_dns, ...) and its value.
    {17, "tls_client_auth",
     R"sql(
ALTER TABLE clients ADD COLUMN tls_client_auth_name_type TEXT;
ALTER TABLE clients ADD COLUMN tls_client_auth_name TEXT;
)sql"},
    // FAPI 2.0 Security Profile: the client is held to the profile; RFC 9101 §10.5
    // require_signed_request_object.
    {18, "fapi2",
     R"sql(
ALTER TABLE clients ADD COLUMN fapi2 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN require_signed_request_object BIGINT NOT NULL DEFAULT 0;
)sql"},
    // RFC 8628: device authorizations, from the client's request to the tokens.
    {19, "device_authorizations",
     R"sql(
CREATE TABLE device_authorizations (
  device_code_sha256 BLOB PRIMARY KEY,
  user_code TEXT NOT NULL UNIQUE,
  client_id TEXT NOT NULL,
  params TEXT NOT NULL,
  status TEXT NOT NULL,
  grant_id TEXT,
  interval_seconds BIGINT NOT NULL,
  last_polled_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX device_authorizations_by_expiry ON device_authorizations (expires_at);
)sql"},
    // RFC 7591 / RFC 7592: dynamic client registration. A client registered over HTTP has the
    // hash of its registration access token (NULL: managed by operators only); initial access
    // tokens admit registrations, each for a number of uses until it expires.
    {20, "dynamic_registration",
     R"sql(
ALTER TABLE clients ADD COLUMN registration_token_sha256 BLOB DEFAULT NULL;
CREATE TABLE initial_access_tokens (
  id TEXT PRIMARY KEY,
  token_sha256 BLOB NOT NULL UNIQUE,
  label TEXT NOT NULL,
  uses_left BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
)sql"},
    // OpenID Connect Back-Channel and Front-Channel Logout 1.0 §2.2: where a client hears that
    // a session ended; grants by client, for revoking a deleted client's (RFC 7592 §2.3).
    {21, "logout_channels",
     R"sql(
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT DEFAULT NULL;
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN frontchannel_logout_uri TEXT DEFAULT NULL;
ALTER TABLE clients ADD COLUMN frontchannel_logout_session_required BIGINT NOT NULL DEFAULT 0;
CREATE INDEX grants_by_client ON grants (client_id);
)sql"},
    // RFC 9396 §10.2: the authorization details types a client may ask for.
    {22, "authorization_details_types",
     R"sql(
ALTER TABLE clients ADD COLUMN authorization_details_types TEXT NOT NULL DEFAULT '[]';
)sql"},
    // RFC 7591 §2 jwks_uri: where a private_key_jwt client publishes its keys.
    {23, "client_jwks_uri",
     R"sql(
ALTER TABLE clients ADD COLUMN jwks_uri TEXT DEFAULT NULL;
)sql"},
    // The store revision each change was made at, so a replica of a store's tuples can catch up
    // from its revision to a reader's (fga/tuple_index.h). NULL for changes made before.
    {24, "fga_change_revisions",
     R"sql(
ALTER TABLE fga_changes ADD COLUMN revision BIGINT DEFAULT NULL;
CREATE INDEX fga_changes_by_revision ON fga_changes (store_id, revision);
)sql"},
    // RFC 7591 §2 client_name, client_uri, logo_uri, policy_uri, tos_uri, contacts: one JSON
    // object per client, NULL when it has none of them.
    {25, "client_display_metadata",
     R"sql(
ALTER TABLE clients ADD COLUMN display TEXT DEFAULT NULL;
)sql"},
    // How many times each client was updated: updates are compare-and-sets on it, so an
    // operator's change and a client's own (RFC 7592) cannot undo each other.
    {26, "client_revision",
     R"sql(
ALTER TABLE clients ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
)sql"},
};

// BYTEA for BLOB, the one difference between the dialects in this schema.
std::string postgres_spelling(std::string_view sqlite_sql) {
  std::string sql(sqlite_sql);
  for (size_t at = sql.find(" BLOB "); at != std::string::npos; at = sql.find(" BLOB ", at)) {
    sql.replace(at + 1, 4, "BYTEA");
  }
  return sql;
}

}  // namespace

std::span<const Migration> tessera_schema() {
  // Built once; Migration only views the text, so the PostgreSQL spellings live here.
  static const std::vector<std::string> postgres_sql = [] {
    std::vector<std::string> out;
    for (const SchemaStep& step : kSteps) out.push_back(postgres_spelling(step.sqlite_sql));
    return out;
  }();
  static const std::vector<Migration> migrations = [] {
    std::vector<Migration> out;
    for (size_t i = 0; i < std::size(kSteps); ++i) {
      out.push_back({kSteps[i].version, kSteps[i].name, kSteps[i].sqlite_sql, postgres_sql[i]});
    }
    return out;
  }();
  return migrations;
}

}  // namespace tessera::store
