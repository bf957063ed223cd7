// One-time passwords for the second factor: HOTP (RFC 4226) and TOTP (RFC 6238), with the
// otpauth:// provisioning URI that authenticator apps scan.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tessera::identity {

enum class TotpAlgorithm { kSha1, kSha256, kSha512 };
std::string_view to_string(TotpAlgorithm algorithm);  // "SHA1" | "SHA256" | "SHA512"

struct TotpParams {
  TotpAlgorithm algorithm = TotpAlgorithm::kSha1;  // what every authenticator app supports
  int digits = 6;                                  // 6 to 8 (RFC 4226 §5.3)
  int64_t period = 30;                             // seconds per step (RFC 6238 §5.2)
  int64_t skew_steps = 1;  // steps accepted either side of now (RFC 6238 §5.2: clock drift)
};

// RFC 4226 §5.3: the `digits`-digit code for `counter` (dynamic truncation of the HMAC).
// Empty when digits is outside 6..8.
std::string hotp(std::string_view secret, uint64_t counter, int digits = 6,
                 TotpAlgorithm algorithm = TotpAlgorithm::kSha1);

// RFC 6238 §4.2: T = floor(unix_time / period).
int64_t totp_step(int64_t unix_time, const TotpParams& params = {});
std::string totp(std::string_view secret, int64_t unix_time, const TotpParams& params = {});

// Checks `code` against the steps within params.skew_steps of `unix_time` and returns the step
// it matched, which the caller records (UserStore::record_totp_step) so the code cannot be used
// again (RFC 6238 §5.2). Steps at or before `last_used_step` never match. Every candidate is
// compared, in constant time, whatever the outcome.
std::optional<int64_t> verify_totp(std::string_view secret, std::string_view code,
                                   int64_t unix_time, const TotpParams& params = {},
                                   std::optional<int64_t> last_used_step = std::nullopt);

// A fresh random secret: 20 bytes, the HMAC-SHA1 output size RFC 4226 §4 recommends.
std::string new_totp_secret(size_t bytes = 20);

// otpauth://totp/Issuer:account?secret=BASE32&issuer=Issuer&algorithm=SHA1&digits=6&period=30
// (the Key Uri Format of Google Authenticator), label and issuer percent-encoded.
std::string otpauth_uri(std::string_view issuer, std::string_view account, std::string_view secret,
                        const TotpParams& params = {});

}  // namespace tessera::identity
