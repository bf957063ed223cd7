// Token revocation (RFC 7009): a client tells the authorization server it no longer needs a
// token. Revoking a refresh token ends its grant: the whole family and the access tokens issued
// under it (RFC 7009 §2.1). A JWT access token (RFC 9068) cannot be recalled: it is verified
// without asking the server, so it stays usable until its exp. Access token lifetimes are short
// (minutes) for that reason; a client that needs recall uses opaque access tokens.
#pragma once

#include "core/result.h"
#include "http/message.h"
#include "oauth/client_auth.h"
#include "oauth/error.h"
#include "oauth/token_resolver.h"
#include "store/grant_store.h"

namespace tessera::oauth {

// What a revocation request did, for tests and logs (the client always gets the same answer).
enum class RevocationOutcome {
  kRevoked,       // an opaque token of the caller: revoked (a refresh token with its family)
  kNotRevocable,  // a JWT access token of the caller: valid until exp, nothing to do
  kNotActive,     // unknown, expired, already revoked, or not a token of ours
  kNotOwned,      // another client's token: left alone (RFC 7009 §2.1)
};

class RevocationEndpoint {
 public:
  RevocationEndpoint(const TokenResolver& tokens, const ClientAuthenticator& clients,
                     store::GrantStore& grants);
  // POST only. RFC 7009 §2.2: 200 with an empty body whether or not there was anything to
  // revoke; errors only for a malformed request, failed client authentication, or a store that
  // cannot be reached (503, §2.2.1).
  http::Response handle(const http::Request& request) const;

  Result<RevocationOutcome, OAuthError> revoke(const http::Request& request) const;

 private:
  const TokenResolver& tokens_;
  const ClientAuthenticator& clients_;
  store::GrantStore& grants_;
};

}  // namespace tessera::oauth
