// What the request and answer oracles (request_parser_oracle.h, response_parser_oracle.h) share:
// feeding our parser in pieces as the server and the clients do, reading a message's text for the
// differences with Beast that are on purpose, comparing field lists, and mutating seed messages.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "http/http1_parser.h"

namespace tessera::testing {

inline std::string escaped(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) {
      out += c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", u);
      out += buf;
    }
  }
  return out;
}

inline std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// How a parse ended, for messages.
inline const char* verdict(bool done, http::internal::Http1Parser::Error error) {
  return done ? "done"
              : (error != http::internal::Http1Parser::Error::kNone ? "refused" : "incomplete");
}

// Feeds `wire` to `parser` in pieces of `piece` bytes (0: all at once), keeping what it left and
// appending the next piece, until it is done or refuses; returns the bytes it consumed.
inline size_t feed(http::internal::Http1Parser& parser, std::string_view wire, size_t piece) {
  using Error = http::internal::Http1Parser::Error;
  if (piece == 0) piece = wire.size() + 1;
  std::string buffer;
  size_t fed = 0;
  size_t consumed = 0;
  while (!parser.done() && parser.error() == Error::kNone && fed < wire.size()) {
    const size_t take = std::min(piece, wire.size() - fed);
    buffer.append(wire.substr(fed, take));
    fed += take;
    const size_t n = parser.put(buffer);
    consumed += n;
    buffer.erase(0, n);
  }
  return consumed;
}

// RFC 9112 §7.1.1, RFC 9110 §5.6.4: a quoted chunk-ext-val holds no controls but HTAB; Beast
// takes them. Coarsely: a control between a ";" and the next CRLF after the header section
// (`head_size` bytes).
inline bool control_in_chunk_extension(std::string_view wire, size_t head_size) {
  if (head_size >= wire.size()) return false;
  const std::string_view content = wire.substr(head_size);
  for (size_t semi = content.find(';'); semi != std::string_view::npos;
       semi = content.find(';', semi + 1)) {
    for (char c : content.substr(semi, content.find("\r\n", semi) - semi)) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7F) return true;
    }
  }
  return false;
}

// RFC 9110 §6.5.1: we discard a trailer's fields; Beast reads the ones it interprets (`names`,
// lowercase, each after a CRLF) as if in the header section, and may refuse them or act on them.
// Coarsely: one of them anywhere after the header section.
inline bool interpreted_field_in_trailer(std::string_view wire, size_t head_size,
                                         std::initializer_list<const char*> names) {
  if (head_size >= wire.size()) return false;
  const std::string content = lowercase(wire.substr(head_size));
  return std::any_of(names.begin(), names.end(),
                     [&](const char* name) { return content.find(name) != std::string::npos; });
}

// RFC 9112 §5.2: obs-fold, which Beast joins to the field before and we refuse: CRLF then
// whitespace in the header section, or anywhere in a chunked content (where a trailer may be).
inline bool obs_fold(std::string_view wire, bool chunked) {
  const size_t head_end = wire.find("\r\n\r\n");
  for (size_t at = wire.find("\r\n"); at != std::string_view::npos && at + 2 < wire.size();
       at = wire.find("\r\n", at + 2)) {
    if ((wire[at + 2] == ' ' || wire[at + 2] == '\t') && (at < head_end || chunked)) return true;
  }
  return false;
}

// Whether the field lists ("name: value") differ. Beast keeps fields of one name together (an
// insert goes after the last of its name), so they are compared as multisets; the order is the
// unit tests' to check. Beast adds a trailer's fields to the header's and we discard them, so
// with Transfer-Encoding in the header section Beast's need only include ours.
inline bool fields_differ(std::vector<std::string> ours, std::vector<std::string> beast,
                          std::string_view wire) {
  std::sort(ours.begin(), ours.end());
  std::sort(beast.begin(), beast.end());
  if (!std::includes(beast.begin(), beast.end(), ours.begin(), ours.end())) return true;
  const bool may_have_trailer =
      lowercase(wire.substr(0, wire.find("\r\n\r\n"))).find("transfer-encoding") !=
      std::string::npos;
  return !may_have_trailer && ours != beast;
}

// One to three random edits of `wire` from `alphabet`: a byte replaced, inserted or deleted, or
// the message cut short.
inline void mutate(std::string& wire, std::mt19937& rng, const std::string& alphabet) {
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    const size_t at = rng() % (wire.size() + 1);
    switch (rng() % 4) {
      case 0:
        if (at < wire.size()) wire[at] = alphabet[rng() % alphabet.size()];
        break;
      case 1:
        wire.insert(at, 1, alphabet[rng() % alphabet.size()]);
        break;
      case 2:
        if (at < wire.size()) wire.erase(at, 1);
        break;
      default:
        wire.resize(at);
        break;
    }
  }
}

}  // namespace tessera::testing
