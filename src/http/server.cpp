#include "http/server.h"

#include <arpa/inet.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cmath>
#include <csignal>
#include <cstring>
#include <ctime>
#include <set>
#include <thread>
#include <unordered_set>

#include "core/crypto.h"
#include "http/client_internal.h"
#include "http/http1_parser.h"

namespace tessera::http {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

// Index of the io thread running this code, for sharded counters.

tcp::socket& lowest_layer(tcp::socket& s) { return s; }
tcp::socket& lowest_layer(ssl::stream<tcp::socket>& s) { return s.next_layer(); }

// RFC 9110 §6.6.1: an origin server with a clock MUST send Date, in
// IMF-fixdate (§5.6.7). Formatted once per second per thread.
std::string_view date_header_line() {
  thread_local std::time_t cached_second = 0;
  thread_local char line[64];
  thread_local size_t len = 0;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::strftime(line, sizeof(line), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    cached_second = now;
  }
  return {line, len};
}

// A request id we accept from the client (so ids correlate across hops) only
// if it is short and made of safe characters; otherwise we mint one.
bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

void mint_request_id(std::string& out) {
  // Per-thread random prefix + counter: unique without a syscall per request.
  thread_local std::string prefix = crypto::to_hex(crypto::random_bytes(6));
  thread_local uint64_t counter = 0;
  char buf[24];
  int n = std::snprintf(buf, sizeof(buf), "-%llx", static_cast<unsigned long long>(++counter));
  out.assign(prefix);
  out.append(buf, static_cast<size_t>(n));
}

// RFC 9110 §5.5: field values hold no control characters but HTAB; names are tokens.
bool safe_field(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (char c : name) {
    if (c <= ' ' || c == ':' || c == 0x7f) return false;
  }
  return safe_field_value(value);
}

// Fields the server computes itself (RFC 9112 §6 framing, §9.6 connection).
bool server_owned_field(std::string_view name) {
  return iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
         iequals(name, "Connection") || iequals(name, "Date");
}

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  char* p = buf + sizeof(buf);
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  out.append(p, static_cast<size_t>(buf + sizeof(buf) - p));
}

std::string asn1_text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

// RFC 5280 §4.2.1.6 subjectAltName entries, by type (RFC 8705 §2.1.2 matches against them).
void read_subject_alt_names(X509* cert, ClientCertificate& out) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    switch (name->type) {
      case GEN_DNS:
        out.san_dns.push_back(asn1_text(name->d.dNSName));
        break;
      case GEN_URI:
        out.san_uri.push_back(asn1_text(name->d.uniformResourceIdentifier));
        break;
      case GEN_EMAIL:
        out.san_email.push_back(asn1_text(name->d.rfc822Name));
        break;
      case GEN_IPADD: {
        // 4 or 16 octets (RFC 5280 §4.2.1.6), in the text form inet_ntop gives (RFC 5952 for
        // IPv6), which is what RFC 8705 §2.1.2 registers.
        const std::string raw = asn1_text(name->d.iPAddress);
        char text[INET6_ADDRSTRLEN] = {};
        const int family = raw.size() == 4 ? AF_INET : raw.size() == 16 ? AF_INET6 : 0;
        if (family != 0 && inet_ntop(family, raw.data(), text, sizeof(text))) {
          out.san_ip.emplace_back(text);
        }
        break;
      }
      default:
        break;
    }
  }
  GENERAL_NAMES_free(names);
}

std::shared_ptr<const ClientCertificate> peer_certificate(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return nullptr;
  auto out = std::make_shared<ClientCertificate>();
  out->chain_verified = SSL_get_verify_result(ssl) == X509_V_OK;
  read_subject_alt_names(cert, *out);
  int len = i2d_X509(cert, nullptr);
  if (len <= 0) return nullptr;
  out->der.resize(static_cast<size_t>(len));
  auto* p = reinterpret_cast<unsigned char*>(out->der.data());
  i2d_X509(cert, &p);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (bio && X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    if (n > 0) out->subject.assign(data, static_cast<size_t>(n));
  }
  return out;
}

// The part of a refused request's target the access log keeps: for an absolute-form target,
// only what follows its authority (no scheme, host, or userinfo with its password).
std::string_view loggable_target(std::string_view target) {
  const size_t sep = target.find("://");
  if (target.empty() || target.front() == '/' || sep == std::string_view::npos) return target;
  const size_t rest = target.find_first_of("/?", sep + 3);
  return rest == std::string_view::npos ? std::string_view("/") : target.substr(rest);
}

