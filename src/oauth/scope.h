// Scopes (RFC 6749 §3.3): a space-delimited list of case-sensitive tokens.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "oauth/error.h"

namespace tessera::oauth {

// RFC 6749 §3.3: scope = scope-token *( SP scope-token ), scope-token = 1*( %x21 / %x23-5B /
// %x5D-7E ). nullopt on anything else (double spaces, quotes, backslashes, non-ASCII).
// Repeated tokens collapse to one; order is kept.
std::optional<std::vector<std::string>> parse_scope(std::string_view text);
std::string join_scope(const std::vector<std::string>& scopes);

// The scopes a token gets: `requested` (the raw parameter, absent = nullopt) must be within
// `allowed`, the client's allow-list; omitted means the client's allow-list, its default
// (RFC 6749 §3.3: "the authorization server MUST either process the request using a pre-defined
// default value or fail"). invalid_scope otherwise.
Result<std::vector<std::string>, OAuthError> grant_scopes(std::optional<std::string_view> requested,
                                                          const std::vector<std::string>& allowed);

}  // namespace tessera::oauth
