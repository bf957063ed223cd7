// Pool options (and a pool) for a test's own redis-server: its URL, a 500 ms timeout and a 50 ms
// pause after a failed connection (tests stop and restart the server and wait for the pool to come
// back).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "store/redis.h"
#include "support/redis_server.h"

namespace tessera::testing {

inline store::RedisOptions redis_options(const RedisServer& server, std::string password = {}) {
  auto parsed = store::redis_options_from_url(server.url());
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error());
  store::RedisOptions o = parsed.ok() ? *parsed : store::RedisOptions{};
  o.password = std::move(password);
  o.timeout_ms = 500;
  o.retry_ms = 50;
  return o;
}

inline std::shared_ptr<store::RedisPool> redis_pool(const RedisServer& server) {
  return std::make_shared<store::RedisPool>(redis_options(server));
}

}  // namespace tessera::testing
