// The authorization server's signing keys (its JWKS). The private JWK arrives already encrypted:
// encryption is the caller's job, the store keeps bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/database.h"

namespace tessera::store {

// next: published in the JWKS ahead of use; active: signs new tokens (at most one per alg);
// retired: still published so tokens signed earlier verify, until retire_after.
enum class KeyStatus { kNext, kActive, kRetired };
std::string_view to_string(KeyStatus status);
std::optional<KeyStatus> parse_key_status(std::string_view text);

struct SigningKey {
  std::string kid;
  std::string alg;
  std::string private_jwk_encrypted;  // opaque bytes
  std::string public_jwk;             // JSON text
  KeyStatus status = KeyStatus::kNext;
  int64_t created_at = 0;
  std::optional<int64_t> activated_at;
  std::optional<int64_t> retire_after;  // when a retired key may leave the JWKS
};

class SigningKeyStore {
 public:
  virtual ~SigningKeyStore() = default;

  // Every key, oldest first.
  virtual StoreResult<std::vector<SigningKey>> list() = 0;
  virtual StoreResult<std::optional<SigningKey>> find(std::string_view kid) = 0;
  // kConflict when the kid exists or an active key of the same alg exists.
  virtual StoreResult<Ok> insert(const SigningKey& key) = 0;
  // Compare-and-set of one key's status. Allowed: next->active (sets activated_at = now; fails
  // with kConflict while another key of the alg is active), next->retired and active->retired
  // (sets retire_after, default now). kConflict when the key is not in `from` any more,
  // kNotFound when it does not exist, kInvalidArgument for any other transition.
  virtual StoreResult<Ok> update_status(std::string_view kid, KeyStatus from, KeyStatus to,
                                        int64_t now,
                                        std::optional<int64_t> retire_after = std::nullopt) = 0;
  // Rotation in one transaction: retires the active key of `kid`'s alg (retire_after =
  // `retire_previous_after`) and activates `kid`, which must be next.
  virtual StoreResult<Ok> activate(std::string_view kid, int64_t now,
                                   int64_t retire_previous_after) = 0;
  // Deletes retired keys whose retire_after has passed; returns how many.
  virtual StoreResult<int64_t> delete_expired_retired(int64_t now) = 0;
};

}  // namespace tessera::store
