#include "support/pg_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "support/free_port.h"

namespace tessera::testing {
namespace {

const char* const kPgBin = "/usr/lib/postgresql/15/bin";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// Runs argv (as the postgres user when we are root), output to `log`; returns the exit status.
int run(std::vector<std::string> argv, const std::filesystem::path& log) {
  if (::geteuid() == 0) {
    argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
  }
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
    ::execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

struct PgConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};

std::mutex g_shared_mutex;
std::unique_ptr<PgServer> g_shared;
std::optional<std::string> g_start_failure;

}  // namespace

PgServer::PgServer() {
  const std::string bin = kPgBin;
  if (!std::filesystem::exists(bin + "/initdb")) {
    throw std::runtime_error("PostgreSQL server binaries not found in " + bin +
                             " (install postgresql-15)");
  }
  std::string pattern = (std::filesystem::temp_directory_path() / "tessera-pg-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error(std::string("mkdtemp failed: ") + std::strerror(errno));
  }
  root_ = pattern;
  if (::geteuid() == 0) {
    const passwd* postgres_user = ::getpwnam("postgres");
    if (postgres_user == nullptr) {
      throw std::runtime_error(
          "running as root but there is no `postgres` OS user to run the "
          "server as");
    }
    if (::chown(root_.c_str(), postgres_user->pw_uid, postgres_user->pw_gid) != 0) {
      throw std::runtime_error("cannot chown " + root_.string() +
                               " to postgres: " + std::strerror(errno));
    }
  }
  const auto data = root_ / "data";
  const auto log = root_ / "commands.log";
  if (run({bin + "/initdb", "-D", data.string(), "-A", "trust", "-U", "postgres", "-E", "UTF8",
           "--locale=C", "--no-sync"},
          log) != 0) {
    const std::string output = read_file(log);
    std::filesystem::remove_all(root_);
    throw std::runtime_error("initdb failed:\n" + output);
  }
  // A port found free may be taken before the server binds it: try a few.
  std::string last_output;
  for (int attempt = 0; attempt < 3 && !running_; ++attempt) {
    port_ = free_loopback_port();
    const std::string server_options = "-k " + root_.string() + " -p " + std::to_string(port_) +
                                       " -h 127.0.0.1 -c fsync=off -c full_page_writes=off";
    const int status =
        run({bin + "/pg_ctl", "-D", data.string(), "-l", (root_ / "server.log").string(), "-o",
             server_options, "-w", "-t", "60", "start"},
            log);
    running_ = status == 0;
    if (!running_) last_output = read_file(log) + read_file(root_ / "server.log");
  }
  if (!running_) {
    std::filesystem::remove_all(root_);
    throw std::runtime_error("pg_ctl start failed:\n" + last_output);
  }
}

PgServer::~PgServer() { stop(); }

void PgServer::stop() {
  if (running_) {
    run({std::string(kPgBin) + "/pg_ctl", "-D", (root_ / "data").string(), "-m", "fast", "-w",
         "stop"},
        root_ / "commands.log");
    running_ = false;
  }
  if (!root_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
    root_.clear();
  }
}

std::string PgServer::create_database() {
  std::lock_guard lock(mutex_);
  const std::string base =
      "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres connect_timeout=10";
  std::unique_ptr<PGconn, PgConnCloser> admin(PQconnectdb((base + " dbname=postgres").c_str()));
  if (PQstatus(admin.get()) != CONNECTION_OK) {
    throw std::runtime_error(std::string("cannot connect to test PostgreSQL: ") +
                             PQerrorMessage(admin.get()));
  }
  const std::string name = "tessera_test_" + std::to_string(++databases_created_);
  std::unique_ptr<PGresult, PgResultClearer> created(
      PQexec(admin.get(), ("CREATE DATABASE " + name).c_str()));
  if (PQresultStatus(created.get()) != PGRES_COMMAND_OK) {
    throw std::runtime_error("CREATE DATABASE failed: " +
                             std::string(PQresultErrorMessage(created.get())));
  }
  return base + " dbname=" + name;
}

PgServer& PgServer::shared() {
  std::lock_guard lock(g_shared_mutex);
  if (g_start_failure) throw std::runtime_error(*g_start_failure);
  if (!g_shared) {
    try {
      g_shared.reset(new PgServer());
    } catch (const std::exception& e) {
      g_start_failure = std::string("could not start a test PostgreSQL server: ") + e.what();
      throw std::runtime_error(*g_start_failure);
    }
  }
  return *g_shared;
}

void PgServer::stop_shared() {
  std::lock_guard lock(g_shared_mutex);
  g_shared.reset();
}

}  // namespace tessera::testing
