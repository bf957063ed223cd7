// HTTP/1.1 server (RFC 9112) on Boost.Beast/Asio: one io_context per io
// thread, connections pinned to a thread, keep-alive, TLS and mutual TLS,
// limits that answer with the right status, built-in health and metrics
// routes, one access-log line per request, graceful drain.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "http/access_log.h"
#include "http/message.h"
#include "http/metrics.h"
#include "http/router.h"

namespace tessera::http {

enum class ClientCertMode {
  kOff,       // no CertificateRequest
  kOptional,  // request a certificate; if one is sent it must verify
  kRequired,  // handshake fails without a verified certificate
  // Request a certificate and accept one of any issuer (nginx's optional_no_ca): the handler
  // sees whether it chained to a client CA (ClientCertificate::chain_verified). For RFC 8705
  // §2.2 self-signed client authentication and certificate-bound tokens (§3), where the
  // certificate itself is what was registered; client CAs are optional in this mode.
  kOptionalAnyIssuer,
};

// PEM given inline wins over the file path of the same item.
struct TlsOptions {
  std::string certificate_chain_pem;
  std::string certificate_chain_file;
  std::string private_key_pem;
  std::string private_key_file;
  ClientCertMode client_certificates = ClientCertMode::kOff;
  // Trust anchors for client certificates (mutual TLS, RFC 8705 §2.1 PKI method).
  std::string client_ca_pem;
  std::string client_ca_file;
  // Session ticket keys (RFC 8446 §4.6.1, RFC 5077), each kTicketKeyBytes: a 16-byte name, a
  // 32-byte HMAC-SHA256 key and a 32-byte AES-256 key. The first seals new tickets; all open
  // them, so servers that share the list resume each other's sessions, and a new key goes first
  // while the old ones stay for a ticket lifetime. Empty: a random key for this process. Only on
  // listeners without client certificates (those keep sessions in a cache, no tickets).
  std::vector<std::string> session_ticket_keys;
  std::vector<std::string> session_ticket_key_files;  // read at start, added after those above
};
inline constexpr size_t kTicketKeyBytes = 80;

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port, see Server::port()
  // io threads; 0 means one per core (std::thread::hardware_concurrency()).
  unsigned io_threads = 0;
  std::optional<TlsOptions> tls;

  // Request line + header fields, bytes (431 over it, RFC 6585 §5).
  uint32_t max_header_bytes = 16 * 1024;
  // Request body, bytes (413 over it, RFC 9110 §15.5.14).
  uint64_t max_body_bytes = uint64_t{1024} * 1024;
  // Slow clients (408, RFC 9110 §15.5.9): once the first byte of a request has
  // arrived, the whole header must arrive within header_timeout and then the
  // body within body_timeout. Enforced by a per-thread sweep, so the effective
  // bound is the limit plus up to a quarter of the smallest limit.
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  // A keep-alive connection with no request in progress is closed after this.
  std::chrono::milliseconds idle_timeout{60'000};
  // Writing a response (or the TLS handshake) must finish within this.
  std::chrono::milliseconds write_timeout{30'000};
  // Open connections; one more is answered 503 and closed (TLS: just closed).
  size_t max_connections = 10'000;
  // Requests per second per connection (token bucket); 0 disables. Over it:
  // 429 with Retry-After (RFC 6585 §4).
  double max_requests_per_second = 0;
  double request_burst = 20;
  // Requests served on one connection before "Connection: close"; 0: no limit.
  uint64_t max_requests_per_connection = 0;

  // /healthz, /readyz, /metrics.
  bool builtin_routes = true;
  // The answer to a path no route matches; null: a JSON 404 in the OAuth shape (RFC 6749 §5.2).
  // A listener that speaks another protocol's errors (the fga role: OpenFGA's) sets its own.
  std::shared_ptr<const Response> not_found;
  // Null: JSON lines on stderr.
  std::shared_ptr<AccessLogSink> access_log;
  int listen_backlog = 1024;
};

class Server {
 public:
  // Adds the built-in routes to `router` unless disabled or already present.
  Server(ServerOptions options, Router router);
  ~Server();  // stops immediately if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the io threads. Errors: bad address, port in
  // use, unreadable TLS material.
  Result<Ok> start();
  // The bound port (after start()).
  uint16_t port() const { return bound_port_; }

  // /readyz answers 200 only while ready (and not draining). Starts not ready.
  void set_ready(bool ready) { ready_.store(ready); }
  bool ready() const { return ready_.load() && !draining_.load(); }

  // Graceful stop (e.g. on SIGTERM): stop accepting, close idle keep-alive
  // connections, let in-flight requests finish with "Connection: close", then
  // stop. Connections still open after `timeout` are closed. Blocks until the
  // io threads are joined. Safe to call from any thread but an io thread.
  void drain(std::chrono::milliseconds timeout);
  // Immediate stop: closes everything and joins the io threads.
  void stop();
  // Blocks until the server has stopped (via drain() or stop()).
  void wait();

  ServerMetrics& metrics() { return *metrics_; }
  std::string metrics_text() const { return metrics_->render(); }

  struct State;  // shared with connections (server.cpp)

 private:
  void shutdown_threads();

  ServerOptions options_;
  Router router_;
  std::shared_ptr<ServerMetrics> metrics_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> draining_{false};
  uint16_t bound_port_ = 0;
  std::unique_ptr<State> state_;
  std::mutex stop_mu_;
  std::condition_variable stopped_cv_;
  bool running_ = false;
};

// SIGTERM and SIGINT are caught from construction on, and one that arrives before
// wait_then_drain() is kept for it. Create it before announcing readiness: a supervisor that
// sends SIGTERM as soon as it reads the announcement must get a drain, not the signal's default
// action (which ends the process at once).
class ShutdownSignals {
 public:
  ShutdownSignals();
  ~ShutdownSignals();
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;
  // Blocks until SIGTERM or SIGINT, then drains `servers` side by side with `drain_timeout`.
  void wait_then_drain(const std::vector<Server*>& servers,
                       std::chrono::milliseconds drain_timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs until SIGTERM or SIGINT arrives, then drains `server` with `timeout`.
// Call from the main thread after server.start().
void run_until_signal(Server& server, std::chrono::milliseconds drain_timeout);

}  // namespace tessera::http
