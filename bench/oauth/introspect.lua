-- wrk script: token introspection (RFC 7662 §2.1) of opaque access tokens, with
-- client_secret_basic, cycling through the tokens of TOKENS_FILE (one per line). CLIENT_ID and
-- CLIENT_SECRET authenticate the caller (the tokens' client). An answer that is not a 200 with
-- "active":true counts as a failure: an inactive answer is cheap and would flatter the figure.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
common.install()
failures = 0

local tokens, bodies, next_index = nil, {}, 1
local auth = common.basic(common.env("CLIENT_ID"), common.env("CLIENT_SECRET"))
local path = common.env("INTROSPECT_PATH", "/introspect")
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = auth,
}

function init(args)
  tokens = common.lines(common.env("TOKENS_FILE"))
  for i, t in ipairs(tokens) do
    bodies[i] = "token=" .. t .. "&token_type_hint=access_token"
  end
end

function request()
  local body = bodies[next_index]
  next_index = next_index % #bodies + 1
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"active":true', 1, true) then
    failures = failures + 1
    -- The first few failures say what they were (a 429 is the per-connection request limit).
    if failures <= 3 then io.stderr:write("failed: " .. status .. " " .. body:sub(1, 160) .. "\n") end
  end
end
