// The UserInfo endpoint (OpenID Connect Core §5.3): a protected resource that returns claims
// about the user an access token was issued for, as far as the token's scopes allow (§5.4).
#pragma once

#include <string>
#include <vector>

#include "core/json.h"
#include "http/message.h"
#include "oauth/dpop.h"
#include "oauth/token_resolver.h"
#include "store/user_store.h"

namespace tessera::oauth {

// OpenID Core §5.4: the standard claims that the scopes profile, email, address and phone ask
// for, taken from the user's profile_json, plus `sub` (the user id). preferred_username falls
// back to the username and updated_at to the record's time when the profile has none.
json::Json standard_claims(const store::User& user, const std::vector<std::string>& scopes);

class UserInfoEndpoint {
 public:
  // `realm` names the protection space in WWW-Authenticate (RFC 6750 §3): the issuer.
  // `realm` is also the issuer: the endpoint's URL (a DPoP proof's htu) hangs off it, and off
  // `mtls_endpoint_base` too when the endpoint has an RFC 8705 §5 alias.
  UserInfoEndpoint(std::string realm, const TokenResolver& tokens, store::UserStore& users,
                   const DpopProofs& dpop, const std::string& mtls_endpoint_base = {});
  // GET and POST (OpenID Core §5.3.1). The access token comes in Authorization: Bearer
  // (RFC 6750 §2.1) or, in a POST, as access_token in a form body (§2.2); exactly one of them.
  // A DPoP-bound token comes in Authorization: DPoP with a proof (RFC 9449 §7.1).
  //   no token                 401, challenge without error (RFC 6750 §3.1)
  //   malformed request        400 invalid_request
  //   token not active, not an access token, bound to a key not proved or a certificate not
  //   presented, or its user disabled or deleted
  //                            401 invalid_token (DPoP: with the DPoP scheme's challenge)
  //   invalid DPoP proof       401 invalid_dpop_proof; without the server's nonce (RFC 9449
  //                            §9) 401 use_dpop_nonce with DPoP-Nonce
  //   no openid scope          403 insufficient_scope, scope="openid" (OpenID Core §5.3.3)
  http::Response handle(const http::Request& request) const;

 private:
  // 401 invalid_token, with the DPoP scheme's challenge for a request that used it (RFC 9449
  // §7.1), else the Bearer one (RFC 6750 §3.1).
  http::Response invalid_token(std::string_view description, bool dpop_scheme) const;

  std::string realm_;
  EndpointUrls urls_;  // the endpoint's URL and its mTLS alias: a DPoP proof's htu
  const TokenResolver& tokens_;
  store::UserStore& users_;
  const DpopProofs& dpop_;
};

}  // namespace tessera::oauth