const Response& canned_error(int status) {
  // Built once: error answers on the limit paths must not allocate much.
  static const Response r400 = Response::error(400, "invalid_request", "malformed HTTP request");
  static const Response r404 = Response::error(404, "not_found", "no route for this path");
  static const Response r408 =
      Response::error(408, "request_timeout", "request not received in time");
  static const Response r413 = Response::error(413, "request_too_large", "request body too large");
  static const Response r421 =
      Response::error(421, "misdirected_request", "the request's URI is not for this connection");
  static const Response r431 =
      Response::error(431, "request_header_fields_too_large", "request header too large");
  static const Response r500 = Response::error(500, "server_error", "internal error");
  static const Response r501 = Response::error(
      501, "not_implemented", "a transfer coding other than chunked (RFC 9112 section 6.1)");
  static const Response r505 =
      Response::error(505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are spoken");
  switch (status) {
    case 400:
      return r400;
    case 404:
      return r404;
    case 408:
      return r408;
    case 413:
      return r413;
    case 421:
      return r421;
    case 431:
      return r431;
    case 501:
      return r501;
    case 505:
      return r505;
    default:
      return r500;
  }
}

class ConnectionBase;

// One io thread with its own io_context: a connection lives on one thread for
// its whole life, so its state needs no locks.
struct Worker {
  // Declared before the io_context: handlers destroyed with the io_context
  // unregister their connections from this set.
  std::unordered_set<ConnectionBase*> connections;
  net::io_context ioc{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_guard;
  net::steady_timer sweep_timer{ioc};
  std::thread thread;
};

}  // namespace

struct Server::State {
  Server* server = nullptr;
  const ServerOptions* options = nullptr;
  Router* router = nullptr;
  ServerMetrics* metrics = nullptr;
  AccessLogSink* access_log = nullptr;
  std::shared_ptr<AccessLogSink> owned_access_log;
  RouteMetrics* unrouted_metrics = nullptr;
  std::string server_allow;  // what `OPTIONS *` answers in Allow (RFC 9110 §9.3.7)
  SteadyClock::duration sweep_interval{};
  std::atomic<bool> draining{false};
  std::atomic<size_t> active{0};
  std::mutex drain_mu;
  std::condition_variable drain_cv;
  std::optional<ssl::context> ssl_context;
  bool any_issuer = false;                          // ClientCertMode::kOptionalAnyIssuer
  std::vector<std::unique_ptr<Worker>> workers;     // before acceptor: outlives it
  std::optional<tcp::acceptor> acceptor;            // runs on workers[0]
  std::optional<net::steady_timer> accept_backoff;  // on workers[0]
  size_t next_worker = 0;
};

namespace {

using State = Server::State;

class ConnectionBase {
 public:
  ConnectionBase(State& state, Worker& worker) : state_(state), worker_(worker) {
    worker_.connections.insert(this);
  }
  virtual ~ConnectionBase() {
    worker_.connections.erase(this);
    if (state_.active.fetch_sub(1) == 1 || state_.draining.load()) {
      std::lock_guard lock(state_.drain_mu);
      state_.drain_cv.notify_all();
    }
    state_.metrics->connections_active.fetch_sub(1, std::memory_order_relaxed);
  }
  ConnectionBase(const ConnectionBase&) = delete;
  ConnectionBase& operator=(const ConnectionBase&) = delete;

  // Called by the worker's sweep timer: enforces timeouts and drain.
  virtual void sweep(SteadyClock::time_point now) = 0;
  virtual void force_close() = 0;

 protected:
  State& state_;
  Worker& worker_;
};

template <class Stream>
class Connection final : public ConnectionBase,
                         public Responder::Sink,
                         public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, ssl::stream<tcp::socket>>;

  template <class... StreamArgs>
  Connection(State& state, Worker& worker, StreamArgs&&... args)
      : ConnectionBase(state, worker), stream_(std::forward<StreamArgs>(args)...) {
    const auto& o = *state_.options;
    tokens_ = o.request_burst;
    error_code ec;
    auto endpoint = lowest_layer(stream_).remote_endpoint(ec);
    if (!ec) {
      peer_address_ = endpoint.address().to_string();
      peer_port_ = endpoint.port();
    }
    lowest_layer(stream_).set_option(tcp::no_delay(true), ec);
  }

  ~Connection() override {
    if constexpr (kTls) {
      // A session stays resumable however its connection ended (RFC 5246 §7.2.1: since
      // TLS 1.1 an improper close no longer forbids resumption; many clients close without
      // close_notify, and a reset discards one in flight). OpenSSL drops the session of a
      // connection freed without a shutdown, so mark it done (nothing is sent: the socket is
      // closed). A fatal alert has removed the session already.
      SSL* ssl = stream_.native_handle();
      if (SSL_is_init_finished(ssl) == 1) {
        SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
      }
    }
  }

  void start() {
    if constexpr (kTls) {
      enter(Phase::kHandshake);
      stream_.async_handshake(
          ssl::stream_base::server,
          [self = this->shared_from_this()](error_code ec) { self->on_handshake(ec); });
    } else {
      read_request();
    }
  }

  void sweep(SteadyClock::time_point now) override {
    const auto& o = *state_.options;
    const auto elapsed = now - phase_start_;
    switch (phase_) {
      case Phase::kHandshake:
        if (elapsed > o.header_timeout) time_out();
        break;
      case Phase::kReading: {
        const bool received_any = buffer_.size() > 0 || parser_.got_some();
        if (!received_any) {
          // Idle keep-alive connection: nothing owed to it (RFC 9112 §9.3).
          if (state_.draining.load() || elapsed > o.idle_timeout) time_out();
        } else if (!parser_.header_done()) {
          if (first_byte_seen_ == SteadyClock::time_point{}) {
            first_byte_seen_ = now;
          } else if (now - first_byte_seen_ > o.header_timeout) {
            time_out();
          }
        } else {
          if (header_done_seen_ == SteadyClock::time_point{}) {
            header_done_seen_ = now;
          } else if (now - header_done_seen_ > o.body_timeout) {
            time_out();
          }
        }
        break;
      }
      case Phase::kWriting:
        if (elapsed > o.write_timeout) force_close();
        break;
      case Phase::kLingering:
        // Long enough for the client to read our answer, short enough that a
        // client which never closes cannot pin the connection.
        if (elapsed > std::min<SteadyClock::duration>(o.write_timeout, std::chrono::seconds(2))) {
          force_close();
        }
        break;
      case Phase::kHandling:
      case Phase::kClosed:
        break;
    }
  }

  void force_close() override {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    error_code ec;
    lowest_layer(stream_).shutdown(tcp::socket::shutdown_both, ec);
    lowest_layer(stream_).close(ec);
  }

  // Responder::Sink: completion of an async handler, from any thread.
  void complete(Response response) override {
    net::post(worker_.ioc, [self = this->shared_from_this(), r = std::move(response)]() mutable {
      if (self->phase_ != Phase::kHandling) return;  // connection closed meanwhile
      self->response_ = std::move(r);
      self->write_response(self->response_);
    });
  }

 private:
  enum class Phase { kHandshake, kReading, kHandling, kWriting, kLingering, kClosed };

  void enter(Phase p) {
    phase_ = p;
    phase_start_ = SteadyClock::now();
  }

  // Timeouts cancel the pending operation; its handler decides what to say.
  void time_out() {
    if (phase_ == Phase::kClosed) return;
    if (phase_ != Phase::kReading) return force_close();
    timed_out_ = true;
    error_code ec;
    lowest_layer(stream_).cancel(ec);
  }

  void on_handshake(error_code ec) {
    if (ec) {
      state_.metrics->tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
      return force_close();
    }
    if constexpr (kTls) {
      SSL* ssl = stream_.native_handle();
      tls_protocol_ = SSL_get_version(ssl);
      if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) tls_cipher_ = SSL_CIPHER_get_name(c);
      // With SSL_VERIFY_PEER the handshake already failed for an unverified
      // certificate; check again so a misconfiguration cannot hand one over. A listener that
      // accepts any issuer hands it over marked (chain_verified).
      if (SSL_get0_peer_certificate(ssl) &&
          (state_.any_issuer || SSL_get_verify_result(ssl) == X509_V_OK)) {
        client_certificate_ = peer_certificate(ssl);
      }
    }
    read_request();
  }

  void read_request() {
    if (phase_ == Phase::kClosed) return;
    // The header fields' strings are reused from request to request. After a large header
    // section, or one of many fields, they are let go: what a connection keeps between requests
    // stays under kKeptFields fields of at most kKeptHeadBytes each.
    if (parser_.head_bytes() > kKeptHeadBytes || parser_.fields() > kKeptFields) {
      request_.mutable_headers() = Headers();
    }
    request_.reset();
    // Content over 64 KiB is not kept in memory for the next request on this connection.
    if (request_.mutable_body().capacity() > kKeptBodyCapacity) {
      std::string().swap(request_.mutable_body());
    }
    parser_.start(request_.mutable_headers(), request_.mutable_body());
    absolute_.reset();
    first_byte_seen_ = {};
    header_done_seen_ = {};
    timed_out_ = false;
    header_checked_ = false;
    // What the last request set: an error answer to this one must not be framed as for a HEAD.
    is_head_ = false;
    http10_ = false;
    enter(Phase::kReading);
    parse_buffered();
  }

  // Gives the parser what the buffer holds (a pipelined request may be there already), then
  // reads more until the request is complete or refused, or the connection ends.
  void parse_buffered() {
    if (buffer_.size() > 0) {
      const auto data = buffer_.data();
      buffer_.consume(
          parser_.put(std::string_view(static_cast<const char*>(data.data()), data.size())));
    }
    if (const int status = refusal_status(parser_.error())) {
      stamp_received();
      return answer_error_and_close(status);
    }
    if (parser_.header_done() && !header_checked_) {
      header_checked_ = true;
      if (auto status = header_refusal()) {
        stamp_received();
        return answer_error_and_close(*status);
      }
      if (!parser_.done() && expects_continue()) return send_continue();
    }
    if (parser_.done()) {
      stamp_received();
      return handle_request();
    }
    read_more();
  }

  void read_more() {
    // Beast's rule: what the buffer has room for, at least 2 KiB for a header section and 64 KiB
    // once content is coming; the parser leaves at most one incomplete line behind.
    const size_t room = buffer_.capacity() - buffer_.size();
    const size_t size = parser_.header_done() ? kContentReadSize
                                              : std::clamp(room, kHeadReadSize, kContentReadSize);
    stream_.async_read_some(buffer_.prepare(size),
                            [self = this->shared_from_this()](error_code ec, size_t n) {
                              self->buffer_.commit(n);
                              if (ec || self->phase_ == Phase::kClosed) return self->read_failed();
                              self->parse_buffered();
                            });
  }

  // The connection ended, failed or timed out before a whole request came.
  void read_failed() {
    if (phase_ == Phase::kClosed) return;
    if (timed_out_) {
      const bool received_any = buffer_.size() > 0 || parser_.got_some();
      if (!received_any) return force_close();  // idle or draining: close silently
      stamp_received();
      return answer_error_and_close(408);
    }
    force_close();  // EOF, reset, TLS failure
  }

  static int refusal_status(internal::Http1Parser::Error e) {
    using E = internal::Http1Parser::Error;
    switch (e) {
      case E::kNone:
        return 0;
      case E::kMalformed:
        return 400;  // RFC 9112 §2.2, §6.3: the next request's start cannot be found
      case E::kHeaderTooLarge:
        return 431;
      case E::kContentTooLarge:
        return 413;
      case E::kVersionNotSupported:
        return 505;
      case E::kNotImplemented:
        return 501;
    }
    return 400;
  }

  void stamp_received() {
    request_received_ = SteadyClock::now();
    request_wall_time_ = std::chrono::system_clock::now();
  }

  // What the header section alone refuses, before any content is read: RFC 9112 §3.2, a client
  // MUST send exactly one Host in HTTP/1.1 and a server MUST answer 400 otherwise; §3.2.2, a
  // server MUST accept the absolute-form, whose target URI is the request-target itself (§3.3):
  // it is routed by its path and its authority stands for Host (a proxy MUST ignore the received
  // Host likewise), and a URI of the other scheme is not this connection's to answer (RFC 9110
  // §15.5.20, 421). Sets absolute_.
  std::optional<int> header_refusal() {
    // HTTP/1.1 needs one Host; no request may have two; an invalid value is 400 too. Host =
    // uri-host [ ":" port ] (RFC 9110 §7.2), no userinfo; empty for a target URI without
    // authority. One pass over the fields.
    const std::string* host = nullptr;
    for (const auto& [name, value] : request_.headers()) {
      if (!iequals(name, "Host")) continue;
      if (host != nullptr) return 400;
      host = &value;
    }
    if (host == nullptr ? parser_.version() >= 11 : !host->empty() && !valid_authority(*host)) {
      return 400;
    }
    // Not origin-form (a query may hold "://"), asterisk-form nor authority-form: absolute-form.
    // RFC 9112 §3.2.4: the asterisk-form is for OPTIONS alone.
    const std::string_view t = parser_.target();
    if (t == "*" && parser_.method() != "OPTIONS") return 400;
    if (!t.starts_with('/') && t.find("://") != std::string_view::npos) {
      absolute_ = parse_absolute_target(t);
      if (!absolute_) return 400;
      if (absolute_->secure != kTls) return 421;
    }
    return std::nullopt;
  }

  // RFC 9110 §10.1.1: a client that sent `Expect: 100-continue` waits for a 100 (Continue) before
  // it sends the content; an origin server MUST send one, or a final answer, once it has the
  // header section. Its size limits, Host and target form are checked by then
  // (header_refusal); what the route decides comes after the content. Not to an HTTP/1.0 client
  // (§15.2), and not when some of the content came already.
  bool expects_continue() const {
    const auto expect = request_.headers().get("Expect");
    return parser_.version() >= 11 && buffer_.size() == 0 && !parser_.content_started() && expect &&
           iequals(*expect, "100-continue");
  }

  void send_continue() {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = this->shared_from_this()](error_code e, size_t) {
                       if (e) return self->force_close();
                       self->read_more();
                     });
  }

  void handle_request() {
    const auto& o = *state_.options;
    route_metrics_ = state_.unrouted_metrics;
    is_head_ = parser_.method() == "HEAD";
    keep_alive_ = parser_.keep_alive() && !state_.draining.load();
    http10_ = parser_.version() == 10;
    ++served_;
    if (o.max_requests_per_connection != 0 && served_ >= o.max_requests_per_connection) {
      keep_alive_ = false;
    }

    request_.set_method(parser_.method());
    request_.set_target(parser_.target());

    if (absolute_) request_.set_target(absolute_->origin_form);  // header_refusal
    if (o.max_requests_per_second > 0 && !take_token()) return answer_rate_limited();

    // The parser wrote the fields and the content into request_ (read_request).
    auto& headers = request_.mutable_headers();
    if (absolute_) headers.set("Host", absolute_->authority);
    request_.set_peer(peer_address_, peer_port_);
    TlsInfo& tls = request_.mutable_tls();
    tls.secure = kTls;
    tls.protocol = tls_protocol_;
    tls.cipher = tls_cipher_;
    tls.client_certificate = client_certificate_;
    if (auto id = headers.get("X-Request-Id"); id && acceptable_request_id(*id)) {
      request_.set_request_id(*id);
    } else {
      std::string& scratch = request_id_scratch_;
      mint_request_id(scratch);
      request_.set_request_id(scratch);
    }

    // RFC 9110 §9.3.7: OPTIONS of the server as a whole, asterisk-form (RFC 9112 §3.2.4), or the
    // absolute-form with neither path nor query, which names the same (§3.2.2, §3.2.4).
    if (parser_.method() == "OPTIONS" &&
        (parser_.target() == "*" || (absolute_ && absolute_->bare))) {
      response_ = Response(200);
      response_.headers.set("Allow", state_.server_allow);
      return write_response(response_);
    }
    Router::Match match = state_.router->match(request_.method(), request_.path(), request_);
    switch (match.kind) {
      case Router::Match::Kind::kNotFound:
        return write_response(state_.options->not_found ? *state_.options->not_found
                                                        : canned_error(404));
      case Router::Match::Kind::kMethodNotAllowed:
        request_.set_route(match.pattern);
        response_ = Response::error(405, "method_not_allowed", "method not allowed for this path");
        // RFC 9110 §15.5.6: a 405 MUST carry Allow.
        response_.headers.add("Allow", match.allow);
        return write_response(response_);
      case Router::Match::Kind::kFound:
        break;
    }
    const Route& route = *match.route;
    request_.set_route(route.pattern);
    if (route.metrics) route_metrics_ = route.metrics;
    if (route.handler) {
      try {
        response_ = route.handler(request_);
      } catch (...) {
        // The server lives on; the client learns nothing of the cause.
        state_.metrics->handler_exceptions.fetch_add(1, std::memory_order_relaxed);
        return write_response(canned_error(500));
      }
      return write_response(response_);
    }
    enter(Phase::kHandling);
    std::shared_ptr<Responder::Sink> sink(this->shared_from_this(), this);
    try {
      route.async_handler(request_, Responder(std::move(sink)));
    } catch (...) {
      // The Responder, destroyed unanswered during unwinding, answered 500.
      state_.metrics->handler_exceptions.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // Token bucket per connection: `max_requests_per_second` refill, `request_burst` capacity.
  bool take_token() {
    const auto& o = *state_.options;
    auto now = SteadyClock::now();
    if (last_refill_ != SteadyClock::time_point{}) {
      double seconds = std::chrono::duration<double>(now - last_refill_).count();
      tokens_ = std::min(o.request_burst, tokens_ + seconds * o.max_requests_per_second);
    }
    last_refill_ = now;
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      return true;
    }
    return false;
  }

  void answer_rate_limited() {
    const auto& o = *state_.options;
    response_ = Response::error(429, "rate_limited", "too many requests on this connection");
    // RFC 6585 §4 / RFC 9110 §10.2.3: when to try again, in whole seconds.
    double wait = (1.0 - tokens_) / o.max_requests_per_second;
    response_.headers.add(
        "Retry-After", std::to_string(std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait)))));
    write_response(response_);
  }

  void answer_error_and_close(int status) {
    keep_alive_ = false;
    route_metrics_ = state_.unrouted_metrics;
    if (parser_.header_done()) {
      // Keep what we know for the access log; the target is safe to log
      // once its query is dropped by Request::path().
      request_.set_method(parser_.method());
      request_.set_target(loggable_target(parser_.target()));
      is_head_ = parser_.method() == "HEAD";  // RFC 9110 §9.3.2: no content, even for an error
    }
    if (request_.request_id().empty()) {
      mint_request_id(request_id_scratch_);
      request_.set_request_id(request_id_scratch_);
    }
    write_response(canned_error(status));
  }

  void write_response(const Response& response) {
    if (phase_ == Phase::kClosed) return;
    enter(Phase::kWriting);
    if (state_.draining.load()) keep_alive_ = false;
    const Response* r = &response;
    for (const auto& [name, value] : r->headers) {
      if (!safe_field(name, value)) {
        // Never let a handler split the response (RFC 9112 §4, §5).
        state_.metrics->handler_exceptions.fetch_add(1, std::memory_order_relaxed);
        r = &canned_error(500);
        break;
      }
    }
    status_ = r->status;
    std::string_view reason = reason_phrase(r->status);
    head_.clear();
    head_ += "HTTP/1.1 ";
    append_uint(head_, static_cast<uint64_t>(r->status));
    head_ += ' ';
    head_ += reason;
    head_ += "\r\n";
    head_ += date_header_line();
    bool has_request_id = false;
    for (const auto& [name, value] : r->headers) {
      if (server_owned_field(name)) continue;
      has_request_id = has_request_id || iequals(name, "X-Request-Id");
      head_ += name;
      head_ += ": ";
      head_ += value;
      head_ += "\r\n";
    }
    if (!has_request_id && !request_.request_id().empty()) {
      head_ += "X-Request-Id: ";
      head_ += request_.request_id();
      head_ += "\r\n";
    }
    // RFC 9110 §8.6: no Content-Length in 1xx or 204 responses; a 304 has no body.
    const bool bodyless_status = r->status < 200 || r->status == 204 || r->status == 304;
    if (!bodyless_status) {
      head_ += "Content-Length: ";
      append_uint(head_, r->body.size());
      head_ += "\r\n";
    }
    if (!keep_alive_) {
      head_ += "Connection: close\r\n";  // RFC 9112 §9.6
    } else if (http10_) {
      head_ += "Connection: keep-alive\r\n";  // HTTP/1.0 persistence is opt-in
    }
    head_ += "\r\n";
    // RFC 9110 §9.3.2: HEAD gets the GET headers without content.
    body_bytes_ = (is_head_ || bodyless_status) ? 0 : r->body.size();
    std::array<net::const_buffer, 2> buffers = {net::buffer(head_),
                                                net::buffer(r->body.data(), body_bytes_)};
    net::async_write(stream_, buffers, [self = this->shared_from_this()](error_code ec, size_t) {
      self->on_write(ec);
    });
  }

  void on_write(error_code ec) {
    const auto duration = SteadyClock::now() - request_received_;
    if (route_metrics_) route_metrics_->record(this_thread_shard(), status_, duration);
    AccessLogEntry entry;
    entry.time = request_wall_time_;
    entry.method = request_.method();
    entry.route = request_.route();
    entry.path = request_.path();
    entry.status = status_;
    entry.duration = duration;
    entry.bytes_sent = body_bytes_;
    entry.peer_address = peer_address_;
    entry.peer_port = peer_port_;
    entry.request_id = request_.request_id();
    entry.tls = kTls;
    state_.access_log->write(entry);

    if (ec || phase_ == Phase::kClosed) return force_close();
    if (!keep_alive_) return close_gracefully();
    read_request();
  }

  // Half-close, then read and discard until the client closes, so a client
  // still sending a body reads our answer instead of a reset (RFC 9112 §9.6).
  void close_gracefully() {
    enter(Phase::kLingering);
    if constexpr (kTls) {
      stream_.async_shutdown(
          [self = this->shared_from_this()](error_code) { self->force_close(); });
    } else {
      error_code ec;
      stream_.shutdown(tcp::socket::shutdown_send, ec);
      if (ec) return force_close();
      linger();
    }
  }

  void linger() {
    buffer_.consume(buffer_.size());
    lowest_layer(stream_).async_read_some(buffer_.prepare(4096),
                                          [self = this->shared_from_this()](error_code ec, size_t) {
                                            if (ec || self->phase_ == Phase::kClosed) {
                                              return self->force_close();
                                            }
                                            self->linger();
                                          });
  }

  Stream stream_;
  beast::flat_buffer buffer_;  // reused for every request on this connection
  static constexpr size_t kKeptBodyCapacity = size_t{64} * 1024;
  static constexpr size_t kKeptHeadBytes = 4096;
  static constexpr size_t kKeptFields = 32;
  static constexpr size_t kHeadReadSize = 2048;
  static constexpr size_t kContentReadSize = size_t{64} * 1024;
  internal::Http1Parser parser_{internal::Http1Parser::Kind::kRequest,
                                state_.options->max_header_bytes, state_.options->max_body_bytes};
  Request request_;
  Response response_;
  std::string head_;
  std::string request_id_scratch_;
  Phase phase_ = Phase::kReading;
  SteadyClock::time_point phase_start_ = SteadyClock::now();
  std::optional<AbsoluteTarget> absolute_;  // the request's absolute-form target, parsed
  SteadyClock::time_point first_byte_seen_{};
  SteadyClock::time_point header_done_seen_{};
  SteadyClock::time_point request_received_{};
  std::chrono::system_clock::time_point request_wall_time_{};
  bool timed_out_ = false;
  bool header_checked_ = false;  // header_refusal() has run for the current request
  bool keep_alive_ = true;
  bool is_head_ = false;
  bool http10_ = false;
  int status_ = 0;
  uint64_t body_bytes_ = 0;
  uint64_t served_ = 0;
  double tokens_ = 0;
  SteadyClock::time_point last_refill_{};
  RouteMetrics* route_metrics_ = nullptr;
  std::string peer_address_;
  uint16_t peer_port_ = 0;
  std::string_view tls_protocol_;
  std::string_view tls_cipher_;
  std::shared_ptr<const ClientCertificate> client_certificate_;
};

