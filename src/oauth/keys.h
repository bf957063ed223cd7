// The authorization server's signing keys: generated on first start, kept in the store with the
// private JWK sealed (AES-256-GCM, aad "signing_key:<kid>"), and held in memory so that signing
// a token never touches the store. Rotation follows the life of a key:
//   next     published in the JWKS before it signs anything, so caches pick it up first;
//   active   signs new tokens (one per algorithm);
//   retired  still published until the last token it signed has expired, then deleted.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "jose/jose.h"
#include "store/signing_key_store.h"

namespace tessera::oauth {

// The key that signs, with everything sign() needs.
struct ActiveSigningKey {
  std::string kid;
  jose::Alg alg;
  jose::Jwk private_jwk;
};

class SigningKeys {
 public:
  // `secret_key` is the instance key that seals private JWKs (aead::kKeyBytes long).
  SigningKeys(store::SigningKeyStore& store, std::string secret_key, jose::Alg alg,
              const Clock& clock);

  // Loads the keys; when no key of the configured alg is active, generates one and activates
  // it (first start). Safe against another node doing the same at the same time.
  Result<Ok> load_or_create();
  // Re-reads the store (after a rotation by `tessera key rotate` or another node).
  Result<Ok> reload();

  // The key that signs new tokens; null before load_or_create() succeeded.
  std::shared_ptr<const ActiveSigningKey> active() const;
  // RFC 7517 §5 set of public keys: next, active, and retired keys whose retire_after is still
  // in the future (tokens they signed may still be presented).
  jose::Jwks jwks() const;

  // Rotation, step 1: a new key of the configured alg, status next. Refused (kConflict text)
  // while another next key of the alg exists. Returns its kid.
  Result<std::string> introduce_next();
  // Step 2: the next key signs from now on; the previous active key retires and stays published
  // for `max_token_lifetime` seconds. Refused unless the next key has been published for at least
  // `min_published` seconds (so JWKS caches have seen it).
  Result<Ok> activate_next(int64_t max_token_lifetime, int64_t min_published = 0);
  // Step 3: deletes retired keys past retire_after. Returns how many.
  Result<int64_t> delete_expired();

  jose::Alg alg() const { return alg_; }

 private:
  struct Published {
    jose::Jwk public_jwk;
    std::optional<int64_t> retire_after;
  };
  struct Snapshot {
    std::shared_ptr<const ActiveSigningKey> active;
    std::vector<Published> published;
  };

  Result<store::SigningKey> generate(store::KeyStatus status);
  Result<std::shared_ptr<const Snapshot>> read_store();

  store::SigningKeyStore& store_;
  std::string secret_key_;
  jose::Alg alg_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace tessera::oauth
