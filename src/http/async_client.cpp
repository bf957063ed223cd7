// AsyncHttpClient: one request is one Operation living on the event loop of an http::Server io
// thread, kept alive by the handlers it has pending. Idle keep-alive connections belong to the
// loop (an Asio service of its io_context), so they are closed with the loop, never touched from
// another thread, and shared by every client on that loop.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/client.h"
#include "http/client_internal.h"

namespace tessera::http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using boost::system::error_code;
using internal::error;

namespace {

thread_local net::io_context* tl_loop = nullptr;

struct Connection {
  explicit Connection(net::io_context& ioc) : stream(ioc) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
};

// The idle connections of one event loop, by scheme, host and port.
class IdleConnections : public net::execution_context::service {
 public:
  using key_type = IdleConnections;
  // Asio finds a service by this member; its constructor allocates nothing.
  static inline net::execution_context::id id;  // NOLINT(cert-err58-cpp)

  explicit IdleConnections(net::execution_context& context) : service(context) {}

  // An idle connection to `key` that received nothing while idle (internal::unasked_bytes).
  std::unique_ptr<Connection> take(const std::string& key) {
    auto it = idle_.find(key);
    while (it != idle_.end() && !it->second.empty()) {
      auto c = std::move(it->second.back());
      it->second.pop_back();
      if (!internal::unasked_bytes(c->stream.socket())) return c;
    }
    return nullptr;
  }
  void give_back(const std::string& key, std::unique_ptr<Connection> c, size_t max) {
    auto& list = idle_[key];
    if (list.size() < max) list.push_back(std::move(c));
  }

 private:
  void shutdown() override { idle_.clear(); }
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
};

}  // namespace

namespace internal {
void set_current_event_loop(void* io_context) {
  tl_loop = static_cast<net::io_context*>(io_context);
}
}  // namespace internal

EventLoop EventLoop::current() {
  EventLoop loop;
  loop.context_ = tl_loop;
  return loop;
}

struct AsyncHttpClient::Shared {
  ClientOptions options;
  std::atomic<uint64_t> opened{0};
};

namespace {

class Operation : public std::enable_shared_from_this<Operation> {
 public:
  Operation(std::shared_ptr<AsyncHttpClient::Shared> shared, net::io_context& ioc,
            internal::Url url, std::string method, std::string wire, bool idempotent,
            AsyncHttpClient::Callback done)
      : shared_(std::move(shared)),
        ioc_(ioc),
        pool_(net::use_service<IdleConnections>(ioc)),
        url_(std::move(url)),
        key_(url_.pool_key()),
        method_(std::move(method)),
        wire_(std::move(wire)),
        idempotent_(idempotent),
        done_(std::move(done)) {}

  void start() {
    conn_ = pool_.take(key_);
    reused_ = conn_ != nullptr;
    if (reused_) return write();
    connect();
  }

 private:
  const ClientOptions& options() const { return shared_->options; }

  void connect() {
    conn_ = std::make_unique<Connection>(ioc_);
    error_code ec;
    const auto address = net::ip::make_address(url_.host, ec);
    if (!ec) {
      // An address needs no resolver (and no resolver thread).
      return connect_to(tcp::resolver::results_type::create(tcp::endpoint(address, url_.port),
                                                            url_.host, std::to_string(url_.port)));
    }
    resolver_.emplace(ioc_);
    resolve_timer_.emplace(ioc_);
    resolve_timer_->expires_after(options().connect_timeout);
    resolve_timer_->async_wait([self = shared_from_this()](error_code e) {
      if (!e && self->resolver_) self->resolver_->cancel();
    });
    resolver_->async_resolve(
        url_.host, std::to_string(url_.port),
        [self = shared_from_this()](error_code e, const tcp::resolver::results_type& results) {
          self->resolve_timer_->cancel();
          if (e == net::error::operation_aborted) {
            return self->give_up(error(ClientErrorCode::kConnectTimeout,
                                       "resolving " + self->url_.host + " timed out"));
          }
          if (e) {
            return self->give_up(error(ClientErrorCode::kResolveFailed,
                                       "resolve " + self->url_.host + ": " + e.message()));
          }
          self->connect_to(results);
        });
  }

  void connect_to(const tcp::resolver::results_type& endpoints) {
    conn_->stream.expires_after(options().connect_timeout);
    conn_->stream.async_connect(
        endpoints, [self = shared_from_this()](error_code e, const tcp::endpoint&) {
          if (e == beast::error::timeout) {
            return self->give_up(
                error(ClientErrorCode::kConnectTimeout, "connect to " + self->key_ + " timed out"));
          }
          if (e) {
            return self->give_up(error(ClientErrorCode::kConnectFailed,
                                       "connect to " + self->key_ + ": " + e.message()));
          }
          error_code ignored;
          self->conn_->stream.socket().set_option(tcp::no_delay(true), ignored);
          self->shared_->opened.fetch_add(1, std::memory_order_relaxed);
          self->write();
        });
  }

