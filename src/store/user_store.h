// People who log in to the authorization server: their username, argon2id password hash (made by
// src/identity; the store keeps the text), TOTP seed (encrypted by the caller; the store keeps
// bytes) with the last accepted time step, and OpenID Connect profile claims.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/database.h"

namespace tessera::store {

// The form of a username that uniqueness and look-ups use, or nullopt when `username` is not
// acceptable. Usernames are 1 to 128 ASCII characters from [A-Za-z0-9._@+-] (so e-mail addresses
// fit) and compare case-insensitively: the canonical form is the ASCII lowercase. Non-ASCII
// names are refused rather than half-normalized: Unicode case folding and NFC (RFC 8265's PRECIS
// UsernameCaseMapped profile) would be needed to keep look-alike names apart.
std::optional<std::string> canonical_username(std::string_view username);

struct User {
  std::string id;        // random, opaque; the OpenID `sub`
  std::string username;  // as given at creation
  std::string password_hash;
  bool disabled = false;
  std::optional<std::string> totp_secret_encrypted;  // opaque bytes; nullopt: no TOTP enrolled
  std::optional<int64_t> totp_last_step;             // the last TOTP time step accepted
  std::string profile_json = "{}";                   // a JSON object of OIDC standard claims
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct NewUser {
  std::string username;
  std::string password_hash;
  std::string profile_json = "{}";
};

class UserStore {
 public:
  virtual ~UserStore() = default;

  // kInvalidArgument for an unacceptable username or a profile that is not a JSON object,
  // kConflict when the canonical username is taken.
  virtual StoreResult<User> create(const NewUser& user) = 0;
  // nullopt when no user has that (canonical) name, including names that cannot exist.
  virtual StoreResult<std::optional<User>> find_by_username(std::string_view username) = 0;
  virtual StoreResult<std::optional<User>> find_by_id(std::string_view id) = 0;
  // Every user, by canonical username.
  virtual StoreResult<std::vector<User>> list() = 0;

  // Each fails with kNotFound when the user does not exist.
  virtual StoreResult<Ok> set_password_hash(std::string_view id, std::string_view hash) = 0;
  virtual StoreResult<Ok> set_disabled(std::string_view id, bool disabled) = 0;
  // Enrols (or, with nullopt, removes) a TOTP seed; forgets the last accepted step.
  virtual StoreResult<Ok> set_totp(std::string_view id,
                                   std::optional<std::string> secret_encrypted) = 0;
  // Compare-and-set against replay (RFC 6238 §5.2): records `step` only when it is later than
  // the last accepted one, in one statement, so of concurrent uses of one code exactly one
  // returns true.
  virtual StoreResult<bool> record_totp_step(std::string_view id, int64_t step) = 0;
  // Replaces the profile claims; kInvalidArgument unless a JSON object.
  virtual StoreResult<Ok> update_profile(std::string_view id, std::string_view profile_json) = 0;
};

}  // namespace tessera::store