// Over the connection limit: a canned 503 and a lingering close, without
// counting toward the limit or touching the router.
class RefusedConnection : public std::enable_shared_from_this<RefusedConnection> {
 public:
  explicit RefusedConnection(tcp::socket socket)
      : socket_(std::move(socket)), timer_(socket_.get_executor()) {}

  void start() {
    static const std::string kResponse = [] {
      std::string body =
          R"({"error":"temporarily_unavailable","error_description":"too many connections"})";
      return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
             "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    timer_.expires_after(std::chrono::seconds(2));
    timer_.async_wait([self = shared_from_this()](error_code) {
      error_code ec;
      self->socket_.close(ec);
    });
    net::async_write(socket_, net::buffer(kResponse),
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (ec) return self->close();
                       self->socket_.shutdown(tcp::socket::shutdown_send, ec);
                       self->drain();
                     });
  }

 private:
  void drain() {
    socket_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](error_code ec, size_t) {
                              if (ec) return self->close();
                              self->drain();
                            });
  }
  void close() {
    error_code ec;
    timer_.cancel();
    socket_.close(ec);
  }

  tcp::socket socket_;
  net::steady_timer timer_;
  std::array<char, 1024> scratch_{};
};

void schedule_sweep(State& state, Worker& worker) {
  worker.sweep_timer.expires_after(state.sweep_interval);
  worker.sweep_timer.async_wait([&state, &worker](error_code ec) {
    if (ec) return;
    auto now = SteadyClock::now();
    // sweep() never destroys a connection synchronously (handlers run later),
    // so iterating the set is safe.
    for (ConnectionBase* c : worker.connections) c->sweep(now);
    schedule_sweep(state, worker);
  });
}

