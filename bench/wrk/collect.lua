-- Preparation, not measured: collects values for a later scenario into one
-- file per wrk thread (BENCH_OUT_PREFIX .. tid), BENCH_QUOTA per thread, then
-- stops the thread.
--   BENCH_MODE=code   GET BENCH_PATH (an /oauth/authorize URL) with the
--                     session cookie BENCH_COOKIE; keeps the code of the
--                     303 Location.
--   BENCH_MODE=token  POST client_credentials with BENCH_AUTH; keeps the
--                     access_token.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local mode = env("BENCH_MODE")
local quota = tonumber(env("BENCH_QUOTA"))
local prefix = env("BENCH_OUT_PREFIX")
local out, kept = nil, 0

if mode == "code" then
  success_status = 303
  wrk.method = "GET"
  wrk.path = env("BENCH_PATH")
  wrk.headers["Cookie"] = env("BENCH_COOKIE")
else
  wrk.method = "POST"
  wrk.path = "/oauth/token"
  wrk.body = "grant_type=client_credentials"
  wrk.headers["Authorization"] = env("BENCH_AUTH")
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function init(args)
  out = assert(io.open(prefix .. tid, "w"))
end

function request()
  mark_request()
  if kept >= quota then return stop_thread() end
  return wrk.format()
end

local value
function check(status, headers, body)
  value = nil
  if mode == "code" then
    local loc = headers["location"] or headers["Location"] or ""
    value = string.match(loc, "[?&]code=([^&]+)")
  else
    if status ~= 200 then return false, "status " .. status end
    value = string.match(body or "", '"access_token":"([^"]+)"')
  end
  if value == nil then return false, "nothing to collect" end
  return true
end

function response(status, headers, body)
  if is_filler(status, body) then filler = filler + 1; return end
  if count(status, headers, body) and kept < quota then
    out:write(value, "\n")
    kept = kept + 1
    if kept >= quota then out:flush() end
  end
end
