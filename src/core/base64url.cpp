#include "core/base64url.h"

#include <array>
#include <cstdint>

namespace tessera {
namespace {

constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char kStdAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> make_table(const char* alphabet) {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kUrlTable = make_table(kUrlAlphabet);
constexpr auto kStdTable = make_table(kStdAlphabet);

std::string encode_with(std::string_view in, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t n = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  size_t rest = in.size() - i;
  if (rest == 1) {
    uint32_t n = uint32_t{p[i]} << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    uint32_t n = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

std::optional<std::string> decode_unpadded(std::string_view in, const std::array<int8_t, 256>& t) {
  const size_t rest = in.size() % 4;
  if (rest == 1) return std::nullopt;
  std::string out(in.size() / 4 * 3 + (rest ? rest - 1 : 0), '\0');
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  char* o = out.data();
  const size_t full = in.size() - rest;
  // Four characters to three bytes per step; an invalid character makes the
  // OR of the table entries negative.
  for (size_t i = 0; i < full; i += 4) {
    const int8_t a = t[p[i]], b = t[p[i + 1]], c = t[p[i + 2]], d = t[p[i + 3]];
    if ((a | b | c | d) < 0) return std::nullopt;
    uint32_t n = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
    *o++ = static_cast<char>(n >> 16);
    *o++ = static_cast<char>(n >> 8);
    *o++ = static_cast<char>(n);
  }
  if (rest >= 2) {
    const int8_t a = t[p[full]], b = t[p[full + 1]], c = rest == 3 ? t[p[full + 2]] : int8_t{0};
    if ((a | b | c) < 0) return std::nullopt;
    uint32_t n = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6);
    // Unused trailing bits must be zero: one canonical spelling per value.
    if ((rest == 2 && (n & 0xFFFF)) || (rest == 3 && (n & 0xFF))) return std::nullopt;
    *o++ = static_cast<char>(n >> 16);
    if (rest == 3) *o++ = static_cast<char>(n >> 8);
  }
  return out;
}

}  // namespace

std::string base64url::encode(std::string_view bytes) {
  return encode_with(bytes, kUrlAlphabet, false);
}
std::optional<std::string> base64url::decode(std::string_view text) {
  return decode_unpadded(text, kUrlTable);
}

std::string base64::encode(std::string_view bytes) {
  return encode_with(bytes, kStdAlphabet, true);
}

std::optional<std::string> base64::decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  return decode_unpadded(text.substr(0, text.size() - pad), kStdTable);
}

}  // namespace tessera
