#include "identity/totp.h"

#include "core/crypto.h"
#include "identity/base32.h"

namespace tessera::identity {

std::string_view to_string(TotpAlgorithm algorithm) {
  switch (algorithm) {
    case TotpAlgorithm::kSha1:
      return "SHA1";
    case TotpAlgorithm::kSha256:
      return "SHA256";
    case TotpAlgorithm::kSha512:
      return "SHA512";
  }
  return "SHA1";
}

namespace {

crypto::Digest digest_of(TotpAlgorithm algorithm) {
  switch (algorithm) {
    case TotpAlgorithm::kSha1:
      return crypto::Digest::kSha1;
    case TotpAlgorithm::kSha256:
      return crypto::Digest::kSha256;
    case TotpAlgorithm::kSha512:
      return crypto::Digest::kSha512;
  }
  return crypto::Digest::kSha1;
}

// RFC 3986 §2.3 unreserved characters pass; everything else is %XX.
std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace

std::string hotp(std::string_view secret, uint64_t counter, int digits, TotpAlgorithm algorithm) {
  if (digits < 6 || digits > 8) return {};
  std::string message(8, '\0');
  for (int i = 7; i >= 0; --i) {
    message[static_cast<size_t>(i)] = static_cast<char>(counter & 0xff);
    counter >>= 8;
  }
  const std::string mac = crypto::hmac(digest_of(algorithm), secret, message);
  // RFC 4226 §5.4: the low 4 bits of the last byte pick the offset of 31 bits.
  const size_t offset = static_cast<unsigned char>(mac.back()) & 0x0f;
  const uint32_t binary =
      (static_cast<uint32_t>(static_cast<unsigned char>(mac[offset]) & 0x7f) << 24) |
      (static_cast<uint32_t>(static_cast<unsigned char>(mac[offset + 1])) << 16) |
      (static_cast<uint32_t>(static_cast<unsigned char>(mac[offset + 2])) << 8) |
      static_cast<uint32_t>(static_cast<unsigned char>(mac[offset + 3]));
  uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  std::string code = std::to_string(binary % modulus);
  return std::string(static_cast<size_t>(digits) - code.size(), '0') + code;
}

int64_t totp_step(int64_t unix_time, const TotpParams& params) {
  if (params.period <= 0) return 0;
  // Floor division, so times before the epoch do not round toward zero.
  int64_t step = unix_time / params.period;
  if (unix_time % params.period < 0) --step;
  return step;
}

std::string totp(std::string_view secret, int64_t unix_time, const TotpParams& params) {
  return hotp(secret, static_cast<uint64_t>(totp_step(unix_time, params)), params.digits,
              params.algorithm);
}

std::optional<int64_t> verify_totp(std::string_view secret, std::string_view code,
                                   int64_t unix_time, const TotpParams& params,
                                   std::optional<int64_t> last_used_step) {
  if (params.digits < 6 || params.digits > 8 || params.period <= 0 || params.skew_steps < 0 ||
      code.size() != static_cast<size_t>(params.digits)) {
    return std::nullopt;
  }
  const int64_t now = totp_step(unix_time, params);
  std::optional<int64_t> matched;
  for (int64_t step = now - params.skew_steps; step <= now + params.skew_steps; ++step) {
    if (step < 0) continue;
    const bool equal = crypto::equal_ct(
        hotp(secret, static_cast<uint64_t>(step), params.digits, params.algorithm), code);
    const bool fresh = !last_used_step || step > *last_used_step;
    // Keep the earliest fresh match; no early exit, so timing does not tell which step matched.
    if (equal && fresh && !matched) matched = step;
  }
  return matched;
}

std::string new_totp_secret(size_t bytes) { return crypto::random_bytes(bytes); }

std::string otpauth_uri(std::string_view issuer, std::string_view account, std::string_view secret,
                        const TotpParams& params) {
  std::string uri = "otpauth://totp/";
  uri += percent_encode(issuer);
  uri += ':';
  uri += percent_encode(account);
  uri += "?secret=" + base32::encode(secret, /*pad=*/false);
  uri += "&issuer=" + percent_encode(issuer);
  uri += "&algorithm=" + std::string(to_string(params.algorithm));
  uri += "&digits=" + std::to_string(params.digits);
  uri += "&period=" + std::to_string(params.period);
  return uri;
}

}  // namespace tessera::identity
