#include "oauth/keys.h"

#include "core/aead.h"

namespace tessera::oauth {
namespace {

std::string aad_for(std::string_view kid) { return "signing_key:" + std::string(kid); }

std::string describe(const store::StoreError& e) {
  return std::string(store::to_string(e.code)) + ": " + e.message;
}

}  // namespace

SigningKeys::SigningKeys(store::SigningKeyStore& store, std::string secret_key, jose::Alg alg,
                         const Clock& clock)
    : store_(store), secret_key_(std::move(secret_key)), alg_(alg), clock_(clock) {}

Result<store::SigningKey> SigningKeys::generate(store::KeyStatus status) {
  auto jwk = jose::Jwk::generate(alg_);
  if (!jwk) return Err(std::string("cannot generate a key: ") + jose::to_string(jwk.error()));
  // RFC 7638 thumbprint as kid: stable, unique, derived from the key itself.
  jose::Jwk key = jwk->with_alg(alg_);
  key = key.with_kid(key.thumbprint());
  store::SigningKey row;
  row.kid = key.kid();
  row.alg = jose::to_string(alg_);
  row.private_jwk_encrypted = aead::seal(secret_key_, key.to_json(true).dump(), aad_for(row.kid));
  if (row.private_jwk_encrypted.empty()) return Err(std::string("cannot seal the private key"));
  row.public_jwk = key.public_key().to_json().dump();
  row.status = status;
  row.created_at = clock_.now();
  if (status == store::KeyStatus::kActive) row.activated_at = row.created_at;
  return row;
}

Result<std::shared_ptr<const SigningKeys::Snapshot>> SigningKeys::read_store() {
  auto rows = store_.list();
  if (!rows) return Err("cannot list signing keys: " + describe(rows.error()));
  auto snapshot = std::make_shared<Snapshot>();
  for (const store::SigningKey& row : *rows) {
    auto public_jwk = jose::Jwk::parse(row.public_jwk);
    if (!public_jwk) {
      return Err("signing key " + row.kid +
                 ": bad public JWK: " + jose::to_string(public_jwk.error()));
    }
    snapshot->published.push_back({*public_jwk, row.status == store::KeyStatus::kRetired
                                                    ? row.retire_after.value_or(0)
                                                    : std::optional<int64_t>()});
    if (row.status != store::KeyStatus::kActive || row.alg != jose::to_string(alg_)) continue;
    auto opened = aead::open(secret_key_, row.private_jwk_encrypted, aad_for(row.kid));
    if (!opened) {
      return Err("signing key " + row.kid +
                 " does not decrypt: wrong secret key, or the row was tampered with");
    }
    auto private_jwk = jose::Jwk::parse(*opened);
    if (!private_jwk || !private_jwk->is_private() || !private_jwk->allows(alg_)) {
      return Err("signing key " + row.kid + " is not a private key for " + row.alg);
    }
    snapshot->active = std::make_shared<ActiveSigningKey>(
        ActiveSigningKey{row.kid, alg_, private_jwk->with_kid(row.kid)});
  }
  return std::shared_ptr<const Snapshot>(std::move(snapshot));
}

Result<Ok> SigningKeys::reload() {
  auto snapshot = read_store();
  if (!snapshot) return Err(snapshot.error());
  std::lock_guard lock(mutex_);
  snapshot_ = std::move(*snapshot);
  return Ok{};
}

Result<Ok> SigningKeys::load_or_create() {
  if (auto loaded = reload(); !loaded) return loaded;
  if (active()) return Ok{};
  auto row = generate(store::KeyStatus::kActive);
  if (!row) return Err(row.error());
  auto inserted = store_.insert(*row);
  // kConflict: another node created the first key at the same moment; use theirs.
  if (!inserted && inserted.error().code != store::StoreError::Code::kConflict) {
    return Err("cannot store the signing key: " + describe(inserted.error()));
  }
  if (auto loaded = reload(); !loaded) return loaded;
  if (!active()) return Err(std::string("no active signing key after creating one"));
  return Ok{};
}

std::shared_ptr<const ActiveSigningKey> SigningKeys::active() const {
  std::lock_guard lock(mutex_);
  return snapshot_ ? snapshot_->active : nullptr;
}

jose::Jwks SigningKeys::jwks() const {
  std::shared_ptr<const Snapshot> snapshot;
  {
    std::lock_guard lock(mutex_);
    snapshot = snapshot_;
  }
  jose::Jwks set;
  if (!snapshot) return set;
  const int64_t now = clock_.now();
  for (const Published& p : snapshot->published) {
    if (p.retire_after && *p.retire_after <= now) continue;
    set.add(p.public_jwk);
  }
  return set;
}

Result<std::string> SigningKeys::introduce_next() {
  auto rows = store_.list();
  if (!rows) return Err("cannot list signing keys: " + describe(rows.error()));
  for (const store::SigningKey& k : *rows) {
    if (k.status == store::KeyStatus::kNext && k.alg == jose::to_string(alg_)) {
      return Err("conflict: key " + k.kid + " is already next; activate it first");
    }
  }
  auto row = generate(store::KeyStatus::kNext);
  if (!row) return Err(row.error());
  auto inserted = store_.insert(*row);
  if (!inserted) return Err("cannot store the next key: " + describe(inserted.error()));
  if (auto loaded = reload(); !loaded) return Err(loaded.error());
  return row->kid;
}

Result<Ok> SigningKeys::activate_next(int64_t max_token_lifetime, int64_t min_published) {
  auto rows = store_.list();
  if (!rows) return Err("cannot list signing keys: " + describe(rows.error()));
  const store::SigningKey* next = nullptr;
  for (const store::SigningKey& k : *rows) {
    if (k.status == store::KeyStatus::kNext && k.alg == jose::to_string(alg_)) next = &k;
  }
  if (!next) return Err(std::string("no next key to activate: introduce one first"));
  const int64_t now = clock_.now();
  if (now - next->created_at < min_published) {
    return Err("key " + next->kid + " has been published for " +
               std::to_string(now - next->created_at) + "s, less than the " +
               std::to_string(min_published) + "s JWKS caches need");
  }
  auto activated = store_.activate(next->kid, now, now + max_token_lifetime);
  if (!activated) return Err("cannot activate " + next->kid + ": " + describe(activated.error()));
  return reload();
}

Result<int64_t> SigningKeys::delete_expired() {
  auto deleted = store_.delete_expired_retired(clock_.now());
  if (!deleted) return Err("cannot delete retired keys: " + describe(deleted.error()));
  if (auto loaded = reload(); !loaded) return Err(loaded.error());
  return *deleted;
}

}  // namespace tessera::oauth
