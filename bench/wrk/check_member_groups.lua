-- POST /v1.0/users/{id}/checkMemberGroups with the group ids of BENCH_GROUPS (one a line, up to
-- 20 are sent), for the users of BENCH_IDS in turn.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local c = require("common")

local groups = c.read_lines(os.getenv("BENCH_GROUPS"))
local quoted = {}
for k = 1, math.min(20, #groups) do quoted[k] = '"' .. groups[k] .. '"' end
local body = '{"groupIds": [' .. table.concat(quoted, ",") .. ']}'
local headers = c.auth_headers()
headers["Content-Type"] = "application/json"
local i = 0

function init(args) i = (tid or 0) * 7919 end
function request()
  i = i + 1
  local id = c.ids[(i % #c.ids) + 1]
  return wrk.format("POST", "/v1.0/users/" .. id .. "/checkMemberGroups", headers, body)
end
setup = c.setup
done = c.done
