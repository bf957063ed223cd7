// What gateway (and as) nodes share in Redis (DESIGN.md "Scale-out"): the DPoP replay check
// (RFC 9449 §11.1) and the rate-limit buckets.
//
// Buckets: every gateway node takes from the same bucket. One hash per (plan, caller) with
// whole tokens, the credit towards the next one and the time of the last update; one Lua script
// (atomic on the server) refills by the server's own clock (TIME, so nodes' clocks do not
// matter), takes a token and answers. A bucket expires a second after it would be full again
// (a missing bucket is a full one), so Redis holds only callers seen lately.
//
// Same arithmetic as the local limiter (gateway/rate_limit.cpp) at millisecond resolution:
// each millisecond earns `quota` credits and a token costs `window_ms` credits. Lua numbers are
// doubles, so a plan is accepted only when (capacity + 1) * window_ms <= 2^53, which keeps every
// value the script computes an exact integer (check() refuses the others at start-up).
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "gateway/rate_limit.h"
#include "store/redis.h"
#include "tessera/dpop.h"

namespace tessera::gateway {

// RFC 9449 §11.1 across nodes, for resource::DpopOptions::shared_replay: a proof's (jkt, jti)
// digest remembered with SET NX EX for the time the verifier asks (namespace "dpop" of
// store::make_redis_replay_cache). Redis unreachable: kUnavailable (the proof is refused).
resource::SharedReplay redis_dpop_replay(std::shared_ptr<store::RedisPool> pool);

class RedisBuckets final : public SharedBuckets {
 public:
  explicit RedisBuckets(std::shared_ptr<store::RedisPool> pool) : pool_(std::move(pool)) {}

  void check(const RatePlan& plan) const override;
  std::optional<RateDecision> take(const RatePlan& plan, std::string_view caller_key) override;

 private:
  std::shared_ptr<store::RedisPool> pool_;
};

}  // namespace tessera::gateway
