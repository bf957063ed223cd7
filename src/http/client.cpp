#include "http/client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "http/client_internal.h"

namespace tessera::http {

using internal::error;
using internal::parse_url;
using internal::refused_address;
using internal::Url;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

// The system's trust anchors (OpenSSL's default file and directory), shared by every client
// context. Each context used to read the bundle itself: ~140 PEM certificates parsed per
// HttpClient, which made building a client cost more than most requests. X509_STORE is
// reference-counted and locks its own look-ups, so contexts on any thread may share it. The
// bundle file is read once per process (a changed bundle is seen by the next process, as with
// most TLS clients); certificates in the hashed directory are still looked up when first needed.
// Null only when the store cannot be made (no memory); the caller then uses the per-context way.
X509_STORE* system_trust_store() {
  static X509_STORE* const store = [] {
    X509_STORE* s = X509_STORE_new();
    if (s != nullptr && X509_STORE_set_default_paths(s) != 1) {
      X509_STORE_free(s);
      s = nullptr;
    }
    return s;
  }();
  return store;
}

}  // namespace

const char* to_string(ClientErrorCode code) {
  switch (code) {
    case ClientErrorCode::kInvalidUrl:
      return "invalid_url";
    case ClientErrorCode::kResolveFailed:
      return "resolve_failed";
    case ClientErrorCode::kConnectFailed:
      return "connect_failed";
    case ClientErrorCode::kConnectTimeout:
      return "connect_timeout";
    case ClientErrorCode::kTlsHandshakeFailed:
      return "tls_handshake_failed";
    case ClientErrorCode::kCertificateUntrusted:
      return "certificate_untrusted";
    case ClientErrorCode::kHostnameMismatch:
      return "hostname_mismatch";
    case ClientErrorCode::kTimeout:
      return "timeout";
    case ClientErrorCode::kConnectionClosed:
      return "connection_closed";
    case ClientErrorCode::kProtocolError:
      return "protocol_error";
    case ClientErrorCode::kResponseTooLarge:
      return "response_too_large";
    case ClientErrorCode::kAddressRefused:
      return "address_refused";
    case ClientErrorCode::kInvalidRequest:
      return "invalid_request";
  }
  return "unknown";
}

std::string form_encode(const Params& params) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  auto encode = [&](std::string_view s) {
    for (char ch : s) {
      auto c = static_cast<unsigned char>(ch);
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '.' || c == '_' || c == '~') {
        out += ch;
      } else if (c == ' ') {
        out += '+';
      } else {
        out += '%';
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
      }
    }
  };
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    encode(name);
    out += '=';
    encode(value);
  }
  return out;
}

// One keep-alive connection with its own io_context: a blocking call runs the
// context until its operation completes; tcp_stream enforces the timeouts.
struct PooledConnection {
  net::io_context ioc{1};
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

class HttpClient::Impl {
 public:
  explicit Impl(ClientOptions options) : options_(std::move(options)) {}

  ClientOptions options_;
  std::optional<ssl::context> tls_context_;
  std::string tls_context_error_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<PooledConnection>>> idle_;
  std::atomic<uint64_t> opened_{0};

  void init_tls() {
    try {
      ssl::context ctx(ssl::context::tls_client);
      ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      if (options_.verify_tls) {
        ctx.set_verify_mode(ssl::verify_peer);
        if (!options_.ca_pem.empty()) {
          ctx.add_certificate_authority(net::buffer(options_.ca_pem));
        } else if (!options_.ca_file.empty()) {
          ctx.load_verify_file(options_.ca_file);
        } else if (X509_STORE* system = system_trust_store(); system != nullptr) {
          SSL_CTX_set1_cert_store(ctx.native_handle(), system);  // takes its own reference
        } else {
          ctx.set_default_verify_paths();
        }
      } else {
        ctx.set_verify_mode(ssl::verify_none);
      }
      if (!options_.client_certificate_pem.empty()) {
        ctx.use_certificate_chain(net::buffer(options_.client_certificate_pem));
        ctx.use_private_key(net::buffer(options_.client_private_key_pem), ssl::context::pem);
      }
      tls_context_.emplace(std::move(ctx));
    } catch (const std::exception& e) {
      tls_context_error_ = e.what();
    }
  }

