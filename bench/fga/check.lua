-- wrk script: OpenFGA Check (POST /stores/{id}/check) against the fga role, cycling through the
-- request bodies of CHECKS_FILE (one JSON body per line, from bench_fga --export), with the
-- preshared key FGA_TOKEN. MODEL_ID, when set, is sent as authorization_model_id (what OpenFGA
-- recommends in production: no latest-model look-up). An answer that is not a 200 with an
-- "allowed" member counts as a failure.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "../oauth/common.lua")
common.install()
failures = 0

local bodies, next_index = nil, 1
local path = "/stores/" .. common.env("STORE_ID") .. "/check"
local headers = {
  ["Content-Type"] = "application/json",
  ["Authorization"] = "Bearer " .. common.env("FGA_TOKEN"),
}
local model = os.getenv("MODEL_ID") or ""

function init(args)
  bodies = common.lines(common.env("CHECKS_FILE"))
  if model ~= "" then
    for i, b in ipairs(bodies) do
      bodies[i] = b:sub(1, -2) .. ',"authorization_model_id":"' .. model .. '"}'
    end
  end
end

function request()
  local body = bodies[next_index]
  next_index = next_index % #bodies + 1
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"allowed":', 1, true) then failures = failures + 1 end
end
