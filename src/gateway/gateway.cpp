#include "gateway/gateway.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "core/base64url.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/space_list.h"
#include "core/worker_pool.h"
#include "http/bearer.h"
#include "http/client.h"
#include "http/metrics.h"
#include "identity/password_hash.h"
#include "resource/http_server.h"

namespace tessera::gateway {
namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

// The fields the gateway sets on every upstream request itself (upstream_request): never a
// client's, nor a claim header's.
bool gateway_asserted(std::string_view name) {
  return http::iequals(name, "X-Forwarded-For") || http::iequals(name, "X-Request-Id") ||
         std::any_of(resource::kForwardedUrlFields.begin(), resource::kForwardedUrlFields.end(),
                     [&](std::string_view f) { return http::iequals(f, name); });
}

// RFC 9110 §7.6.1: fields that describe one connection, never forwarded; plus Proxy-Authorization
// (§11.7.2: meant for this proxy) and Host and Content-Length, which the client sets itself.
bool hop_by_hop(std::string_view name) {
  static constexpr std::string_view kFields[] = {
      "Connection", "Proxy-Connection", "Keep-Alive",          "TE",   "Transfer-Encoding",
      "Upgrade",    "Trailer",          "Proxy-Authorization", "Host", "Content-Length"};
  return std::any_of(std::begin(kFields), std::end(kFields),
                     [&](std::string_view f) { return http::iequals(f, name); });
}

// §7.6.1: a field the Connection header names is hop-by-hop too. The names, copied: the list
// they come from may change while they are used.
std::vector<std::string> connection_options(const http::Headers& headers) {
  std::vector<std::string> out;
  for (const auto& [field, value] : headers) {
    if (!http::iequals(field, "Connection")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t comma = std::min(rest.find(','), rest.size());
      if (auto token = http::trim_ows(rest.substr(0, comma)); !token.empty()) {
        out.emplace_back(token);
      }
      rest = comma < rest.size() ? rest.substr(comma + 1) : std::string_view();
    }
  }
  return out;
}

bool named_in(const std::vector<std::string>& names, std::string_view name) {
  return std::any_of(names.begin(), names.end(),
                     [name](const std::string& n) { return http::iequals(n, name); });
}

// A claim as one header value: strings as they are, arrays space-joined, anything else as JSON;
// control characters dropped so no claim can split the header (RFC 9110 §5.5).
std::string header_value(const json& claim) {
  std::string raw;
  if (claim.is_string()) {
    raw = claim.get<std::string>();
  } else if (claim.is_array() &&
             std::all_of(claim.begin(), claim.end(), [](const json& v) { return v.is_string(); })) {
    for (const auto& v : claim) {
      if (!raw.empty()) raw += ' ';
      raw += v.get<std::string>();
    }
  } else {
    raw = claim.dump();
  }
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7F) out += c;
  }
  return out;
}

bool path_has_prefix(std::string_view path, std::string_view prefix) {
  if (prefix == "/" || prefix.empty()) return true;
  if (path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/' || prefix.back() == '/';
}

std::string host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') return std::string(host.substr(0, host.find(']') + 1));
  return std::string(host.substr(0, host.find(':')));
}

void check_signing_key(const resource::HmacKey& key, const std::string& what) {
  // The keyid is an RFC 8941 String: printable ASCII.
  const bool printable = std::all_of(key.id.begin(), key.id.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) <= 0x7E;
  });
  if (key.id.empty() || !printable || key.secret.size() < resource::kMinHmacKeyBytes) {
    throw std::invalid_argument(what +
                                ": an upstream signature key needs a key_id of printable ASCII "
                                "and at least " +
                                std::to_string(resource::kMinHmacKeyBytes) + " bytes");
  }
}

