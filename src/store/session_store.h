// Browser login sessions at the authorization server and the consents users gave to clients.
// A session is found by the SHA-256 of its cookie value (the cookie itself is never stored);
// `sid` is the public name of the session, the OpenID Connect `sid` claim.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/database.h"

namespace tessera::store {

struct Session {
  std::string id_sha256;  // raw 32 bytes: SHA-256 of the cookie value
  std::string sid;        // random, public; unique
  std::string user_id;
  int64_t auth_time = 0;         // when the user last authenticated (OpenID Core §2 auth_time)
  std::string acr;               // the level that authentication reached
  std::vector<std::string> amr;  // RFC 8176 method references, e.g. ["pwd", "otp"]
  int64_t created_at = 0;
  int64_t expires_at = 0;
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  // kInvalidArgument unless id_sha256 is 32 bytes, sid and user_id non-empty and expires_at is
  // after created_at; kConflict when the id or sid exists.
  virtual StoreResult<Ok> create(const Session& session) = 0;
  // The session while it has not expired (by the store's clock); nullopt otherwise.
  virtual StoreResult<std::optional<Session>> find(std::string_view id_sha256) = 0;
  virtual StoreResult<std::optional<Session>> find_by_sid(std::string_view sid) = 0;
  // A fresh authentication in the same session (re-login, a second factor): replaces auth_time,
  // acr and amr. kNotFound when absent or expired.
  virtual StoreResult<Ok> update_authentication(std::string_view id_sha256, int64_t auth_time,
                                                std::string_view acr,
                                                const std::vector<std::string>& amr) = 0;
  // Ends a session; true when one was removed.
  virtual StoreResult<bool> remove_by_sid(std::string_view sid) = 0;
  // Live sessions of a user, newest first.
  virtual StoreResult<std::vector<Session>> list_for_user(std::string_view user_id) = 0;
  // Ends every session of a user (password change, disable); returns how many.
  virtual StoreResult<int64_t> remove_for_user(std::string_view user_id) = 0;
  virtual StoreResult<int64_t> purge_expired() = 0;
};

// What a user allowed a client (OpenID Core §3.1.2.4): remembered per user and client, so the
// consent page is shown again only for scopes not granted before.
struct Consent {
  std::string user_id;
  std::string client_id;
  std::vector<std::string> scopes;
  int64_t granted_at = 0;
};

class ConsentStore {
 public:
  virtual ~ConsentStore() = default;
  // Adds `scopes` to what the user granted the client (union, order kept, no duplicates) and
  // sets granted_at to now. Returns the consent as stored.
  virtual StoreResult<Consent> grant(std::string_view user_id, std::string_view client_id,
                                     const std::vector<std::string>& scopes) = 0;
  virtual StoreResult<std::optional<Consent>> find(std::string_view user_id,
                                                   std::string_view client_id) = 0;
  // The user's consents, by client_id.
  virtual StoreResult<std::vector<Consent>> list_for_user(std::string_view user_id) = 0;
  // True when a consent was removed.
  virtual StoreResult<bool> revoke(std::string_view user_id, std::string_view client_id) = 0;
};

}  // namespace tessera::store
