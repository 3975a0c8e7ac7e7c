-- GET of BENCH_PATH with "{id}" replaced by the ids of BENCH_IDS in turn (a different object on
-- each request, so no single row stays hot); optional BENCH_HEADER ("Name: value").
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local c = require("common")

local headers = c.auth_headers()
local extra = os.getenv("BENCH_HEADER")
if extra and extra ~= "" then
  local k, v = extra:match("^([^:]+):%s*(.*)$")
  headers[k] = v
end
local template = os.getenv("BENCH_PATH")
local i = 0

function init(args) i = (tid or 0) * 7919 end
function request()
  i = i + 1
  local id = c.ids[(i % #c.ids) + 1]
  return wrk.format("GET", (template:gsub("{id}", id)), headers)
end
setup = c.setup
done = c.done
