// The JWT bearer authorization grant (RFC 7523 §2.1, §3): a partner with its own issuer vouches
// for a subject with a signed JWT, and a client registered for the grant trades it for an access
// token. Which issuers are trusted, for which subjects and scopes, is configuration; each one's
// keys come from its JWKS URI (cached, refreshed periodically and on an unknown kid, at most once
// per 30 s; oauth::IssuerKeys).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "jose/jose.h"
#include "oauth/grant.h"
#include "oauth/issuer_keys.h"
#include "store/replay_cache.h"

namespace tessera::oauth {

// RFC 7523 §2.1: the grant type.
inline constexpr std::string_view kJwtBearerGrantType =
    "urn:ietf:params:oauth:grant-type:jwt-bearer";

// An issuer whose assertions this server accepts (RFC 7523 §3 item 1).
struct TrustedIssuer {
  std::string issuer;    // the assertions' iss, exactly
  std::string jwks_uri;  // where its public keys are (https, or http on loopback)
  // The subjects it may assert; empty: any. The access token's sub is the assertion's.
  std::vector<std::string> subjects;
  // The scopes its assertions may obtain, within the client's own; empty: none (a token for
  // the audience without scopes).
  std::vector<std::string> scopes;
};

struct JwtBearerOptions {
  std::vector<TrustedIssuer> issuers;
  std::string issuer;           // this server: an accepted aud (RFC 7523 §3 item 3)
  std::string token_endpoint;   // the token endpoint URL: accepted as aud too
  int64_t max_lifetime = 3600;  // seconds from now to exp at most (§3 item 4)
  int64_t leeway = 30;          // clock skew on exp, nbf, iat
  int64_t jwks_refresh_seconds = 300;
  int64_t jwks_min_refetch_seconds = 30;
  JwksFetch fetch;  // empty: an HTTP GET
};

// The grant, for the registry; `replay` remembers the assertions' jti (§3 item 7).
std::unique_ptr<Grant> make_jwt_bearer_grant(const GrantContext& context, JwtBearerOptions options,
                                             store::ReplayCache& replay);

}  // namespace tessera::oauth
