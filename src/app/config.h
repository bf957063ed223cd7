// `tessera serve --config FILE`: the YAML configuration. Loading is strict: an
// unknown key, a wrong type or an out-of-range value is an error naming the
// file, the line and the key, and nothing starts half-configured.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "gateway/gateway.h"
#include "store/redis.h"
#include "tessera/validator.h"

namespace tessera::app {

struct TlsConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // set: clients may present certificates
  // none | optional | required | optional_any_issuer (a certificate of any issuer is accepted
  // and handed over marked unverified: RFC 8705 §2.2 self-signed certificates)
  std::string client_auth = "none";
  // RFC 8446 §4.6.1 session ticket keys, 80 bytes each (`openssl rand 80 > FILE`), the first
  // sealing new tickets: nodes behind one load balancer share them to resume each other's TLS
  // sessions. Empty: a random key per process. Not with client_auth (sessions are cached then).
  std::vector<std::string> session_ticket_key_files;
};

// RFC 8705 §5: a listener that asks clients for certificates, serving the authorization
// server's token, PAR, introspection, revocation and UserInfo endpoints as mtls_endpoint_aliases,
// so the main listener never asks browsers for one.
struct MtlsConfig {
  uint16_t port = 0;  // on http.host, with http.tls's certificate and key
  std::string url;    // how clients reach it; default https://<http.host>:<port>
  // Trust anchors for tls_client_auth; default http.tls.client_ca_file; none: only the
  // self-signed method and bound tokens work there.
  std::string client_ca_file;
};

struct HttpConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  int threads = 0;  // 0: one io thread per core
  std::optional<TlsConfig> tls;
  size_t max_header_bytes = size_t{16} * 1024;         // over: 431
  size_t max_body_bytes = size_t{1024} * 1024;         // over: 413
  int read_timeout_ms = 10'000;                        // slow client: 408
  int idle_timeout_ms = 60'000;                        // keep-alive connection with no request
  int max_connections = 10'000;                        // over: 503 and close
  int max_requests_per_second_per_connection = 1'000;  // over: 429
  int drain_timeout_ms = 10'000;                       // SIGTERM: finish in-flight work this long
  bool access_log = true;
};

struct StoreConfigYaml {
  std::string driver = "sqlite";  // sqlite | postgres
  std::string path = "tessera.db";
  std::string url;  // postgres connection string
  int pool_size = 8;
};

// What one resource server (audience) asks of the access tokens aimed at it.
struct AudienceConfig {
  std::string access_token_format;  // "jwt" | "opaque"; empty: the client's choice
  int access_token_lifetime = 0;    // seconds, a cap (60-86400); 0: the client's
  // RFC 8707 per-resource scopes: the scopes tokens for this audience may carry; absent: all.
  std::optional<std::vector<std::string>> scopes;
};

// An issuer whose signed JWTs are trusted, by the keys at its JWKS URI.
struct TrustedIssuerConfig {
  std::string issuer;    // the JWTs' iss
  std::string jwks_uri;  // https (http on loopback)
};

// RFC 7523 §2.1: an issuer whose JWT assertions the jwt-bearer grant takes (as.jwt_bearer_issuers).
struct JwtBearerIssuerConfig : TrustedIssuerConfig {
  std::vector<std::string> subjects;  // the subjects it may assert; empty: any
  std::vector<std::string> scopes;    // the scopes its assertions may obtain; empty: none
};

// RFC 7591 / RFC 7592 dynamic client registration (as.registration).
struct RegistrationConfig {
  bool enabled = true;  // the section turns it on; `enabled: false` keeps it written but off
  bool open = false;    // no initial access token needed
  // The scopes a registered client may have; empty: as.scopes_supported.
  std::vector<std::string> scopes;
  std::vector<std::string> audiences;  // RFC 8707 resources every registered client may ask for
  bool require_software_statement = false;
  std::vector<TrustedIssuerConfig> software_statement_issuers;  // RFC 7591 §2.3
};

// RFC 9396: one authorization details type (as.authorization_details_types.<type>).
struct AuthorizationDetailsTypeConfig {
  std::string description;   // the consent page's heading; empty: the type's name
  json::Json schema = true;  // core/json_schema.h subset, checked when loaded
};

