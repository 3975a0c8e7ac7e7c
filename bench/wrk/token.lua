-- Client-credentials token issuance: POST /{tenant}/oauth2/v2.0/token, client_secret_post.
-- BENCH_TENANT, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET. The peers (bench/peers) take the same request
-- at BENCH_TOKEN_PATH with their own BENCH_SCOPE.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local c = require("common")

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(ch) return string.format("%%%02X", string.byte(ch)) end))
end

local path = os.getenv("BENCH_TOKEN_PATH") or ("/" .. os.getenv("BENCH_TENANT") .. "/oauth2/v2.0/token")
local body = "grant_type=client_credentials&client_id=" .. urlencode(os.getenv("BENCH_CLIENT_ID")) ..
  "&client_secret=" .. urlencode(os.getenv("BENCH_CLIENT_SECRET")) ..
  "&scope=" .. urlencode(os.getenv("BENCH_SCOPE") or "https://graph.microsoft.com/.default")
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

function request() return wrk.format("POST", path, headers, body) end
setup = c.setup
done = c.done
