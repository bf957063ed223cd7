// A throwaway Redis server for tests: Debian's redis-server on a free loopback port, with no
// persistence, in a temporary directory; stopped (and restartable on the same port, to test
// what clients do while it is down) by the test. A test that needs Redis fails loudly when
// redis-server is missing rather than being skipped.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace tessera::testing {

class RedisServer {
 public:
  // Starts at once; `password`: requirepass (empty: none).
  explicit RedisServer(std::string password = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  // Stops the server (SIGTERM, waits for it); start() brings it back, empty, on the same port.
  void stop();
  void start();
  bool running() const { return pid_ > 0; }

 private:
  bool launch();  // one attempt on port_; false if it did not answer PING in time

  std::filesystem::path dir_;
  std::string password_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace tessera::testing