void start_connection(State& state, Worker& worker, tcp::socket socket) {
  state.metrics->connections_active.fetch_add(1, std::memory_order_relaxed);
  if (state.ssl_context) {
    auto c = std::make_shared<Connection<ssl::stream<tcp::socket>>>(
        state, worker, std::move(socket), *state.ssl_context);
    c->start();
  } else {
    auto c = std::make_shared<Connection<tcp::socket>>(state, worker, std::move(socket));
    c->start();
  }
}

void accept_next(State& state) {
  if (!state.acceptor || !state.acceptor->is_open()) return;
  Worker& target = *state.workers[state.next_worker++ % state.workers.size()];
  state.acceptor->async_accept(target.ioc, [&state, &target](error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !state.acceptor->is_open()) return;
    if (ec) {
      // E.g. EMFILE: back off briefly instead of spinning.
      state.accept_backoff->expires_after(std::chrono::milliseconds(50));
      state.accept_backoff->async_wait([&state](error_code e) {
        if (!e) accept_next(state);
      });
      return;
    }
    state.metrics->connections_accepted.fetch_add(1, std::memory_order_relaxed);
    if (state.draining.load() || state.active.load() >= state.options->max_connections) {
      state.metrics->connections_refused.fetch_add(1, std::memory_order_relaxed);
      if (state.ssl_context) {
        error_code ignored;
        socket.close(ignored);  // no HTTP without a handshake we will not spend
      } else {
        std::make_shared<RefusedConnection>(std::move(socket))->start();
      }
    } else {
      state.active.fetch_add(1);
      net::post(target.ioc, [&state, &target, s = std::move(socket)]() mutable {
        start_connection(state, target, std::move(s));
      });
    }
    accept_next(state);
  });
}

