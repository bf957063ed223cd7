// HTTP/1.1 client for outbound calls (JWKS, introspection, proxying): a
// keep-alive connection pool per scheme/host/port, connect and read timeouts,
// TLS with certificate and hostname verification on by default.
//
// The API is blocking and thread-safe: each call checks a connection out of
// the pool, uses it alone, and returns it. An async variant for the gateway
// can reuse the same pool and URL handling with completion handlers on the
// server's io_context (the pool keys and ClientRequest/ClientResponse stay).
#pragma once

#include <chrono>
#include <cstdint>
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

}  // namespace tessera::http
