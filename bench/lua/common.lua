-- Shared by every benchmark script: per-thread data files, counters, and one JSON result line.
--
-- wrk runs one Lua state per thread plus one for setup/done. Counters live in the thread
-- states and are summed in done(). Environment:
--   BENCH_DATA   file with one item (code, token) per line, split between threads
--   BENCH_OUT    prefix of per-thread output files (tokens captured from responses)
--   BENCH_BASIC  "Basic ..." client authentication header
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
]]

local common = {}
local threads = {}

function common.now_us()
  local ts = ffi.new("bench_timespec")
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

-- Called by wrk in the main state once per thread, before the threads start.
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
  for _, t in ipairs(threads) do
    t:set("nthreads", #threads)
  end
end

-- Items of BENCH_DATA for this thread: line i goes to thread (i mod nthreads).
function common.items()
  local path = os.getenv("BENCH_DATA")
  local list = {}
  if not path then return list end
  local i = 0
  for line in io.lines(path) do
    if line ~= "" then
      if i % nthreads == id then table.insert(list, line) end
      i = i + 1
    end
  end
  return list
end

function common.output()
  local prefix = os.getenv("BENCH_OUT")
  if not prefix then return nil end
  return io.open(prefix .. "." .. id, "w")
end

-- Per-thread counters; `ok` counts the operations the benchmark is about (e.g. whole flows).
ok, bad, exhausted, first_us, last_us = 0, 0, 0, 0, 0

function common.mark_ok()
  ok = ok + 1
  last_us = common.now_us()
end

function common.start()
  first_us = common.now_us()
end

function done(summary, latency, requests)
  local t_ok, t_bad, t_exhausted, first, last = 0, 0, 0, nil, 0
  for _, t in ipairs(threads) do
    t_ok = t_ok + (t:get("ok") or 0)
    t_bad = t_bad + (t:get("bad") or 0)
    t_exhausted = t_exhausted + (t:get("exhausted") or 0)
    local f = t:get("first_us") or 0
    if f > 0 and (first == nil or f < first) then first = f end
    local l = t:get("last_us") or 0
    if l > last then last = l end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH-RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"ok": %d, "bad": %d, "exhausted": %d, "active_us": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    t_ok, t_bad, t_exhausted, (first and last > first) and (last - first) or 0))
end

return common
