// Pushed authorization requests (RFC 9126): a client posts its authorization request, with its
// own authentication, straight to the server and gets a short-lived, single-use request_uri to
// send the browser to /authorize with. The parameters never pass through the browser, and they
// are checked before the user sees a page.
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "http/message.h"
#include "oauth/authorization_details.h"
#include "oauth/client_auth.h"
#include "oauth/dpop.h"
#include "oauth/fapi.h"
#include "store/grant_store.h"

namespace tessera::oauth {

// RFC 9126 §2.2: the request_uri prefix.
inline constexpr std::string_view kRequestUriPrefix = "urn:ietf:params:oauth:request_uri:";

struct ParOptions {
  std::string issuer;
  std::string mtls_endpoint_base{};  // RFC 8705 §5: the endpoint's mTLS alias lives under it
  int64_t lifetime = 60;             // seconds a request_uri lives (RFC 9126 §2.2: "short lived")
  ProfileOptions profile{};          // FAPI 2.0, require_signed_request_object (server-wide)
  AuthorizationDetailsTypes authorization_details_types{};  // RFC 9396; empty: none accepted
};

class ParEndpoint {
 public:
  ParEndpoint(ParOptions options, const ClientAuthenticator& clients, store::GrantStore& grants,
              store::ReplayCache& replay, const DpopProofs& dpop, const Clock& clock);

  // POST /par (RFC 9126 §2): 201 {"request_uri", "expires_in"}; errors as the token
  // endpoint's (RFC 9126 §2.3): invalid_client (401), invalid_request (request_uri given, a
  // repeated or malformed parameter, a client_id other than the authenticated one, or any check
  // of the authorization request that fails), invalid_scope, invalid_target,
  // invalid_dpop_proof, invalid_request_object (a `request` object that fails RFC 9101's
  // checks; its claims are then the whole request, §3); invalid_request too when a client that
  // must sign its requests (RFC 9101 §10.5) pushes plain parameters. A DPoP proof here binds the
  // code like dpop_jkt (RFC 9449 §10.1); under FAPI 2.0 it must use one of the profile's
  // algorithms.
  http::Response handle(const http::Request& request) const;

 private:
  Result<std::pair<std::string, int64_t>, OAuthError> push(const http::Request& request) const;

  ParOptions options_;
  EndpointUrls urls_;  // the endpoint's URL and its mTLS alias: a DPoP proof's htu
  const ClientAuthenticator& clients_;
  store::GrantStore& grants_;
  store::ReplayCache& replay_;
  const DpopProofs& dpop_;
  const Clock& clock_;
};

// RFC 9126 §4: the parameters pushed under `request_uri` by `client_id`, spent by this call.
// nullopt: unknown, expired, used or another client's (the caller answers invalid_request_uri);
// Err: the store failed.
Result<std::optional<http::Params>, std::string> take_pushed_request(store::GrantStore& grants,
                                                                     std::string_view request_uri,
                                                                     std::string_view client_id);

}  // namespace tessera::oauth
