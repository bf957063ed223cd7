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

// nullopt when the text is not a JSON array of strings (a corrupt row).
inline std::optional<std::vector<std::string>> list_from_text(const std::string& text) {
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
