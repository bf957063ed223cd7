// libFuzzer target: key parsing on arbitrary input (Jwk::parse, Jwks::parse,
// Jwks::parse_key_or_set, Jwk::from_pem), and the properties any key that
// parses must have: it serializes and parses back to the same RFC 7638
// thumbprint, its public half keeps the thumbprint, and a private key that
// allows an alg (and is long enough for it) signs a message its public half
// verifies.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "jose/jose.h"

namespace {

using tessera::jose::Alg;
using tessera::jose::Jwk;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

void exercise(const Jwk& key) {
  const std::string thumbprint = key.thumbprint();
  check(!thumbprint.empty());

  auto reparsed = Jwk::from_json(key.to_json(/*include_private=*/true));
  check(reparsed.ok());
  check(reparsed->thumbprint() == thumbprint);
  check(reparsed->is_private() == key.is_private());

  const Jwk pub = key.public_key();
  check(pub.thumbprint() == thumbprint);
  // The published form parses back (an oct key publishes no secret, so nothing).
  if (key.kty() != tessera::jose::KeyType::kOct) {
    auto pub_reparsed = Jwk::from_json(pub.to_json());
    check(pub_reparsed.ok() && pub_reparsed->thumbprint() == thumbprint);
    check(!pub_reparsed->is_private());
  }

  for (Alg alg : tessera::jose::all_algs()) {
    if (!key.allows(alg)) continue;
    check(pub.allows(alg));
    if (!key.is_private()) break;
    // One alg is enough: RSA signing is slow and the check is the same.
    auto jws = tessera::jose::sign("fuzz", key, alg);
    // allows() looks at type and curve; HMAC key length is checked when signing.
    if (!jws.ok() && jws.error() == tessera::jose::Status::kKeyTooSmall) continue;
    check(jws.ok());
    auto verified = tessera::jose::verify(*jws, pub);
    check(verified.ok() && verified->payload == "fuzz");
    break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto key = Jwk::parse(input)) exercise(*key);
  if (auto set = tessera::jose::Jwks::parse(input)) {
    for (const Jwk& key : set->keys()) exercise(key);
    check(tessera::jose::Jwks::from_json(set->to_json(true)).ok());
  }
  if (auto set = tessera::jose::Jwks::parse_key_or_set(input)) {
    for (const Jwk& key : set->keys()) check(!key.thumbprint().empty());
  }
  if (auto key = Jwk::from_pem(input)) exercise(*key);
  if (auto key = Jwk::from_pem(input, Alg::kES256)) check(key->allows(Alg::kES256));
  return 0;
}
