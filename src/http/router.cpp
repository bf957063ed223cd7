#include "http/router.h"

#include <algorithm>
#include <stdexcept>

namespace tessera::http {

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (sink_) sink_->complete(Response::error(500, "server_error", "request was not answered"));
    sink_ = std::move(other.sink_);
  }
  return *this;
}

Responder::~Responder() {
  if (sink_) sink_->complete(Response::error(500, "server_error", "request was not answered"));
}

void Responder::operator()(Response response) {
  if (!sink_) return;  // already answered
  auto sink = std::move(sink_);
  sink->complete(std::move(response));
}

namespace {

bool is_capture(std::string_view seg) {
  return seg.size() >= 3 && seg.front() == '{' && seg.back() == '}';
}

std::vector<std::string> split_pattern(std::string_view pattern) {
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern must start with '/': " + std::string(pattern));
  }
  std::vector<std::string> segments;
  std::string_view rest = pattern.substr(1);
  while (true) {
    size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    if (seg.find_first_of("{}") != std::string_view::npos && !is_capture(seg)) {
      throw std::invalid_argument("route capture must be a whole segment: " + std::string(pattern));
    }
    segments.emplace_back(seg);
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return segments;
}

}  // namespace

Route& Router::insert(std::string_view method, std::string_view pattern) {
  PathEntry* entry = nullptr;
  for (auto& e : entries_) {
    if (e->pattern == pattern) entry = e.get();
  }
  if (!entry) {
    auto e = std::make_unique<PathEntry>();
    e->pattern = std::string(pattern);
    e->segments = split_pattern(pattern);
    e->has_captures = std::any_of(e->segments.begin(), e->segments.end(),
                                  [](const std::string& s) { return is_capture(s); });
    entry = e.get();
    entries_.push_back(std::move(e));
    if (entry->has_captures) {
      with_captures_.push_back(entry);
      // Most specific (fewest captures) first, so /a/b/{x} beats /a/{y}/{x}.
      std::stable_sort(with_captures_.begin(), with_captures_.end(),
                       [](const PathEntry* a, const PathEntry* b) {
                         auto caps = [](const PathEntry* e) {
                           return std::count_if(e->segments.begin(), e->segments.end(),
                                                [](const std::string& s) { return is_capture(s); });
                         };
                         return caps(a) < caps(b);
                       });
    } else {
      literal_.emplace(entry->pattern, entry);
    }
  }
  for (const auto& r : entry->routes) {
    if (r->method == method) {
      throw std::invalid_argument("duplicate route: " + std::string(method) + " " +
                                  std::string(pattern));
    }
  }
  auto route = std::make_unique<Route>();
  route->method = std::string(method);
  route->pattern = entry->pattern;
  Route& ref = *route;
  entry->routes.push_back(std::move(route));
  // RFC 9110 §9.3.2: HEAD is served wherever GET is.
  entry->allow.clear();
  bool has_get = false, has_head = false;
  for (const auto& r : entry->routes) {
    has_get |= r->method == "GET";
    has_head |= r->method == "HEAD";
  }
  for (const auto& r : entry->routes) {
    if (!entry->allow.empty()) entry->allow += ", ";
    entry->allow += r->method;
  }
  if (has_get && !has_head) entry->allow += ", HEAD";
  return ref;
}

void Router::add(std::string_view method, std::string_view pattern, Handler handler) {
  insert(method, pattern).handler = std::move(handler);
}

void Router::add_async(std::string_view method, std::string_view pattern, AsyncHandler handler) {
  insert(method, pattern).async_handler = std::move(handler);
}

std::vector<Route*> Router::routes() {
  std::vector<Route*> out;
  for (auto& e : entries_) {
    for (auto& r : e->routes) out.push_back(r.get());
  }
  if (fallback_) out.push_back(fallback_.get());
  return out;
}

void Router::set_fallback(AsyncHandler handler) {
  fallback_ = std::make_unique<Route>();
  fallback_->method = "*";
  fallback_->pattern = kFallbackPattern;
  fallback_->async_handler = std::move(handler);
}

bool Router::match_segments(const PathEntry& e, std::string_view path, Request* request) {
  if (path.empty() || path.front() != '/') return false;
  std::string_view rest = path.substr(1);
  size_t i = 0;
  for (; i < e.segments.size(); ++i) {
    size_t slash = rest.find('/');
    bool last_in_path = slash == std::string_view::npos;
    bool last_in_pattern = i + 1 == e.segments.size();
    if (last_in_path != last_in_pattern) return false;
    std::string_view seg = rest.substr(0, slash);
    const std::string& want = e.segments[i];
    if (is_capture(want)) {
      if (seg.empty()) return false;
      if (request) {
        // '+' is literal in a path (RFC 3986 §3.3); only the form encoding maps it.
        auto decoded = percent_decode(seg, false);
        if (!decoded) return false;
        std::string_view name(want);
        request->mutable_params().emplace_back(name.substr(1, name.size() - 2),
                                               std::move(*decoded));
      }
    } else if (seg != want) {
      return false;
    }
    if (!last_in_path) rest = rest.substr(slash + 1);
  }
  return true;
}

Router::Match Router::match(std::string_view method, std::string_view path,
                            Request& request) const {
  const PathEntry* entry = nullptr;
  if (auto it = literal_.find(path); it != literal_.end()) {
    entry = it->second;
  } else {
    for (const PathEntry* e : with_captures_) {
      request.mutable_params().clear();
      if (match_segments(*e, path, &request)) {
        entry = e;
        break;
      }
    }
    if (!entry) request.mutable_params().clear();
  }
  Match m;
  if (!entry) {
    if (fallback_) {
      m.kind = Match::Kind::kFound;
      m.route = fallback_.get();
      m.pattern = fallback_->pattern;
    }
    return m;
  }
  m.pattern = entry->pattern;
  const Route* get = nullptr;
  for (const auto& r : entry->routes) {
    if (r->method == method) {
      m.kind = Match::Kind::kFound;
      m.route = r.get();
      return m;
    }
    if (r->method == "GET") get = r.get();
  }
  if (method == "HEAD" && get) {
    m.kind = Match::Kind::kFound;
    m.route = get;
    return m;
  }
  m.kind = Match::Kind::kMethodNotAllowed;
  m.allow = entry->allow;
  return m;
}

AsyncHandler on_pool(WorkerPool& pool, Handler handler) {
  auto shared_handler = std::make_shared<Handler>(std::move(handler));
  return [&pool, shared_handler](const Request& request, Responder respond) {
    auto responder = std::make_shared<Responder>(std::move(respond));
    // The server keeps `request` alive until the responder is called.
    const bool queued = pool.submit(
        [shared_handler, &request, responder] { (*responder)((*shared_handler)(request)); });
    if (!queued) {
      Response busy = Response::error(503, "temporarily_unavailable", "the server is busy");
      busy.headers.set("Retry-After", "1");
      (*responder)(std::move(busy));
    }
  };
}

}  // namespace tessera::http
