#include "store/redis.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "core/crypto.h"

namespace tessera::store {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

timeval to_timeval(int ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

RedisReply copy_reply(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      break;
    default:
      out.type = RedisReply::Type::kNil;
      break;
  }
  out.integer = r.integer;
  if (r.str != nullptr) out.text.assign(r.str, r.len);
  out.elements.reserve(r.elements);
  for (size_t i = 0; i < r.elements; ++i) out.elements.push_back(copy_reply(*r.element[i]));
  return out;
}

StoreError unavailable(std::string message) {
  return StoreError{StoreError::Code::kUnavailable, std::move(message)};
}

// Sends argv on `c`; nullptr when the connection failed (c->err says why; the caller drops it).
// `reset` tells whether it failed because the server had closed it (end of file, reset, broken
// pipe) rather than by a timeout.
ReplyPtr send(redisContext& c, const std::vector<std::string_view>& args, bool* reset = nullptr) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (std::string_view a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  errno = 0;
  ReplyPtr reply(static_cast<redisReply*>(
      redisCommandArgv(&c, static_cast<int>(argv.size()), argv.data(), lengths.data())));
  if (reset != nullptr) {
    const int error = errno;
    *reset = !reply && (c.err == REDIS_ERR_EOF ||
                        (c.err == REDIS_ERR_IO && (error == ECONNRESET || error == EPIPE)));
  }
  return reply;
}

bool valid_prefix_char(char c) { return c > ' ' && c < 0x7f; }

}  // namespace

Result<RedisOptions, std::string> redis_options_from_url(std::string_view url, RedisOptions base) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Err(std::string("must start with redis:// (TLS, rediss://, is not supported)"));
  }
  std::string_view rest = url.substr(kScheme.size());
  std::string_view path;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (rest.find_first_of("?#") != std::string_view::npos ||
      path.find_first_of("?#") != std::string_view::npos) {
    return Err(std::string("must not carry a query or fragment"));
  }
  base.username.clear();
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (userinfo.find(':') != std::string_view::npos) {
      return Err(std::string("must not carry a password; use password_file"));
    }
    base.username = std::string(userinfo);
  }
  std::string_view host = rest;
  if (!rest.empty() && rest.front() == '[') {  // RFC 3986 §3.2.2 IP literal
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return Err(std::string("unterminated IPv6 address"));
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return Err(std::string("bad text after the host"));
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    rest = rest.substr(colon);
  } else {
    rest = {};
  }
  if (host.empty()) return Err(std::string("has no host"));
  base.host = std::string(host);
  base.port = 6379;
  if (!rest.empty()) {  // ":port"
    std::string_view digits = rest.substr(1);
    int port = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || port < 1 ||
        port > 65535) {
      return Err(std::string("has a bad port"));
    }
    base.port = port;
  }
  base.database = 0;
  if (!path.empty()) {
    int db = 0;
    auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
    if (ec != std::errc() || end != path.data() + path.size() || db < 0 || db > 1'000'000) {
      return Err(std::string("has a bad database number"));
    }
    base.database = db;
  }
  if (base.connections == 0 || base.connections > kMaxRedisConnections) {
    return Err("connections must be 1 to " + std::to_string(kMaxRedisConnections));
  }
  if (base.timeout_ms < 1 || base.timeout_ms > kMaxRedisTimeoutMs || base.retry_ms < 0 ||
      base.retry_ms > kMaxRedisTimeoutMs) {
    return Err("timeouts must be 1 to " + std::to_string(kMaxRedisTimeoutMs) + " ms");
  }
  if (base.key_prefix.size() > kMaxRedisKeyPrefix ||
      !std::all_of(base.key_prefix.begin(), base.key_prefix.end(), valid_prefix_char)) {
    return Err("key_prefix must be up to " + std::to_string(kMaxRedisKeyPrefix) +
               " printable ASCII characters without spaces");
  }
  return base;
}

class RedisPool::Impl {
 public:
  explicit Impl(const RedisOptions& o) : options_(o) {}

