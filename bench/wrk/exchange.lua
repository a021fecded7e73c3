-- authorization_code grant: every code is redeemed exactly once. Each wrk
-- thread takes its slice of BENCH_CODES_FILE (lines tid, tid+threads, ...)
-- and stops when its slice is used up (or wrk's -d ends first).
--   BENCH_AUTH, BENCH_CODES_FILE, BENCH_REDIRECT_URI (form-encoded already)
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.path = "/oauth/token"
wrk.headers["Authorization"] = env("BENCH_AUTH")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"

local redirect = env("BENCH_REDIRECT_URI")
local codes, next_i = nil, 0

function init(args)
  codes = slice(env("BENCH_CODES_FILE"), tid, NTHREADS)
end

function request()
  mark_request()
  next_i = next_i + 1
  local code = codes[next_i]
  if code == nil then return stop_thread() end
  return wrk.format(nil, nil, nil,
    "grant_type=authorization_code&code=" .. code .. "&redirect_uri=" .. redirect)
end

function check(status, headers, body)
  if status ~= 200 then return false, "status " .. status end
  if body == nil or string.sub(body, 1, 1) ~= "{" then return false, "not a JSON object" end
  if not string.find(body, '"access_token":"', 1, true) then return false, "no access_token" end
  if not string.find(body, '"token_type":"Bearer"', 1, true) then return false, "no token_type" end
  return true
end

function response(status, headers, body)
  if is_filler(status, body) then filler = filler + 1; return end
  count(status, headers, body)
end
