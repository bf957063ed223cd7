// The gateway role: a reverse proxy whose route table decides, per route, how a request's access
// token is checked before it is forwarded (DESIGN.md: "the gateway is part of every happy
// relationship"). Policies: `jwt` (validated locally against the issuer's JWKS), `introspect`
// (opaque tokens, RFC 7662, the answer cached until exp), `phantom` (introspected, and the
// issuer's signed answer, RFC 9701, forwarded as the upstream's bearer token) and `none`. Then
// required scopes (RFC 6750 §3.1 insufficient_scope) and step-up rules (RFC 9470 §3), and the
// request goes upstream with the claims the route names as headers; incoming headers of those names
// are stripped first so clients cannot spoof them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/rate_limit.h"
#include "http/message.h"
#include "http/router.h"
#include "tessera/challenge.h"
#include "tessera/dpop.h"
#include "tessera/message_signature.h"
#include "tessera/validator.h"

namespace tessera::gateway {

enum class Policy {
  kNone,
  kApiKey,      // a key from Options::api_keys in Options::api_key_header
  kBasic,       // HTTP Basic (RFC 7617) against Options::basic_users (argon2id), for legacy clients
  kJwt,         // JWT access tokens, validated locally (RFC 9068)
  kIntrospect,  // opaque tokens, introspected (RFC 7662); the token stays at the edge
  kPhantom,     // opaque outside, JWT inside: the issuer's signed introspection response
                // (RFC 9701) goes upstream in place of the opaque token
};
const char* to_string(Policy policy);

// What a route's rate limit counts requests by: the caller's client (its client_id, or the API
// key's id; the address when the route takes no token), or its address.
enum class RateKey { kClient, kAddress };

struct RouteRateLimit {
  std::string plan;  // a name from Options::rate_plans
  RateKey by = RateKey::kClient;
};

// An API key (policy api_key): stored as the SHA-256 of the key, never the key itself.
struct ApiKey {
  std::string id;          // the caller's client id: rate limits, logs, claim header "client_id"
  std::string owner;       // who holds it: claim "sub"
  std::string sha256_hex;  // lowercase hex of SHA-256(key)
  std::vector<std::string> scopes;
  std::string rate_plan;  // a name from Options::rate_plans, counted per key; empty: the route's
};

// Fine-grained authorization of one route against the fga role (OpenFGA's Check API): the
// object is `object_type:<the path segment after the route's prefix>`, the relation comes from
// the method, the user is `user_type:<the token's user_claim>`. A request without that segment
// (a collection), or whose method has no relation, is not checked here.
struct FgaCheck {
  std::string object_type;                       // e.g. "invoice"
  std::map<std::string, std::string> relations;  // method -> relation, e.g. GET -> viewer
  std::string user_type = "user";
  std::string user_claim = "sub";
};

// A user of `basic` routes: the password stored as an argon2id PHC string
// (`tessera user hash-password`).
struct BasicUser {
  std::string username;
  std::string password_hash;
  std::vector<std::string> scopes;
};

struct Route {
  std::string name;               // the route's series in the metrics; unique (default: routes[i])
  std::string host;               // Host to match (no port), case-insensitive; empty: any
  std::string path_prefix = "/";  // whole segments: /invoices matches /invoices/7, not /invoicesx
  std::vector<std::string> methods;  // empty: any
  std::string upstream;              // http(s)://host[:port][/base path]
  bool strip_prefix = false;         // forward /invoices/7 as <base>/7
  Policy policy = Policy::kJwt;
  std::vector<std::string> scopes;
  resource::ScopeMatch scope_match = resource::ScopeMatch::kAll;
  std::vector<std::string> acr_values;  // RFC 9470: the token's acr must be one of these
  std::optional<int64_t> max_age;       // RFC 9470: auth_time no older than this (seconds)
  // Header name -> claim name ("sub", "client_id", "scope", "act", ...): sent upstream.
  std::map<std::string, std::string> claim_headers;
  // Forward the request's Authorization field upstream (policy jwt: the validated JWT). Never
  // for introspect and phantom: the opaque token stays at the edge (phantom sends the issuer's
  // signed introspection response in its place).
  bool forward_authorization = true;
  // Token buckets (RFC 6585 §4 429 with Retry-After and the RateLimit fields); none: unlimited.
  std::optional<RouteRateLimit> rate_limit;
  std::optional<FgaCheck> fga;  // needs Options::fga and a token policy
  // RFC 9421: the key this route's upstream requests are signed with; unset: the gateway's
  // (Options::upstream_signature).
  std::optional<resource::HmacKey> upstream_signature;
};

// Where the routes' fine-grained checks go: the fga role's OpenFGA HTTP API.
struct FgaOptions {
  std::string url;  // e.g. http://127.0.0.1:8082
  std::string store_id;
  std::string model_id;  // empty: the store's latest model
  std::string token;     // Bearer credential for the fga API (a preshared key)
};

struct Options {
  std::string realm = "api";  // the WWW-Authenticate realm
  std::vector<Route> routes;  // first match wins
  // The validators the policies use (only those a route needs are built). `introspection` serves
  // the introspect and phantom policies (phantom asks for the signed response).
  resource::ValidatorOptions jwt;
  resource::ValidatorOptions introspection;
  size_t claims_cache_bytes = size_t{64} << 20;
  // Sender-constrained tokens: a token with cnf.jkt needs the DPoP scheme and a valid proof
  // (RFC 9449 §7.1; algorithms, iat window, replay cache here); one with cnf.x5t#S256 needs its
  // client certificate on the TLS connection (RFC 8705 §3). The proof's htu is compared with the
  // URL the client called: the connection's scheme, the Host field and the request-target.
  resource::DpopOptions dpop;
  // Rate plans the routes and API keys name, and the cap on buckets tracked (LRU beyond it;
  // about 115-190 bytes each). `rate_clock_ns`: monotonic nanoseconds, for tests.
  std::vector<RatePlan> rate_plans;
  size_t rate_limit_max_keys = 1'000'000;
  std::function<int64_t()> rate_clock_ns;
  // Buckets shared with other gateway nodes (Redis); see RateLimiterOptions::shared. A request
  // on a route whose limit is shared is decided on the upstream pool (the store may be waited
  // on), never on an I/O thread; so is one with a DPoP proof when dpop.shared_replay is set.
  std::shared_ptr<SharedBuckets> shared_rate_buckets;
  bool refuse_when_shared_buckets_down = false;
  std::optional<FgaOptions> fga;
  // CORS (the Fetch standard's CORS protocol) for browser apps on other origins: the exact
  // origins ("http://127.0.0.1:8080") whose scripts may call the routes. The gateway answers their
  // preflights itself and owns the Access-Control-* fields of every answer (an upstream's are
  // dropped). Tokens travel in Authorization, never cookies: no Allow-Credentials. Empty: none.
  std::vector<std::string> cors_origins;
  int64_t cors_max_age_seconds = 600;
  // Policy basic: the users, and how long a verified username and password are remembered (in
  // memory, as a salted SHA-256, at most basic_cache_entries) so argon2id runs once per client
  // and period rather than on every request. 0: verify every request.
  std::vector<BasicUser> basic_users;
  int64_t basic_cache_seconds = 60;
  size_t basic_cache_entries = 10'000;
  // Policy api_key: the keys, and the request field that carries one.
  std::vector<ApiKey> api_keys;
  std::string api_key_header = "X-API-Key";
  // How long an active introspection answer is trusted before the issuer is asked again (capped
  // by the token's exp): a token revoked at the issuer keeps passing the gateway this long at
  // most (RFC 7662 §4). 0: until exp. JWTs are cached until exp (they cannot be revoked early).
  int64_t introspection_cache_seconds = 60;
  // Threads that wait on upstreams and the introspection endpoint, and the queue in front of
  // them (full: 503).
  size_t upstream_threads = 16;
  size_t max_queued = 4096;
  int64_t upstream_timeout_ms = 30'000;
  bool verify_upstream_tls = true;
  // RFC 9421 HTTP Message Signatures (hmac-sha256) on every upstream request, label "tessera",
  // tag "tessera-gateway": the method, authority, path and query, and the fields the gateway
  // asserts or passes on (Authorization, DPoP, X-Forwarded-*, X-Request-Id, the claim headers).
  // An API that holds the key trusts those fields from the gateway alone
  // (resource::GatewayTrust). Unset: requests go unsigned (a route may still sign with its own).
  std::optional<resource::HmacKey> upstream_signature;
};

class Gateway {
 public:
  // Checks the route table and builds the validators; throws std::invalid_argument on a
  // configuration error (at start-up).
  explicit Gateway(Options options);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Every path no other route of `router` claims goes through the gateway.
  void install(http::Router& router);

  // One request, start to finish, on the calling thread (install() runs it on the gateway's
  // threads).
  http::Response handle(const http::Request& request) const;

  // Appends the gateway's metric families (Prometheus text format 0.0.4): requests by route and
  // status, their latency and the upstream's, and each token policy's claims cache.
  void render_metrics(std::string& out) const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::gateway
