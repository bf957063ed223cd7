// The token endpoint (RFC 6749 §3.2): request checks common to every grant, client
// authentication, the grant type allow-list, then the grant itself.
#pragma once

#include "http/message.h"
#include "oauth/client_auth.h"
#include "oauth/dpop.h"
#include "oauth/fapi.h"
#include "oauth/grant.h"

namespace tessera::oauth {

class TokenEndpoint {
 public:
  // `profile`: FAPI 2.0 for every client (sender-constrained tokens only, §5.3.2.1).
  TokenEndpoint(const GrantRegistry& grants, const ClientAuthenticator& clients,
                const DpopProofs& dpop, ProfileOptions profile = {});
  // POST only (the router answers 405 to the rest).
  http::Response handle(const http::Request& request) const;

 private:
  Result<TokenResponse, OAuthError> process(const http::Request& request) const;

  const GrantRegistry& grants_;
  const ClientAuthenticator& clients_;
  const DpopProofs& dpop_;
  ProfileOptions profile_;
};

// The form body of a POST to the token or the pushed authorization request endpoint: form
// encoded (RFC 6749 §3.2, RFC 9126 §2.1), at most 64 parameters, none repeated but resource and
// audience (RFC 6749 §3.1); invalid_request otherwise.
Result<http::Params, OAuthError> read_form(const http::Request& request);

// RFC 6749 §5.1 success body with Cache-Control: no-store and Pragma: no-cache.
http::Response token_response(const TokenResponse& token);

}  // namespace tessera::oauth
