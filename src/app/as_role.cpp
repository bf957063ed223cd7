#include "app/as_role.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "app/log.h"
#include "core/aead.h"
#include "core/base64url.h"
#include "core/crypto.h"
#include "oauth/key_refresher.h"

namespace tessera::app {

Result<std::unique_ptr<oauth::AuthorizationServer>> start_as_role(
    const AsConfig& config, store::Store& store, http::Router& router,
    const resource::SharedReplay& dpop_replay) {
  auto key = aead::load_key(config.secret_key_file);
  if (!key) return Err(key.error());
  auto alg = jose::alg_from_string(config.signing_alg);
  if (!alg) return Err("unknown signing_alg " + config.signing_alg);
  oauth::AuthorizationServerOptions options;
  options.issuer = config.issuer;
  options.signing_alg = *alg;
  options.secret_key = std::move(*key);
  options.scopes_supported = config.scopes_supported;
  options.dpop.nonces = config.dpop_nonces;
  options.dpop.shared_replay = dpop_replay;
  options.require_pushed_authorization_requests = config.require_pushed_authorization_requests;
  options.profile.fapi2 = config.fapi2;
  options.profile.require_signed_request_object = config.require_signed_request_object;
  for (const JwtBearerIssuerConfig& trusted : config.jwt_bearer_issuers) {
    options.jwt_bearer.issuers.push_back(
        {trusted.issuer, trusted.jwks_uri, trusted.subjects, trusted.scopes});
  }
  if (config.registration && config.registration->enabled) {
    const RegistrationConfig& registration = *config.registration;
    options.registration.enabled = true;
    options.registration.open = registration.open;
    options.registration.scopes =
        registration.scopes.empty() ? config.scopes_supported : registration.scopes;
    options.registration.audiences = registration.audiences;
    options.registration.require_software_statement = registration.require_software_statement;
    for (const TrustedIssuerConfig& trusted : registration.software_statement_issuers) {
      options.registration.software_statement_issuers.push_back({trusted.issuer, trusted.jwks_uri});
    }
  }
  oauth::AuthorizationDetailsTypes::Map details_types;
  for (const auto& [type, settings] : config.authorization_details_types) {
    details_types[type] = {settings.description, settings.schema};
  }
  options.authorization_details_types = oauth::AuthorizationDetailsTypes(std::move(details_types));
  options.mutual_tls = config.mutual_tls;
  options.self_signed_certificates = config.self_signed_certificates;
  if (config.mtls) options.mtls_endpoint_base = config.mtls->url;
  for (const auto& [audience, settings] : config.audiences) {
    oauth::AudiencePolicy& policy = options.audiences[audience];
    if (!settings.access_token_format.empty()) {
      policy.access_token_format = store::parse_access_token_format(settings.access_token_format);
    }
    if (settings.access_token_lifetime > 0) {
      policy.max_access_token_lifetime = settings.access_token_lifetime;
    }
    policy.scopes = settings.scopes;
  }
  auto refresh = oauth::key_refresh_interval_from_environment();
  if (!refresh) return Err(refresh.error());
  if (*refresh) options.key_refresh_seconds = (*refresh)->count();
  options.on_background_error = [](std::string_view error) {
    log_error("signing key refresh failed", {{"error", error}});
  };
  auto as = oauth::AuthorizationServer::open(store, std::move(options), store.clock());
  if (!as) return Err(as.error());
  (*as)->add_routes(router);
  return std::move(*as);
}

Result<std::string> ensure_demo_secret_key_file(const std::string& data_dir) {
  std::string path = data_dir + "/secret.key";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return path;  // kept from an earlier start
    return Err("cannot create " + path + ": " + std::strerror(errno));
  }
  std::string text = base64url::encode(crypto::random_bytes(aead::kKeyBytes)) + "\n";
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!written) return Err("cannot write " + path);
  return path;
}

}  // namespace tessera::app
