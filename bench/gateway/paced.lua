-- wrk script: each connection waits WRK_DELAY_MS (default 4) before each request, so that
-- C connections send about C * 1000 / (WRK_DELAY_MS + latency) requests per second: a paced load
-- for latency percentiles below the maximum rate (bench/gateway/proxy.sh).
local wait_ms = tonumber(os.getenv("WRK_DELAY_MS") or "4")

function delay()
  return wait_ms
end
