// Password hashing with argon2id (RFC 9106) through libargon2, stored in the PHC string format
// ($argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>) so the parameters travel with each hash and can
// be raised later (needs_rehash) without invalidating existing ones.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tessera::identity {

// Defaults: OWASP Password Storage Cheat Sheet's argon2id configuration (m=19 MiB, t=2, p=1),
// for a server that hashes on every login; RFC 9106 §4's second recommended option (64 MiB, t=3)
// is stronger and costs about four times the memory per concurrent login.
struct PasswordHashParams {
  uint32_t memory_kib = 19456;
  uint32_t iterations = 2;
  uint32_t parallelism = 1;
  uint32_t salt_bytes = 16;  // RFC 9106 §3.1: 128 bits
  uint32_t hash_bytes = 32;
};

// Longer passwords are refused before hashing: argon2 would accept them, but an attacker could
// make every login hash megabytes (a denial of service). 1024 bytes is far above any passphrase.
constexpr size_t kMaxPasswordBytes = 1024;

enum class PasswordError {
  kEmpty,     // an empty password
  kTooLong,   // over kMaxPasswordBytes
  kInternal,  // libargon2 failed (e.g. out of memory, invalid parameters)
};
std::string_view to_string(PasswordError error);

Result<std::string, PasswordError> hash_password(std::string_view password,
                                                 const PasswordHashParams& params = {});

// True when `password` matches `encoded` (constant time in the password, argon2id_verify).
// False for a mismatch, a malformed or non-argon2id hash, an empty or over-long password.
bool verify_password(std::string_view password, std::string_view encoded);

// Spends the time of one verification against a fixed hash made with the default parameters,
// for logins naming an unknown user: the answer takes as long as for a known one, so timing does
// not reveal which usernames exist. Always false.
bool verify_password_for_unknown_user(std::string_view password);

// True when `encoded` was made with parameters other than `params` (or is not an argon2id PHC
// string at all): after a successful login the caller re-hashes and stores the new hash.
bool needs_rehash(std::string_view encoded, const PasswordHashParams& params = {});

}  // namespace tessera::identity
