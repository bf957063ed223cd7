// RFC 4648 §6 base32 (alphabet A-Z 2-7), the encoding of TOTP secrets in otpauth:// URIs and in
// authenticator apps.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tessera::identity::base32 {

// Upper case, with `=` padding to a multiple of 8 characters when `pad`.
std::string encode(std::string_view bytes, bool pad = true);

// Accepts upper or lower case, with or without trailing padding, ignoring spaces (apps show
// secrets in groups of four). nullopt for any other character, misplaced padding, or trailing
// bits that are not zero (a non-canonical encoding).
std::optional<std::string> decode(std::string_view text);

}  // namespace tessera::identity::base32