  void write() {
    conn_->stream.expires_after(options().read_timeout);
    net::async_write(
        conn_->stream, net::buffer(wire_), [self = shared_from_this()](error_code e, size_t) {
          if (e) {
            const bool retry = e != beast::error::timeout;
            return self->fail(
                e == beast::error::timeout
                    ? error(ClientErrorCode::kTimeout, "writing request timed out")
                    : error(ClientErrorCode::kConnectionClosed, "write: " + e.message()),
                retry);
          }
          self->read();
        });
  }

  void read() {
    reader_.emplace(options(), method_);
    parse_buffered();
  }

  // What the buffer holds first (nothing, unless the upstream sent more than it was asked for),
  // then reads until the answer is whole, refused, or the connection ends.
  void parse_buffered() {
    switch (reader_->take(conn_->buffer)) {
      case internal::ResponseReader::Step::kDone:
        return complete();
      case internal::ResponseReader::Step::kFailed:
        return fail(reader_->error(), false);
      case internal::ResponseReader::Step::kMore:
        break;
    }
    conn_->stream.async_read_some(
        reader_->prepare(conn_->buffer), [self = shared_from_this()](error_code e, size_t n) {
          self->conn_->buffer.commit(n);
          if (!e) return self->parse_buffered();
          if (self->reader_->read_ended(e) == internal::ResponseReader::Step::kDone) {
            return self->complete();
          }
          self->fail(self->reader_->error(), self->reader_->nothing_received());
        });
  }

  void complete() {
    const bool keep_alive = reader_->keep_alive(conn_->buffer);
    ClientResponse response = reader_->release();
    response.reused_connection = reused_;
    if (keep_alive) {
      conn_->stream.expires_never();
      pool_.give_back(key_, std::move(conn_), options().max_idle_per_host);
    }
    finish(std::move(response));
  }

  // A reused connection may have been closed by the upstream while idle: once, on a fresh
  // connection, when nothing of an answer came and the method may be repeated.
  void fail(ClientError err, bool nothing_received) {
    conn_.reset();
    if (reused_ && nothing_received && idempotent_) {
      reused_ = false;
      return connect();
    }
    give_up(std::move(err));
  }

  void give_up(ClientError err) { finish(Err(std::move(err))); }

  void finish(Result<ClientResponse, ClientError> result) {
    AsyncHttpClient::Callback done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(result));
  }

  std::shared_ptr<AsyncHttpClient::Shared> shared_;
  net::io_context& ioc_;
  IdleConnections& pool_;
  internal::Url url_;
  std::string key_;
  std::string method_;
  std::string wire_;  // the request as sent (internal::build_request)
  bool idempotent_;
  AsyncHttpClient::Callback done_;
  std::unique_ptr<Connection> conn_;
  bool reused_ = false;
  std::optional<tcp::resolver> resolver_;
  std::optional<net::steady_timer> resolve_timer_;
  std::optional<internal::ResponseReader> reader_;
};

}  // namespace

AsyncHttpClient::AsyncHttpClient(ClientOptions options) : shared_(std::make_shared<Shared>()) {
  shared_->options = std::move(options);
}

AsyncHttpClient::~AsyncHttpClient() = default;

bool AsyncHttpClient::supports(std::string_view url) {
  auto parsed = internal::parse_url(url);
  return parsed && !parsed->secure;
}

void AsyncHttpClient::send(const EventLoop& loop, const ClientRequest& request,
                           Callback done) const {
  auto url = internal::parse_url(request.url);
  if (!url || url->secure || !loop) {
    done(Err(error(ClientErrorCode::kInvalidUrl,
                   !loop ? "not on an io thread" : "not an absolute http URL")));
    return;
  }
  auto& ioc = *static_cast<net::io_context*>(loop.context_);
  const bool idempotent = internal::idempotent(request.method);
  auto wire = internal::build_request(request, *url, shared_->options.user_agent);
  if (!wire) return done(Err(wire.error()));
  auto op = std::make_shared<Operation>(shared_, ioc, std::move(*url), request.method,
                                        std::move(*wire), idempotent, std::move(done));
  // On the loop's own thread the operation starts at once; from elsewhere it is posted there.
  if (tl_loop == &ioc) return op->start();
  net::post(ioc, [op] { op->start(); });
}

uint64_t AsyncHttpClient::connections_opened() const {
  return shared_->opened.load(std::memory_order_relaxed);
}

}  // namespace tessera::http