std::string read_file_or(const std::string& pem, const std::string& path) {
  if (!pem.empty() || path.empty()) return pem;
  std::unique_ptr<FILE, decltype(&fclose)> f(fopen(path.c_str(), "rb"), &fclose);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f.get())) > 0) out.append(buf, n);
  return out;
}

constexpr long kTlsSessionCacheSize = 20'480;

// Session ticket keys, owned by the SSL_CTX they serve (freed with it through its ex_data).
struct TicketKey {
  std::array<unsigned char, 16> name;
  std::array<unsigned char, 32> hmac;
  std::array<unsigned char, 32> aes;
};
using TicketKeys = std::vector<TicketKey>;

int ticket_keys_index() {
  static const int index = SSL_CTX_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void*, void* keys, CRYPTO_EX_DATA*, int, long, void*) {
        auto* owned = static_cast<TicketKeys*>(keys);
        if (owned != nullptr) OPENSSL_cleanse(owned->data(), owned->size() * sizeof(TicketKey));
        delete owned;
      });
  return index;
}

// Ticket protection as OpenSSL builds it around this (RFC 5077 §4's construction, with AES-256
// rather than its AES-128, as OpenSSL's own keys and RFC 9325 §3.4's "at least as strong as the
// TLS cipher" have it): AES-256-CBC under the key `key_name` names, HMAC-SHA256 over the ticket. 1:
// sealed or opened with the current key; 2: opened with an older one (OpenSSL issues a fresh
// ticket); 0: no such key (a full handshake); -1: failure.
int ticket_key_callback(SSL* ssl, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                        EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int seal) {
  const auto* keys = static_cast<const TicketKeys*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ticket_keys_index()));
  if (keys == nullptr || keys->empty()) return -1;
  const TicketKey* key = nullptr;
  bool current = true;
  if (seal != 0) {
    key = &keys->front();
    std::memcpy(key_name, key->name.data(), key->name.size());
    if (RAND_bytes(iv, 16) != 1) return -1;
  } else {
    for (size_t i = 0; i < keys->size() && key == nullptr; ++i) {
      if (CRYPTO_memcmp(key_name, (*keys)[i].name.data(), 16) == 0) {
        key = &(*keys)[i];
        current = i == 0;
      }
    }
    if (key == nullptr) return 0;
  }
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(
          OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key->hmac.data()), key->hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  const int ok = seal != 0
                     ? EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes.data(), iv)
                     : EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes.data(), iv);
  if (ok != 1) return -1;
  return current ? 1 : 2;
}

