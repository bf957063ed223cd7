// Rate limits for the gateway (DESIGN.md: "rate-limits per client or API key"): one token bucket
// per (plan, caller key), where a plan refills `quota` tokens per `window_seconds` up to `burst`,
// and every request takes one token. An empty bucket answers 429 Too Many Requests (RFC 6585 §4)
// with Retry-After (RFC 9110 §10.2.3) and the RateLimit-Policy / RateLimit fields of
// draft-ietf-httpapi-ratelimit-headers-11 (structured fields, RFC 9651).
//
// The limiter is local to one process: sharded, each shard with its own lock, its own hash map
// and its own LRU list, with a cap on the keys tracked so memory stays bounded whatever callers
// send. The gateway builds the caller key ("client:ID", "key:ID", "ip:ADDR") and resolves each
// route's plan name to a PlanId once, at start-up.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "http/message.h"

namespace tessera::gateway {

// A token-bucket definition. Bounds (checked by validate()): all of them keep the bucket
// arithmetic exact in 64-bit (128-bit intermediates) and every advertised value well inside the
// 15 digits of a structured-field Integer (RFC 9651 §3.3.1).
struct RatePlan {
  // The policy identifier in RateLimit-Policy and RateLimit: 1..64 characters of [A-Za-z0-9._-],
  // so it is an sf-string with nothing to escape (RFC 9651 §3.3.3).
  std::string name;
  int64_t quota = 0;           // tokens refilled per window ("q"): 1..1,000,000,000
  int64_t window_seconds = 0;  // the window ("w"): 1..31,622,400 (366 days)
  // Bucket capacity: how many requests may come at once. 0: the same as quota; otherwise
  // 1..1,000,000,000, and an empty bucket must refill within 366 days.
  int64_t burst = 0;

  int64_t capacity() const { return burst == 0 ? quota : burst; }
};

inline constexpr size_t kMaxPlanNameLength = 64;
inline constexpr int64_t kMaxQuota = 1'000'000'000;
inline constexpr int64_t kMaxBurst = 1'000'000'000;
inline constexpr int64_t kMaxWindowSeconds = int64_t{366} * 86'400;
// Longer caller keys are refused (the key is stored per bucket, so this bounds a key's memory).
inline constexpr size_t kMaxCallerKeyLength = 256;

// Throws std::invalid_argument with a message naming the plan and the field (a start-up error).
void validate(const RatePlan& plan);

enum class RateLimitError {
  kUnknownPlan,   // no plan of that name or id: a wiring error in the gateway
  kBadCallerKey,  // empty, or longer than kMaxCallerKeyLength
  kUnavailable,   // the shared buckets cannot be reached and the limiter may not count alone
};
const char* to_string(RateLimitError e);

// The outcome of one take().
struct RateDecision {
  bool allowed = false;
  int64_t limit = 0;      // the plan's quota per window
  int64_t remaining = 0;  // whole tokens left after this request (0 when refused)
  // Seconds, rounded up, until the bucket is full again (0 if it is full).
  int64_t reset_seconds = 0;
  // Seconds, rounded up, until a request would pass: >= 1 when refused, 0 when allowed.
  int64_t retry_after_seconds = 0;
};

// Buckets that several gateway nodes share (Redis, gateway/redis_state.h): the same token
// bucket as the local one, kept where every node takes from it.
class SharedBuckets {
 public:
  virtual ~SharedBuckets() = default;
  // Throws std::invalid_argument when `plan` cannot be kept exactly by this store (a start-up
  // error naming the plan).
  virtual void check(const RatePlan& plan) const = 0;
  // Takes one token from the shared bucket of (plan, caller_key); nullopt when the store cannot
  // be asked right now. Thread-safe; may block up to the store's timeout.
  virtual std::optional<RateDecision> take(const RatePlan& plan, std::string_view caller_key) = 0;
};

struct RateLimiterOptions {
  // Cap on the (plan, caller key) buckets tracked over all shards. A shard holds at most
  // max_keys / shards and evicts its least recently used bucket for a new one. A bucket costs
  // one hash node (the key with its hash, the bucket state, the LRU links: 112 bytes with glibc)
  // plus a pointer in the bucket array, plus the caller key's own heap when it is longer than 15
  // bytes (32 to 272 bytes). Measured: 114 bytes per key for 10-byte keys, 157 for "ip:"
  // addresses of 16 bytes, 189 for "client:<uuid>": 115-190 MB for the default million keys.
  size_t max_keys = 1'000'000;
  size_t shards = 16;  // independent locks; must not exceed max_keys
  // Monotonic clock in nanoseconds, called once per take() from any thread (must be
  // thread-safe). Empty: std::chrono::steady_clock.
  std::function<int64_t()> now_ns;
  // When set, every take() goes to these shared buckets first. When they cannot be asked, the
  // local bucket decides (each node then limits on its own), or with `refuse_when_shared_down`
  // take() fails with kUnavailable.
  std::shared_ptr<SharedBuckets> shared;
  bool refuse_when_shared_down = false;
};

class RateLimiter {
 public:
  // Handle of a plan, from find_plan(): resolve once, take() without a name lookup.
  enum class PlanId : uint32_t {};

