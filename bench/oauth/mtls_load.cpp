// A closed-loop load generator for token requests over mutual TLS (RFC 8705), which wrk cannot
// make: wrk presents no client certificate. Each of --connections threads connects, presents
// the client certificate, sends --requests-per-connection token requests on the connection
// (keep-alive), closes it cleanly and reconnects, resuming its previous TLS session (RFC 8446
// §2.2 tickets; RFC 5077 with --tls12). Every answer must be 200 with an access_token.
//
//   mtls_load --port P --ca CA.pem --cert C.pem --key K.pem --body FORM [--path /token]
//             [--connections 32] [--requests-per-connection 1] [--seconds 10] [--warmup 2]
//             [--tls12]
//
// Prints one line: "rate R tokens/s ok N failed F handshakes H resumed R2" (counted after the
// warm-up); exits 1 when any request failed.
#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

struct Args {
  unsigned short port = 0;
  std::string ca, cert, key, body, path = "/token";
  int connections = 32;
  int requests_per_connection = 1;
  int seconds = 10;
  int warmup = 2;
  bool tls12 = false;
};

struct Counters {
  std::atomic<uint64_t> ok{0}, failed{0}, handshakes{0}, resumed{0};
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "mtls_load: %s\n", why);
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--tls12") {
      a.tls12 = true;
      continue;
    }
    if (i + 1 >= argc) usage(("missing value for " + flag).c_str());
    std::string value = argv[++i];
    if (flag == "--port") {
      a.port = static_cast<unsigned short>(std::stoi(value));
    } else if (flag == "--ca") {
      a.ca = value;
    } else if (flag == "--cert") {
      a.cert = value;
    } else if (flag == "--key") {
      a.key = value;
    } else if (flag == "--body") {
      a.body = value;
    } else if (flag == "--path") {
      a.path = value;
    } else if (flag == "--connections") {
      a.connections = std::stoi(value);
    } else if (flag == "--requests-per-connection") {
      a.requests_per_connection = std::stoi(value);
    } else if (flag == "--seconds") {
      a.seconds = std::stoi(value);
    } else if (flag == "--warmup") {
      a.warmup = std::stoi(value);
    } else {
      usage(("unknown flag " + flag).c_str());
    }
  }
  if (a.port == 0 || a.ca.empty() || a.cert.empty() || a.key.empty() || a.body.empty()) {
    usage("--port, --ca, --cert, --key and --body are required");
  }
  if (a.connections < 1 || a.requests_per_connection < 1 || a.seconds < 1 || a.warmup < 0) {
    usage("counts must be positive");
  }
  return a;
}

void run_connection_loop(const Args& a, ssl::context& ctx, Counters& counters,
                         const std::atomic<bool>& measuring, const std::atomic<bool>& stop) {
  net::io_context ioc;
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), a.port);
  http::request<http::string_body> request{http::verb::post, a.path, 11};
  request.set(http::field::host, "127.0.0.1:" + std::to_string(a.port));
  request.set(http::field::content_type, "application/x-www-form-urlencoded");
  request.keep_alive(true);
  request.body() = a.body;
  request.prepare_payload();
  SSL_SESSION* session = nullptr;
  const auto count = [&](std::atomic<uint64_t>& c) {
    if (measuring.load(std::memory_order_relaxed)) c.fetch_add(1, std::memory_order_relaxed);
  };
  while (!stop.load(std::memory_order_relaxed)) {
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    beast::error_code ec;
    stream.next_layer().socket().connect(endpoint, ec);
    if (ec) {
      count(counters.failed);
      continue;
    }
    stream.next_layer().socket().set_option(tcp::no_delay(true));
    if (session != nullptr) SSL_set_session(stream.native_handle(), session);
    stream.handshake(ssl::stream_base::client, ec);
    if (ec) {
      count(counters.failed);
      if (session != nullptr) SSL_SESSION_free(session);
      session = nullptr;
      continue;
    }
    count(counters.handshakes);
    if (SSL_session_reused(stream.native_handle()) == 1) count(counters.resumed);
    beast::flat_buffer buffer;
    for (int i = 0; i < a.requests_per_connection && !stop.load(std::memory_order_relaxed); ++i) {
      http::write(stream, request, ec);
      http::response<http::string_body> response;
      if (!ec) http::read(stream, buffer, response, ec);
      const bool good = !ec && response.result() == http::status::ok &&
                        response.body().find("\"access_token\"") != std::string::npos;
      count(good ? counters.ok : counters.failed);
      if (!good) {
        if (!ec && measuring.load()) {
          std::fprintf(stderr, "mtls_load: %d %s\n", response.result_int(),
                       response.body().c_str());
        }
        break;
      }
    }
    // After a response the TLS 1.3 tickets have arrived: keep the session for the next
    // connection. A close_notify first, so the session stays resumable.
    if (session != nullptr) SSL_SESSION_free(session);
    session = SSL_get1_session(stream.native_handle());
    SSL_shutdown(stream.native_handle());
    stream.next_layer().socket().close(ec);
  }
  if (session != nullptr) SSL_SESSION_free(session);
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(a.ca);
  ctx.set_verify_mode(ssl::verify_peer);
  ctx.use_certificate_chain_file(a.cert);
  ctx.use_private_key_file(a.key, ssl::context::pem);
  if (a.tls12) SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  // Sessions are kept by hand (SSL_get1_session), not in a client-side cache.
  SSL_CTX_set_session_cache_mode(ctx.native_handle(), SSL_SESS_CACHE_CLIENT);

  Counters counters;
  std::atomic<bool> measuring{false}, stop{false};
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(a.connections));
  for (int i = 0; i < a.connections; ++i) {
    threads.emplace_back([&] { run_connection_loop(a, ctx, counters, measuring, stop); });
  }
  std::this_thread::sleep_for(std::chrono::seconds(a.warmup));
  measuring = true;
  const auto started = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(a.seconds));
  measuring = false;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  stop = true;
  for (std::thread& t : threads) t.join();
  const uint64_t ok = counters.ok.load(), failed = counters.failed.load();
  std::printf("rate %.0f tokens/s ok %llu failed %llu handshakes %llu resumed %llu\n",
              static_cast<double>(ok) / elapsed, static_cast<unsigned long long>(ok),
              static_cast<unsigned long long>(failed),
              static_cast<unsigned long long>(counters.handshakes.load()),
              static_cast<unsigned long long>(counters.resumed.load()));
  return failed == 0 ? 0 : 1;
}
