-- wrk script: each connection waits a random 0..2*WRK_DELAY_MS ms (default mean 4) before each
-- request, so that C connections send about C * 1000 / (WRK_DELAY_MS + latency) requests per
-- second, spread out rather than in step: a paced load for latency percentiles below the maximum
-- rate (bench/gateway/proxy.sh).
local wait_ms = tonumber(os.getenv("WRK_DELAY_MS") or "4")

function setup(thread)
  math.randomseed(os.time())
end

function delay()
  return math.random(0, 2 * wait_ms)
end
