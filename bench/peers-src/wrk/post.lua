-- wrk script for bench/peers.sh: one fixed form POST, every response checked.
--
-- Environment (read once per wrk thread):
--   BENCH_PATH    request path, e.g. /token or /token/introspection
--   BENCH_BODY    the application/x-www-form-urlencoded body
--   BENCH_AUTH    the Authorization header value ("Basic ...")
--   BENCH_EXPECT  a Lua pattern that every 200 body must match, e.g.
--                 "access_token"%s*:%s*"  or  "active"%s*:%s*true
--                 (JSON may or may not have spaces after the colon)
--
-- errors: every status other than 200 (with a histogram of the codes and the
-- first such body kept), and every 200 whose body does not match BENCH_EXPECT (so an
-- introspection answer {"active":false} counts). Socket errors are added by
-- bench/peers.sh from wrk's summary. Same accounting as bench/token.lua, and
-- the same BENCH_RESULT line format.

local function need(name)
  local v = os.getenv(name)
  if v == nil or v == "" then error(name .. " is not set") end
  return v
end

wrk.method = "POST"
wrk.path = need("BENCH_PATH")
wrk.body = need("BENCH_BODY")
wrk.headers["Authorization"] = need("BENCH_AUTH")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
local expect = need("BENCH_EXPECT")

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

ok = 0
non200 = 0
bad_body = 0
statuses = {}
sample = nil

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    local k = tostring(status)
    statuses[k] = (statuses[k] or 0) + 1
    if sample == nil then
      sample = k .. " " .. string.sub(body or "", 1, 200)
    end
  elseif body == nil or not string.find(body, expect) then
    bad_body = bad_body + 1
    if sample == nil then
      sample = "200 " .. string.sub(body or "", 1, 200)
    end
  else
    ok = ok + 1
  end
end

function done(summary, latency, requests)
  local t_ok, t_non200, t_bad = 0, 0, 0
  local codes = {}
  local first_sample = nil
  for _, thread in ipairs(threads) do
    t_ok = t_ok + (thread:get("ok") or 0)
    t_non200 = t_non200 + (thread:get("non200") or 0)
    t_bad = t_bad + (thread:get("bad_body") or 0)
    for code, n in pairs(thread:get("statuses") or {}) do
      codes[code] = (codes[code] or 0) + n
    end
    if first_sample == nil then first_sample = thread:get("sample") end
  end
  local codes_list = {}
  for code, n in pairs(codes) do table.insert(codes_list, code .. ":" .. n) end
  table.sort(codes_list)

  local e = summary.errors
  local secs = summary.duration / 1e6
  local fields = {
    string.format("requests=%d", summary.requests),
    string.format("duration_s=%.3f", secs),
    string.format("rps=%.1f", summary.requests / secs),
    string.format("ok=%d", t_ok),
    string.format("non200=%d", t_non200),
    string.format("bad_body=%d", t_bad),
    string.format("wrk_status_errors=%d", e.status),
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
