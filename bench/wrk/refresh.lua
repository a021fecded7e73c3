-- refresh_token grant with rotation. Each refresh token is used once: a
-- thread keeps a queue of unused tokens (seeded with its slice of
-- BENCH_TOKENS_FILE, at least one per connection); request() takes one off
-- the queue and response() puts the rotated token from the answer back on.
-- Every token thus starts a chain of single-use tokens; none is sent twice
-- (a reused refresh token would revoke its whole family). A thread whose
-- queue runs dry (answers without a new token) stops.
--   BENCH_AUTH, BENCH_TOKENS_FILE
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.path = "/oauth/token"
wrk.headers["Authorization"] = env("BENCH_AUTH")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"

local queue, head, tail = {}, 1, 0
sent_tokens = 0

function init(args)
  for _, tok in ipairs(slice(env("BENCH_TOKENS_FILE"), tid, NTHREADS)) do
    tail = tail + 1
    queue[tail] = tok
  end
end

function request()
  mark_request()
  if head > tail then return stop_thread() end
  local tok = queue[head]
  queue[head] = nil
  head = head + 1
  sent_tokens = sent_tokens + 1
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. tok)
end

local newtok
function check(status, headers, body)
  newtok = nil
  if status ~= 200 then return false, "status " .. status end
  if body == nil or string.sub(body, 1, 1) ~= "{" then return false, "not a JSON object" end
  if not string.find(body, '"access_token":"', 1, true) then return false, "no access_token" end
  newtok = string.match(body, '"refresh_token":"([^"]+)"')
  if newtok == nil then return false, "no refresh_token" end
  return true
end

function response(status, headers, body)
  if is_filler(status, body) then filler = filler + 1; return end
  if count(status, headers, body) then
    tail = tail + 1
    queue[tail] = newtok
  end
end
