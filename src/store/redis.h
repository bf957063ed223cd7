// Redis for what many nodes must agree on quickly (DESIGN.md "Scale-out"): DPoP proof `jti`
// values (RFC 9449 §11.1) and the gateway's rate-limit buckets. hiredis (Debian's libhiredis)
// speaks the protocol; this file adds a bounded pool of blocking connections with timeouts, so
// a slow or dead Redis costs a caller at most `timeout_ms` and, while it stays down, nothing.
//
// Failure model: every call answers kUnavailable (never throws) when Redis cannot be reached,
// times out, or the pool is exhausted for `timeout_ms`. Each step waits at most `timeout_ms`:
// the wait for a free connection, connecting (per address the host name resolves to; use an IP
// address, as name resolution has no bound of its own), AUTH and SELECT on a new connection, and
// the command. A call on a pooled connection is one step; a call that opens one is at most four.
// A pooled connection the server has closed (a restart, its idle timeout) is dropped with the
// others idle beside it and the command is sent once more on a new one. After a failed connection
// attempt no new one is made for `retry_ms`: callers fail fast and a dead Redis is not hammered.
// The process must ignore SIGPIPE (tessera's main() does): hiredis writes with plain write(). What
// a caller does then is its policy (the DPoP replay check refuses; the rate limiter counts
// locally): see docs/configuration.md, `redis`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "store/database.h"
#include "store/replay_cache.h"

namespace tessera::store {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  int database = 0;  // SELECT after connecting (0..15 on a default server)
  // AUTH after connecting (Redis 6 ACL `AUTH username password` when username is set). Both
  // empty: no AUTH. The password is never logged nor put in an error message.
  std::string username;
  std::string password;
  // Every key this process writes starts with it, so several deployments can share one server.
  std::string key_prefix = "tessera:";
  size_t connections = 8;  // pool bound: at most this many connections at once
  int timeout_ms = 100;    // connect, each command, and a wait for a free connection
  int retry_ms = 1000;     // after a failed connection attempt, fail fast for this long
};

// Limits on what redis_options_from_url() accepts.
inline constexpr size_t kMaxRedisConnections = 1024;
inline constexpr int kMaxRedisTimeoutMs = 60'000;
inline constexpr size_t kMaxRedisKeyPrefix = 64;

// redis://[username@]host[:port][/database] (the IANA "redis" scheme's form). A password in the
// URL is refused: passwords come from a file (secrets stay out of configuration files). Returns
// the reason on failure; `base` supplies every other option.
Result<RedisOptions, std::string> redis_options_from_url(std::string_view url,
                                                         RedisOptions base = {});

// One reply, copied out of hiredis's reply tree.
struct RedisReply {
  enum class Type { kString, kArray, kInteger, kNil, kStatus, kError };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string text;  // kString, kStatus, kError
  std::vector<RedisReply> elements;
};

class RedisPool {
 public:
  explicit RedisPool(RedisOptions options);
  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  // Sends one command (binary-safe arguments) and returns its reply; a Redis error reply
  // (`-ERR ...`) is a reply of type kError, not a failure. Failures: kUnavailable.
  StoreResult<RedisReply> command(const std::vector<std::string_view>& args);

  // A Lua script and its SHA-1 (hex), which EVALSHA names it by: made once, not per call.
  struct Script {
    explicit Script(std::string_view source);
    std::string text;
    std::string sha1;
  };
  // Runs `script` by its SHA-1 (EVALSHA), sending its text (EVAL, which also caches it on the
  // server) after NOSCRIPT: a restarted or flushed server.
  StoreResult<RedisReply> eval(const Script& script, const std::vector<std::string_view>& keys,
                               const std::vector<std::string_view>& args);

  const RedisOptions& options() const { return options_; }
  std::string key(std::string_view suffix) const {
    return options_.key_prefix + std::string(suffix);
  }

  struct Stats {
    uint64_t commands = 0;
    uint64_t failures = 0;     // answered kUnavailable
    uint64_t connections = 0;  // opened (including reconnections)
  };
  Stats stats() const;

 private:
  class Impl;
  RedisOptions options_;
  std::unique_ptr<Impl> impl_;
};

// ReplayCache on Redis: `SET key 1 NX EX ttl` on the SHA-256 of (ns, id), so of concurrent
// callers on any node exactly one sees the id first. purge_expired() is Redis's own work (keys
// expire by themselves) and returns 0.
std::unique_ptr<ReplayCache> make_redis_replay_cache(std::shared_ptr<RedisPool> pool,
                                                     const Clock& clock);

}  // namespace tessera::store
