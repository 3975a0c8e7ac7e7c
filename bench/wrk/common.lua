-- Shared by every scenario script: environment, id lists, and a JSON summary written by done().
-- Environment: BENCH_TOKEN (bearer token), BENCH_IDS (file, one id a line), BENCH_OUT (summary
-- file, JSON), BENCH_TAG (unique per run, for generated names).

local M = {}

M.token = os.getenv("BENCH_TOKEN") or ""
M.tag = os.getenv("BENCH_TAG") or tostring(os.time())

function M.read_lines(path)
  local xs = {}
  if path == nil or path == "" then return xs end
  for line in io.lines(path) do
    if line ~= "" then xs[#xs + 1] = line end
  end
  return xs
end

M.ids = M.read_lines(os.getenv("BENCH_IDS"))

function M.auth_headers()
  return { ["Authorization"] = "Bearer " .. M.token }
end

-- Gives every wrk thread a number (setup runs in the main state, init in the thread's).
local thread_no = 0
function M.setup(thread)
  thread:set("tid", thread_no)
  thread_no = thread_no + 1
end

-- Writes {requests, seconds, rps, p50_ms, p99_ms, mean_ms, max_ms, errors...} to BENCH_OUT.
function M.done(summary, latency, requests)
  local s = summary.duration / 1e6
  local e = summary.errors
  local non2xx = e.status
  local out = string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, ' ..
    '"mean_ms": %.3f, "max_ms": %.3f, "errors_connect": %d, "errors_read": %d, "errors_write": %d, ' ..
    '"errors_timeout": %d, "errors_status": %d, "bytes": %d}',
    summary.requests, s, summary.requests / s,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.timeout, non2xx, summary.bytes)
  local path = os.getenv("BENCH_OUT")
  if path and path ~= "" then
    local f = assert(io.open(path, "w"))
    f:write(out, "\n")
    f:close()
  end
  io.write(out, "\n")
end

return M
