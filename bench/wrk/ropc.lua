-- Password sign-in (ROPC): POST /{tenant}/oauth2/v2.0/token, grant_type=password, the bootstrap
-- application's credentials and a user's. Every request verifies the password with argon2id.
-- BENCH_TENANT, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_USERNAME, BENCH_PASSWORD.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local c = require("common")

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(ch) return string.format("%%%02X", string.byte(ch)) end))
end

local path = "/" .. os.getenv("BENCH_TENANT") .. "/oauth2/v2.0/token"
local body = "grant_type=password&client_id=" .. urlencode(os.getenv("BENCH_CLIENT_ID")) ..
  "&client_secret=" .. urlencode(os.getenv("BENCH_CLIENT_SECRET")) ..
  "&username=" .. urlencode(os.getenv("BENCH_USERNAME")) ..
  "&password=" .. urlencode(os.getenv("BENCH_PASSWORD")) ..
  "&scope=" .. urlencode("https://graph.microsoft.com/.default")
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

function request() return wrk.format("POST", path, headers, body) end
setup = c.setup
done = c.done
