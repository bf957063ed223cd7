// OpenID Connect RP-Initiated Logout 1.0: the relying party sends the user to end_session with
// an id_token_hint; the session ends (after the user confirms, unless the hint proves the
// request comes from a client of this very session), the grants authorized in it are revoked,
// and the user goes back to a registered post_logout_redirect_uri. Clients with a back-channel
// logout URI hear of it (oauth/backchannel_logout.h).
#pragma once

#include <string>

#include "core/clock.h"
#include "http/message.h"
#include "http/router.h"
#include "oauth/authorize_endpoint.h"
#include "oauth/client_cache.h"
#include "oauth/interaction.h"
#include "oauth/keys.h"
#include "store/store.h"

namespace tessera::oauth {

class EndSessionEndpoint {
 public:
  EndSessionEndpoint(std::string issuer, const AuthorizeEndpoint& authorize, ClientCache& clients,
                     store::Store& store, const SigningKeys& keys, const InteractionSealer& sealer,
                     SessionEnder& sessions, const Clock& clock);

  // GET and POST {prefix}/end_session, POST {prefix}/logout (the confirmation form).
  void add_routes(http::Router& router, const std::string& prefix);

  http::Response end_session(const http::Request& request) const;
  http::Response logout(const http::Request& request) const;

 private:
  struct Target;
  http::Response sign_out(const http::Request& request, const Target& target,
                          std::vector<std::string> cookies) const;

  std::string issuer_;
  std::string prefix_;
  const AuthorizeEndpoint& authorize_;
  ClientCache& clients_;
  store::Store& store_;
  const SigningKeys& keys_;
  const InteractionSealer& sealer_;
  SessionEnder& sessions_;
  const Clock& clock_;
};

}  // namespace tessera::oauth