  StoreResult<RedisReply> command(const std::vector<std::string_view>& args) {
    ++commands_;
    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      auto c = acquire(reused);
      if (!c) {
        ++failures_;
        return Err(c.error());
      }
      bool reset = false;
      ReplyPtr reply = send(**c, args, &reset);
      if (reply) {
        release(std::move(*c), true);
        return copy_reply(*reply);
      }
      std::string why = "redis: " + std::string((*c)->errstr);
      release(std::move(*c), false);
      if (reused && reset && attempt == 0) {
        // The server closed a connection while it sat in the pool (a restart, its idle
        // timeout): the others idle beside it are likely closed too. Once more, on a new one.
        // At worst the command ran before the close and runs twice: a replay check then says
        // "seen" (fails closed), a bucket counts one request twice.
        drop_idle();
        continue;
      }
      ++failures_;
      return Err(unavailable(std::move(why)));
    }
  }

  Stats stats() const { return Stats{commands_.load(), failures_.load(), connections_.load()}; }

 private:
  StoreResult<Context> acquire(bool& reused) {
    std::unique_lock lock(mu_);
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(options_.timeout_ms);
    while (idle_.empty() && open_ >= options_.connections) {
      if (freed_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
          open_ >= options_.connections) {
        return Err(unavailable("redis: no free connection within " +
                               std::to_string(options_.timeout_ms) + " ms"));
      }
    }
    if (!idle_.empty()) {
      Context c = std::move(idle_.back());
      idle_.pop_back();
      reused = true;
      return c;
    }
    if (SteadyClock::now() < down_until_) {
      return Err(unavailable("redis: " + last_error_ + " (not retried yet)"));
    }
    ++open_;
    lock.unlock();
    auto c = connect();
    if (!c) {
      lock.lock();
      --open_;
      down_until_ = SteadyClock::now() + std::chrono::milliseconds(options_.retry_ms);
      last_error_ = c.error().message;
      freed_.notify_one();
      return c;
    }
    ++connections_;
    return c;
  }

  void drop_idle() {
    std::vector<Context> dropped;
    {
      std::lock_guard lock(mu_);
      open_ -= idle_.size();
      dropped.swap(idle_);
    }
    freed_.notify_all();
  }

  void release(Context c, bool healthy) {
    std::lock_guard lock(mu_);
    if (healthy && c->err == 0) {
      idle_.push_back(std::move(c));
    } else {
      --open_;
    }
    freed_.notify_one();
  }

  StoreResult<Context> connect() const {
    const std::string where = options_.host + ":" + std::to_string(options_.port);
    Context c(redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                      to_timeval(options_.timeout_ms)));
    if (!c) return Err(unavailable("cannot connect to " + where + ": out of memory"));
    if (c->err != 0) return Err(unavailable("cannot connect to " + where + ": " + c->errstr));
    if (redisSetTimeout(c.get(), to_timeval(options_.timeout_ms)) != REDIS_OK) {
      return Err(unavailable("cannot set a timeout on the connection to " + where));
    }
    redisEnableKeepAlive(c.get());
    auto step = [&](const std::vector<std::string_view>& args,
                    std::string_view what) -> StoreResult<Ok> {
      ReplyPtr r = send(*c, args);
      if (!r) return Err(unavailable(std::string(what) + " on " + where + ": " + c->errstr));
      if (r->type == REDIS_REPLY_ERROR) {
        // Redis's own words (WRONGPASS, NOAUTH, ERR DB index...) never include the password.
        return Err(unavailable(std::string(what) + " on " + where +
                               " refused: " + std::string(r->str, r->len)));
      }
      return Ok{};
    };
    if (!options_.password.empty()) {
      std::vector<std::string_view> auth{"AUTH"};
      if (!options_.username.empty()) auth.emplace_back(options_.username);
      auth.emplace_back(options_.password);
      if (auto ok = step(auth, "AUTH"); !ok) return Err(ok.error());
    }
    if (options_.database != 0) {
      const std::string db = std::to_string(options_.database);
      if (auto ok = step({"SELECT", db}, "SELECT"); !ok) return Err(ok.error());
    }
    return c;
  }

  const RedisOptions& options_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<Context> idle_;
  size_t open_ = 0;  // idle plus checked out plus being opened
  SteadyClock::time_point down_until_{};
  std::string last_error_;
  std::atomic<uint64_t> commands_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> connections_{0};
};

RedisPool::RedisPool(RedisOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {}
RedisPool::~RedisPool() = default;

StoreResult<RedisReply> RedisPool::command(const std::vector<std::string_view>& args) {
  return impl_->command(args);
}

RedisPool::Script::Script(std::string_view source)
    : text(source), sha1(crypto::to_hex(crypto::digest(crypto::Digest::kSha1, source))) {}

StoreResult<RedisReply> RedisPool::eval(const Script& script,
                                        const std::vector<std::string_view>& keys,
                                        const std::vector<std::string_view>& args) {
  const std::string key_count = std::to_string(keys.size());
  std::vector<std::string_view> argv{"EVALSHA", script.sha1, key_count};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto reply = command(argv);
  if (reply && reply->type == RedisReply::Type::kError && reply->text.rfind("NOSCRIPT", 0) == 0) {
    argv[0] = "EVAL";
    argv[1] = script.text;
    reply = command(argv);
  }
  return reply;
}

RedisPool::Stats RedisPool::stats() const { return impl_->stats(); }

namespace {

class RedisReplayCache final : public ReplayCache {
 public:
  RedisReplayCache(std::shared_ptr<RedisPool> pool, const Clock& clock)
      : pool_(std::move(pool)), clock_(clock) {}

  StoreResult<bool> remember_once(std::string_view ns, std::string_view id,
                                  int64_t expires_at) override {
    if (auto bad = check_replay_key(ns, id)) return Err(*bad);
    // As in the SQL cache: an entry lives at least a second, so it outlives the race it decides.
    const int64_t ttl = std::max<int64_t>(1, expires_at - clock_.now());
    const std::string key =
        pool_->key("replay:" + std::string(ns) + ":" + crypto::to_hex(crypto::sha256(id)));
    const std::string seconds = std::to_string(ttl);
    // SET NX: one writer wins on the server, whichever node it came from.
    auto reply = pool_->command({"SET", key, "1", "NX", "EX", seconds});
    if (!reply) return Err(reply.error());
    switch (reply->type) {
      case RedisReply::Type::kStatus:
        return true;  // +OK: first
      case RedisReply::Type::kNil:
        return false;  // already there
      case RedisReply::Type::kError:
        return Err(unavailable("redis: " + reply->text));
      default:
        return Err(unavailable("redis: unexpected reply to SET NX"));
    }
  }

  StoreResult<int64_t> purge_expired() override { return int64_t{0}; }

 private:
  std::shared_ptr<RedisPool> pool_;
  const Clock& clock_;
};

}  // namespace

std::unique_ptr<ReplayCache> make_redis_replay_cache(std::shared_ptr<RedisPool> pool,
                                                     const Clock& clock) {
  return std::make_unique<RedisReplayCache>(std::move(pool), clock);
}

}  // namespace tessera::store
