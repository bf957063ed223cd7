#include "oauth/client_auth.h"

#include <optional>
#include <string>

#include "core/base64url.h"
#include "core/crypto.h"

namespace tessera::oauth {
namespace {

using store::ClientAuthMethod;

struct Credentials {
  ClientAuthMethod method;
  std::string client_id;
  std::optional<std::string> secret;
};

// RFC 6749 §2.3.1: the client id and secret are form-urlencoded (Appendix B) before they are
// joined with ':' and base64-encoded (RFC 7617 §2).
Result<Credentials, OAuthError> parse_basic(std::string_view value) {
  auto bad = [](const char* why) { return Err(OAuthError::invalid_client(why)); };
  auto space = value.find(' ');
  if (space == std::string_view::npos) return bad("malformed Basic credentials");
  std::string_view encoded = value.substr(space + 1);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  auto decoded = base64::decode(encoded);
  if (!decoded) return bad("Basic credentials are not base64");
  auto colon = decoded->find(':');
  if (colon == std::string::npos) return bad("Basic credentials lack ':'");
  auto id = http::percent_decode(std::string_view(*decoded).substr(0, colon), true);
  auto secret = http::percent_decode(std::string_view(*decoded).substr(colon + 1), true);
  if (!id || !secret) return bad("Basic credentials are not form-urlencoded");
  if (id->empty()) return bad("Basic credentials carry no client id");
  return Credentials{ClientAuthMethod::kClientSecretBasic, std::move(*id), std::move(*secret)};
}

bool is_basic(std::string_view authorization) {
  return authorization.size() >= 6 && http::iequals(authorization.substr(0, 6), "Basic ");
}

// Which single method the request uses (RFC 6749 §2.3: "MUST NOT use more than one
// authentication method in each request").
Result<Credentials, OAuthError> read_credentials(const http::Request& request,
                                                 const http::Params& form) {
  const size_t authorizations = request.headers().count("Authorization");
  if (authorizations > 1) return Err(OAuthError::invalid_request("repeated Authorization header"));
  auto body_id = form.get("client_id");
  auto body_secret = form.get("client_secret");
  auto assertion = form.get("client_assertion");
  if (assertion) {
    return Err(OAuthError::invalid_client("client_assertion (private_key_jwt) is not supported"));
  }
  if (authorizations == 1) {
    auto value = *request.header("Authorization");
    if (!is_basic(value)) {
      return Err(OAuthError::invalid_client("unsupported Authorization scheme"));
    }
    if (body_secret) {
      return Err(
          OAuthError::invalid_request("client authenticated with both Basic and "
                                      "client_secret; use one method"));
    }
    auto creds = parse_basic(value);
    if (!creds) return creds;
    // client_id in the body as well is tolerated when it names the same client.
    if (body_id && *body_id != creds->client_id) {
      return Err(OAuthError::invalid_request("client_id differs from the Basic credentials"));
    }
    return creds;
  }
  if (!body_id || body_id->empty()) {
    return Err(OAuthError::invalid_client("no client authentication"));
  }
  if (body_secret) {
    return Credentials{ClientAuthMethod::kClientSecretPost, std::string(*body_id),
                       std::string(*body_secret)};
  }
  return Credentials{ClientAuthMethod::kNone, std::string(*body_id), std::nullopt};
}

}  // namespace

bool secret_matches(const store::Client& client, std::string_view secret) {
  if (client.secret_sha256.size() != 32) return false;
  return crypto::equal_ct(crypto::sha256(secret), client.secret_sha256);
}

std::string generate_client_secret() { return crypto::random_token(32); }

Result<AuthenticatedClient, OAuthError> authenticate_client(const http::Request& request,
                                                            const http::Params& form,
                                                            ClientCache& clients) {
  auto creds = read_credentials(request, form);
  if (!creds) return Err(creds.error());
  auto found = clients.find(creds->client_id);
  if (!found) return Err(OAuthError::server_error("client registry unavailable"));
  // One message for every failure below, so a caller cannot probe which ids exist.
  const auto failed = [] {
    return Err(OAuthError::invalid_client("client authentication failed"));
  };
  const std::shared_ptr<const store::Client>& client = *found;
  if (!client) return failed();
  // client_secret_basic and client_secret_post present the same credential, so a confidential
  // client may use either (RFC 6749 §2.3.1 requires basic, allows post); "none" only for a
  // client registered with it.
  const bool secret_method = creds->method != ClientAuthMethod::kNone;
  const bool registered_secret = client->auth_method != ClientAuthMethod::kNone;
  if (secret_method != registered_secret) return failed();
  if (creds->method == ClientAuthMethod::kNone) {
    if (client->type != store::ClientType::kPublic) return failed();
  } else if (!creds->secret || !secret_matches(*client, *creds->secret)) {
    return failed();
  }
  return AuthenticatedClient{client, creds->method};
}

}  // namespace tessera::oauth