// The authorization server (`as` role).
struct AsConfig {
  std::string issuer;                 // https URL (http only on loopback); no query or fragment
  std::string signing_alg = "ES256";  // ES256 | RS256 | PS256 | EdDSA
  std::string secret_key_file;        // seals private signing keys; empty: TESSERA_SECRET_KEY
  int access_token_lifetime = 300;    // seconds, default for new clients (60-86400)
  std::vector<std::string> scopes_supported;        // advertised in the metadata
  std::map<std::string, AudienceConfig> audiences;  // keyed by audience (a URI or a name)
  // RFC 9449 §8: DPoP proofs at the token endpoint and UserInfo must carry a server nonce.
  std::shared_ptr<const resource::DpopNonces> dpop_nonces;
  bool require_pushed_authorization_requests = false;  // RFC 9126 §5: PAR for every client
  std::optional<MtlsConfig> mtls;                      // as.mtls
  bool fapi2 = false;  // FAPI 2.0 Security Profile for every client (oauth/fapi.h)
  std::vector<JwtBearerIssuerConfig> jwt_bearer_issuers;  // RFC 7523 §2.1
  bool require_signed_request_object = false;             // RFC 9101 §10.5, for every client
  std::optional<RegistrationConfig> registration;         // RFC 7591: absent, off
  // RFC 9396 rich authorization requests: the types accepted; empty: none.
  std::map<std::string, AuthorizationDetailsTypeConfig> authorization_details_types;
  // Derived: some listener asks clients for certificates (as.mtls, or http.tls.client_auth
  // other than none), so RFC 8705 client authentication and bound tokens are offered; and one
  // accepts certificates of any issuer (as.mtls, or optional_any_issuer), so the self-signed
  // method (§2.2) can work too.
  bool mutual_tls = false;
  bool self_signed_certificates = false;
};

// The fine-grained authorization service (`fga` role): OpenFGA's HTTP API.
struct FgaConfig {
  // Its own listener on http.host (the demo uses P+2); 0: served on http.listen with the other
  // roles (OpenFGA's paths, /stores/..., do not collide with theirs).
  uint16_t port = 0;
  // SHA-256 (hex) of each preshared API key (OpenFGA's --authn-preshared-keys), so the file holds
  // no usable secret. `Authorization: Bearer KEY`.
  std::vector<std::string> preshared_keys_sha256;
  // Also accept access tokens of the in-process `as` role with fga:read / fga:write / fga:admin
  // (needs the as role in the same process).
  bool access_tokens = true;
  int resolve_node_limit = 25;  // OpenFGA's default; 1-100
  // The tuple cache (exact: keyed by each store's revision); 0 turns it off.
  size_t tuple_cache_bytes = size_t{64} << 20;
  // In-memory replicas of stores' tuples (fga/tuple_index.h), at most this many tuples in all;
  // 0 turns them off.
  size_t tuple_index_max_tuples = 2'000'000;
  // Access tokens of an authorization server in another process (fga.issuer, fga.audiences, ...):
  // JWTs checked by the SDK's validator against the issuer's JWKS, opaque ones introspected when
  // fga.introspection is set; scopes as for the in-process as role's tokens.
  std::optional<resource::ValidatorOptions> issuer_tokens;
  // Threads on which one check's branches may run besides the request's own thread (fga/check.h),
  // shared by all requests; -1: one per core but one; 0: each check on one thread. A check fans out
  // only past check_concurrency_after dispatches, and only when read from a replica (in memory).
  int check_threads = -1;
  uint32_t check_concurrency_after = 32;
  // The claims cache of those tokens (valid ones, until exp); 0: every request validates.
  size_t claims_cache_bytes = size_t{16} << 20;
};

// The gateway role: a reverse proxy with token policies per route (gateway/gateway.h).
struct GatewayConfig {
  // Its own listener on http.host (the demo uses P+1); 0: on http.listen, where it answers every
  // path the other roles do not claim.
  uint16_t port = 0;
  // Validator settings (issuer, audiences, algorithms, JWKS and introspection endpoints) and the
  // route table. The issuer defaults to as.issuer when the as role runs in the same process.
  gateway::Options options;
};

// Redis, for what several nodes must agree on at once (DESIGN.md "Scale-out"): DPoP proof jti
// values at the as role and the gateway (RFC 9449 §11.1), and the gateway's rate-limit buckets.
// Absent: both stay in each process.
struct RedisConfig {
  store::RedisOptions options;  // from url, password_file, connections, timeout_ms, key_prefix
  // When Redis cannot be reached: DPoP proofs are always refused (503: a replay check that cannot
  // be made fails closed); rate limits are counted by each node alone ("local", the default) or
  // the request is refused with 503 ("refuse").
  bool refuse_rate_limits_when_down = false;
};

struct Config {
  std::string file;
  std::vector<std::string> roles;  // as | gateway | fga
  HttpConfig http;
  StoreConfigYaml store;
  std::optional<AsConfig> as;  // required when roles has "as"
  FgaConfig fga;
  std::optional<GatewayConfig> gateway;  // required when roles has "gateway"
  std::optional<RedisConfig> redis;
  std::string log_level = "info";
};

Result<Config> load_config(const std::string& path);
Result<Config> parse_config(const std::string& yaml_text, const std::string& file_name);

}  // namespace tessera::app
