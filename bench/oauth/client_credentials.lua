-- wrk script: client credentials token requests (RFC 6749 §4.4) with client_secret_basic over
-- keep-alive connections. CLIENT_ID and CLIENT_SECRET come from the environment; every non-200
-- answer is counted and reported, so a broken setup cannot pass as a fast one.
local id = os.getenv("CLIENT_ID") or "service"
local secret = os.getenv("CLIENT_SECRET") or error("CLIENT_SECRET is not set")

local function b64(data)
  local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return ((data:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#data % 3 + 1])
end

wrk.method = "POST"
wrk.path = "/token"
wrk.body = "grant_type=client_credentials&scope=invoices%3Aread"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. b64(id .. ":" .. secret)

local threads = {}
function setup(thread)
  thread:set("failures", 0)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status ~= 200 then failures = failures + 1 end
end

function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + t:get("failures") end
  local seconds = summary.duration / 1e6
  io.write(string.format("tokens/s %.0f\n", (summary.requests - failed) / seconds))
  io.write(string.format("failures %d\n", failed))
  io.write(string.format("p99_ms %.2f\n", latency:percentile(99) / 1000))
end