void use_ticket_keys(ssl::context& ctx, const TlsOptions& tls) {
  std::vector<std::string> raw = tls.session_ticket_keys;
  for (const auto& file : tls.session_ticket_key_files) raw.push_back(read_file_or("", file));
  if (raw.empty()) return;
  auto keys = std::unique_ptr<TicketKeys, void (*)(TicketKeys*)>(new TicketKeys, [](TicketKeys* k) {
    OPENSSL_cleanse(k->data(), k->size() * sizeof(TicketKey));
    delete k;
  });
  keys->reserve(raw.size());  // no copies of key material left behind by a reallocation
  std::string problem;
  for (std::string& k : raw) {
    if (k.size() != kTicketKeyBytes) {
      problem = "a session ticket key must be " + std::to_string(kTicketKeyBytes) +
                " bytes (openssl rand 80)";
    } else if (std::any_of(keys->begin(), keys->end(), [&](const TicketKey& other) {
                 return std::memcmp(other.name.data(), k.data(), other.name.size()) == 0;
               })) {
      // A ticket names its key; a second key of that name could never open one.
      problem = "two session ticket keys have the same name (their first 16 bytes)";
    } else {
      TicketKey& key = keys->emplace_back();
      std::memcpy(key.name.data(), k.data(), 16);
      std::memcpy(key.hmac.data(), k.data() + 16, 32);
      std::memcpy(key.aes.data(), k.data() + 48, 32);
    }
    OPENSSL_cleanse(k.data(), k.size());
  }
  if (!problem.empty()) throw std::runtime_error(problem);
  if (SSL_CTX_set_ex_data(ctx.native_handle(), ticket_keys_index(), keys.get()) != 1) {
    throw std::runtime_error("cannot keep the session ticket keys");
  }
  (void)keys.release();  // the SSL_CTX owns them now
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx.native_handle(), ticket_key_callback);
}

