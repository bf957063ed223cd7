// Strict base64url (RFC 4648 §5) without padding, as JOSE requires (RFC 7515 §2).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tessera::base64url {

std::string encode(std::string_view bytes);

// Rejects padding, characters outside the alphabet, a length of 1 mod 4, and
// non-canonical encodings (non-zero trailing bits), so each value has exactly
// one accepted spelling.
std::optional<std::string> decode(std::string_view text);

}  // namespace tessera::base64url

namespace tessera::base64 {
// Standard base64 with padding (RFC 4648 §4), for x5c and PEM bodies.
std::string encode(std::string_view bytes);
std::optional<std::string> decode(std::string_view text);
}  // namespace tessera::base64