  std::unique_ptr<PooledConnection> take_idle(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = idle_.find(key);
    while (it != idle_.end() && !it->second.empty()) {
      auto c = std::move(it->second.back());
      it->second.pop_back();
      // Over TLS, also what OpenSSL decrypted and holds (a record may carry more than the
      // answer's last bytes).
      const bool unasked =
          c->tls ? SSL_pending(c->tls->native_handle()) > 0 ||
                       internal::unasked_bytes(beast::get_lowest_layer(*c->tls).socket())
                 : internal::unasked_bytes(c->plain->socket());
      if (!unasked) return c;
    }
    return nullptr;
  }

  void give_back(const std::string& key, std::unique_ptr<PooledConnection> c) {
    std::lock_guard lock(mu_);
    auto& list = idle_[key];
    if (list.size() < options_.max_idle_per_host) list.push_back(std::move(c));
  }

  // Runs the connection's io_context until the started operation completes.
  static void run(PooledConnection& c) {
    c.ioc.restart();
    c.ioc.run();
  }

  Result<std::unique_ptr<PooledConnection>, ClientError> connect(const Url& url) {
    auto c = std::make_unique<PooledConnection>();
    c->plain.emplace(c->ioc);
    tcp::resolver::results_type endpoints;
    {
      tcp::resolver resolver(c->ioc);
      error_code ec;
      bool done = false;
      resolver.async_resolve(url.host, std::to_string(url.port),
                             [&](error_code e, tcp::resolver::results_type r) {
                               ec = e;
                               endpoints = std::move(r);
                               done = true;
                             });
      c->ioc.restart();
      c->ioc.run_for(options_.connect_timeout);
      if (!done) {
        resolver.cancel();
        run(*c);
        return Err(error(ClientErrorCode::kConnectTimeout, "resolving " + url.host + " timed out"));
      }
      if (ec) {
        return Err(
            error(ClientErrorCode::kResolveFailed, "resolve " + url.host + ": " + ec.message()));
      }
    }
    std::vector<tcp::endpoint> dial;
    // This host's addresses, read once per connection.
    std::optional<std::vector<net::ip::address>> own;
    if (options_.public_addresses_only) own = internal::interface_addresses();
    for (const auto& entry : endpoints) {
      if (!options_.public_addresses_only || !refused_address(entry.endpoint().address(), own)) {
        dial.push_back(entry.endpoint());
      }
    }
    if (dial.empty()) {
      return Err(error(ClientErrorCode::kAddressRefused,
                       url.host + " has no public address (this machine and private networks "
                                  "are not called for this URL)"));
    }
    error_code ec;
    c->plain->expires_after(options_.connect_timeout);
    c->plain->async_connect(dial, [&](error_code e, const tcp::endpoint&) { ec = e; });
    run(*c);
    if (ec == beast::error::timeout) {
      return Err(
          error(ClientErrorCode::kConnectTimeout, "connect to " + url.pool_key() + " timed out"));
    }
    if (ec) {
      return Err(error(ClientErrorCode::kConnectFailed,
                       "connect to " + url.pool_key() + ": " + ec.message()));
    }
    c->plain->socket().set_option(tcp::no_delay(true), ec);
    opened_.fetch_add(1);
    if (!url.secure) return c;

    if (!tls_context_) {
      return Err(error(ClientErrorCode::kTlsHandshakeFailed, "TLS setup: " + tls_context_error_));
    }
    c->tls.emplace(std::move(*c->plain), *tls_context_);
    c->plain.reset();
    SSL* ssl = c->tls->native_handle();
    if (!url.host_is_ip()) {
      // SNI (RFC 6066 §3) is for DNS names only.
      SSL_set_tlsext_host_name(ssl, url.host.c_str());
    }
    if (options_.verify_tls) {
      // RFC 6125 / RFC 9110 §4.3.4: the certificate must name the host we dialled.
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      if (url.host_is_ip()) {
        X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
      } else {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), url.host.size());
      }
    }
    beast::get_lowest_layer(*c->tls).expires_after(options_.connect_timeout);
    c->tls->async_handshake(ssl::stream_base::client, [&](error_code e) { ec = e; });
    run(*c);
    if (ec) {
      long verify = SSL_get_verify_result(ssl);
      if (ec == beast::error::timeout) {
        return Err(error(ClientErrorCode::kConnectTimeout, "TLS handshake timed out"));
      }
      if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        return Err(error(ClientErrorCode::kHostnameMismatch,
                         "certificate does not match host " + url.host));
      }
      if (verify != X509_V_OK) {
        return Err(error(ClientErrorCode::kCertificateUntrusted,
                         std::string("certificate verification failed: ") +
                             X509_verify_cert_error_string(verify)));
      }
      return Err(error(ClientErrorCode::kTlsHandshakeFailed, "TLS handshake: " + ec.message()));
    }
    return c;
  }

  struct Exchange {
    std::optional<ClientResponse> response;
    std::optional<ClientError> error;
    bool nothing_received = false;  // safe to retry on a fresh connection
    bool keep_alive = false;
  };

  template <class Stream>
  Exchange exchange(PooledConnection& c, Stream& stream, std::string_view method,
                    const std::string& wire) {
    Exchange x;
    error_code ec;
    beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
    net::async_write(stream, net::buffer(wire), [&](error_code e, size_t) { ec = e; });
    run(c);
    if (ec) {
      x.nothing_received = ec != beast::error::timeout;
      x.error = ec == beast::error::timeout
                    ? error(ClientErrorCode::kTimeout, "writing request timed out")
                    : error(ClientErrorCode::kConnectionClosed, "write: " + ec.message());
      return x;
    }
    internal::ResponseReader reader(options_, method);
    auto step = reader.take(c.buffer);
    while (step == internal::ResponseReader::Step::kMore) {
      size_t n = 0;
      stream.async_read_some(reader.prepare(c.buffer), [&](error_code e, size_t got) {
        ec = e;
        n = got;
      });
      run(c);
      c.buffer.commit(n);
      step = ec ? reader.read_ended(ec) : reader.take(c.buffer);
    }
    if (step == internal::ResponseReader::Step::kFailed) {
      x.error = reader.error();
      x.nothing_received = reader.nothing_received();
      return x;
    }
    x.keep_alive = reader.keep_alive(c.buffer);
    x.response = reader.release();
    return x;
  }
};

