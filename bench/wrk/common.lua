-- Shared by every wrk script of bench/run (loaded with dofile).
--
-- * Gives each wrk thread an id (1..threads) and the thread count, so that
--   scripts can take their own slice of a file of tokens or codes.
-- * Counts every response: ok, non-2xx (with a histogram of statuses), and
--   2xx with a malformed body (as judged by the scenario's check()), keeping
--   the first bad response as a sample.
-- * Lets a thread stop early (when its codes or tokens run out) and then
--   measures the rate over the time actually spent (wrk itself always
--   reports its -d duration).
-- * done() prints one line "BENCH_RESULT key=value ..." for bench.py.

local ffi = require("ffi")
pcall(ffi.cdef, [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk, bench_timespec *tp);
]])
local ts = ffi.new("bench_timespec")
function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then
    if default == nil then error(name .. " is not set") end
    return default
  end
  return v
end

NTHREADS = tonumber(env("BENCH_THREADS"))

-- Lines of a file that belong to thread tid (1-based): lines tid, tid+n, ...
function slice(path, tid, n)
  local out = {}
  local f = assert(io.open(path, "r"))
  local i = 0
  for line in f:lines() do
    if line ~= "" then
      i = i + 1
      if (i - 1) % n == tid - 1 then out[#out + 1] = line end
    end
  end
  f:close()
  return out
end

-- ---- main state --------------------------------------------------------
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- ---- thread state ------------------------------------------------------
ok = 0
non2xx = 0
bad_body = 0
filler = 0        -- answers to the no-op request sent after a thread stopped
statuses = {}
sample = nil
t_first = nil     -- first request() of this thread (dynamic scripts only)
t_last = nil      -- last response of this thread
stopped_early = 0

-- check(status, headers, body) -> true, or false + reason; set by scripts.
-- A scenario whose success is a redirect sets success_status = 303.
success_status = nil
function count(status, headers, body)
  t_last = now_us()
  local expected = (success_status ~= nil and status == success_status)
    or (success_status == nil and status >= 200 and status <= 299)
  if not expected then
    non2xx = non2xx + 1
    local k = tostring(status)
    statuses[k] = (statuses[k] or 0) + 1
    if sample == nil then sample = k .. " " .. string.sub(body or "", 1, 200) end
    return false
  end
  local good, why = check(status, headers, body)
  if not good then
    bad_body = bad_body + 1
    if sample == nil then
      sample = tostring(status) .. " (" .. (why or "malformed") .. ") " .. string.sub(body or "", 1, 200)
    end
    return false
  end
  ok = ok + 1
  return true
end

-- wrk calls request() once in thread 1's state before the run starts, to
-- check it (script_verify_request); that call must not start the clock.
local calls = 0
function mark_request()
  calls = calls + 1
  if tid == 1 and calls == 1 then return end
  if t_first == nil then t_first = now_us() end
end

-- Stops this thread; returns a harmless request to hand to wrk meanwhile.
function stop_thread()
  -- aeStop is undone if it happens before the event loop starts (wrk's
  -- check call), so stop on every call, not only the first.
  wrk.thread:stop()
  if stopped_early == 0 then
    stopped_early = 1
    -- Tell bench.py (which then ends wrk's -d wait with SIGINT).
    local prefix = os.getenv("BENCH_DONE_PREFIX")
    if prefix ~= nil and prefix ~= "" then
      local f = io.open(prefix .. tid, "w")
      if f then f:close() end
    end
  end
  return wrk.format("GET", "/healthz", {}, nil)
end

-- A response that answers the filler request (only after stop_thread()).
function is_filler(status, body)
  return stopped_early == 1 and status == 200 and body == "ok"
end

function done(summary, latency, requests)
  local t = { ok = 0, non2xx = 0, bad_body = 0, filler = 0, stopped = 0 }
  local codes = {}
  local first_sample = nil
  local tmin, tmax = nil, nil
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do
      if k ~= "stopped" then t[k] = t[k] + (th:get(k) or 0) end
    end
    t.stopped = t.stopped + (th:get("stopped_early") or 0)
    for code, n in pairs(th:get("statuses") or {}) do
      codes[code] = (codes[code] or 0) + n
    end
    if first_sample == nil then first_sample = th:get("sample") end
    local a, b = th:get("t_first"), th:get("t_last")
    if a and (tmin == nil or a < tmin) then tmin = a end
    if b and (tmax == nil or b > tmax) then tmax = b end
  end
  local codes_list = {}
  for code, n in pairs(codes) do table.insert(codes_list, code .. ":" .. n) end
  table.sort(codes_list)

  local requests_n = summary.requests - t.filler
  local secs = summary.duration / 1e6
  if t.stopped > 0 and tmin and tmax and tmax > tmin then
    secs = (tmax - tmin) / 1e6
  end
  local e = summary.errors
  local fields = {
    string.format("requests=%d", requests_n),
    string.format("duration_s=%.3f", secs),
    string.format("rps=%.1f", requests_n / secs),
    string.format("ok=%d", t.ok),
    string.format("ok_per_s=%.1f", t.ok / secs),
    string.format("non2xx=%d", t.non2xx),
    string.format("bad_body=%d", t.bad_body),
    string.format("filler=%d", t.filler),
    string.format("threads_stopped_early=%d", t.stopped),
    string.format("connect_errors=%d", e.connect),
    string.format("read_errors=%d", e.read),
    string.format("write_errors=%d", e.write),
    string.format("timeout_errors=%d", e.timeout),
    string.format("lat_p50_us=%d", latency:percentile(50)),
    string.format("lat_p90_us=%d", latency:percentile(90)),
    string.format("lat_p99_us=%d", latency:percentile(99)),
    string.format("lat_max_us=%d", latency.max),
    string.format("lat_mean_us=%.1f", latency.mean),
    "statuses=" .. (#codes_list > 0 and table.concat(codes_list, ",") or "none"),
  }
  io.write("BENCH_RESULT " .. table.concat(fields, " ") .. "\n")
  if first_sample ~= nil then
    io.write("BENCH_SAMPLE " .. string.gsub(first_sample, "[\r\n]", " ") .. "\n")
  end
end
