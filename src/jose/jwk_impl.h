// The inside of a Jwk: the OpenSSL key (or HMAC secret), its validated shape,
// and the per-key context pools the signature hot path reuses. Internal.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "jose/jose.h"
#include "jose/ossl.h"

namespace tessera::jose {

enum class Curve { kNone, kP256, kP384, kP521, kEd25519 };

inline constexpr size_t kAlgCount = 13;
inline size_t alg_index(Alg a) { return static_cast<size_t>(a); }

// Key material shared by every Jwk copy that only changes kid/alg/use
// (with_kid, with_alg): the pools stay warm across those copies.
struct KeyMaterial {
  KeyType kty = KeyType::kOct;
  Curve crv = Curve::kNone;
  bool is_private = false;
  ossl::PkeyPtr pkey;           // null for oct
  std::string secret;           // oct only
  int bits = 0;                 // RSA modulus bits, EC field bits
  size_t sig_bytes = 0;         // RSA modulus bytes, ECDSA P1363 length (2 * field), Ed25519 64
  std::string certificate_der;  // RFC 7517 §4.7 x5c[0], decoded; empty without x5c

  mutable std::array<ossl::ContextPool<ossl::PkeyCtxPtr>, kAlgCount> verify_ctx;
  mutable std::array<ossl::ContextPool<ossl::PkeyCtxPtr>, kAlgCount> sign_ctx;
  mutable ossl::ContextPool<ossl::MdCtxPtr> ed_verify_ctx;
  mutable ossl::ContextPool<ossl::MdCtxPtr> ed_sign_ctx;

  KeyMaterial() = default;
  KeyMaterial(const KeyMaterial&) = delete;
  KeyMaterial& operator=(const KeyMaterial&) = delete;
  ~KeyMaterial();
};

struct Jwk::Impl {
  std::shared_ptr<const KeyMaterial> m;
  std::string kid;
  std::optional<Alg> alg;
  std::optional<std::string> use;  // RFC 7517 §4.2; "sig" or absent to be usable here
};

}  // namespace tessera::jose
