// Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3):
// client_secret_basic, client_secret_post, private_key_jwt (RFC 7523 §2.2, §3), mutual TLS
// (RFC 8705 §2: tls_client_auth and self_signed_tls_client_auth) and none for public clients. Each
// client uses exactly the method it registered (RFC 7591 §2 token_endpoint_auth_method).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "http/message.h"
#include "jose/jose.h"
#include "oauth/client_cache.h"
#include "oauth/error.h"
#include "oauth/issuer_keys.h"
#include "store/client_store.h"
#include "store/replay_cache.h"

namespace tessera::oauth {

struct AuthenticatedClient {
  std::shared_ptr<const store::Client> client;
  store::ClientAuthMethod method;
};

// RFC 7523 §2.2: the client_assertion_type of a JWT client assertion.
inline constexpr std::string_view kJwtBearerAssertionType =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// The algorithms a client assertion may be signed with: asymmetric only (RFC 8725 §3.1; the
// server holds no client secret to check an HMAC with, and "none" is never accepted).
const std::vector<jose::Alg>& client_assertion_algs();

// A client's registered jwks parsed in full: a JWK Set (RFC 7517 §5) of at least one public
// RSA, EC or OKP key. Private keys and "oct" keys are refused. For registration tools and the
// authenticator below.
Result<jose::Jwks, std::string> parse_client_jwks(std::string_view text);

struct ClientAuthOptions {
  std::string issuer;          // an accepted client assertion audience (RFC 7523 §3 item 3)
  std::string token_endpoint;  // another accepted audience: the token endpoint's URL
  // RFC 9126 §2: the pushed authorization request endpoint's URL is accepted too.
  std::string par_endpoint{};
  // RFC 8705 §5: the mTLS aliases of those endpoints are accepted too.
  std::vector<std::string> endpoint_aliases{};
  // FAPI 2.0 Security Profile for every client (a client can be held to it alone too): only its
  // methods and algorithms, and client assertions whose aud is the issuer (oauth/fapi.h).
  bool fapi2 = false;
  int64_t max_assertion_lifetime = 300;  // seconds from now to exp
  int64_t leeway = 30;                   // clock skew allowed on exp, nbf and iat
  // Clients' jwks_uri (RFC 7591 §2): how their key sets are fetched (empty: an HTTP GET), how
  // often refreshed, and at most how often fetched again for an unknown kid.
  JwksFetch fetch_jwks{};
  int64_t jwks_refresh_seconds = 300;
  int64_t jwks_min_refetch_seconds = 30;
  // At most this many requests at once fetch, or wait for a fetch of, the key set of a client
  // that registered itself (RFC 7591). They run on io threads, and a registrant whose URI answers
  // slowly would hold one for up to the fetch's timeouts (2 s each to resolve, connect and
  // handshake, 3 s to read); past the cap such a request fails at once (invalid_client), and the
  // client's set is not marked as tried. Clients an operator made are not counted.
  int max_concurrent_jwks_fetches = 2;
};

// Whether a client may name `uri` as its jwks_uri: https, or http to a loopback host
// (127.0.0.0/8, [::1], localhost) when `allow_loopback_http` (an operator's own test setup; a
// dynamic registration never may, so it cannot point the server at local services). nullopt when
// it may; otherwise why not.
std::optional<std::string> jwks_uri_problem(std::string_view uri, bool allow_loopback_http);
// The same rules for any URL the server will call, named `member` in the answer (a
// back-channel logout URI).
std::optional<std::string> outbound_uri_problem(std::string_view uri, std::string_view member,
                                                bool allow_loopback_http);

class ClientAuthenticator {
 public:
  ClientAuthenticator(ClientCache& clients, store::ReplayCache& replay, const Clock& clock,
                      ClientAuthOptions options);

  // Identifies and authenticates the client of `request` (form body already parsed into `form`).
  // RFC 6749 §2.3: exactly one method per request, else invalid_request. Unknown client, wrong
  // secret, a method other than the registered one, or a client assertion that fails any check
  // of RFC 7523 §3 (including a jti seen before): invalid_client (401, RFC 6749 §5.2). Until
  // the client's key has verified an assertion every failure reads the same, so a caller cannot
  // learn which client ids exist or how they authenticate. A client under FAPI 2.0 that used
  // another method than the profile's: invalid_client too.
  Result<AuthenticatedClient, OAuthError> authenticate(const http::Request& request,
                                                       const http::Params& form) const;

  const ClientAuthOptions& options() const { return options_; }

