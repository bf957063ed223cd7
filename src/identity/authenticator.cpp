#include "identity/authenticator.h"

#include "core/aead.h"
#include "core/crypto.h"

namespace tessera::identity {

std::string_view to_string(AuthError error) {
  switch (error) {
    case AuthError::kInvalidCredentials:
      return "invalid_credentials";
    case AuthError::kThrottled:
      return "throttled";
    case AuthError::kInternal:
      return "internal";
  }
  return "internal";
}

std::string_view to_string(SecondFactorError error) {
  switch (error) {
    case SecondFactorError::kNotEnrolled:
      return "not_enrolled";
    case SecondFactorError::kInvalidCode:
      return "invalid_code";
    case SecondFactorError::kThrottled:
      return "throttled";
    case SecondFactorError::kInternal:
      return "internal";
  }
  return "internal";
}

namespace {
std::string totp_aad(std::string_view user_id) { return "totp:" + std::string(user_id); }
}  // namespace

std::string seal_totp_secret(std::string_view key, std::string_view user_id,
                             std::string_view secret) {
  return aead::seal(key, secret, totp_aad(user_id));
}

std::optional<std::string> open_totp_secret(std::string_view key, std::string_view user_id,
                                            std::string_view sealed) {
  return aead::open(key, sealed, totp_aad(user_id));
}

Authenticator::Authenticator(store::UserStore& users, LoginThrottle& throttle, const Clock& clock,
                             std::string secret_key, AuthenticatorOptions options)
    : users_(users),
      throttle_(throttle),
      clock_(clock),
      secret_key_(std::move(secret_key)),
      options_(options) {
  auto dummy = hash_password(crypto::random_token(16), options_.password);
  if (dummy) dummy_hash_ = std::move(*dummy);
}

Result<store::User, AuthFailure> Authenticator::authenticate(std::string_view username,
                                                             std::string_view password,
                                                             std::string_view address) {
  // Names that cannot exist are throttled under their raw spelling: they still cost a hash.
  const std::string account = store::canonical_username(username).value_or(std::string(username));
  if (auto wait = throttle_.retry_after(account, address)) {
    return Err(AuthFailure{AuthError::kThrottled, *wait});
  }
  auto found = users_.find_by_username(username);
  if (!found) return Err(AuthFailure{AuthError::kInternal});
  if (!*found) {
    if (!dummy_hash_.empty()) (void)verify_password(password, dummy_hash_);
    throttle_.record_failure(account, address);
    return Err(AuthFailure{AuthError::kInvalidCredentials});
  }
  store::User& user = **found;
  // A disabled user's password is still checked, so the time taken does not tell.
  const bool password_ok = verify_password(password, user.password_hash);
  if (!password_ok || user.disabled) {
    throttle_.record_failure(account, address);
    return Err(AuthFailure{AuthError::kInvalidCredentials});
  }
  // With a second factor the login is not over yet: the failures counted so far (wrong codes
  // included) stand until the code is right, or entering the password again would reset the
  // limit on guessing codes (RFC 4226 §7.3).
  if (!user.totp_secret_encrypted) throttle_.record_success(account);
  if (needs_rehash(user.password_hash, options_.password)) {
    // Best effort: the login stands even if the upgrade cannot be stored now.
    if (auto rehashed = hash_password(password, options_.password)) {
      if (users_.set_password_hash(user.id, *rehashed)) user.password_hash = std::move(*rehashed);
    }
  }
  return std::move(user);
}

Result<Ok, SecondFactorFailure> Authenticator::verify_second_factor(const store::User& user,
                                                                    std::string_view code) {
  // Second-factor failures count against the account, as password failures do: six digits fall
  // to guessing without a limit.
  const std::string account = store::canonical_username(user.username).value_or(user.username);
  if (auto wait = throttle_.retry_after(account, {})) {
    return Err(SecondFactorFailure{SecondFactorError::kThrottled, *wait});
  }
  // Read the row again: another node may have used a code (totp_last_step) since `user` was
  // loaded, or the seed may have changed.
  auto current = users_.find_by_id(user.id);
  if (!current) return Err(SecondFactorFailure{SecondFactorError::kInternal});
  if (!*current || !(*current)->totp_secret_encrypted) {
    return Err(SecondFactorFailure{SecondFactorError::kNotEnrolled});
  }
  const store::User& fresh = **current;
  auto secret = open_totp_secret(secret_key_, fresh.id, *fresh.totp_secret_encrypted);
  if (!secret) return Err(SecondFactorFailure{SecondFactorError::kInternal});
  auto step = verify_totp(*secret, code, clock_.now(), options_.totp, fresh.totp_last_step);
  if (!step) {
    throttle_.record_failure(account, {});
    return Err(SecondFactorFailure{SecondFactorError::kInvalidCode});
  }
  auto recorded = users_.record_totp_step(fresh.id, *step);
  if (!recorded) return Err(SecondFactorFailure{SecondFactorError::kInternal});
  if (!*recorded) {
    // A concurrent login used this code (or a later one) first.
    throttle_.record_failure(account, {});
    return Err(SecondFactorFailure{SecondFactorError::kInvalidCode});
  }
  throttle_.record_success(account);
  return Ok{};
}

}  // namespace tessera::identity
