-- Shared by the wrk scripts of bench/oauth and bench/memory (loaded with dofile): client
-- authentication (RFC 6749 §2.3.1 client_secret_basic), per-thread failure counting, and the
-- summary every script prints: "rate N" (successful requests per second), "failures N" (non-200
-- answers, answers without the expected member, socket errors and timeouts), "requests N",
-- "p99_ms N". A broken setup thus cannot pass as a fast one.
local common = {}

function common.b64(data)
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

-- RFC 6749 §2.3.1: id and secret are form-urlencoded before base64; the benches use ids and
-- secrets of unreserved characters only, which encode to themselves.
function common.basic(id, secret)
  assert(not (id .. secret):find("[^%w%-%._~]"), "client id/secret need form-urlencoding")
  return "Basic " .. common.b64(id .. ":" .. secret)
end

function common.env(name, default)
  local v = os.getenv(name) or default
  if v == nil then error(name .. " is not set") end
  return v
end

-- Lines of a file (tokens), as a list.
function common.lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then out[#out + 1] = line end
  end
  assert(#out > 0, "no tokens in " .. path)
  return out
end

local threads = {}
local next_id = 0

-- Installs setup() and done(); the script counts its failures in the global `failures`.
function common.install()
  function setup(thread)
    thread:set("failures", 0)
    thread:set("thread_id", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
  end

  function done(summary, latency, requests)
    local failed = 0
    for _, t in ipairs(threads) do failed = failed + t:get("failures") end
    local e = summary.errors
    local socket = e.connect + e.read + e.write + e.timeout
    local seconds = summary.duration / 1e6
    io.write(string.format("rate %.0f\n", (summary.requests - failed) / seconds))
    io.write(string.format("failures %d\n", failed + socket))
    io.write(string.format("requests %d\n", summary.requests))
    io.write(string.format("p99_ms %.2f\n", latency:percentile(99) / 1000))
  end
end

return common
