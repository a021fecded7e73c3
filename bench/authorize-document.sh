#!/usr/bin/env bash
# What a client ID metadata document costs at the authorization endpoint
# once it is cached: GET /oauth/authorize latency for a registered public
# client and for a metadata-document client (the document served on
# loopback, allowed by the development setting), N sequential requests
# each on one keep-alive connection, interleaved in rounds so machine noise
# hits both alike. Each request validates the request, stores a pending
# authorization and redirects to the login page.
# usage: bench/authorize-document.sh BIN [N]   (needs python3; BIN: target/release/portcullis)
set -euo pipefail
BIN=$1
N=${2:-3000}
export PORTCULLIS_LOG_LEVEL=warn

d=$(mktemp -d)
chmod 700 "$d"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$d"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$BIN" --data-dir "$d" scope define read --description Read --self-service >/dev/null
json=$("$BIN" --data-dir "$d" client create --name registered --public --grant-type authorization_code \
  --redirect-uri http://127.0.0.1/callback --scope read --json)
registered=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$json")

doc_port=$(free_port)
document="http://127.0.0.1:$doc_port/client.json"
mkdir "$d/www"
cat >"$d/www/client.json" <<EOF
{"client_id": "$document", "client_name": "bench agent", "redirect_uris": ["http://127.0.0.1/callback"],
 "token_endpoint_auth_method": "none"}
EOF
python3 -m http.server "$doc_port" --bind 127.0.0.1 --directory "$d/www" >/dev/null 2>&1 &
pids+=($!)

port=$(free_port)
PORTCULLIS_CLIENT_ID_METADATA_ALLOW_LOOPBACK=true \
  "$BIN" --data-dir "$d" serve --listen "127.0.0.1:$port" >"$d/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

python3 - "$port" "$registered" "$document" "$N" <<'PY'
import http.client, statistics, sys, time, urllib.parse
port, registered, document, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def path(client_id):
    q = urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id,
        "redirect_uri": "http://127.0.0.1/callback", "scope": "read", "state": "s",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256"})
    return "/oauth/authorize?" + q

def run(client_id, count):
    c = http.client.HTTPConnection("127.0.0.1", int(port))
    p = path(client_id)
    out = []
    for _ in range(count):
        t = time.perf_counter()
        c.request("GET", p)
        r = c.getresponse()
        r.read()
        out.append(time.perf_counter() - t)
        assert r.status == 303 and r.getheader("location").startswith("/login"), (r.status, r.getheader("location"))
    c.close()
    return out

run(registered, 200)   # warm up; the first document request fetches it
run(document, 200)
times = {registered: [], document: []}
rounds = 10
for _ in range(rounds):
    for cid in (registered, document):
        times[cid] += run(cid, n // rounds)

def ms(v):
    return f"{v * 1000:.3f} ms"

rows = []
for label, cid in (("registered client", registered), ("metadata document (cached)", document)):
    t = sorted(times[cid])
    rows.append((label, statistics.mean(t), t[len(t) // 2], t[int(len(t) * 0.99)]))
    print(f"{label:28} mean {ms(rows[-1][1])}  p50 {ms(rows[-1][2])}  p99 {ms(rows[-1][3])}  ({len(t)} requests)")
print(f"{'difference':28} mean {ms(rows[1][1] - rows[0][1])}  p50 {ms(rows[1][2] - rows[0][2])}  p99 {ms(rows[1][3] - rows[0][3])}")
PY