HttpClient::HttpClient(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  impl_->init_tls();
}

HttpClient::~HttpClient() = default;

Result<ClientResponse, ClientError> HttpClient::request(const ClientRequest& request) {
  auto url = parse_url(request.url);
  if (!url) return Err(error(ClientErrorCode::kInvalidUrl, "not an absolute http(s) URL"));
  auto wire = internal::build_request(request, *url, impl_->options_.user_agent);
  if (!wire) return Err(wire.error());
  const std::string key = url->pool_key();
  const bool idempotent = internal::idempotent(request.method);
  // A pooled connection may have been closed by the server while idle; retry
  // once on a fresh connection when nothing came back (RFC 9112 §9.3.1).
  for (int attempt = 0; attempt < 2; ++attempt) {
    // The second attempt on a fresh connection: another pooled one may be as stale.
    auto conn = attempt == 0 ? impl_->take_idle(key) : nullptr;
    const bool reused = conn != nullptr;
    if (!conn) {
      auto fresh = impl_->connect(*url);
      if (!fresh) return Err(fresh.error());
      conn = std::move(*fresh);
    }
    Impl::Exchange x = conn->tls ? impl_->exchange(*conn, *conn->tls, request.method, *wire)
                                 : impl_->exchange(*conn, *conn->plain, request.method, *wire);
    if (x.response) {
      x.response->reused_connection = reused;
      if (x.keep_alive) impl_->give_back(key, std::move(conn));
      return std::move(*x.response);
    }
    if (!(reused && x.nothing_received && idempotent)) return Err(std::move(*x.error));
  }
  return Err(error(ClientErrorCode::kConnectionClosed, "connection closed"));
}

Result<ClientResponse, ClientError> HttpClient::get(std::string_view url, const Headers& headers) {
  ClientRequest r;
  r.url = std::string(url);
  r.headers = headers;
  return request(r);
}

Result<ClientResponse, ClientError> HttpClient::post_form(std::string_view url, const Params& form,
                                                          const Headers& headers) {
  ClientRequest r;
  r.method = "POST";
  r.url = std::string(url);
  r.headers = headers;
  r.headers.set("Content-Type", "application/x-www-form-urlencoded");
  r.body = form_encode(form);
  return request(r);
}

size_t HttpClient::idle_connections() const {
  std::lock_guard lock(impl_->mu_);
  size_t n = 0;
  for (const auto& [key, list] : impl_->idle_) n += list.size();
  return n;
}

uint64_t HttpClient::connections_opened() const { return impl_->opened_.load(); }

}  // namespace tessera::http
