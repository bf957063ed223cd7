#include "app/fga_role.h"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/worker_pool.h"
#include "tessera/claims_cache.h"
#include "tessera/validator.h"

namespace tessera::app {
namespace {

// How long an introspected token's answer is trusted before the issuer is asked again.
constexpr int64_t kIntrospectionCacheSeconds = 60;

// OpenFGA's API takes bearer credentials only: a token bound to a DPoP key (RFC 9449 §6) or a
// client certificate (RFC 8705 §3) would be usable here without its proof, so it is refused.
constexpr std::string_view kBoundToken =
    "the access token is sender-constrained (cnf); the fga API accepts bearer tokens only";

// 64 hex digits (config.cpp checked them) -> 32 bytes.
std::string hex_to_bytes(const std::string& hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  auto digit = [](char c) {
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;  // config.cpp allowed only hex digits
  };
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(digit(hex[i]) * 16 + digit(hex[i + 1])));
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<fga::Api>> start_fga_role(const FgaConfig& config, store::Store& store,
                                                 const oauth::AuthorizationServer* as,
                                                 http::Router& router) {
  fga::ApiOptions options;
  options.engine.resolve_node_limit = config.resolve_node_limit;
  options.tuple_cache_bytes = config.tuple_cache_bytes;
  options.tuple_index_max_tuples = config.tuple_index_max_tuples;
  const size_t branch_threads = config.check_threads >= 0
                                    ? static_cast<size_t>(config.check_threads)
                                    : std::max(2U, std::thread::hardware_concurrency()) - 1;
  if (branch_threads > 0) {
    // Queued branches beyond this many are run by the requests' own threads instead.
    options.engine.branch_pool = std::make_shared<WorkerPool>(branch_threads, 1024);
  }
  options.engine.branch_concurrency_after = config.check_concurrency_after;
  for (const std::string& hex : config.preshared_keys_sha256) {
    options.auth.preshared_key_sha256.push_back(hex_to_bytes(hex));
  }
  std::function<fga::TokenScopes(std::string_view)> in_process;
  if (config.access_tokens && as != nullptr) {
    const oauth::TokenResolver* resolver = &as->token_resolver();
    in_process = [resolver](std::string_view token) {
      fga::TokenScopes checked;
      auto resolved = resolver->inspect(token);
      if (!resolved) {
        checked.unavailable = resolved.error() == oauth::TokenRejection::kStoreUnavailable;
        if (checked.unavailable) checked.reason = "the token store is unavailable";
        return checked;
      }
      // Only access tokens: a refresh token is never a credential at an API (RFC 6749 §1.5).
      if (resolved->kind != store::TokenKind::kAccess) return checked;
      if (resolved->dpop_jkt() || resolved->certificate_thumbprint()) {
        checked.reason = std::string(kBoundToken);
        return checked;
      }
      checked.scopes = resolved->scopes;
      return checked;
    };
  }
  // An authorization server in another process: the resource-server SDK's validator (RFC 9068
  // JWTs against the issuer's JWKS, RFC 7662 introspection for opaque tokens when configured),
  // with a claims cache so a token is validated once, not per request.
  std::shared_ptr<resource::Authenticator> remote;
  if (config.issuer_tokens) {
    std::shared_ptr<resource::Validator> validator;
    try {
      validator = std::make_shared<resource::Validator>(*config.issuer_tokens);
    } catch (const std::invalid_argument& e) {
      return Err("fga.issuer: " + std::string(e.what()));
    }
    // Nothing is fetched yet: the issuer may start after this node. The first token fetches
    // its metadata and keys (a failed fetch is not retried for jwks_min_refetch_seconds).
    std::shared_ptr<resource::ClaimsCache> cache =
        resource::ClaimsCache::within(config.claims_cache_bytes);
    // An introspected token is asked about again after a minute, so a revocation at the issuer
    // takes effect within that (RFC 7662 §4); a JWT is kept until its exp.
    const bool introspects = config.issuer_tokens->accept != resource::TokenForm::kJwt;
    remote = std::make_shared<resource::Authenticator>(
        std::move(validator), std::move(cache), resource::ClaimsProvider{},
        introspects ? kIntrospectionCacheSeconds : 0);
  }
  if (in_process || remote) {
    options.auth.token_scopes = [in_process, remote](std::string_view token) {
      fga::TokenScopes checked;
      if (in_process) {
        checked = in_process(token);
        // Decided here: active, refused for a reason, or the store could not be read. Only a
        // token this server does not know goes to the other issuer.
        if (checked.scopes || checked.unavailable || !checked.reason.empty() || !remote) {
          return checked;
        }
      }
      resource::Validation validation = remote->authenticate(token);
      if (validation.ok()) {
        const resource::Principal& principal = *validation.principal;
        if (!principal.dpop_jkt.empty() || !principal.certificate_thumbprint.empty()) {
          checked.reason = std::string(kBoundToken);
        } else {
          checked.scopes = principal.scopes;
        }
      } else {
        checked.unavailable = validation.error.failure == resource::Failure::kUnavailable;
        checked.reason = validation.error.description;
      }
      return checked;
    };
  }
  if (options.auth.preshared_key_sha256.empty() && !options.auth.token_scopes) {
    return Err(std::string(
        "the fga role needs a credential to accept: fga.preshared_keys_sha256, fga.issuer, or "
        "the as role in the same process with fga.access_tokens on"));
  }
  auto api = std::make_unique<fga::Api>(store.fga(), std::move(options));
  api->add_routes(router);
  return api;
}

}  // namespace tessera::app