void configure_tls(ssl::context& ctx, const TlsOptions& tls) {
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  std::string chain = read_file_or(tls.certificate_chain_pem, tls.certificate_chain_file);
  std::string key = read_file_or(tls.private_key_pem, tls.private_key_file);
  if (chain.empty() || key.empty()) throw std::runtime_error("TLS needs a certificate and a key");
  ctx.use_certificate_chain(net::buffer(chain));
  ctx.use_private_key(net::buffer(key), ssl::context::pem);
  // Session resumption with client certificates needs a session id context.
  static const unsigned char kSessionContext[] = "tessera";
  SSL_CTX_set_session_id_context(ctx.native_handle(), kSessionContext, sizeof(kSessionContext) - 1);
  if (tls.client_certificates != ClientCertMode::kOff) {
    // Resumption keeps sessions in this process's cache instead of stateless tickets
    // (RFC 8446 §4.6.1 lets the server choose; TLS 1.2 uses session ids, RFC 5246 §7.4.1.2).
    // A ticket carries the client certificate, and OpenSSL 3.0 decodes its public key again on
    // every resumption, which cost more than the rest of a token request; a cached session
    // keeps the parsed certificate. At most kTlsSessionCacheSize sessions (OpenSSL's default);
    // the oldest go first. One NewSessionTicket per handshake instead of OpenSSL's two: each is a
    // session copied into the cache, and a client gets a fresh one on every connection
    // (RFC 8446 §4.6.1 leaves the number to the server; §C.4 asks clients to use each once).
    SSL_CTX_set_options(ctx.native_handle(), SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx.native_handle(), SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx.native_handle(), kTlsSessionCacheSize);
    SSL_CTX_set_num_tickets(ctx.native_handle(), 1);
    if (!tls.session_ticket_keys.empty() || !tls.session_ticket_key_files.empty()) {
      throw std::runtime_error(
          "session ticket keys are for listeners without client certificates (those keep "
          "sessions in a cache)");
    }
  } else {
    use_ticket_keys(ctx, tls);
  }
  switch (tls.client_certificates) {
    case ClientCertMode::kOff:
      ctx.set_verify_mode(ssl::verify_none);
      return;
    case ClientCertMode::kOptional:
      ctx.set_verify_mode(ssl::verify_peer);
      break;
    case ClientCertMode::kRequired:
      ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
      break;
    case ClientCertMode::kOptionalAnyIssuer:
      // Every certificate passes the handshake; SSL_get_verify_result still says whether it
      // chained to a client CA. The handshake's CertificateVerify proves the key either way.
      SSL_CTX_set_verify(ctx.native_handle(), SSL_VERIFY_PEER,
                         [](int, X509_STORE_CTX*) { return 1; });
      break;
  }
  std::string ca = read_file_or(tls.client_ca_pem, tls.client_ca_file);
  if (ca.empty() && tls.client_certificates == ClientCertMode::kOptionalAnyIssuer) return;
  if (ca.empty()) throw std::runtime_error("mutual TLS needs client CA certificates");
  ctx.add_certificate_authority(net::buffer(ca));
  // Advertise the acceptable CAs in the CertificateRequest (RFC 8446 §4.2.4).
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(ca.data(), static_cast<int>(ca.size())), &BIO_free);
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(cert)));
    X509_free(cert);
  }
  ERR_clear_error();
  SSL_CTX_set_client_CA_list(ctx.native_handle(), names);  // takes ownership
}

}  // namespace

Server::Server(ServerOptions options, Router router)
    : options_(std::move(options)),
      router_(std::move(router)),
      metrics_(std::make_shared<ServerMetrics>()) {
  if (options_.builtin_routes) {
    Request probe;
    auto absent = [&](std::string_view path) {
      auto m = router_.match("GET", path, probe);
      return m.kind == Router::Match::Kind::kNotFound || m.pattern == Router::kFallbackPattern;
    };
    if (absent("/healthz")) {
      router_.get("/healthz", [](const Request&) {
        return Response::json(200, {{"status", "ok"}});
      });
    }
    if (absent("/readyz")) {
      router_.get("/readyz", [this](const Request&) {
        return ready() ? Response::json(200, {{"status", "ready"}})
                       : Response::json(503, {{"status", "not_ready"}});
      });
    }
    if (absent("/metrics")) {
      router_.get("/metrics", [this](const Request&) {
        // Prometheus text exposition format, version 0.0.4.
        return Response::text(200, metrics_->render(), "text/plain; version=0.0.4; charset=utf-8");
      });
    }
  }
  for (Route* route : router_.routes()) {
    route->metrics = metrics_->add_route(route->pattern, route->method);
  }
}

