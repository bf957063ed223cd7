// Resource indicators (RFC 8707): which audiences a token is for.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "http/message.h"
#include "oauth/error.h"

namespace tessera::oauth {

// The audiences of a token from the request's `resource` parameters (RFC 8707 §2: absolute URIs
// without a fragment, may repeat) and `audience` parameters (RFC 8693 §2.1 spelling, logical
// names), each of which must be in the client's `allowed` list; invalid_target otherwise.
// Neither given: the client's allowed audiences (the default); invalid_target when it has none,
// since an access token always names its audience (RFC 9068 §2.2).
Result<std::vector<std::string>, OAuthError> grant_audiences(
    const http::Params& params, const std::vector<std::string>& allowed);

}  // namespace tessera::oauth
