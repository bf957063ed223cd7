// Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).
//   POST   /register              a client registers itself (§3.1); 201 with its credentials
//   GET    /register/{client_id}  it reads its registration (RFC 7592 §2.1)
//   PUT    /register/{client_id}  it replaces its metadata (§2.2)
//   DELETE /register/{client_id}  it deregisters (§2.3); 204, and its grants and tokens are
//                                 revoked
// Registration needs an initial access token (RFC 7591 §3: created by operators with
// `tessera client initial-token create`, each good for a number of registrations until it
// expires) unless the operator opens registration to anyone. Management needs the registration
// access token handed out at registration; only its SHA-256 is stored, compared in constant
// time. A software statement (§2.3), when given, must be signed by a configured issuer, and its
// claims win over the JSON members of the same name.
// What a registered client may be is narrower than what an operator may make: no skip_consent,
// no impersonation, scopes within the configured list, grant types authorization_code,
// refresh_token, client_credentials and the device grant, and only the redirect URIs
// `tessera client` would take (oauth/client_metadata.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/result.h"
#include "http/message.h"
#include "identity/login_throttle.h"
#include "oauth/authorization_details.h"
#include "oauth/client_cache.h"
#include "oauth/fapi.h"
#include "oauth/issuer_keys.h"
#include "store/client_store.h"
#include "store/grant_store.h"

namespace tessera::oauth {

struct RegistrationOptions {
  bool enabled = false;  // serve the endpoints and list registration_endpoint
  // Anyone may register, without an initial access token (RFC 7591 §3 "open registration").
  bool open = false;
  // The scopes a registered client may have; also what it gets when it asks for none.
  std::vector<std::string> scopes;
  // RFC 8707: the resources (audiences) every registered client may ask tokens for; the first
  // is the default. Empty: none, so client_credentials has no audience to issue for.
  std::vector<std::string> audiences;
  // RFC 7591 §2.3: the issuers whose software statements are accepted.
  std::vector<IssuerJwks> software_statement_issuers;
  bool require_software_statement = false;
  JwksFetch fetch;  // empty: an HTTP GET
  int64_t jwks_refresh_seconds = 300;
  int64_t jwks_min_refetch_seconds = 30;
  // Filled by the server.
  AuthorizationDetailsTypes authorization_details_types;  // RFC 9396 §10.2: what clients may list
  std::string issuer;
  ProfileOptions profile;
  bool mutual_tls = false;  // the RFC 8705 methods are offered
};

// The most redirect URIs (and post-logout ones) one registration may list.
inline constexpr size_t kMaxRegisteredUris = 20;

// What a registration answers (RFC 7591 §3.2.1), for the endpoint and for tests.
struct Registration {
  store::Client client;
  std::optional<std::string> client_secret;  // when one was issued now
  std::string registration_access_token;
};

class RegistrationEndpoint {
 public:
  RegistrationEndpoint(RegistrationOptions options, store::ClientStore& clients,
                       store::GrantStore& grants, ClientCache& cache, const Clock& clock);

  http::Response register_client(const http::Request& request) const;
  http::Response read(const http::Request& request) const;
  http::Response update(const http::Request& request) const;
  http::Response remove(const http::Request& request) const;

  // The client configuration endpoint of a client (RFC 7592 §3 registration_client_uri).
  std::string client_uri(std::string_view client_id) const;

 private:
  struct Failure {
    int status;
    std::string code;
    std::string description;
  };
  // The metadata (RFC 7591 §2) as a client; `existing` is the client being updated.
  Result<store::Client, Failure> client_from_metadata(const json::Json& metadata,
                                                      const store::Client* existing) const;
  // The client named by the path whose registration access token the request bears.
  Result<store::Client, http::Response> authorize_management(const http::Request& request,
                                                             std::string* token) const;
  http::Response answer(int status, const Registration& registration) const;
  // One try of update(): no answer when an operator changed the client after it was read.
  std::optional<http::Response> update_once(const http::Request& request) const;

  RegistrationOptions options_;
  store::ClientStore& clients_;
  store::GrantStore& grants_;
  ClientCache& cache_;
  const Clock& clock_;
  std::unique_ptr<IssuerKeys> statement_keys_;
  std::unique_ptr<identity::LoginThrottle> throttle_;  // initial access token guesses
};

}  // namespace tessera::oauth
