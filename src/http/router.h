// Route table: method + path pattern -> handler. Patterns are literal segments
// and `{name}` captures (one whole segment each), e.g. "/stores/{id}/check".
// Matching is per segment, literals before captures, no regex.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/worker_pool.h"
#include "http/message.h"

namespace tessera::http {

class RouteMetrics;

// Completes an asynchronous request. Move-only; call exactly once, from any
// thread. If it is destroyed without being called the client gets a JSON 500.
// The Request stays valid until the responder is called.
class Responder {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void complete(Response response) = 0;
  };

  explicit Responder(std::shared_ptr<Sink> sink) : sink_(std::move(sink)) {}
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&&) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  void operator()(Response response);

 private:
  std::shared_ptr<Sink> sink_;
};

using Handler = std::function<Response(const Request&)>;
using AsyncHandler = std::function<void(const Request&, Responder)>;

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;  // exactly one of handler / async_handler is set
  AsyncHandler async_handler;
  RouteMetrics* metrics = nullptr;  // owned by the server's ServerMetrics
};

class Router {
 public:
  // Registers a route. Throws std::invalid_argument for a malformed pattern or
  // a duplicate method+pattern (a programming error, found at start-up).
  void add(std::string_view method, std::string_view pattern, Handler handler);
  void add_async(std::string_view method, std::string_view pattern, AsyncHandler handler);

  void get(std::string_view pattern, Handler h) { add("GET", pattern, std::move(h)); }
  void post(std::string_view pattern, Handler h) { add("POST", pattern, std::move(h)); }
  void put(std::string_view pattern, Handler h) { add("PUT", pattern, std::move(h)); }
  void del(std::string_view pattern, Handler h) { add("DELETE", pattern, std::move(h)); }

  struct Match {
    enum class Kind { kFound, kNotFound, kMethodNotAllowed } kind = Kind::kNotFound;
    const Route* route = nullptr;
    // Comma-separated methods for the Allow header (RFC 9110 §10.2.1) on 405.
    std::string_view allow;
    // For 404/405 and kFound: the pattern of the matched path, if any.
    std::string_view pattern;
  };

  // Matches `path` (still percent-encoded); on kFound fills request path
  // params, decoding each captured segment. A capture that fails to decode
  // does not match.
  Match match(std::string_view method, std::string_view path, Request& request) const;

  // Answers every request whose path no route matches (the gateway's proxy): match() gives it as
  // kFound, with the pattern kFallbackPattern, where it would say kNotFound.
  void set_fallback(AsyncHandler handler);
  static constexpr std::string_view kFallbackPattern = "*";

  // All routes, for metrics registration.
  std::vector<Route*> routes();

 private:
  struct PathEntry {
    std::string pattern;
    std::vector<std::string> segments;           // "{name}" kept verbatim for captures
    std::vector<std::unique_ptr<Route>> routes;  // one per method
    std::string allow;                           // "GET, HEAD, POST"
    bool has_captures = false;
  };
  Route& insert(std::string_view method, std::string_view pattern);
  static bool match_segments(const PathEntry& e, std::string_view path, Request* request);

  std::vector<std::unique_ptr<PathEntry>> entries_;
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Patterns without captures; heterogeneous lookup avoids a string per request.
  std::unordered_map<std::string, PathEntry*, StringHash, std::equal_to<>> literal_;
  std::vector<PathEntry*> with_captures_;
  std::unique_ptr<Route> fallback_;  // tried in registration order, fewest captures first
};

// A handler that blocks (it waits on another server: an upstream, an introspection or token
// endpoint) run on `pool` instead of an I/O thread. A full queue answers 503 with Retry-After at
// once (RFC 9110 §15.6.4) rather than letting work pile up. `pool` must outlive the router.
AsyncHandler on_pool(WorkerPool& pool, Handler handler);

}  // namespace tessera::http