bool ascii(std::string_view v) {
  return std::all_of(v.begin(), v.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// RFC 9421 §3.1: signs `up` with `key`, covering its method, authority, path and query and the
// fields of `signed_fields` it carries (lowercase), with the gateway's label and tag. A field
// whose value is not ASCII (a claim header with a UTF-8 name, say) is sent unsigned: §2.5 signs
// ASCII only. False when the request line itself cannot be signed.
bool sign_upstream(http::ClientRequest& up, const resource::HmacKey& key,
                   const std::vector<std::string>& signed_fields) {
  const size_t scheme_end = up.url.find("://") + 3;
  const size_t target_start = std::min(up.url.find('/', scheme_end), up.url.size());
  resource::SignedMessage m;
  m.method = up.method;
  m.scheme = up.url.rfind("https://", 0) == 0 ? "https" : "http";
  m.authority = std::string_view(up.url).substr(scheme_end, target_start - scheme_end);
  m.target = std::string_view(up.url).substr(target_start);
  for (const auto& [name, value] : up.headers) m.fields.emplace_back(name, value);
  std::vector<std::string> covered = {"@method", "@authority", "@path", "@query"};
  for (const auto& field : signed_fields) {
    bool present = false;
    bool signable = true;
    for (const auto& [name, value] : up.headers) {
      if (!http::iequals(name, field)) continue;
      present = true;
      signable = signable && ascii(value);
    }
    if (present && signable) covered.push_back(field);
  }
  auto fields =
      resource::sign_hmac_sha256(m, covered, key, SystemClock::instance().now(),
                                 resource::kGatewaySignatureLabel, resource::kGatewaySignatureTag);
  if (!fields) return false;
  // set(): a client's own Signature fields are replaced; the hop's signature is the gateway's.
  up.headers.set("Signature-Input", fields->signature_input);
  up.headers.set("Signature", fields->signature);
  return true;
}

void check_route(const Route& r) {
  const std::string what = "gateway route " + (r.name.empty() ? r.path_prefix : r.name);
  if (r.path_prefix.empty() || r.path_prefix.front() != '/') {
    throw std::invalid_argument(what + ": path_prefix must start with /");
  }
  if (r.upstream.rfind("http://", 0) != 0 && r.upstream.rfind("https://", 0) != 0) {
    throw std::invalid_argument(what + ": upstream must be an http:// or https:// URL");
  }
  if (r.upstream.find_first_of("?#") != std::string::npos) {
    throw std::invalid_argument(what + ": upstream must not have a query or fragment");
  }
  if (r.policy == Policy::kNone &&
      (!r.scopes.empty() || !r.acr_values.empty() || r.max_age || !r.claim_headers.empty())) {
    throw std::invalid_argument(
        what + ": scopes, acr_values, max_age and claim_headers need a token policy");
  }
  if (r.fga &&
      (r.policy == Policy::kNone || r.fga->object_type.empty() || r.fga->relations.empty() ||
       r.fga->user_type.empty() || r.fga->user_claim.empty())) {
    throw std::invalid_argument(what +
                                ": fga needs a token policy, object_type, relations, user_type "
                                "and user_claim");
  }
  if ((r.policy == Policy::kApiKey || r.policy == Policy::kBasic) &&
      (!r.acr_values.empty() || r.max_age)) {
    throw std::invalid_argument(what + ": API keys carry no authentication to step up");
  }
  if (r.upstream_signature) check_signing_key(*r.upstream_signature, what);
  for (const auto& [header, claim] : r.claim_headers) {
    if (header.empty() || claim.empty() || hop_by_hop(header) || !http::is_token(header) ||
        http::iequals(header, "Authorization") || http::iequals(header, "Signature") ||
        http::iequals(header, "Signature-Input")) {
      std::string message = what;
      message += ": claim header ";
      message += header;
      message += " cannot be set";
      throw std::invalid_argument(message);
    }
  }
}

}  // namespace

const char* to_string(Policy policy) {
  switch (policy) {
    case Policy::kNone:
      return "none";
    case Policy::kJwt:
      return "jwt";
    case Policy::kIntrospect:
      return "introspect";
    case Policy::kPhantom:
      return "phantom";
    case Policy::kApiKey:
      return "api_key";
    case Policy::kBasic:
      return "basic";
  }
  return "unknown";
}

namespace {

// One route's series: its answers by status with their latency, and its upstream's latency.
struct RouteSeries {
  explicit RouteSeries(std::string_view name) : answers(http::label("route", name)) {}
  http::RouteMetrics answers;
  http::Histogram upstream;
};

// Completes a request's responder and counts the answer in its route's series.
class CountedSink final : public http::Responder::Sink {
 public:
  CountedSink(http::Responder inner, RouteSeries& series, SteadyClock::time_point start)
      : inner_(std::move(inner)), series_(series), start_(start) {}
  void complete(http::Response response) override {
    series_.answers.record(http::this_thread_shard(), response.status, SteadyClock::now() - start_);
    inner_(std::move(response));
  }

 private:
  http::Responder inner_;
  RouteSeries& series_;
  SteadyClock::time_point start_;
};

}  // namespace

class Gateway::Impl {
 public:
  explicit Impl(Options o)
      : options_(std::move(o)),
        dpop_(options_.dpop),
        pool_(options_.upstream_threads, options_.max_queued) {
    if (options_.routes.empty()) throw std::invalid_argument("the gateway has no routes");
    if (options_.upstream_signature) {
      check_signing_key(*options_.upstream_signature, "gateway.upstream_signature");
    }
    std::set<std::string, std::less<>> names = {std::string(kUnrouted)};
    for (size_t i = 0; i < options_.routes.size(); ++i) {
      const Route& r = options_.routes[i];
      check_route(r);
      // A route's series in the metrics: its name, or where it has none its place in the list.
      const std::string name = r.name.empty() ? "routes[" + std::to_string(i) + "]" : r.name;
      if (!names.insert(name).second) {
        throw std::invalid_argument("gateway route routes[" + std::to_string(i) + "]: the name " +
                                    name + " is taken");
      }
      series_.push_back(std::make_unique<RouteSeries>(name));
      // What its signature covers besides the request line (RFC 9421 §2.1: lowercase names).
      std::vector<std::string> fields = {"authorization",    "dpop",
                                         "x-forwarded-for",  "x-forwarded-proto",
                                         "x-forwarded-host", "x-forwarded-uri",
                                         "x-request-id"};
      for (const auto& [header, claim] : r.claim_headers) {
        std::string lower = http::ascii_lower(header);
        if (std::find(fields.begin(), fields.end(), lower) == fields.end()) fields.push_back(lower);
      }
      signed_fields_.push_back(std::move(fields));
      async_upstream_.push_back(http::AsyncHttpClient::supports(r.upstream));
      // The claim headers, one per name whatever its case, each with its claims last first: the
      // upstream gets the last in the map's order that the token has. None of a name the gateway
      // asserts itself, whose value it sets.
      std::vector<ClaimHeader> claims;
      for (auto it = r.claim_headers.rbegin(); it != r.claim_headers.rend(); ++it) {
        if (gateway_asserted(it->first)) continue;
        auto same = std::find_if(claims.begin(), claims.end(), [&](const ClaimHeader& c) {
          return http::iequals(c.name, it->first);
        });
        if (same == claims.end()) same = claims.insert(claims.end(), ClaimHeader{it->first, {}});
        same->claims.push_back(it->second);
      }
      claim_headers_.push_back(std::move(claims));
    }
    series_.push_back(std::make_unique<RouteSeries>(kUnrouted));
    if (!options_.rate_plans.empty()) {
      RateLimiterOptions limits;
      limits.max_keys = options_.rate_limit_max_keys;
      limits.now_ns = options_.rate_clock_ns;
      limits.shared = options_.shared_rate_buckets;
      limits.refuse_when_shared_down = options_.refuse_when_shared_buckets_down;
      limiter_ = std::make_unique<RateLimiter>(options_.rate_plans, limits);
    }
    auto plan_id = [&](const std::string& name, const std::string& what) {
      auto id = limiter_ ? limiter_->find_plan(name) : std::nullopt;
      if (!id) throw std::invalid_argument(what + ": no rate plan named " + name);
      return *id;
    };
    for (const auto& r : options_.routes) {
      if (r.rate_limit) route_plans_[&r] = plan_id(r.rate_limit->plan, "gateway route " + r.name);
    }
    load_api_keys(plan_id);
    load_basic_users();
    const bool checks = std::any_of(options_.routes.begin(), options_.routes.end(),
                                    [](const Route& r) { return r.fga.has_value(); });
    if (checks && (!options_.fga || options_.fga->url.empty() || options_.fga->store_id.empty())) {
      throw std::invalid_argument("routes with fga checks need gateway.fga (url and store_id)");
    }
    auto uses = [&](Policy p) {
      return std::any_of(options_.routes.begin(), options_.routes.end(),
                         [p](const Route& r) { return r.policy == p; });
    };
    // One claims cache per validator: a token accepted under one validator's issuer and
    // audiences must not be served from cache to a route of the other.
    const size_t validators = (uses(Policy::kJwt) ? 1 : 0) + (uses(Policy::kIntrospect) ? 1 : 0) +
                              (uses(Policy::kPhantom) ? 1 : 0);
    // claims_cache_bytes bounds every validator's cache together: each gets its share
    // (ClaimsCache::within; 0 is no cache).
    const size_t share = options_.claims_cache_bytes / std::max<size_t>(validators, 1);
    auto authenticator = [&](resource::ValidatorOptions v, resource::TokenForm form,
                             int64_t max_cache_seconds) {
      v.accept = form;
      return std::make_unique<resource::Authenticator>(
          std::make_shared<resource::Validator>(std::move(v)), resource::ClaimsCache::within(share),
          resource::ClaimsProvider{}, max_cache_seconds);
    };
    if (uses(Policy::kJwt)) jwt_ = authenticator(options_.jwt, resource::TokenForm::kJwt, 0);
    if (uses(Policy::kIntrospect)) {
      introspect_ = authenticator(options_.introspection, resource::TokenForm::kOpaque,
                                  options_.introspection_cache_seconds);
    }
    if (uses(Policy::kPhantom)) {
      resource::ValidatorOptions v = options_.introspection;
      v.introspection_jwt = true;  // RFC 9701 §4
      phantom_ = authenticator(std::move(v), resource::TokenForm::kOpaque,
                               options_.introspection_cache_seconds);
    }
    http::ClientOptions c;
    c.connect_timeout =
        std::chrono::milliseconds(std::min<int64_t>(options_.upstream_timeout_ms, 5'000));
    c.read_timeout = std::chrono::milliseconds(options_.upstream_timeout_ms);
    c.verify_tls = options_.verify_upstream_tls;
    c.max_idle_per_host = options_.upstream_threads;
    c.user_agent.clear();  // the client's own User-Agent goes through
    upstream_ = std::make_unique<http::HttpClient>(c);
    // Per io thread and upstream: as many idle connections as requests may wait on it.
    c.max_idle_per_host = std::max<size_t>(options_.upstream_threads, 64);
    upstream_async_ = std::make_unique<http::AsyncHttpClient>(c);
  }

  void install(http::Router& router) {
    router.set_fallback([this](const http::Request& request, http::Responder respond) {
      serve(request, std::move(respond));
    });
  }

  // A request on an io thread. What needs no waiting (a token the claims cache knows, an API
  // key, a route without policy, the refusals) is decided right there, and the upstream call runs
  // on the same event loop (AsyncHttpClient): no thread waits on the upstream. What may wait (a
  // token to validate against the issuer, a basic password, an fga check, an https upstream)
  // goes to the pool first.
  void serve(const http::Request& request, http::Responder respond) const {
    const http::EventLoop loop = http::EventLoop::current();
    const auto start = SteadyClock::now();
    auto routed = route_for(request);
    respond = http::Responder(
        std::make_shared<CountedSink>(std::move(respond), series_for(routed.route), start));
    if (routed.answer) return respond(std::move(*routed.answer));
    const Route& route = *routed.route;
    resource::CachedToken cached;
    if (!must_wait(request, route, cached)) {
      return proceed(request, route, std::move(cached), loop, std::move(respond));
    }
    auto shared = std::make_shared<http::Responder>(std::move(respond));
    // The server keeps `request` alive until the responder is called.
    // The pool asks the claims cache again: the token may have been cached while this waited.
    const bool queued = pool_.submit([this, &request, &route, loop, shared] {
      proceed(request, route, {}, loop, std::move(*shared));
    });
    if (!queued) {
      (*shared)(resource::to_response(resource::temporarily_unavailable("the server is busy")));
    }
  }

  // The same, blocking (Gateway::handle).
  http::Response handle(const http::Request& request) const {
    const auto start = SteadyClock::now();
    auto routed = route_for(request);
    RouteSeries& series = series_for(routed.route);
    http::Response answer = [&] {
      if (routed.answer) return std::move(*routed.answer);
      Decision d = decide(request, *routed.route, {});
      if (d.answer) return with_cors(std::move(*d.answer), request);
      http::ClientRequest& up = upstream_scratch();
      if (!upstream_request(request, *routed.route, d.principal.get(), up)) {
        return with_cors(unsignable(), request);
      }
      return forwarded(call_upstream(up, series), d, request);
    }();
    series.answers.record(http::this_thread_shard(), answer.status, SteadyClock::now() - start);
    return answer;
  }

  // The gateway's metric families (Prometheus text format 0.0.4), for /metrics.
  void render_metrics(std::string& out) const {
    out +=
        "# HELP tessera_gateway_requests_total Requests the gateway answered, by route (its name; "
        "<unrouted>: no route took the request) and status.\n"
        "# TYPE tessera_gateway_requests_total counter\n";
    for (const auto& s : series_) s->answers.render_counts(out, "tessera_gateway_requests_total");
    out +=
        "# HELP tessera_gateway_request_duration_seconds Time from the route table to the answer, "
        "the upstream's part included.\n"
        "# TYPE tessera_gateway_request_duration_seconds histogram\n";
    for (const auto& s : series_) {
      s->answers.render_histogram(out, "tessera_gateway_request_duration_seconds");
    }
    out +=
        "# HELP tessera_gateway_upstream_duration_seconds Time the upstream took to answer, or to "
        "fail, by route.\n"
        "# TYPE tessera_gateway_upstream_duration_seconds histogram\n";
    for (const auto& s : series_) {
      s->upstream.render(out, "tessera_gateway_upstream_duration_seconds", s->answers.labels());
    }
    // One claims cache per token policy (a cache of no bytes is none: no series).
    std::vector<std::pair<std::string, resource::ClaimsCache::Stats>> caches;
    for (const auto& [policy, auth] :
         {std::pair{Policy::kJwt, jwt_.get()}, std::pair{Policy::kIntrospect, introspect_.get()},
          std::pair{Policy::kPhantom, phantom_.get()}}) {
      if (auth != nullptr && auth->cache() != nullptr) {
        caches.emplace_back(http::label("policy", to_string(policy)), auth->cache()->stats());
      }
    }
    auto family = [&](std::string_view name, std::string_view type, std::string_view help,
                      auto value) {
      out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
      for (const auto& [labels, stats] : caches) {
        out += fmt::format("{}{{{}}} {}\n", name, labels, value(stats));
      }
    };
    using Stats = resource::ClaimsCache::Stats;
    family("tessera_gateway_claims_cache_hits_total", "counter",
           "Access tokens the claims cache knew, by policy.",
           [](const Stats& s) { return s.hits; });
    family("tessera_gateway_claims_cache_misses_total", "counter",
           "Access tokens the claims cache did not know (validated, then cached if valid).",
           [](const Stats& s) { return s.misses; });
    family("tessera_gateway_claims_cache_evictions_total", "counter",
           "Tokens dropped from the claims cache for room before their exp.",
           [](const Stats& s) { return s.evictions; });
    family("tessera_gateway_claims_cache_entries", "gauge", "Tokens in the claims cache.",
           [](const Stats& s) { return s.entries; });
    family("tessera_gateway_claims_cache_bytes", "gauge",
           "The claims cache's estimated size, as counted against claims_cache_bytes.",
           [](const Stats& s) { return s.bytes + s.hot_bytes; });
  }

 private:
  // The request's Origin when it is one of options_.cors_origins (exact, case-sensitive: the
  // serialisation of an origin is canonical).
  std::optional<std::string_view> allowed_origin(const http::Request& request) const {
    if (options_.cors_origins.empty() || request.headers().count("Origin") != 1) {
      return std::nullopt;
    }
    const std::string_view origin = *request.header("Origin");
    for (const auto& o : options_.cors_origins) {
      if (o == origin) return origin;
    }
    return std::nullopt;
  }

  void set_cors_fields(http::Headers& headers, std::string_view origin) const {
    std::vector<std::string> upstream_cors;
    for (const auto& field : headers) {
      if (field.first.size() > 15 && http::iequals(field.first.substr(0, 15), "Access-Control-")) {
        upstream_cors.push_back(field.first);
      }
    }
    for (const auto& name : upstream_cors) headers.remove(name);
    headers.set("Access-Control-Allow-Origin", origin);
    headers.add("Vary", "Origin");
    // What a script may read beyond the CORS-safelisted fields: the challenges, the limits.
    headers.set("Access-Control-Expose-Headers",
                "WWW-Authenticate, Retry-After, RateLimit, RateLimit-Policy, Location, DPoP-Nonce");
  }

  // A CORS preflight from an allowed origin: 204 naming what the actual request may use. The
  // actual request is then checked like any other.
  http::Response preflight(std::string_view origin) const {
    http::Response r(204);
    set_cors_fields(r.headers, origin);
    r.headers.set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE");
    std::string allowed = "Authorization, Content-Type, DPoP";
    allowed += ", " + options_.api_key_header;
    r.headers.set("Access-Control-Allow-Headers", allowed);
    r.headers.set("Access-Control-Max-Age", std::to_string(options_.cors_max_age_seconds));
    r.headers.set("Cache-Control", "no-store");
    return r;
  }

  struct Routed {
    const Route* route = nullptr;
    std::optional<http::Response> answer;  // a preflight, 404 or 405 (with CORS fields)
  };

  Routed route_for(const http::Request& request) const {
    if (auto origin = allowed_origin(request);
        origin && request.method() == "OPTIONS" &&
        request.headers().contains("Access-Control-Request-Method")) {
      return {nullptr, preflight(*origin)};
    }
    bool path_known = false;
    const std::string host = host_without_port(request.header("Host").value_or(""));
    for (const auto& r : options_.routes) {
      if (!r.host.empty() && !http::iequals(r.host, host)) continue;
      if (!path_has_prefix(request.path(), r.path_prefix)) continue;
      path_known = true;
      if (!r.methods.empty() &&
          std::none_of(r.methods.begin(), r.methods.end(),
                       [&](const std::string& m) { return m == request.method(); })) {
        continue;
      }
      return {&r, std::nullopt};
    }
    return {
        nullptr,
        with_cors(path_known
                      ? http::Response::error(405, "method_not_allowed", "method not allowed here")
                      : http::Response::error(404, "not_found", "no route for this path"),
                  request)};
  }

  // True when deciding `request` may wait on something (the issuer, a password hash, the fga
  // role) or its upstream speaks https. Otherwise `cached` gets the request's token, once taken
  // out of its Authorization field, and the principal the claims cache holds for it, if any.
  bool must_wait(const http::Request& request, const Route& route,
                 resource::CachedToken& cached) const {
    if (route.fga || route.policy == Policy::kBasic) return true;
    if (!async_upstream_[index_of(route)]) return true;
    // Shared state (Redis) is asked with a blocking client: never on an I/O thread.
    if (limiter_ && limiter_->shared() &&
        (route_plans_.count(&route) > 0 || route.policy == Policy::kApiKey)) {
      return true;
    }
    if (options_.dpop.shared_replay && request.headers().count("DPoP") > 0) return true;
    if (route.policy == Policy::kNone || route.policy == Policy::kApiKey) return false;
    if (request.headers().count("Authorization") != 1 ||
        resource::access_token(request.header("Authorization"), cached.token, cached.scheme)) {
      return false;  // refused without asking anyone
    }
    const resource::Authenticator& auth = authenticator_for(route);
    // A miss is counted by the look-up decide() makes (Authenticator::authenticate).
    if (auth.cache() != nullptr) {
      cached.principal =
          auth.cache()->find(cached.token, auth.validator().now(), /*count_miss=*/false);
    }
    // A JWT whose key is at hand is validated right here: signature checks are CPU work.
    return cached.principal == nullptr && !auth.validator().validates_without_waiting(cached.token);
  }

  const resource::Authenticator& authenticator_for(const Route& route) const {
    return route.policy == Policy::kJwt          ? *jwt_
           : route.policy == Policy::kIntrospect ? *introspect_
                                                 : *phantom_;
  }

  // Decides, then calls the upstream: on `loop` when there is one and the upstream speaks plain
  // HTTP, blocking otherwise (only ever on a pool thread: must_wait() sends https there).
  void proceed(const http::Request& request, const Route& route, resource::CachedToken cached,
               const http::EventLoop& loop, http::Responder respond) const {
    Decision d = decide(request, route, std::move(cached));
    if (d.answer) return respond(with_cors(std::move(*d.answer), request));
    http::ClientRequest& up = upstream_scratch();
    if (!upstream_request(request, route, d.principal.get(), up)) {
      return respond(with_cors(unsignable(), request));
    }
    RouteSeries& series = series_for(&route);
    if (!loop || !async_upstream_[index_of(route)]) {
      return respond(forwarded(call_upstream(up, series), d, request));
    }
    auto shared = std::make_shared<http::Responder>(std::move(respond));
    auto decided = std::make_shared<Decision>(std::move(d));
    upstream_async_->send(
        loop, up,
        [this, &request, decided, shared, &series,
         sent = SteadyClock::now()](Result<http::ClientResponse, http::ClientError> answer) {
          series.upstream.observe(http::this_thread_shard(), SteadyClock::now() - sent);
          (*shared)(forwarded(from_upstream(std::move(answer)), *decided, request));
        });
  }

  // The upstream's answer with the blocking client (a pool thread, or handle()), timed.
  http::Response call_upstream(const http::ClientRequest& up, RouteSeries& series) const {
    const auto sent = SteadyClock::now();
    auto answer = upstream_->request(up);
    series.upstream.observe(http::this_thread_shard(), SteadyClock::now() - sent);
    return from_upstream(std::move(answer));
  }

  size_t index_of(const Route& route) const {
    return static_cast<size_t>(&route - options_.routes.data());
  }
  RouteSeries& series_for(const Route* route) const {
    return route == nullptr ? *series_.back() : *series_[index_of(*route)];
  }

  // What the gateway decided about a request: its own answer, or the caller and what the answer
  // from upstream carries besides.
  struct Decision {
    std::optional<http::Response> answer;
    std::shared_ptr<const resource::Principal> principal;
    std::optional<std::string> dpop_nonce;
    std::vector<std::pair<const RatePlan*, RateDecision>> rate_decisions;
  };

  http::Response with_cors(http::Response answer, const http::Request& request) const {
    if (auto origin = allowed_origin(request)) set_cors_fields(answer.headers, *origin);
    return answer;
  }

  http::Response forwarded(http::Response answer, const Decision& d,
                           const http::Request& request) const {
    if (d.dpop_nonce) answer.headers.set("DPoP-Nonce", *d.dpop_nonce);  // RFC 9449 §9
    for (const auto& [plan, decision] : d.rate_decisions) {
      add_rate_limit_headers(answer.headers, *plan, decision);
    }
    return with_cors(std::move(answer), request);
  }

  // Rate limits, authentication, scopes, step-up and the fga check of `request` on `route`. With
  // `cached`: the request's token as must_wait() took it out, and the principal the claims cache
  // gave for it.
  Decision decide(const http::Request& request, const Route& route,
                  resource::CachedToken cached) const {
    Decision d;
    auto refuse = [&d](http::Response r) {
      d.answer = std::move(r);
      return std::move(d);
    };
    // Limits by address come first: they protect the validation behind them.
    const auto route_plan = route_plans_.find(&route);
    const bool limited = route_plan != route_plans_.end();
    auto address_key = [&request] { return "ip:" + std::string(request.peer_address()); };
    auto take = [&](RateLimiter::PlanId plan,
                    std::string_view key) -> std::optional<http::Response> {
      auto decision = limiter_->take(plan, key);
      if (!decision && decision.error() == RateLimitError::kUnavailable) {
        // refuse_when_shared_down: the shared buckets cannot be asked (RFC 9110 §15.6.4).
        return resource::to_response(
            resource::temporarily_unavailable("the rate limit cannot be checked right now"));
      }
      if (!decision) {
        return http::Response::error(400, "invalid_request", "the caller cannot be counted");
      }
      if (!decision->allowed) return too_many_requests(*limiter_->plan(plan), *decision);
      d.rate_decisions.emplace_back(limiter_->plan(plan), *decision);
      return std::nullopt;
    };
    if (limited && route.rate_limit->by == RateKey::kAddress) {
      if (auto refused = take(route_plan->second, address_key())) {
        return refuse(std::move(*refused));
      }
    }

    std::optional<RateLimiter::PlanId> key_plan;
    if (route.policy == Policy::kBasic || route.policy == Policy::kApiKey) {
      auto found = route.policy == Policy::kBasic ? basic_user(request) : api_key(request);
      if (!found.principal) return refuse(std::move(*found.refusal));
      d.principal = found.principal;
      key_plan = found.plan;
      if (auto c = resource::require_scope(*d.principal, options_.realm, route.scopes,
                                           route.scope_match)) {
        return refuse(resource::to_response(*c));
      }
    } else if (route.policy != Policy::kNone) {
      const resource::Authenticator& auth = authenticator_for(route);
      auto caller = resource::authenticate_request(auth, options_.realm, request, route.scopes,
                                                   route.scope_match, &dpop_, std::move(cached));
      if (caller.refusal) return refuse(std::move(*caller.refusal));
      d.principal = caller.principal;
      d.dpop_nonce = std::move(caller.dpop_nonce);
      if (auto c = resource::require_authentication(*d.principal, options_.realm, route.acr_values,
                                                    route.max_age, auth.validator().now())) {
        return refuse(resource::to_response(*c));
      }
    }
    if (route.fga && d.principal) {
      if (auto refused = fga_check(request, route, *d.principal)) {
        return refuse(std::move(*refused));
      }
    }
    if (limited && route.rate_limit->by == RateKey::kClient) {
      // Each kind of caller in a namespace of its own; a token naming no client (an introspection
      // answer may omit client_id, RFC 7662 §2.2) is counted by its address.
      const char* kind = route.policy == Policy::kApiKey  ? "key:"
                         : route.policy == Policy::kBasic ? "user:"
                                                          : "client:";
      const std::string key = d.principal && !d.principal->client_id.empty()
                                  ? kind + d.principal->client_id
                                  : address_key();
      if (auto refused = take(key_plan.value_or(route_plan->second), key)) {
        return refuse(std::move(*refused));
      }
    } else if (key_plan) {
      // The key's own plan, counted per key, even where the route counts by address.
      if (auto refused = take(*key_plan, "key:" + d.principal->client_id)) {
        return refuse(std::move(*refused));
      }
    }
    return d;
  }

 private:
  struct KeyHolder {
    std::shared_ptr<const resource::Principal> principal;
    std::optional<RateLimiter::PlanId> plan;
  };

  template <class PlanId>
  void load_api_keys(PlanId plan_id) {
    for (const ApiKey& k : options_.api_keys) {
      const std::string what = "gateway API key " + k.id;
      if (k.id.empty()) throw std::invalid_argument("a gateway API key has no id");
      if (k.sha256_hex.size() != 64 ||
          k.sha256_hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
        throw std::invalid_argument(what + ": sha256 must be 64 lowercase hex digits");
      }
      KeyHolder holder{
          static_principal("api_key", k.owner.empty() ? k.id : k.owner, k.id, k.scopes),
          std::nullopt};
      if (!k.rate_plan.empty()) holder.plan = plan_id(k.rate_plan, what);
      if (!api_keys_.emplace(k.sha256_hex, std::move(holder)).second) {
        throw std::invalid_argument(what + ": the same key is listed twice");
      }
    }
    const bool used = std::any_of(options_.routes.begin(), options_.routes.end(),
                                  [](const Route& r) { return r.policy == Policy::kApiKey; });
    if (used && api_keys_.empty()) {
      throw std::invalid_argument("routes with policy api_key need gateway api_keys");
    }
  }

  // The caller an API key or a basic user stands for, built once at start: the claims a forwarded
  // header may name (sub, client_id, scope as RFC 6749 §3.3 writes it).
  static std::shared_ptr<const resource::Principal> static_principal(
      std::string issuer, const std::string& subject, const std::string& client_id,
      const std::vector<std::string>& scopes) {
    auto p = std::make_shared<resource::Principal>();
    p->issuer = std::move(issuer);
    p->subject = subject;
    p->client_id = client_id;
    p->scopes = scopes;
    p->claims = {{"sub", subject}, {"client_id", client_id}, {"scope", join_space_list(scopes)}};
    return p;
  }

  struct KeyLookup {
    std::shared_ptr<const resource::Principal> principal;
    std::optional<RateLimiter::PlanId> plan;
    std::optional<http::Response> refusal;
  };

  void load_basic_users() {
    for (const BasicUser& u : options_.basic_users) {
      // RFC 7617 §2: the user-id cannot contain a colon.
      if (u.username.empty() || u.username.find(':') != std::string::npos) {
        throw std::invalid_argument("gateway basic user '" + u.username +
                                    "': a username is required and cannot contain ':'");
      }
      if (u.password_hash.rfind("$argon2id$", 0) != 0) {
        throw std::invalid_argument("gateway basic user " + u.username +
                                    ": password_hash must be an argon2id PHC string");
      }
      auto p = static_principal("basic", u.username, u.username, u.scopes);
      if (!basic_users_.emplace(u.username, BasicEntry{&u, std::move(p)}).second) {
        throw std::invalid_argument("gateway basic user " + u.username + " is listed twice");
      }
    }
    const bool used = std::any_of(options_.routes.begin(), options_.routes.end(),
                                  [](const Route& r) { return r.policy == Policy::kBasic; });
    if (used && basic_users_.empty()) {
      throw std::invalid_argument("routes with policy basic need gateway basic_users");
    }
  }

  // RFC 7617: `Authorization: Basic base64(user-id ":" password)`, verified with argon2id (the
  // unknown-user path takes as long), a success remembered for basic_cache_seconds.
  KeyLookup basic_user(const http::Request& request) const {
    auto refuse = [&](std::string_view description, int status = 401) {
      http::Response r = http::Response::error(
          status, status == 401 ? "invalid_client" : "invalid_request", description);
      std::string challenge = "Basic ";
      http::append_challenge_param(challenge, "realm", options_.realm);
      http::append_challenge_param(challenge, "charset", "UTF-8");  // RFC 7617 §2.1
      r.headers.set("WWW-Authenticate", challenge);
      return KeyLookup{nullptr, std::nullopt, std::move(r)};
    };
    if (request.headers().count("Authorization") > 1) {
      return refuse("repeated Authorization header", 400);
    }
    auto credential =
        http::scheme_credential(request.header("Authorization").value_or(""), "Basic");
    if (!credential || !*credential) return refuse("HTTP Basic credentials are required");
    auto decoded = base64::decode(**credential);
    const size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) return refuse("the Basic credentials are malformed");
    const std::string username = decoded->substr(0, colon);
    const std::string_view password = std::string_view(*decoded).substr(colon + 1);
    auto found = basic_users_.find(username);
    const std::string cache_key = crypto::sha256(basic_salt_ + *decoded);
    const int64_t now = SystemClock::instance().now();
    if (found != basic_users_.end() && options_.basic_cache_seconds > 0) {
      std::lock_guard lock(basic_mutex_);
      auto hit = basic_cache_.find(cache_key);
      if (hit != basic_cache_.end() && hit->second > now) {
        return KeyLookup{found->second.principal, std::nullopt, std::nullopt};
      }
    }
    const bool ok = found != basic_users_.end()
                        ? identity::verify_password(password, found->second.user->password_hash)
                        : identity::verify_password_for_unknown_user(password);
    if (!ok) return refuse("the username or password is wrong");
    if (options_.basic_cache_seconds > 0) {
      std::lock_guard lock(basic_mutex_);
      if (basic_cache_.size() >= options_.basic_cache_entries) {
        std::erase_if(basic_cache_, [now](const auto& e) { return e.second <= now; });
        if (basic_cache_.size() >= options_.basic_cache_entries) basic_cache_.clear();
      }
      basic_cache_[cache_key] = now + options_.basic_cache_seconds;
    }
    return KeyLookup{found->second.principal, std::nullopt, std::nullopt};
  }

  // The key in options_.api_key_header, looked up by its SHA-256 (the table holds no key).
  // RFC 9110 §11.6.1: a 401 names how to authenticate, here the ApiKey scheme and its field.
  KeyLookup api_key(const http::Request& request) const {
    auto refuse = [&](std::string_view error, std::string_view description) {
      http::Response r = http::Response::error(401, error, description);
      std::string challenge = "ApiKey ";
      http::append_challenge_param(challenge, "realm", options_.realm);
      http::append_challenge_param(challenge, "header", options_.api_key_header);
      r.headers.set("WWW-Authenticate", challenge);
      return KeyLookup{nullptr, std::nullopt, std::move(r)};
    };
    const size_t count = request.headers().count(options_.api_key_header);
    if (count == 0) return refuse("invalid_request", "an API key is required");
    if (count > 1) return refuse("invalid_request", "more than one API key");
    const std::string_view presented = *request.header(options_.api_key_header);
    if (presented.empty() || presented.size() > 512) {
      return refuse("invalid_key", "the API key is not valid");
    }
    auto found = api_keys_.find(crypto::to_hex(crypto::sha256(presented)));
    if (found == api_keys_.end()) return refuse("invalid_key", "the API key is not valid");
    return KeyLookup{found->second.principal, found->second.plan, std::nullopt};
  }

  // The route's fine-grained check (OpenFGA Check API): nullopt when allowed or not checked, the
  // refusal otherwise (403 when the fga role says no, 503 when it cannot say).
  std::optional<http::Response> fga_check(const http::Request& request, const Route& route,
                                          const resource::Principal& principal) const {
    const FgaCheck& check = *route.fga;
    auto relation = check.relations.find(std::string(request.method()));
    if (relation == check.relations.end()) return std::nullopt;
    std::string_view rest = request.path();
    if (route.path_prefix != "/") {
      rest.remove_prefix(std::min(rest.size(), route.path_prefix.size()));
    }
    while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    const std::string_view segment = rest.substr(0, rest.find('/'));
    if (segment.empty()) return std::nullopt;  // a collection: the API filters it
    auto decoded = http::percent_decode(segment, /*plus_is_space=*/false);
    const json* claim = principal.claims.find(check.user_claim);
    if (!decoded || decoded->empty() || claim == nullptr || !claim->is_string() ||
        claim->get<std::string>().empty()) {
      return http::Response::error(403, "access_denied", "this request cannot be authorized");
    }
    json body = {{"tuple_key",
                  {{"user", check.user_type + ":" + claim->get<std::string>()},
                   {"relation", relation->second},
                   {"object", check.object_type + ":" + *decoded}}}};
    if (!options_.fga->model_id.empty()) body["authorization_model_id"] = options_.fga->model_id;
    http::ClientRequest r;
    r.method = "POST";
    r.url = options_.fga->url + "/stores/" + options_.fga->store_id + "/check";
    r.headers.set("Authorization", "Bearer " + options_.fga->token);
    r.headers.set("Content-Type", "application/json");
    r.body = body.dump();
    auto answer = upstream_->request(r);
    json parsed;
    if (answer && answer->status == 200) {
      if (auto p = tessera::json::parse_strict(answer->body)) parsed = std::move(*p);
    }
    if (!parsed.is_object() || !parsed.contains("allowed") || !parsed["allowed"].is_boolean()) {
      return resource::to_response(
          resource::temporarily_unavailable("the authorization service did not answer"));
    }
    if (!parsed["allowed"].get<bool>()) {
      return http::Response::error(403, "access_denied", "not allowed on this resource");
    }
    return std::nullopt;
  }

  // This thread's upstream request, its strings reused from request to request: both clients
  // are done with a request when their call returns (the async one has written it into its own
  // buffer by then), and a thread builds one request at a time.
  static http::ClientRequest& upstream_scratch() {
    thread_local http::ClientRequest up;
    return up;
  }

  // Makes `up` the request the upstream gets: the client's, without hop-by-hop fields and what
  // stays at the edge, with what the gateway asserts. False when it must be signed and cannot be.
  bool upstream_request(const http::Request& request, const Route& route,
                        const resource::Principal* principal, http::ClientRequest& up) const {
    up.headers.clear();
    up.headers.reserve(request.headers().size() + route.claim_headers.size() + 5);
    up.method.assign(request.method());
    std::string_view path = request.path();
    if (route.strip_prefix && route.path_prefix != "/") {
      path.remove_prefix(std::min(path.size(), route.path_prefix.size()));
    }
    std::string_view base = route.upstream;
    const size_t scheme_end = base.find("://") + 3;
    if (base.find('/', scheme_end) != std::string_view::npos && base.back() == '/') {
      base.remove_suffix(1);
    }
    up.url.assign(base);
    if (path.empty() || path.front() != '/') up.url += '/';
    up.url.append(path);
    if (!request.raw_query().empty()) up.url.append("?").append(request.raw_query());
    const resource::HmacKey* key = route.upstream_signature      ? &*route.upstream_signature
                                   : options_.upstream_signature ? &*options_.upstream_signature
                                                                 : nullptr;

    const http::Headers& in = request.headers();
    const std::vector<std::string> hop_fields = connection_options(in);
    for (const auto& field : in) {
      const std::string& name = field.first;
      const std::string& value = field.second;
      if (hop_by_hop(name) || named_in(hop_fields, name)) continue;
      // RFC 9110 §10.1.1: the gateway has the whole content and sends it with the header, so
      // there is nothing for the upstream to say "100 Continue" to.
      if (http::iequals(name, "Expect")) continue;
      // Basic credentials stay at the edge.
      if (route.policy == Policy::kBasic && http::iequals(name, "Authorization")) continue;
      // The API key stays at the edge.
      if (route.policy == Policy::kApiKey && http::iequals(name, options_.api_key_header)) continue;
      // The opaque token stays at the edge (introspect, phantom).
      if (http::iequals(name, "Authorization") &&
          (!route.forward_authorization || route.policy == Policy::kIntrospect ||
           route.policy == Policy::kPhantom)) {
        continue;
      }
      // Never let a client set what the gateway asserts.
      const std::vector<ClaimHeader>& claim_headers = claim_headers_[index_of(route)];
      if (std::any_of(claim_headers.begin(), claim_headers.end(),
                      [&](const ClaimHeader& h) { return http::iequals(h.name, name); })) {
        continue;
      }
      // What other proxies assert (RFC 7239 Forwarded, X-Real-IP), and what this gateway does:
      // never taken from a client.
      if (http::iequals(name, "Forwarded") || http::iequals(name, "X-Real-IP") ||
          gateway_asserted(name)) {
        continue;
      }
      up.headers.add(name, value);
    }
    // Added, not set: the loop above left no field of these names (Authorization stays at the
    // edge for phantom routes, claim headers and what the gateway asserts are never taken from
    // the client), and claim_headers_ holds none the gateway asserts.
    if (principal && route.policy == Policy::kPhantom) {
      // RFC 9701: the issuer's signed answer is the upstream's bearer token (the API accepts it
      // with ValidatorOptions::introspection_jwt_audiences).
      up.headers.add("Authorization", "Bearer " + principal->signed_introspection);
    }
    if (principal) {
      for (const ClaimHeader& header : claim_headers_[index_of(route)]) {
        for (const std::string& claim : header.claims) {
          if (const json* value = principal->claims.find(claim)) {
            up.headers.add(header.name, header_value(*value));
            break;
          }
        }
      }
    }
    up.headers.add("X-Forwarded-For", request.peer_address());
    up.headers.add("X-Forwarded-Proto", request.tls().secure ? "https" : "http");
    if (auto h = request.header("Host")) up.headers.add("X-Forwarded-Host", *h);
    // The target the client sent, before strip_prefix and the upstream's base path: with the two
    // above, the URL a DPoP proof's htu names, for an API that checks the proof again
    // (resource::called_url).
    up.headers.add("X-Forwarded-Uri", request.target());
    up.headers.add("X-Request-Id", request.request_id());
    // Content over 64 KiB is not kept for the thread's next request.
    if (up.body.capacity() > size_t{64} * 1024 && request.body().size() <= size_t{64} * 1024) {
      std::string().swap(up.body);
    }
    up.body.assign(request.body());
    return key == nullptr || sign_upstream(up, *key, signed_fields_[index_of(route)]);
  }

  // A request the route must sign and cannot (a target outside ASCII): never sent unsigned.
  static http::Response unsignable() {
    return http::Response::error(502, "bad_gateway", "the request cannot be signed for upstream");
  }

  // The upstream's answer as the client gets it, or the gateway's 502 / 504.
  static http::Response from_upstream(Result<http::ClientResponse, http::ClientError> answer) {
    if (!answer) {
      const bool timeout = answer.error().code == http::ClientErrorCode::kTimeout ||
                           answer.error().code == http::ClientErrorCode::kConnectTimeout;
      return timeout
                 ? http::Response::error(504, "gateway_timeout",
                                         "the upstream did not answer in time")
                 : http::Response::error(502, "bad_gateway", "the upstream could not be reached");
    }
    http::Response out(answer->status);
    out.headers = std::move(answer->headers);
    const std::vector<std::string> hop_fields = connection_options(out.headers);
    out.headers.remove_if([&hop_fields](const http::Headers::Field& f) {
      // The client gets the id this gateway logged and sent upstream (the server adds it), not
      // one the upstream made up.
      return hop_by_hop(f.first) || named_in(hop_fields, f.first) ||
             http::iequals(f.first, "X-Request-Id");
    });
    out.body = std::move(answer->body);
    return out;
  }

  Options options_;
  std::unique_ptr<resource::Authenticator> jwt_;
  std::unique_ptr<resource::Authenticator> introspect_;
  std::unique_ptr<resource::Authenticator> phantom_;
  resource::DpopVerifier dpop_;
  std::unique_ptr<RateLimiter> limiter_;
  std::map<const Route*, RateLimiter::PlanId> route_plans_;
  std::unordered_map<std::string, KeyHolder> api_keys_;  // by lowercase hex SHA-256
  struct BasicEntry {
    const BasicUser* user;
    std::shared_ptr<const resource::Principal> principal;
  };
  std::unordered_map<std::string, BasicEntry> basic_users_;
  // Verified credentials: SHA-256(salt, user:password) -> until when. The salt is random per
  // process, so the map holds nothing a password can be tested against offline.
  std::string basic_salt_ = crypto::random_bytes(32);
  mutable std::mutex basic_mutex_;
  mutable std::unordered_map<std::string, int64_t> basic_cache_;
  std::unique_ptr<http::HttpClient> upstream_;
  std::unique_ptr<http::AsyncHttpClient> upstream_async_;
  // Per route (options_.routes' order), then one for requests no route took.
  static constexpr std::string_view kUnrouted = "<unrouted>";
  std::vector<std::unique_ptr<RouteSeries>> series_;
  // Per route: the fields its signature covers; whether its upstream speaks plain HTTP (the
  // event loop's AsyncHttpClient; an https upstream is called from the pool).
  std::vector<std::vector<std::string>> signed_fields_;
  std::vector<bool> async_upstream_;
  // Per route: the claim headers it sends (each name once, none the gateway asserts).
  struct ClaimHeader {
    std::string name;
    std::vector<std::string> claims;  // the first the token has is sent
  };
  std::vector<std::vector<ClaimHeader>> claim_headers_;
  mutable WorkerPool pool_;
};

Gateway::Gateway(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Gateway::~Gateway() = default;
void Gateway::install(http::Router& router) { impl_->install(router); }
http::Response Gateway::handle(const http::Request& request) const {
  return impl_->handle(request);
}
void Gateway::render_metrics(std::string& out) const { impl_->render_metrics(out); }

}  // namespace tessera::gateway
