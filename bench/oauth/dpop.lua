-- wrk script: client credentials token requests (RFC 6749 §4.4, client_secret_basic) with a DPoP
-- proof (RFC 9449 §5), so the server checks one ES256 proof and signs one ES256 access token per
-- request. Proofs are single use: PROOFS_FILE holds one per line (seed_dpop.mjs), each wrk thread
-- takes its own share of the lines (BENCH_THREADS = wrk's -t) and every request spends the next
-- one. A thread that runs out sends "DPoP: exhausted" instead (refused by the server, so counted
-- as a failure) and counts it: a proof is never sent twice. An answer that is not a 200 with
-- "token_type":"DPoP" and an access_token counts as a failure; the first few are printed.
-- Besides common.lua's summary, prints "exhausted N" (requests sent without a proof left) and
-- "proofs_left N" (proofs never sent: the headroom of the sizing).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
common.install()
failures = 0
exhausted = 0
proofs_left = 0

local proofs, next_index = {}, 1
local path = common.env("TOKEN_PATH", "/token")
local scope = common.env("SCOPE", "invoices:read"):gsub(":", "%%3A"):gsub(" ", "+")
local body = "grant_type=client_credentials&scope=" .. scope  -- as client_credentials.lua
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = common.basic(common.env("CLIENT_ID"), common.env("CLIENT_SECRET")),
}

local threads = {}
local common_setup, common_done = setup, done

function setup(thread)
  common_setup(thread)
  thread:set("exhausted", 0)
  thread:set("proofs_left", 0)
  table.insert(threads, thread)
end

function init(args)
  local share = tonumber(common.env("BENCH_THREADS", "1"))
  for i, proof in ipairs(common.lines(common.env("PROOFS_FILE"))) do
    if (i - 1) % share == thread_id then proofs[#proofs + 1] = proof end
  end
  proofs_left = #proofs
end

function request()
  local proof = proofs[next_index]
  if proof then
    proofs[next_index] = nil  -- spent
    next_index = next_index + 1
    proofs_left = proofs_left - 1
  else
    exhausted = exhausted + 1
    proof = "exhausted"
  end
  headers["DPoP"] = proof
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"token_type":"DPoP"', 1, true)
      or not body:find('"access_token"', 1, true) then
    failures = failures + 1
    if failures <= 3 then io.stderr:write("failed: " .. status .. " " .. body:sub(1, 200) .. "\n") end
  end
end

function done(summary, latency, requests)
  common_done(summary, latency, requests)
  local out, left = 0, 0
  for _, t in ipairs(threads) do
    out = out + t:get("exhausted")
    left = left + t:get("proofs_left")
  end
  io.write(string.format("exhausted %d\n", out))
  io.write(string.format("proofs_left %d\n", left))
end
