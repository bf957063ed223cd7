-- wrk script: client credentials token requests (RFC 6749 §4.4) with client_secret_basic over
-- keep-alive connections. CLIENT_ID and CLIENT_SECRET come from the environment, SCOPE
-- (default invoices:read) is asked for. Used against both Tessera and oidc-provider; an answer
-- that is not a 200 carrying an access_token counts as a failure.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
common.install()
failures = 0

local scope = common.env("SCOPE", "invoices:read"):gsub(":", "%%3A"):gsub(" ", "+")
wrk.method = "POST"
wrk.path = common.env("TOKEN_PATH", "/token")
wrk.body = "grant_type=client_credentials&scope=" .. scope
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] =
  common.basic(common.env("CLIENT_ID"), common.env("CLIENT_SECRET"))

function response(status, headers, body)
  if status ~= 200 or not body:find('"access_token"', 1, true) then failures = failures + 1 end
end
