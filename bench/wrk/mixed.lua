-- A 90/10 read/write mix: 9 of 10 requests GET /v1.0/users/{id} (ids of BENCH_IDS in turn), 1
-- of 10 a write. BENCH_WRITE=post (default) creates a user with a unique UPN (which hashes its
-- password with argon2id on the server); BENCH_WRITE=patch updates the jobTitle of a user.
-- BENCH_DOMAIN: the tenant's domain.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local c = require("common")

local get_headers = c.auth_headers()
local write_headers = c.auth_headers()
write_headers["Content-Type"] = "application/json"
local domain = os.getenv("BENCH_DOMAIN")
local write = os.getenv("BENCH_WRITE") or "post"
local i, n = 0, 0

function init(args) i = (tid or 0) * 7919 end
function request()
  i = i + 1
  local id = c.ids[(i % #c.ids) + 1]
  if i % 10 ~= 0 then
    return wrk.format("GET", "/v1.0/users/" .. id, get_headers)
  end
  n = n + 1
  if write == "patch" then
    local body = string.format('{"jobTitle": "Engineer %s-%d-%d"}', c.tag, tid or 0, n)
    return wrk.format("PATCH", "/v1.0/users/" .. id, write_headers, body)
  end
  local nick = string.format("mx%s-%d-%d", c.tag, tid or 0, n)
  local body = string.format(
    '{"accountEnabled": true, "displayName": "Mixed %s", "mailNickname": "%s", ' ..
    '"userPrincipalName": "%s@%s", "passwordProfile": {"password": "Zq7#Xr9!mJ2$kWp"}}',
    nick, nick, nick, domain)
  return wrk.format("POST", "/v1.0/users", write_headers, body)
end
setup = c.setup
done = c.done
