#include "oauth/authorization_server.h"

#include "core/aead.h"
#include "oauth/discovery.h"

namespace tessera::oauth {

bool is_supported_signing_alg(jose::Alg alg) {
  return alg == jose::Alg::kES256 || alg == jose::Alg::kRS256 || alg == jose::Alg::kPS256 ||
         alg == jose::Alg::kEdDSA;
}

AuthorizationServer::AuthorizationServer(store::Store& store, AuthorizationServerOptions options,
                                         const Clock& clock)
    : options_(std::move(options)),
      keys_(std::make_unique<SigningKeys>(store.signing_keys(), options_.secret_key,
                                          options_.signing_alg, clock)),
      clients_(std::make_unique<ClientCache>(store.clients(), clock, options_.client_cache_ttl)),
      access_tokens_(std::make_unique<JwtAccessTokenIssuer>(options_.issuer, *keys_, clock)),
      grants_(make_grant_registry(GrantContext{*access_tokens_})),
      token_endpoint_(std::make_unique<TokenEndpoint>(grants_, *clients_)) {
  metadata_ = server_metadata(
      {options_.issuer, grants_.grant_types(), options_.scopes_supported, options_.signing_alg});
  metadata_body_ = metadata_.dump();
}

Result<std::unique_ptr<AuthorizationServer>> AuthorizationServer::open(
    store::Store& store, AuthorizationServerOptions options, const Clock& clock) {
  if (options.secret_key.size() != aead::kKeyBytes) {
    return Err(std::string("the secret key must be ") + std::to_string(aead::kKeyBytes) + " bytes");
  }
  if (!is_supported_signing_alg(options.signing_alg)) {
    return Err(std::string("signing_alg must be ES256, RS256, PS256 or EdDSA"));
  }
  std::unique_ptr<AuthorizationServer> server(
      new AuthorizationServer(store, std::move(options), clock));
  if (auto loaded = server->keys_->load_or_create(); !loaded) return Err(loaded.error());
  return server;
}

void AuthorizationServer::add_routes(http::Router& router) {
  const std::string prefix = issuer_path(options_.issuer);
  router.post(prefix + "/token",
              [this](const http::Request& r) { return token_endpoint_->handle(r); });
  router.get(prefix + "/jwks", [this](const http::Request&) {
    http::Response r =
        http::Response::text(200, keys_->jwks().to_json().dump(), "application/jwk-set+json");
    // Short enough that a rotation's next key is seen well before it signs.
    r.headers.set("Cache-Control", "public, max-age=300");
    return r;
  });
  auto metadata = [this](const http::Request&) {
    http::Response r = http::Response::text(200, metadata_body_, "application/json");
    r.headers.set("Cache-Control", "public, max-age=3600");
    return r;
  };
  router.get(oauth_metadata_path(options_.issuer), metadata);
  router.get(openid_configuration_path(options_.issuer), metadata);
}

}  // namespace tessera::oauth
