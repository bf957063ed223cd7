// Authenticated encryption for secrets at rest (private signing keys, TOTP
// seeds): AES-256-GCM from OpenSSL with a random 96-bit nonce (NIST SP 800-38D
// §8.2.2). Output: version byte || nonce (12) || ciphertext || tag (16). The
// associated data binds a ciphertext to its place (e.g. "signing_key:<kid>"),
// so a blob copied to another row does not decrypt.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tessera::aead {

constexpr size_t kKeyBytes = 32;

// `key` must be kKeyBytes long (checked: a wrong size is a programming error
// and returns an empty string).
std::string seal(std::string_view key, std::string_view plaintext, std::string_view aad);
// nullopt when the blob was tampered with, the key or the aad is wrong, or the
// format is unknown.
std::optional<std::string> open(std::string_view key, std::string_view sealed,
                                std::string_view aad);

// The instance key that encrypts secrets at rest, from the environment
// variable TESSERA_SECRET_KEY (base64url of 32 bytes) or, when `file` is
// non-empty, from that file (same encoding, surrounding whitespace ignored).
Result<std::string> load_key(const std::string& file);

}  // namespace tessera::aead
