-- GET of a fixed path (BENCH_PATH), with the bearer token when BENCH_TOKEN is set; extra
-- headers from BENCH_HEADER ("Name: value").
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local c = require("common")

local headers = {}
if c.token ~= "" then headers = c.auth_headers() end
local extra = os.getenv("BENCH_HEADER")
if extra and extra ~= "" then
  local k, v = extra:match("^([^:]+):%s*(.*)$")
  headers[k] = v
end
local path = os.getenv("BENCH_PATH")

function request() return wrk.format("GET", path, headers) end
setup = c.setup
done = c.done
