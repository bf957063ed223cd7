#include "support/redis_server.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/free_port.h"

namespace tessera::testing {
namespace {

constexpr const char* kRedisServer = "/usr/bin/redis-server";

bool answers_ping(int port, const std::string& password) {
  timeval tv{0, 200'000};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c == nullptr) return false;
  bool ok = c->err == 0;
  if (ok && !password.empty()) {
    auto* r = static_cast<redisReply*>(redisCommand(c, "AUTH %s", password.c_str()));
    ok = r != nullptr && r->type == REDIS_REPLY_STATUS;
    if (r != nullptr) freeReplyObject(r);
  }
  if (ok) {
    auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
    ok = r != nullptr && r->type == REDIS_REPLY_STATUS;
    if (r != nullptr) freeReplyObject(r);
  }
  redisFree(c);
  return ok;
}

}  // namespace

RedisServer::RedisServer(std::string password) : password_(std::move(password)) {
  if (::access(kRedisServer, X_OK) != 0) {
    throw std::runtime_error(
        "redis-server not found at /usr/bin/redis-server (install redis-server)");
  }
  std::string pattern = (std::filesystem::temp_directory_path() / "tessera-redis-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error(std::string("mkdtemp failed: ") + std::strerror(errno));
  }
  dir_ = pattern;
  // A port found free may be taken before the server binds it: try a few.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_loopback_port();
    if (launch()) return;
  }
  std::ifstream log(dir_ / "redis.log");
  std::stringstream text;
  text << log.rdbuf();
  std::filesystem::remove_all(dir_);
  throw std::runtime_error("redis-server did not start:\n" + text.str());
}

RedisServer::~RedisServer() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void RedisServer::start() {
  if (pid_ > 0) return;
  // The port was ours a moment ago; after a stop it may linger in TIME_WAIT, which Redis's
  // SO_REUSEADDR allows. Retry briefly in case it is not yet released.
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (launch()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("redis-server did not restart on port " + std::to_string(port_));
}

bool RedisServer::launch() {
  std::vector<std::string> argv = {kRedisServer, "--port",       std::to_string(port_),
                                   "--bind",     "127.0.0.1",    "--save",
                                   "",           "--appendonly", "no",
                                   "--dir",      dir_.string(),  "--daemonize",
                                   "no",         "--logfile",    (dir_ / "redis.log").string()};
  if (!password_.empty()) {
    argv.emplace_back("--requirepass");
    argv.push_back(password_);
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
    }
    ::execv(args[0], args.data());
    _exit(127);
  }
  pid_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (answers_ping(port_, password_)) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: the port was taken
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop();
  return false;
}

void RedisServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

}  // namespace tessera::testing