  // Validates every plan (names unique) and the options; throws std::invalid_argument.
  explicit RateLimiter(std::vector<RatePlan> plans, RateLimiterOptions options = {});
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  std::optional<PlanId> find_plan(std::string_view name) const;
  // The plan behind `id`; nullptr if `id` did not come from this limiter.
  const RatePlan* plan(PlanId id) const;

  // Takes one token from the bucket of (plan, caller_key), creating a full bucket on first use.
  // Thread-safe. For an existing key: a hash, a lock, a lookup without allocation, integer
  // arithmetic.
  Result<RateDecision, RateLimitError> take(PlanId plan, std::string_view caller_key);
  Result<RateDecision, RateLimitError> take(std::string_view plan_name,
                                            std::string_view caller_key);

  // True when buckets are shared with other nodes (a take() may then wait on the store).
  bool shared() const { return shared_ != nullptr; }

  struct Stats {
    size_t tracked_keys = 0;
    uint64_t evictions = 0;
    // Evicted while not full: that caller's next request starts from a full bucket again (the
    // price of bounded memory; a rising count says max_keys is too small for the traffic).
    uint64_t evictions_not_full = 0;
    // take() calls the shared buckets could not answer (decided locally, or refused).
    uint64_t shared_unavailable = 0;
  };
  Stats stats() const;

 private:
  struct Shard;
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept;
  };

  std::vector<RatePlan> plans_;
  std::unordered_map<std::string, uint32_t, NameHash, std::equal_to<>> plan_index_;
  std::function<int64_t()> now_ns_;
  std::shared_ptr<SharedBuckets> shared_;
  bool refuse_when_shared_down_ = false;
  std::atomic<uint64_t> shared_unavailable_{0};
  size_t shard_capacity_;
  size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

// The RateLimit-Policy member for `plan`, e.g. `"per-client";q=100;w=60` (draft-11 §3.1), with a
// vendor parameter `tessera-burst=N` when the capacity differs from the quota (draft-11 §3.1:
// implementation-specific parameters are prefixed with a vendor identifier).
std::string rate_limit_policy_value(const RatePlan& plan);
// The RateLimit member for a decision, e.g. `"per-client";r=42;t=18` (draft-11 §4.1). `t` is the
// time until the bucket is full again (a conservative window: spending r over t never runs dry)
// or, when refused, Retry-After (draft-11 §6: Retry-After is not earlier than the window's end).
std::string rate_limit_value(const RatePlan& plan, const RateDecision& decision);

// Appends RateLimit-Policy and RateLimit for `decision` (one call per plan applied: the fields
// are lists, and several fields combine into one list, RFC 9651 §3.1), and when refused sets
// Retry-After, keeping the larger value if a field is already there.
void add_rate_limit_headers(http::Headers& headers, const RatePlan& plan,
                            const RateDecision& decision);

// The whole refusal: 429 (RFC 6585 §4), JSON body {"error":"rate_limited","error_description"},
// Cache-Control: no-store, and the fields of add_rate_limit_headers() with Retry-After >= 1.
http::Response too_many_requests(const RatePlan& plan, const RateDecision& decision);

}  // namespace tessera::gateway
