-- wrk script: refresh token grant (RFC 6749 §6) with rotation. Every use spends the token and
-- answers a new one (RFC 9700 §4.14.2), so the script keeps a queue of live refresh tokens, one
-- family per line of TOKENS_FILE: request() takes one, response() puts the new one back. With
-- more families than connections the queue never runs dry. A spent token presented again would
-- revoke its family, so each wrk thread takes its own share of the lines (BENCH_THREADS = wrk's
-- -t). A non-200 or an answer without a refresh_token counts as a failure (its family is lost).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
common.install()
failures = 0

local queue, head, tail = {}, 1, 0
local path = common.env("TOKEN_PATH", "/token")
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = common.basic(common.env("CLIENT_ID"), common.env("CLIENT_SECRET")),
}

local function push(token)
  tail = tail + 1
  queue[tail] = token
end

function init(args)
  local threads = tonumber(common.env("BENCH_THREADS", "1"))
  for i, t in ipairs(common.lines(common.env("TOKENS_FILE"))) do
    if (i - 1) % threads == thread_id then push(t) end
  end
end

function request()
  local token = "empty-queue"  -- answered invalid_grant: counted, never silently skipped
  if head <= tail then
    token = queue[head]
    queue[head] = nil
    head = head + 1
  end
  return wrk.format("POST", path, headers, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local token = status == 200 and body:match('"refresh_token":"([^"]+)"')
  if token then push(token) else failures = failures + 1 end
end
