// HTTP/1.1 client for outbound calls (JWKS, introspection, proxying): a
// keep-alive connection pool per scheme/host/port, connect and read timeouts,
// TLS with certificate and hostname verification on by default.
//
// HttpClient is blocking and thread-safe: each call checks a connection out of
// the pool, uses it alone, and returns it. AsyncHttpClient (the gateway's
// upstream calls) runs each request on an http::Server io thread's event loop,
// with keep-alive connections kept per loop: no thread waits on an upstream.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "http/message.h"

namespace tessera::http {

struct ClientOptions {
  // TCP connect + TLS handshake.
  std::chrono::milliseconds connect_timeout{5'000};
  // Writing the request and reading the whole response.
  std::chrono::milliseconds read_timeout{10'000};
  // Verify the server's certificate chain and name (RFC 6125). Turning this
  // off is for tests against throwaway servers only.
  bool verify_tls = true;
  // Trust anchors (PEM); both empty: the system's default CA store.
  std::string ca_pem;
  std::string ca_file;
  // Client certificate for mutual TLS to upstreams (PEM), optional.
  std::string client_certificate_pem;
  std::string client_private_key_pem;
  // Idle keep-alive connections kept per scheme/host/port.
  size_t max_idle_per_host = 8;
  uint64_t max_response_body_bytes = uint64_t{16} * 1024 * 1024;
  uint32_t max_response_header_bytes = 64 * 1024;
  std::string user_agent = "tessera";
  // Dial only public addresses: when a stranger chose the URL (a dynamically registered
  // client's jwks_uri or back-channel logout URI), neither this machine (loopback, and the
  // addresses of its interfaces, public ones included) nor its private networks
  // (http::internal::refused_address) are reached, whatever the name resolves to. The addresses
  // checked are the ones dialled, so a name that resolves differently a moment later (DNS
  // rebinding) gains nothing. Unchecked before: a registration refuses such address literals, not
  // names.
  bool public_addresses_only = false;
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // http://host[:port]/path?query or https://...
  Headers headers;
  std::string body;
};

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;
  bool reused_connection = false;  // served on a pooled keep-alive connection
};

enum class ClientErrorCode {
  kInvalidUrl,            // not an absolute http(s) URL
  kResolveFailed,         // DNS
  kConnectFailed,         // refused, unreachable
  kConnectTimeout,        // TCP connect or TLS handshake took too long
  kTlsHandshakeFailed,    // TLS failed for a reason other than verification
  kCertificateUntrusted,  // chain does not verify against the trust anchors
  kHostnameMismatch,      // certificate valid but not for this host
  kTimeout,               // request write or response read took too long
  kConnectionClosed,      // peer closed before a complete response
  kProtocolError,         // malformed response
  kResponseTooLarge,      // over max_response_body_bytes / header bytes
  kAddressRefused,        // public_addresses_only, and the host has no public address
  kInvalidRequest,        // a method, field or content HTTP/1.1 cannot carry
};
const char* to_string(ClientErrorCode code);

struct ClientError {
  ClientErrorCode code;
  std::string message;  // for logs; never contains request headers or bodies
};

class HttpClient {
 public:
  explicit HttpClient(ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<ClientResponse, ClientError> request(const ClientRequest& request);
  Result<ClientResponse, ClientError> get(std::string_view url, const Headers& headers = {});
  // POST application/x-www-form-urlencoded (e.g. RFC 7662 introspection).
  Result<ClientResponse, ClientError> post_form(std::string_view url, const Params& form,
                                                const Headers& headers = {});

  // Number of idle pooled connections, across hosts.
  size_t idle_connections() const;
  // Connections opened since construction (reuse shows as requests > opened).
  uint64_t connections_opened() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes for application/x-www-form-urlencoded (unreserved kept,
// space as '+').
std::string form_encode(const Params& params);

// The event loop of an http::Server io thread: captured on that thread (current()), then usable
// from any thread to run a request there.
class EventLoop {
 public:
  EventLoop() = default;
  // The calling thread's loop when it is an http::Server io thread; empty otherwise.
  static EventLoop current();
  explicit operator bool() const { return context_ != nullptr; }

 private:
  friend class AsyncHttpClient;
  void* context_ = nullptr;  // the io thread's boost::asio::io_context
};

// Plain-HTTP requests on a server io thread's event loop: connect, write and read are
// asynchronous, connections are kept alive per loop and upstream (at most max_idle_per_host
// each), and a request whose reused connection turns out closed before any answer is sent once
// more on a fresh one when it is idempotent (RFC 9112 §9.3.1). The timeouts, limits and errors
// are HttpClient's. https:// URLs are not supported here (use HttpClient).
class AsyncHttpClient {
 public:
  using Callback = std::function<void(Result<ClientResponse, ClientError>)>;

  explicit AsyncHttpClient(ClientOptions options = {});
  ~AsyncHttpClient();
  AsyncHttpClient(const AsyncHttpClient&) = delete;
  AsyncHttpClient& operator=(const AsyncHttpClient&) = delete;

  // True for the absolute http:// URLs send() takes.
  static bool supports(std::string_view url);
  // Sends `request` on `loop` (from any thread); `done` runs exactly once, on that loop's thread.
  // An empty loop or an unsupported URL is answered at once, on the calling thread, with
  // kInvalidUrl.
  void send(const EventLoop& loop, const ClientRequest& request, Callback done) const;
  // Connections this client opened so far (pooled reuse does not count).
  uint64_t connections_opened() const;

  struct Shared;  // options and counters, kept alive by requests in flight

 private:
  std::shared_ptr<Shared> shared_;
};

// Whether `url` may carry keys or client secrets: https, or plain http to a loopback host
// (127.0.0.1, localhost, [::1]: development, tests, the demo), as parsed by this client itself
// (so the host checked is the host contacted), with no whitespace, control character or
// backslash anywhere.
bool is_https_or_loopback(std::string_view url);

}  // namespace tessera::http
