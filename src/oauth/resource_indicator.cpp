#include "oauth/resource_indicator.h"

#include <algorithm>
#include <cctype>

namespace tessera::oauth {
namespace {

// RFC 3986 §4.3 absolute-URI: scheme ":" hier-part, no fragment (RFC 8707 §2).
bool is_absolute_uri_without_fragment(std::string_view uri) {
  size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == uri.size()) return false;
  if (!std::isalpha(static_cast<unsigned char>(uri[0]))) return false;
  for (size_t i = 1; i < colon; ++i) {
    char c = uri[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return uri.find('#') == std::string_view::npos &&
         std::none_of(uri.begin(), uri.end(), [](char c) {
           return static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F;
         });
}

}  // namespace

Result<std::vector<std::string>, OAuthError> grant_audiences(
    const http::Params& params, const std::vector<std::string>& allowed) {
  std::vector<std::string> out;
  auto take = [&](const std::string& value) -> std::optional<OAuthError> {
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      return OAuthError::invalid_target("the client may not ask for a token for " + value);
    }
    if (std::find(out.begin(), out.end(), value) == out.end()) out.push_back(value);
    return std::nullopt;
  };
  for (const auto& [name, value] : params) {
    if (name == "resource") {
      if (!is_absolute_uri_without_fragment(value)) {
        return Err(OAuthError::invalid_target("resource must be an absolute URI without fragment"));
      }
      if (auto e = take(value)) return Err(std::move(*e));
    } else if (name == "audience") {
      if (value.empty()) return Err(OAuthError::invalid_target("audience must not be empty"));
      if (auto e = take(value)) return Err(std::move(*e));
    }
  }
  if (!out.empty()) return out;
  if (allowed.empty()) {
    return Err(OAuthError::invalid_target("the client has no audience to issue a token for"));
  }
  return allowed;
}

}  // namespace tessera::oauth