Server::~Server() { stop(); }

Result<Ok> Server::start() {
  {
    std::lock_guard lock(stop_mu_);
    if (running_) return Err(std::string("server already started"));
  }
  auto state = std::make_unique<State>();
  state->server = this;
  state->options = &options_;
  state->router = &router_;
  state->metrics = metrics_.get();
  state->owned_access_log =
      options_.access_log ? options_.access_log : std::make_shared<JsonLinesAccessLog>(2);
  state->access_log = state->owned_access_log.get();
  state->unrouted_metrics = metrics_->add_route("<unmatched>", "*");
  // Every method some route takes (a fallback, the gateway's, takes the usual ones), and OPTIONS.
  std::set<std::string> methods = {"OPTIONS"};
  for (Route* route : router_.routes()) {
    if (route->method == "*") {
      methods.insert({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"});
    } else {
      methods.insert(route->method);
      if (route->method == "GET") methods.insert("HEAD");  // RFC 9110 §9.3.2, as the router
    }
  }
  for (const auto& m : methods) {
    if (!state->server_allow.empty()) state->server_allow += ", ";
    state->server_allow += m;
  }
  auto smallest = std::min({options_.header_timeout, options_.body_timeout, options_.idle_timeout,
                            options_.write_timeout});
  state->sweep_interval = std::clamp<SteadyClock::duration>(
      smallest / 4, std::chrono::milliseconds(5), std::chrono::seconds(1));
  unsigned threads =
      options_.io_threads ? options_.io_threads : std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;
  try {
    if (options_.tls) {
      state->ssl_context.emplace(ssl::context::tls_server);
      configure_tls(*state->ssl_context, *options_.tls);
      state->any_issuer = options_.tls->client_certificates == ClientCertMode::kOptionalAnyIssuer;
    }
    for (unsigned i = 0; i < threads; ++i) state->workers.push_back(std::make_unique<Worker>());
    auto& ioc0 = state->workers[0]->ioc;
    tcp::endpoint endpoint(net::ip::make_address(options_.address), options_.port);
    state->acceptor.emplace(ioc0);
    state->acceptor->open(endpoint.protocol());
    state->acceptor->set_option(net::socket_base::reuse_address(true));
    state->acceptor->bind(endpoint);
    state->acceptor->listen(options_.listen_backlog);
    bound_port_ = state->acceptor->local_endpoint().port();
  } catch (const std::exception& e) {
    return Err(std::string("http server start: ") + e.what());
  }
  state->accept_backoff.emplace(state->workers[0]->ioc);
  accept_next(*state);
  for (auto& w : state->workers) {
    w->work_guard.emplace(w->ioc.get_executor());
    schedule_sweep(*state, *w);
    Worker* worker = w.get();
    w->thread = std::thread([worker] {
      internal::set_current_event_loop(&worker->ioc);
      worker->ioc.run();
    });
  }
  state_ = std::move(state);
  std::lock_guard lock(stop_mu_);
  running_ = true;
  return Ok{};
}

void Server::drain(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(stop_mu_);
    if (!running_ || !state_) return;
  }
  draining_ = true;
  State& st = *state_;
  st.draining = true;
  net::post(st.workers[0]->ioc, [&st] {
    error_code ec;
    if (st.acceptor) st.acceptor->close(ec);
  });
  // Close idle connections now rather than at the next sweep.
  for (auto& w : st.workers) {
    Worker* worker = w.get();
    net::post(worker->ioc, [worker] {
      auto now = SteadyClock::now();
      for (ConnectionBase* c : worker->connections) c->sweep(now);
    });
  }
  {
    std::unique_lock lock(st.drain_mu);
    st.drain_cv.wait_for(lock, timeout, [&st] { return st.active.load() == 0; });
  }
  shutdown_threads();
}

void Server::stop() { shutdown_threads(); }

void Server::shutdown_threads() {
  std::unique_ptr<State> state;
  {
    std::lock_guard lock(stop_mu_);
    if (!running_) return;
    state = std::move(state_);
  }
  for (auto& w : state->workers) {
    w->work_guard.reset();
    w->ioc.stop();
  }
  for (auto& w : state->workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  // Destroying the state closes the acceptor, then each io_context destroys
  // its pending handlers, which releases and closes the connections.
  state->acceptor.reset();
  state->accept_backoff.reset();
  state.reset();
  std::lock_guard lock(stop_mu_);
  running_ = false;
  stopped_cv_.notify_all();
}

void Server::wait() {
  std::unique_lock lock(stop_mu_);
  stopped_cv_.wait(lock, [this] { return !running_; });
}

// asio's signal_set installs its handler when constructed and queues a signal that arrives while
// no wait is pending, so the first async_wait() completes with it.
struct ShutdownSignals::Impl {
  net::io_context ioc{1};
  net::signal_set signals{ioc, SIGTERM, SIGINT};
};

ShutdownSignals::ShutdownSignals() : impl_(std::make_unique<Impl>()) {}
ShutdownSignals::~ShutdownSignals() = default;

void ShutdownSignals::wait_then_drain(const std::vector<Server*>& servers,
                                      std::chrono::milliseconds drain_timeout) {
  impl_->signals.async_wait([](error_code, int) {});
  impl_->ioc.run();  // returns after the first signal
  std::vector<std::thread> draining;
  draining.reserve(servers.size());
  for (Server* server : servers) {
    draining.emplace_back([server, drain_timeout] { server->drain(drain_timeout); });
  }
  for (std::thread& t : draining) t.join();
}

void run_until_signal(Server& server, std::chrono::milliseconds drain_timeout) {
  ShutdownSignals().wait_then_drain({&server}, drain_timeout);
}

}  // namespace tessera::http
