// One hexadecimal digit's value (RFC 5234 HEXDIG, either case), or -1: percent-decoding (RFC 3986
// §2.1), chunk sizes (RFC 9112 §7.1), IPv6 groups, JSON and CEL escapes.
#pragma once

namespace tessera {

constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace tessera
