// Space-separated lists, as scope (RFC 6749 §3.3), acr_values (RFC 9470 §3) and algs (RFC 9449
// §7.1) are written: one joiner for the authorization server, the SDK and the gateway.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace tessera {

inline std::string join_space_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ' ';
    out += item;
  }
  return out;
}

// Whether `items` (scopes, grant types, URIs, audiences) holds `value`, compared exactly.
inline bool list_contains(const std::vector<std::string>& items, std::string_view value) {
  return std::find(items.begin(), items.end(), value) != items.end();
}

}  // namespace tessera
