#!/usr/bin/env bash
# Two `portcullis serve` on one fresh PostgreSQL database, client-credentials
# load on both at once (one wrk per instance), ROUNDS rounds of 10 s, while a
# separate psql session times `select 1` every 50 ms. Prints, per round and
# instance: rate, p99, max latency, errors; then the slowest `select 1`s.
# This is the check for the two-instance stalls of issue 7: it tells a
# server that waits on its database from a database that does not answer.
#
#   bench/two-instances.sh                 # 4 rounds, 32 connections per instance
#   ROUNDS=8 C=8 bench/two-instances.sh
#   BIN=target/release/portcullis          # default; build it first
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${BIN:-$ROOT/target/release/portcullis}"
ROUNDS="${ROUNDS:-4}"
C="${C:-32}"
PGURL_BASE="${PGURL_BASE:-postgres://postgres@127.0.0.1:5432}"
[[ -x "$BIN" ]] || { echo "no binary at $BIN (cargo build --release -p portcullis)" >&2; exit 1; }
for t in wrk psql python3; do command -v "$t" >/dev/null || { echo "$t is required" >&2; exit 1; }; done

TMP="$(mktemp -d)"
DB="two_instances_$$"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  psql "$PGURL_BASE/test" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

psql "$PGURL_BASE/test" -qc "CREATE DATABASE $DB" >/dev/null
URL="$PGURL_BASE/$DB"
export PORTCULLIS_LOG_LEVEL=warn
# Both instances share one key-encryption key, as in production.
"$BIN" keys new-kek --out "$TMP/kek" >/dev/null
export PORTCULLIS_KEK_FILE="$TMP/kek"
CID=$("$BIN" --database-url "$URL" client create --name bench --grant-type client_credentials --json |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["client_id"] + ":" + d["client_secret"])')
AUTH="Basic $(printf %s "$CID" | base64 -w0)"

PORT_A=18301 PORT_B=18302
PORTCULLIS_ISSUER="http://127.0.0.1:$PORT_A" "$BIN" --database-url "$URL" serve --listen "127.0.0.1:$PORT_A" >"$TMP/a.log" 2>&1 &
PIDS+=($!)
PORTCULLIS_ISSUER="http://127.0.0.1:$PORT_A" "$BIN" --database-url "$URL" serve --listen "127.0.0.1:$PORT_B" >"$TMP/b.log" 2>&1 &
PIDS+=($!)
for port in $PORT_A $PORT_B; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
done

cat >"$TMP/cc.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Authorization"] = "$AUTH"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA

# The database's own latency, from a session of its own.
python3 - "$PGURL_BASE/test" $((ROUNDS * 10 + 2)) >"$TMP/probe.txt" 2>&1 <<'PY' &
import subprocess, sys, time
url, seconds = sys.argv[1], float(sys.argv[2])
p = subprocess.Popen(["psql", url, "-qAt"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
end, lat = time.time() + seconds, []
while time.time() < end:
    t = time.time(); p.stdin.write("select 1;\n"); p.stdin.flush(); p.stdout.readline()
    lat.append(time.time() - t); time.sleep(0.05)
p.stdin.close(); p.wait()
lat.sort()
print(f"psql select 1 from a separate session: {len(lat)} probes, p50 {lat[len(lat)//2]*1000:.1f} ms, "
      f"p99 {lat[int(len(lat)*0.99)]*1000:.0f} ms, max {lat[-1]*1000:.0f} ms")
PY
PIDS+=($!)

for r in $(seq "$ROUNDS"); do
  wrk -t1 -c"$C" -d10s --latency --timeout 2s -s "$TMP/cc.lua" "http://127.0.0.1:$PORT_A/oauth/token" >"$TMP/wa.txt" &
  W=$!
  wrk -t1 -c"$C" -d10s --latency --timeout 2s -s "$TMP/cc.lua" "http://127.0.0.1:$PORT_B/oauth/token" >"$TMP/wb.txt"
  wait "$W"
  for i in a b; do
    f="$TMP/w$i.txt"
    errors=$(awk '/Socket errors/ {gsub(",", ""); s = $4 + $6 + $8 + $10} /Non-2xx/ {n = $5} END {print s + n + 0}' "$f")
    printf 'round %s instance %s: %s/s  p99 %s  max %s  errors %s\n' "$r" "$i" \
      "$(awk '/Requests\/sec/ {print $2}' "$f")" "$(awk '$1 == "99%" {print $2}' "$f")" \
      "$(awk '/Latency/ {print $4; exit}' "$f")" "$errors"
  done
done
wait "${PIDS[2]}" 2>/dev/null || true
cat "$TMP/probe.txt"
echo "server warn/error lines: A $(grep -cE 'WARN|ERROR' "$TMP/a.log" || true), B $(grep -cE 'WARN|ERROR' "$TMP/b.log" || true)"
