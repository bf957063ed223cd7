#include "identity/password_hash.h"

#include <argon2.h>

#include <charconv>
#include <vector>

#include "core/crypto.h"

namespace tessera::identity {

std::string_view to_string(PasswordError error) {
  switch (error) {
    case PasswordError::kEmpty:
      return "password must not be empty";
    case PasswordError::kTooLong:
      return "password is longer than 1024 bytes";
    case PasswordError::kInternal:
      return "password hashing failed";
  }
  return "unknown password error";
}

Result<std::string, PasswordError> hash_password(std::string_view password,
                                                 const PasswordHashParams& params) {
  if (password.empty()) return Err(PasswordError::kEmpty);
  if (password.size() > kMaxPasswordBytes) return Err(PasswordError::kTooLong);
  const std::string salt = crypto::random_bytes(params.salt_bytes);
  const size_t encoded_len =
      argon2_encodedlen(params.iterations, params.memory_kib, params.parallelism, params.salt_bytes,
                        params.hash_bytes, Argon2_id);
  std::vector<char> encoded(encoded_len);
  const int rc = argon2id_hash_encoded(params.iterations, params.memory_kib, params.parallelism,
                                       password.data(), password.size(), salt.data(), salt.size(),
                                       params.hash_bytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return Err(PasswordError::kInternal);
  return std::string(encoded.data());
}

bool verify_password(std::string_view password, std::string_view encoded) {
  if (password.empty() || password.size() > kMaxPasswordBytes) return false;
  if (!encoded.starts_with("$argon2id$")) return false;
  const std::string terminated(encoded);  // argon2id_verify reads a C string
  return argon2id_verify(terminated.c_str(), password.data(), password.size()) == ARGON2_OK;
}

bool verify_password_for_unknown_user(std::string_view password) {
  // Made once per process with the default parameters, from a random password nobody knows.
  static const std::string dummy = [] {
    auto hashed = hash_password(crypto::random_token(16));
    return hashed ? *hashed : std::string();
  }();
  if (!dummy.empty()) (void)verify_password(password, dummy);
  return false;
}

namespace {

// Reads "<key>=<number>" at the front of `text`, advancing past it.
bool read_param(std::string_view& text, std::string_view key, uint32_t& out) {
  if (!text.starts_with(key) || text.size() <= key.size() || text[key.size()] != '=') {
    return false;
  }
  text.remove_prefix(key.size() + 1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end == text.data()) return false;
  text.remove_prefix(static_cast<size_t>(end - text.data()));
  return true;
}

// The unpadded standard base64 length of `bytes` bytes, as in PHC strings.
size_t b64_len(size_t bytes) { return (bytes * 4 + 2) / 3; }

}  // namespace

bool needs_rehash(std::string_view encoded, const PasswordHashParams& params) {
  // $argon2id$v=19$m=M,t=T,p=P$salt$hash
  std::string_view rest = encoded;
  if (!rest.starts_with("$argon2id$")) return true;
  rest.remove_prefix(10);
  uint32_t version = 0, m = 0, t = 0, p = 0;
  if (!read_param(rest, "v", version) || version != ARGON2_VERSION_13) return true;
  if (!rest.starts_with("$")) return true;
  rest.remove_prefix(1);
  if (!read_param(rest, "m", m) || !rest.starts_with(",")) return true;
  rest.remove_prefix(1);
  if (!read_param(rest, "t", t) || !rest.starts_with(",")) return true;
  rest.remove_prefix(1);
  if (!read_param(rest, "p", p) || !rest.starts_with("$")) return true;
  rest.remove_prefix(1);
  const size_t dollar = rest.find('$');
  if (dollar == std::string_view::npos) return true;
  const size_t salt_len = dollar, hash_len = rest.size() - dollar - 1;
  return m != params.memory_kib || t != params.iterations || p != params.parallelism ||
         salt_len != b64_len(params.salt_bytes) || hash_len != b64_len(params.hash_bytes);
}

}  // namespace tessera::identity
