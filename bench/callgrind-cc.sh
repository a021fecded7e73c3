#!/usr/bin/env bash
# Instructions per client-credentials request, counted by callgrind: repeatable
# on a noisy machine where wall-clock rates vary by tens of percent.
# usage: bench/callgrind-cc.sh BIN [N]   (needs valgrind, curl, python3)
# With CC_RESOURCE=URI each request also sends resource=URI (RFC 8707),
# defined as a resource first, to price the resource check.
# Runs BIN twice under callgrind (200, then 200+N requests on one keep-alive
# connection) and prints the difference divided by N, so startup cancels out.
set -euo pipefail
BIN=$1
N=${2:-2000}
export PORTCULLIS_LOG_LEVEL=warn

count() {
  local n=$1 d id sec port pid json
  d=$(mktemp -d)
  chmod 700 "$d"
  "$BIN" --data-dir "$d" scope define read --description Read >/dev/null
  if [ -n "${CC_RESOURCE:-}" ]; then
    "$BIN" --data-dir "$d" resource define "$CC_RESOURCE" --name bench >/dev/null
  fi
  # Keys made before serving: RSA key generation (the RS256 companion ID
  # tokens need) takes a random number of instructions, which would not
  # cancel out between the two runs.
  if "$BIN" keys --help 2>/dev/null | grep -q rotate; then
    for alg in ES256 RS256; do
      "$BIN" --data-dir "$d" keys rotate --alg "$alg" --publish-delay 0 >/dev/null
    done
  fi
  json=$("$BIN" --data-dir "$d" client create --name x --grant-type client_credentials --scope read --json)
  id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$json")
  sec=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$json")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  valgrind --tool=callgrind --callgrind-out-file="$d/cg.out" \
    "$BIN" --data-dir "$d" serve --listen "127.0.0.1:$port" >/dev/null 2>"$d/vg.log" &
  pid=$!
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  python3 - "$port" "$id" "$sec" "$n" "${CC_RESOURCE:-}" <<'PY'
import base64, http.client, sys, urllib.parse
port, cid, sec, n, resource = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
auth = base64.b64encode(f"{cid}:{sec}".encode()).decode()
body = "grant_type=client_credentials"
if resource:
    body += "&resource=" + urllib.parse.quote(resource, safe="")
c = http.client.HTTPConnection("127.0.0.1", int(port))
for _ in range(n):
    c.request("POST", "/oauth/token", body=body,
              headers={"Authorization": "Basic " + auth,
                       "Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
PY
  kill -TERM "$pid"
  wait "$pid" || true
  awk '/^(summary|totals):/ {print $2; exit}' "$d/cg.out"
  rm -rf "$d"
}

a=$(count 200)
b=$(count $((200 + N)))
echo "$(( (b - a) / N )) instructions per request ($BIN)"
