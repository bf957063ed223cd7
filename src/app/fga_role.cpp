#include "app/fga_role.h"

#include <optional>
#include <string>
#include <vector>

namespace tessera::app {
namespace {

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
  for (const std::string& hex : config.preshared_keys_sha256) {
    options.auth.preshared_key_sha256.push_back(hex_to_bytes(hex));
  }
  if (config.access_tokens && as != nullptr) {
    const oauth::TokenResolver* resolver = &as->token_resolver();
    options.auth.token_scopes =
        [resolver](std::string_view token) -> std::optional<std::vector<std::string>> {
      auto resolved = resolver->resolve(token);
      // Only access tokens: a refresh token is never a credential at an API (RFC 6749 §1.5).
      if (!resolved || resolved->kind != store::TokenKind::kAccess) return std::nullopt;
      return resolved->scopes;
    };
  }
  if (options.auth.preshared_key_sha256.empty() && !options.auth.token_scopes) {
    return Err(std::string(
        "the fga role needs a credential to accept: fga.preshared_keys_sha256, or the as role "
        "in the same process with fga.access_tokens on"));
  }
  auto api = std::make_unique<fga::Api>(store.fga(), std::move(options));
  api->add_routes(router);
  return api;
}

}  // namespace tessera::app
