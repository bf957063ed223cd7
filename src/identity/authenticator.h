// The checks behind a login: the password (argon2id, with throttling per account and per
// address) and the TOTP second factor (decrypting the seed, refusing replays). The login pages
// and sessions sit on top; this answers only "is this the user, and what did they prove".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "identity/login_throttle.h"
#include "identity/password_hash.h"
#include "identity/totp.h"
#include "store/user_store.h"

namespace tessera::identity {

enum class AuthError {
  // Unknown user, wrong password and disabled user alike, so the answer cannot be used to find
  // out which usernames exist or are disabled.
  kInvalidCredentials,
  kThrottled,  // too many failures for the account or the address; see retry_after
  kInternal,   // the store failed; nothing was decided
};
std::string_view to_string(AuthError error);

struct AuthFailure {
  AuthError error;
  int64_t retry_after = 0;  // seconds, when kThrottled
};

enum class SecondFactorError {
  kNotEnrolled,  // the user has no TOTP seed
  kInvalidCode,  // wrong, expired, or already used (RFC 6238 §5.2)
  kThrottled,    // too many wrong codes for the account; see retry_after
  kInternal,     // the seed does not decrypt (wrong instance key) or the store failed
};
std::string_view to_string(SecondFactorError error);

struct SecondFactorFailure {
  SecondFactorError error;
  int64_t retry_after = 0;
};

// TOTP seeds at rest: sealed with the instance key (core/aead) and bound to the user's id, so a
// blob copied to another user's row does not decrypt.
std::string seal_totp_secret(std::string_view key, std::string_view user_id,
                             std::string_view secret);
std::optional<std::string> open_totp_secret(std::string_view key, std::string_view user_id,
                                            std::string_view sealed);

struct AuthenticatorOptions {
  PasswordHashParams password;  // new hashes; older ones are upgraded on the next login
  TotpParams totp;
};

class Authenticator {
 public:
  // `secret_key` is the aead instance key (aead::load_key) that seals TOTP seeds.
  Authenticator(store::UserStore& users, LoginThrottle& throttle, const Clock& clock,
                std::string secret_key, AuthenticatorOptions options = {});

  // `address` is the client's network address, the second throttling key.
  Result<store::User, AuthFailure> authenticate(std::string_view username,
                                                std::string_view password,
                                                std::string_view address);

  // Checks a TOTP code of a user who passed authenticate() and records its time step, so the
  // same code is refused afterwards, here and on every node sharing the store.
  Result<Ok, SecondFactorFailure> verify_second_factor(const store::User& user,
                                                       std::string_view code);

 private:
  store::UserStore& users_;
  LoginThrottle& throttle_;
  const Clock& clock_;
  std::string secret_key_;
  AuthenticatorOptions options_;
  std::string dummy_hash_;  // for unknown users: same parameters, same time
};

}  // namespace tessera::identity
