#include "app/as_role.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/aead.h"
#include "core/base64url.h"
#include "core/crypto.h"
#include "oauth/client_auth.h"
#include "oauth/scope.h"

namespace tessera::app {

Result<std::unique_ptr<oauth::AuthorizationServer>> start_as_role(const AsConfig& config,
                                                                  store::Store& store,
                                                                  http::Router& router) {
  auto key = aead::load_key(config.secret_key_file);
  if (!key) return Err(key.error());
  auto alg = jose::alg_from_string(config.signing_alg);
  if (!alg) return Err("unknown signing_alg " + config.signing_alg);
  oauth::AuthorizationServerOptions options;
  options.issuer = config.issuer;
  options.signing_alg = *alg;
  options.secret_key = std::move(*key);
  options.scopes_supported = config.scopes_supported;
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

Result<json::Json> seed_demo_service_client(store::Store& store, int access_token_lifetime) {
  const std::string client_id = "service";
  const std::vector<std::string> scopes = {"invoices:read", "invoices:write"};
  const std::string audience = "urn:tessera:api:invoices";
  auto secret = store.settings().put_if_absent("demo.clients.service.secret",
                                               oauth::generate_client_secret());
  if (!secret) return Err("cannot keep the demo client secret: " + secret.error().message);
  auto existing = store.clients().find(client_id);
  if (!existing) return Err("cannot read clients: " + existing.error().message);
  if (!*existing) {
    store::Client c;
    c.client_id = client_id;
    c.type = store::ClientType::kConfidential;
    c.auth_method = store::ClientAuthMethod::kClientSecretBasic;
    c.secret_sha256 = crypto::sha256(secret->value);
    c.grant_types = {"client_credentials"};
    c.scopes = scopes;
    c.audiences = {audience};
    c.access_token_lifetime = access_token_lifetime;
    auto inserted = store.clients().insert(c);
    if (!inserted && inserted.error().code != store::StoreError::Code::kConflict) {
      return Err("cannot seed the demo client: " + inserted.error().message);
    }
  }
  return json::Json{{"client_id", client_id},
                    {"client_secret", secret->value},
                    {"scope", oauth::join_scope(scopes)},
                    {"audience", audience}};
}

}  // namespace tessera::app
