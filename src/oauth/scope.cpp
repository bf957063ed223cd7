#include "oauth/scope.h"

#include <algorithm>

#include "core/space_list.h"

namespace tessera::oauth {
namespace {

bool is_scope_char(unsigned char c) {
  return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

}  // namespace

std::optional<std::vector<std::string>> parse_scope(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return std::nullopt;
  size_t start = 0;
  while (true) {
    size_t end = text.find(' ', start);
    std::string_view token = text.substr(start, end == std::string_view::npos ? end : end - start);
    if (token.empty()) return std::nullopt;  // leading, trailing or double space
    if (!std::all_of(token.begin(), token.end(),
                     [](char c) { return is_scope_char(static_cast<unsigned char>(c)); })) {
      return std::nullopt;
    }
    if (std::find(out.begin(), out.end(), token) == out.end()) out.emplace_back(token);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

std::string join_scope(const std::vector<std::string>& scopes) { return join_space_list(scopes); }

Result<std::vector<std::string>, OAuthError> grant_scopes(std::optional<std::string_view> requested,
                                                          const std::vector<std::string>& allowed) {
  if (!requested) return allowed;
  auto scopes = parse_scope(*requested);
  if (!scopes) return Err(OAuthError::invalid_scope("scope is not a space-delimited token list"));
  for (const std::string& s : *scopes) {
    if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
      return Err(OAuthError::invalid_scope("scope " + s + " is not allowed for this client"));
    }
  }
  return std::move(*scopes);
}

}  // namespace tessera::oauth
