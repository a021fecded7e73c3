-- POST with HTTP Basic client auth, for the client-credentials and
-- introspection scenarios of bench/run.
--
-- Environment:
--   BENCH_WRK_DIR      directory of common.lua
--   BENCH_THREADS      wrk -t
--   BENCH_AUTH         Authorization header value ("Basic ...")
--   BENCH_PATH         e.g. /oauth/token
--   BENCH_BODY         fixed form body; or, with BENCH_TOKENS_FILE,
--   BENCH_BODY_PREFIX  body = prefix .. token, the thread cycling through
--   BENCH_TOKENS_FILE  its slice of the file (one token a line)
--   BENCH_EXPECT       substrings a 2xx body must all contain, '|'-separated
--   BENCH_RATE         optional: total requests/s to pace to (all threads),
--                      for the "p99 at half the peak rate" runs
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local expect = {}
for s in string.gmatch(env("BENCH_EXPECT"), "[^|]+") do expect[#expect + 1] = s end

wrk.method = "POST"
wrk.path = env("BENCH_PATH")
wrk.headers["Authorization"] = env("BENCH_AUTH")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"

function check(status, headers, body)
  if status ~= 200 then return false, "status " .. status end
  if body == nil or string.sub(body, 1, 1) ~= "{" then return false, "not a JSON object" end
  for _, s in ipairs(expect) do
    if not string.find(body, s, 1, true) then return false, "no " .. s end
  end
  return true
end

function response(status, headers, body)
  count(status, headers, body)
end

local tokens_file = os.getenv("BENCH_TOKENS_FILE")
if tokens_file ~= nil and tokens_file ~= "" then
  local prefix = env("BENCH_BODY_PREFIX")
  local bodies, i = nil, 0
  function init(args)
    local toks = slice(tokens_file, tid, NTHREADS)
    assert(#toks > 0, "no tokens for thread " .. tid)
    bodies = {}
    for k, tok in ipairs(toks) do bodies[k] = prefix .. tok end
  end
  function request()
    i = i % #bodies + 1
    return wrk.format(nil, nil, nil, bodies[i])
  end
else
  wrk.body = env("BENCH_BODY")
end

local rate = tonumber(os.getenv("BENCH_RATE") or "")
if rate ~= nil and rate > 0 then
  -- One schedule per thread: request k of the thread is due at
  -- start + k * interval; delay() is asked before each request.
  local interval_us = 1e6 / (rate / NTHREADS)
  local next_due = nil
  function delay()
    local now = now_us()
    -- Behind schedule (server or wrk slow): restart from now, no burst.
    if next_due == nil or next_due < now - interval_us then next_due = now end
    local d = next_due - now
    next_due = next_due + interval_us
    if d <= 0 then return 0 end
    return math.floor(d / 1000)  -- wrk's timers are in whole milliseconds
  end
end