  // Verifies a JWS signed by `client` (its assertions, its request objects) with its keys: the
  // registered jwks, parsed once per registered text, or the set at its jwks_uri, cached and
  // fetched again when the JWS names a kid the set lacks (a key rotation, RFC 7517 §4.5), at most
  // every jwks_min_refetch_seconds. kKeyInvalid when the client has no usable keys (none
  // registered, a set that does not parse, or a jwks_uri that could not be fetched).
  Result<jose::VerifiedJws, jose::Status> verify_signed_by(
      const store::Client& client, std::string_view jws, const jose::VerifyOptions& options) const;

 private:
  Result<AuthenticatedClient, OAuthError> authenticate_credentials(const http::Request& request,
                                                                   const http::Params& form) const;
  Result<AuthenticatedClient, OAuthError> authenticate_assertion(
      std::string_view assertion, std::optional<std::string_view> body_client_id) const;
  struct RegisteredKeys {
    std::shared_ptr<const jose::Jwks> keys;  // null when the jwks is unusable
    std::vector<std::string> certificates;   // DER of each key's x5c[0] (RFC 7517 §4.7)
  };
  // The jwks of `client`, parsed once per registered text; null when the client has none.
  std::shared_ptr<const RegisteredKeys> registered_keys(const store::Client& client) const;
  // RFC 8705 §2: whether `certificate` (of the request's TLS connection) authenticates a client
  // registered with tls_client_auth or self_signed_tls_client_auth.
  bool certificate_authenticates(const store::Client& client,
                                 const http::ClientCertificate* certificate) const;

  struct ParsedKeys {
    std::string jwks_json;  // the text these keys were parsed from
    std::shared_ptr<const RegisteredKeys> keys;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  ClientCache& clients_;
  store::ReplayCache& replay_;
  const Clock& clock_;
  ClientAuthOptions options_;
  mutable std::mutex keys_mutex_;
  mutable std::unordered_map<std::string, ParsedKeys, StringHash, std::equal_to<>> keys_;
  struct FetchedKeys {
    std::string jwks_uri;  // the URI this cache fetches
    std::shared_ptr<resource::JwksCache> cache;
  };
  // The cache of `client`'s jwks_uri, made on first use.
  std::shared_ptr<resource::JwksCache> fetched_keys(const store::Client& client) const;
  // RFC 8705 §2.2.2 by reference: whether `der` is a certificate in the set at `client`'s
  // jwks_uri, fetched again (at most once per jwks_min_refetch_seconds) when it is not, as for a
  // new kid: the client may have rotated its certificate.
  bool fetched_certificate_matches(const store::Client& client, const std::string& der) const;
  // The key set at `uri`. `public_only`: `uri` is a dynamically registered client's, so only
  // public addresses are dialled.
  Result<jose::Jwks, std::string> fetch_client_jwks(const std::string& uri, bool public_only) const;
  // `client`'s set from `cache`: the current one (null `seen`), or one fetched again because
  // `seen` lacked what was looked for. A self-registered client's calls that may fetch run
  // within max_concurrent_jwks_fetches.
  Result<resource::JwksCache::KeySet, std::string> client_key_set(
      const store::Client& client, resource::JwksCache& cache,
      const resource::JwksCache::KeySet* seen) const;
  mutable http::HttpClient http_;             // for clients an operator made
  mutable http::HttpClient registered_http_;  // for registered ones: public addresses only
  mutable std::atomic<int> fetching_{0};
  mutable std::unordered_map<std::string, FetchedKeys, StringHash, std::equal_to<>> fetched_;
};

// RFC 8705 §2.1.2: whether `certificate` carries `name` (the subject DN, compared as its
// RFC 4514 string, or one subjectAltName entry of the registered type).
bool certificate_has_name(const http::ClientCertificate& certificate,
                          const store::CertificateName& name);

// tls_client_auth or self_signed_tls_client_auth.
bool uses_certificate(store::ClientAuthMethod method);

// The certificates (DER) a JWK Set holds in its keys' x5c members (the first of each chain,
// jose::Jwk::certificate_der), for self_signed_tls_client_auth (RFC 8705 §2.2.2).
std::vector<std::string> certificates_of(const jose::Jwks& keys);

// The secret check: one SHA-256 and a constant-time compare (secrets have 256 bits of entropy,
// so a slow hash adds nothing; see store/client_store.h).
bool secret_matches(const store::Client& client, std::string_view secret);

// A new client secret: 32 random bytes, base64url (43 characters).
std::string generate_client_secret();

}  // namespace tessera::oauth
