-- wrk script for the client-credentials token endpoint (used by bench/run).
--
-- Every request: POST /oauth/token, body grant_type=client_credentials,
-- HTTP Basic client authentication. The Authorization header value is read
-- from the environment (BENCH_AUTH) so the secret never appears on a
-- command line.
--
-- Error accounting: wrk's built-in "Non-2xx or 3xx responses" only counts
-- statuses above 399, so a 1xx/3xx, or a 200 without a token, would pass
-- unnoticed. This script therefore defines response() and counts, per
-- thread, every status other than 200 (with a histogram of the codes seen)
-- and every 200 whose body carries no access_token. Defining response()
-- makes wrk parse every response's headers and body, which costs some
-- load-generator CPU; that cost is part of the measured figures.
--
-- done() prints one machine-readable line, "BENCH_RESULT key=value ...",
-- which bench/run parses.

local auth = os.getenv("BENCH_AUTH")
if auth == nil or auth == "" then
  error("BENCH_AUTH (the Authorization header value) is not set")
end

wrk.method = "POST"
wrk.path = "/oauth/token"
wrk.body = "grant_type=client_credentials"
wrk.headers["Authorization"] = auth
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"

-- ---- main state: keep every thread to collect its counters in done() ----
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- ---- thread states: per-thread counters ----
ok = 0          -- 200 with an access_token in the body
non200 = 0      -- any status but 200
bad_body = 0    -- 200 without an access_token
statuses = {}   -- status code (as a string) -> count, non-200 only
sample = nil    -- the first non-200 body seen, for the report

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    local k = tostring(status)
    statuses[k] = (statuses[k] or 0) + 1
    if sample == nil then
      sample = k .. " " .. string.sub(body or "", 1, 200)
    end
  elseif body == nil or not string.find(body, "\"access_token\"", 1, true) then
    bad_body = bad_body + 1
    if sample == nil then
      sample = "200 " .. string.sub(body or "", 1, 200)
    end
  else
    ok = ok + 1
  end
end

-- ---- main state: one summary line ----
function done(summary, latency, requests)
  local t_ok, t_non200, t_bad = 0, 0, 0
  local codes = {}
  local first_sample = nil
  for _, thread in ipairs(threads) do
    t_ok = t_ok + (thread:get("ok") or 0)
    t_non200 = t_non200 + (thread:get("non200") or 0)
    t_bad = t_bad + (thread:get("bad_body") or 0)
    local st = thread:get("statuses") or {}
    for code, n in pairs(st) do
      codes[code] = (codes[code] or 0) + n
    end
    if first_sample == nil then
      first_sample = thread:get("sample")
    end
  end

  local codes_list = {}
  for code, n in pairs(codes) do
    table.insert(codes_list, code .. ":" .. n)
  end
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
