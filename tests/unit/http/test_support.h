// Helpers for the http tests: throwaway PKI built with OpenSSL, a raw socket
// client that sends exact bytes, and a server started in-process.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http/access_log.h"
#include "http/server.h"

namespace tessera::http::testing {

struct Pem {
  std::string certificate;
  std::string private_key;
};

// A CA and certificates it issues, all EC P-256, valid for a day.
class TestPki {
 public:
  explicit TestPki(std::string_view ca_name);
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& ca_certificate() const { return ca_.certificate; }
  // `subject_alt_names` in OpenSSL config syntax, e.g. "DNS:localhost,IP:127.0.0.1".
  Pem issue_server(std::string_view subject_alt_names) const;
  // A client certificate; `subject_alt_names` as for issue_server, none when empty.
  Pem issue_client(std::string_view common_name, std::string_view subject_alt_names = "") const;
  // A self-signed client certificate (RFC 8705 §2.2), issued by no CA.
  static Pem self_signed_client(std::string_view common_name);

 private:
  Pem issue(std::string_view common_name, std::string_view san, bool client) const;
  struct Keys;
  std::unique_ptr<Keys> keys_;
  Pem ca_;
};

// Blocking TCP connection to 127.0.0.1 for byte-exact requests. Reads have a
// generous safety timeout so a broken server fails the test instead of hanging.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool send(std::string_view bytes);
  // One response: head plus Content-Length body. Empty if the peer closed first.
  std::string read_response();
  // Everything until the peer closes.
  std::string read_until_closed();

 private:
  int fd_ = -1;
  std::string pending_;
};

int status_of(std::string_view response);
std::string body_of(std::string_view response);
// Value of a header in a raw response (case-insensitive name), "" if absent.
std::string header_of(std::string_view response, std::string_view name);

struct RunningServer {
  std::shared_ptr<MemoryAccessLog> log = std::make_shared<MemoryAccessLog>();
  std::unique_ptr<Server> server;
  uint16_t port() const { return server->port(); }
  std::string url(std::string_view path, bool tls = false) const;
};

// Starts a server on 127.0.0.1 with an ephemeral port and a memory access log.
RunningServer start_server(Router router, ServerOptions options = {});

// A TCP server on 127.0.0.1 that answers the requests (a header section, then Content-Length
// bytes) of one connection at a time with scripted bytes, exactly: for answers no Server sends.
class ScriptedServer {
 public:
  struct Answer {
    std::string bytes;
    bool close = false;   // close the connection after sending `bytes`
    std::string later{};  // sent 50 ms after `bytes` (unasked, while the connection is idle)
  };
  // The n-th request (counted across connections) gets script[n], the last one once past its end.
  explicit ScriptedServer(std::vector<Answer> script);
  explicit ScriptedServer(std::string answer) : ScriptedServer({Answer{std::move(answer)}}) {}
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;
  uint16_t port() const { return port_; }
  std::string url(std::string_view path) const;
  int requests() const { return requests_.load(); }

 private:
  void serve();
  std::vector<Answer> script_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::mutex connection_mu_;  // guards connection_ against a close racing the destructor
  int connection_ = -1;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace tessera::http::testing
