// The `as` role assembled: signing keys, the client cache, the access token issuer, the grants,
// and the HTTP routes (token endpoint, metadata, JWKS).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "http/router.h"
#include "jose/jose.h"
#include "oauth/access_token.h"
#include "oauth/client_cache.h"
#include "oauth/grant.h"
#include "oauth/keys.h"
#include "oauth/token_endpoint.h"
#include "store/store.h"

namespace tessera::oauth {

struct AuthorizationServerOptions {
  std::string issuer;  // https URL (http only for loopback), no query or fragment
  jose::Alg signing_alg = jose::Alg::kES256;
  std::string secret_key;                     // seals private signing keys (aead::kKeyBytes)
  std::vector<std::string> scopes_supported;  // advertised in metadata; may be empty
  int64_t client_cache_ttl = 30;              // seconds
};

// The signing algorithms an operator may choose (the issue: ES256 default; RS256, PS256, EdDSA).
bool is_supported_signing_alg(jose::Alg alg);

class AuthorizationServer {
 public:
  // Loads or creates the signing key. Errors: unusable secret key, store unavailable.
  static Result<std::unique_ptr<AuthorizationServer>> open(store::Store& store,
                                                           AuthorizationServerOptions options,
                                                           const Clock& clock);
  AuthorizationServer(const AuthorizationServer&) = delete;
  AuthorizationServer& operator=(const AuthorizationServer&) = delete;

  // POST {issuer path}/token, GET {issuer path}/jwks, both metadata documents.
  void add_routes(http::Router& router);

  SigningKeys& signing_keys() { return *keys_; }
  ClientCache& clients() { return *clients_; }
  const json::Json& metadata() const { return metadata_; }

 private:
  AuthorizationServer(store::Store& store, AuthorizationServerOptions options, const Clock& clock);

  AuthorizationServerOptions options_;
  std::unique_ptr<SigningKeys> keys_;
  std::unique_ptr<ClientCache> clients_;
  std::unique_ptr<JwtAccessTokenIssuer> access_tokens_;
  GrantRegistry grants_;
  std::unique_ptr<TokenEndpoint> token_endpoint_;
  json::Json metadata_;
  std::string metadata_body_;
};

}  // namespace tessera::oauth
