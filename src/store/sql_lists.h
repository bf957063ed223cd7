// Internal to src/store: list columns (scopes, audiences, amr, redirect URIs, ...) are stored as
// JSON arrays of strings, and row locks are taken with a dialect-specific suffix.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "store/database.h"

namespace tessera::store {

inline std::string list_to_text(const std::vector<std::string>& list) {
  return json::Json(list).dump();
}

namespace detail {

// The shape list_to_text writes for printable ASCII without escapes, `["a","b"]`, read without
// building a JSON tree (5% of a refresh grant's CPU went to parsing such lists). nullopt for
// anything else, which the full parser then reads.
inline std::optional<std::vector<std::string>> plain_list_from_text(std::string_view text) {
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') return std::nullopt;
  std::vector<std::string> out;
  size_t i = 1;
  const size_t end = text.size() - 1;
  if (i == end) return out;  // []
  while (true) {
    if (text[i] != '"') return std::nullopt;
    const size_t start = ++i;
    while (i < end && text[i] != '"') {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c < 0x20 || c >= 0x7f || c == '\\') return std::nullopt;
      ++i;
    }
    if (i == end) return std::nullopt;  // unterminated
    out.emplace_back(text.substr(start, i - start));
    ++i;  // the closing quote
    if (i == end) return out;
    if (text[i] != ',') return std::nullopt;
    ++i;
  }
}

}  // namespace detail

// nullopt when the text is not a JSON array of strings (a corrupt row).
inline std::optional<std::vector<std::string>> list_from_text(const std::string& text) {
  if (auto plain = detail::plain_list_from_text(text)) return plain;
  auto parsed = json::parse_strict(text);
  if (!parsed || !parsed->is_array()) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(parsed->size());
  for (const auto& v : *parsed) {
    if (!v.is_string()) return std::nullopt;
    out.push_back(v.get<std::string>());
  }
  return out;
}

inline Value nullable_text(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  return *text;
}

// Appended to a SELECT inside a transaction to lock the rows it reads. PostgreSQL runs READ
// COMMITTED, so FOR UPDATE is what serializes writers on a row; SQLite has no row locks and
// needs none: BEGIN IMMEDIATE already holds the database's single write lock.
inline std::string_view for_update(Dialect dialect) {
  return dialect == Dialect::kPostgres ? " FOR UPDATE" : "";
}

}  // namespace tessera::store
