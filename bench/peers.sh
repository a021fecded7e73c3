#!/usr/bin/env bash
# Peer benchmark: the same client-credentials and introspection scenarios as
# Portcullis's bench, run against node-oidc-provider (npm `oidc-provider`,
# an OpenID-certified server) and, optionally, an Authlib server.
#
# Installs the peer into bench/peers/ (git-ignored) from the committed config
# in bench/peers-src/, starts it on 127.0.0.1 only, checks one real token
# request returns a JWT, drives it with wrk, samples its RSS, prints a table
# and writes bench/out/peers.json. Stops only the processes it started, each
# by the PID it recorded.
#
# Usage:
#   bench/peers.sh                       # node-oidc-provider, ES256, 10 s, c=64
#   ALG=all bench/peers.sh               # ES256, EdDSA and RS256, one server each
#   PEERS=all ALG=all bench/peers.sh     # also the Authlib peer
#
# Environment (all optional):
#   ALG          ES256 (default) | EdDSA | RS256 | all  (all = the three in turn)
#   PEERS        node-oidc-provider (default) | authlib | all | a space-separated list
#   DURATION     wrk duration per scenario: 10, 10s, 1m          (default 10s)
#   CONNECTIONS  wrk connections                                 (default 64)
#   THREADS      wrk threads                                     (default 2)
#   PORT         port on 127.0.0.1. Set: must be free. Unset: the first free
#                one from 18090.
#   WRK_TIMEOUT  wrk per-request timeout                         (default 2s)
#   WARMUP       unmeasured wrk load before each scenario, same settings:
#                lets node's JIT (and CPython's caches) settle. 0 = none (default 2s)
#   OUT          output file                      (default bench/out/peers.json)
#   SWEEP        connection counts of a client-credentials sweep, comma-separated,
#                e.g. 8,32,128 (default empty: none). After the two scenarios,
#                client_credentials runs again at each count (same duration,
#                wrk -t min(THREADS, count), no warm-up: the server is warm) ->
#                "sweep" in each run object. bench/run --peers passes its own SWEEP.
#
# Peers:
#   node-oidc-provider  bench/peers-src/node-oidc-provider/ (package.json,
#       package-lock.json, server.mjs) -> npm install into
#       bench/peers/node-oidc-provider/ when the committed package files
#       changed or nothing is installed. ONE node process, NODE_ENV=production,
#       default in-memory adapter: node-oidc-provider runs its JavaScript on
#       one thread, so it uses one of the 2 cores; cluster mode (node:cluster,
#       one process per core sharing the port) would use both but needs a
#       shared adapter (e.g. Redis) for introspection of opaque tokens, and is
#       not what it does out of the box. oidc-provider 9.x prints "Unsupported
#       runtime. Use Node.js v22.x LTS" at start on Node 20; it works there.
#   authlib  bench/peers-src/authlib/ (requirements.txt, app.py: Flask +
#       Authlib's AuthorizationServer, RFC 9068 JWT access tokens, RFC 7662
#       introspection) -> pip install into a venv in bench/peers/authlib/;
#       served by gunicorn, 2 sync workers (one per core).
#
# Scenarios, per peer and alg (one fresh server process for each):
#   client_credentials  POST <token_endpoint>, Basic auth,
#                       grant_type=client_credentials&scope=read&resource=urn:portcullis:bench
#                       -> a JWT access token (aud urn:portcullis:bench) signed with ALG.
#                       Error = status != 200, or a 200 without "access_token":"...".
#   introspection       POST <introspection_endpoint>, Basic auth,
#                       token=<one token obtained up front>&token_type_hint=access_token
#                       Error = status != 200, or a 200 without "active":true.
#                       node-oidc-provider does not store JWT access tokens and
#                       refuses to introspect them (400 unsupported_token_type,
#                       by design: resource servers verify JWTs locally), so its
#                       introspected token is an opaque one, issued for a second
#                       resource (urn:portcullis:bench:opaque) -> token_format.
#   errors also include wrk's socket errors (connect, read, write, timeout).
#
# Output: bench/out/peers.json. One run (one peer, one alg) writes a single
# object; more than one run writes {"connections","threads","duration_s",
# "warmup_s","runs":[object, ...]} (a reader can take `.runs // [.]`). Each object:
#   {
#     "peer": "node-oidc-provider" | "authlib",
#     "version": "9.13.3",                # the peer package's version
#     "runtime": "node v20.20.2" | "python 3.11.7, gunicorn 27.0.1",
#     "processes": 1,                     # server processes (gunicorn: workers)
#     "alg": "ES256" | "EdDSA" | "RS256",
#     "client_credentials": {SCENARIO, "token_format": "jwt"},
#     "introspection":      {SCENARIO, "token_format": "opaque" | "jwt"},
#     "idle_rss_mb": 71.2,                # 1 s after start and one token request
#     "peak_rss_mb": 140.3,               # max over both scenarios, VmRSS polled every 200 ms
#     "connections": 64, "threads": 2, "duration_s": 10, "warmup_s": 2,
#     "server_alive": true,               # still running after both scenarios
#     "loadavg_1m_before": 3.2,           # /proc/loadavg before the server started
#     "sweep": [                          # client_credentials per connection count, sorted:
#       {"connections": 8, "threads": 2, "rate_per_s": 3650.2, "p50_ms": 2.1,
#        "p99_ms": 4.0, "errors": 0, "requests": 36520, "peak_rss_mb": 120.1,
#        "cpu": {...}}, ...               # the CONNECTIONS run is one of the points;
#     ]                                   # only that point when SWEEP is empty
#   }
#   SCENARIO = "rps": 1606.3, "requests": 16080, "p50_ms": 39.1, "p90_ms": 41.0,
#     "p99_ms": 52.7, "max_ms": 120.2, "errors": 0, "non200": 0, "bad_body": 0,
#     "socket_errors": 0, "statuses": "none" (or "401:12,500:3"),
#     "peak_rss_mb": 140.3,               # max VmRSS during this scenario's measured load
#     "first_bad_response": "401 {...}",  # only when an error response was seen
#     "cpu": {"server_cores": 1.0, "wrk_cores": 0.3, "other_cores": 0.6,
#             "steal_cores": 0.0, "machine_cores": 2},
#     "rps_per_server_core": 1606   # rps / cpu.server_cores: what one fully
#                                   # busy core would give, if throughput is
#                                   # CPU-bound and linear; a rough way to
#                                   # compare runs on a shared machine
#   peak_rss_mb of the run covers the two scenarios, not the sweep (each
#   sweep point has its own).
#   RSS figures are in MB (KiB / 1024). For a multi-process peer (gunicorn)
#   they are the sum of VmRSS over the master and its workers (a shared page
#   counts in every process that maps it, so this overstates). cpu.* are average cores busy during the load:
#   the server's own processes, wrk, everything else on the machine ("other",
#   e.g. concurrent compiles), and hypervisor steal, from /proc.
#
# Exit status: 0 when every run completed, whether or not it counted errors
# (see "errors"); non-zero if a step failed (install, start, probe, wrk). A
# run whose server died mid-load is still written (server_alive false), and
# the script then exits 1.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC_DIR="$BENCH_DIR/peers-src"
PEERS_DIR="$BENCH_DIR/peers"
OUT_DIR="$BENCH_DIR/out"
OUT="${OUT:-$OUT_DIR/peers.json}"
HOST=127.0.0.1   # fixed: load only ever goes to loopback

RESOURCE="urn:portcullis:bench"
OPAQUE_RESOURCE="urn:portcullis:bench:opaque"
CLIENT_ID="bench"

log() { printf '[peers] %s\n' "$*" >&2; }
die() { printf '[peers] error: %s\n' "$*" >&2; exit 1; }

# ---- parameters -----------------------------------------------------------
ALG="${ALG:-ES256}"
PEERS="${PEERS:-node-oidc-provider}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
WRK_TIMEOUT="${WRK_TIMEOUT:-2s}"
WARMUP="${WARMUP:-2s}"

case "$ALG" in
  all) ALGS=(ES256 EdDSA RS256) ;;
  ES256 | EdDSA | RS256) ALGS=("$ALG") ;;
  *) die "ALG must be ES256, EdDSA, RS256 or all (got '$ALG')" ;;
esac
[[ "$PEERS" == all ]] && PEERS="node-oidc-provider authlib"
read -r -a PEER_LIST <<<"$PEERS"
for p in "${PEER_LIST[@]}"; do
  case "$p" in node-oidc-provider | authlib) ;; *) die "unknown peer '$p' (node-oidc-provider, authlib)" ;; esac
done
(( ${#PEER_LIST[@]} > 0 )) || die "PEERS is empty"
if [[ "$DURATION" =~ ^([0-9]+)([smh]?)$ ]]; then
  n="${BASH_REMATCH[1]}"
  case "${BASH_REMATCH[2]}" in
    h) DURATION_S=$((n * 3600)) ;;
    m) DURATION_S=$((n * 60)) ;;
    *) DURATION_S=$n ;;
  esac
else
  die "DURATION must look like 10, 10s, 2m (got '$DURATION')"
fi
(( DURATION_S >= 1 && DURATION_S <= 600 )) || die "DURATION must be between 1s and 10m"
[[ "$CONNECTIONS" =~ ^[0-9]+$ ]] && (( CONNECTIONS >= 1 && CONNECTIONS <= 10000 )) \
  || die "CONNECTIONS must be an integer in 1..10000"
[[ "$THREADS" =~ ^[0-9]+$ ]] && (( THREADS >= 1 && THREADS <= CONNECTIONS )) \
  || die "THREADS must be an integer in 1..CONNECTIONS"
[[ "$WRK_TIMEOUT" =~ ^[0-9]+(ms|s)?$ ]] || die "WRK_TIMEOUT must look like 2s or 500ms"
[[ "$WARMUP" =~ ^([0-9]+)s?$ ]] && WARMUP_S="${BASH_REMATCH[1]}" && (( WARMUP_S <= 60 )) \
  || die "WARMUP must be 0..60 seconds, e.g. 2s (got '$WARMUP')"
SWEEP="${SWEEP:-}"
SWEEP_LIST=()   # extra connection counts, sorted, without CONNECTIONS
if [[ -n "${SWEEP// /}" ]]; then
  IFS=',' read -r -a _sweep <<<"${SWEEP// /}"
  for c in "${_sweep[@]}"; do
    [[ -z "$c" ]] && continue
    [[ "$c" =~ ^[0-9]+$ ]] && (( c >= 1 && c <= 10000 )) \
      || die "SWEEP must be comma-separated integers in 1..10000, e.g. 8,32,128 (got '$SWEEP')"
    (( 10#$c == CONNECTIONS )) || SWEEP_LIST+=("$((10#$c))")
  done
  if (( ${#SWEEP_LIST[@]} > 0 )); then
    mapfile -t SWEEP_LIST < <(printf '%s\n' "${SWEEP_LIST[@]}" | sort -nu)
  fi
fi
if [[ -n "${PORT:-}" ]]; then
  [[ "$PORT" =~ ^[0-9]+$ ]] && (( PORT >= 1024 && PORT <= 65535 )) || die "PORT must be in 1024..65535"
fi

# ---- tools ----------------------------------------------------------------
apt_install() {
  log "installing $* from Debian's packages"
  if [[ $(id -u) -eq 0 ]]; then
    apt-get install -y "$@" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y "$@" >/dev/null; }
  else
    sudo apt-get install -y "$@"
  fi
}
command -v wrk >/dev/null 2>&1 || apt_install wrk
command -v jq >/dev/null 2>&1 || apt_install jq
for t in wrk jq curl base64 timeout awk; do
  command -v "$t" >/dev/null 2>&1 || die "'$t' is required"
done

# ---- state and cleanup ----------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/portcullis-peers.XXXXXX")"
SERVER_PID=""    # the peer server (node, or gunicorn's master)
SAMPLER_PID=""
WRK_PID=""
SERVER_EXIT=""

stop_pid() { # stop_pid PID NAME: TERM, then KILL after 10 s; only this PID
  local pid="$1" name="$2"
  [[ -n "$pid" ]] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name $pid ignored SIGTERM for 10 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  [[ -n "$WRK_PID" ]] && stop_pid "$WRK_PID" wrk       # timeout(1) passes TERM on to wrk
  [[ -n "$SAMPLER_PID" ]] && stop_pid "$SAMPLER_PID" "RSS sampler"
  [[ -n "$SERVER_PID" ]] && stop_pid "$SERVER_PID" server
  rm -rf -- "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- helpers ----------------------------------------------------------------
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
pick_port() {
  local p
  if [[ -n "${PORT:-}" ]]; then
    port_busy "$PORT" && die "port $PORT on $HOST is already in use"
    echo "$PORT"; return
  fi
  p=18090
  while port_busy "$p"; do
    p=$((p + 1))
    (( p < 18190 )) || die "no free port in 18090..18189"
  done
  echo "$p"
}
urlenc() { jq -rn --arg v "$1" '$v|@uri'; }
mb() { if [[ -z "${1:-}" ]]; then echo null; else awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; fi; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }

# The server's processes: the PID we started plus its direct children
# (gunicorn's workers; node has none), listed once after start-up.
SERVER_PIDS=""
list_server_pids() {
  SERVER_PIDS="$SERVER_PID $(pgrep -P "$SERVER_PID" | tr '\n' ' ' || true)"
}
server_pids() {
  [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null || return 0
  echo "$SERVER_PIDS"
}
rss_kb() { # summed VmRSS of the server's processes, KiB
  local pids; pids="$(server_pids)"
  [[ -n "$pids" ]] || return 0
  # shellcheck disable=SC2086
  for p in $pids; do awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true; done \
    | awk 'NF { t += $1; n++ } END { if (n) print t }'
}
server_ticks() { # summed utime+stime of the server's processes, clock ticks
  local pids; pids="$(server_pids)"
  [[ -n "$pids" ]] || return 0
  # shellcheck disable=SC2086
  for p in $pids; do sed 's/.*) //' "/proc/$p/stat" 2>/dev/null || true; done \
    | awk 'NF { t += $12 + $13; n++ } END { if (n) print t }'
}
CLK_TCK="$(getconf CLK_TCK)"
NCPU="$(nproc)"
machine_busy() { awk '/^cpu / { print $2+$3+$4+$7+$8+$9 }' /proc/stat; }
machine_steal() { awk '/^cpu / { print $9 }' /proc/stat; }
# CPU seconds of this shell's reaped children; `times` must run in this
# shell (not in $(...)) to see them, so it writes to a file.
children_cpu_s() { awk 'NR==2 { n=split($0, f, " "); t=0; for (i=1;i<=n;i++) { split(f[i], p, "m"); sub("s","",p[2]); t+=p[1]*60+p[2] } print t }' "$1"; }

wait_ready() { # wait_ready URL LOG: until URL answers 200 (30 s at most)
  local url="$1" logf="$2" deadline code
  deadline=$(( $(now_ms) + 30000 ))
  while :; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      cat "$logf" >&2; SERVER_PID=""; die "server exited before it was ready"
    fi
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)"
    [[ "$code" == 200 ]] && return 0
    (( $(now_ms) < deadline )) || { cat "$logf" >&2; die "server not ready after 30 s (last status from $url: $code)"; }
    sleep 0.05
  done
}

post() { # post URL BODY: prints body, then a line with the status
  curl -s -w '\n%{http_code}' --max-time 5 -X POST "$1" \
    -H "Authorization: $BENCH_AUTH" -H 'Content-Type: application/x-www-form-urlencoded' \
    -H 'Accept: application/json' --data "$2" || true
}

start_sampler() { # appends "epoch_ms rss_kb" every 200 ms while the server lives
  local f="$1"
  : >"$f"
  (
    while kill -0 "$SERVER_PID" 2>/dev/null; do
      r="$(rss_kb)"
      [[ -n "$r" ]] && echo "$(now_ms) $r" >>"$f"
      sleep 0.2
    done
  ) &
  SAMPLER_PID=$!
}
peak_between() { # peak_between FILE T0 T1: max rss_kb sampled in [T0, T1]
  awk -v a="$2" -v b="$3" '$1 >= a && $1 <= b && $2 > m { m = $2 } END { if (m) print m }' "$1"
}

# run_wrk NAME PATH BODY EXPECT [CONNS THREADS WARMUP_S]: drives the server,
# leaves the scenario's JSON object in $WORK/NAME.json (default: CONNECTIONS,
# THREADS, WARMUP_S) and the end of the measured load (epoch ms) in LAST_W1.
run_wrk() {
  local name="$1" path="$2" body="$3" expect="$4" out="$WORK/$1.wrk"
  local conns="${5:-$CONNECTIONS}" threads="${6:-$THREADS}" warmup_s="${7:-$WARMUP_S}"
  local busy0 steal0 srv0 kid0 w0 busy1 steal1 srv1 kid1 w1 rc
  if (( warmup_s > 0 )); then
    log "$name: warm-up ${warmup_s}s (not measured)"
    BENCH_PATH="$path" BENCH_BODY="$body" BENCH_EXPECT="$expect" \
      timeout --kill-after=5 $(( warmup_s + 30 )) \
      wrk -t "$threads" -c "$conns" -d "${warmup_s}s" --timeout "$WRK_TIMEOUT" \
          -s "$SRC_DIR/wrk/post.lua" "$BASE$path" >"$out.warmup" 2>&1 &
    WRK_PID=$!
    set +e; wait "$WRK_PID"; rc=$?; set -e
    WRK_PID=""
    (( rc == 0 )) || { cat "$out.warmup" >&2; die "$name: warm-up wrk exited with status $rc"; }
  fi
  log "$name: wrk -t$threads -c$conns -d${DURATION_S}s $BASE$path"
  busy0="$(machine_busy)"; steal0="$(machine_steal)"; srv0="$(server_ticks)"
  times >"$WORK/times0"; kid0="$(children_cpu_s "$WORK/times0")"; w0="$(now_ms)"
  # In the background and waited for, so a signal runs the cleanup at once.
  BENCH_PATH="$path" BENCH_BODY="$body" BENCH_EXPECT="$expect" \
    timeout --kill-after=5 $(( DURATION_S + 30 )) \
    wrk -t "$threads" -c "$conns" -d "${DURATION_S}s" --timeout "$WRK_TIMEOUT" \
        -s "$SRC_DIR/wrk/post.lua" "$BASE$path" >"$out" 2>&1 &
  WRK_PID=$!
  set +e; wait "$WRK_PID"; rc=$?; set -e
  WRK_PID=""
  w1="$(now_ms)"; LAST_W1="$w1"; busy1="$(machine_busy)"; steal1="$(machine_steal)"; srv1="$(server_ticks)"
  times >"$WORK/times1"; kid1="$(children_cpu_s "$WORK/times1")"
  (( rc == 0 )) || { cat "$out" >&2; die "$name: wrk exited with status $rc"; }
  local line sample
  line="$(grep '^BENCH_RESULT ' "$out" || true)"
  [[ -n "$line" ]] || { cat "$out" >&2; die "$name: wrk printed no BENCH_RESULT line"; }
  sample="$(sed -n 's/^BENCH_SAMPLE //p' "$out")"
  declare -A R
  local kv
  for kv in ${line#BENCH_RESULT }; do R["${kv%%=*}"]="${kv#*=}"; done
  local sock=$(( R[connect_errors] + R[read_errors] + R[write_errors] + R[timeout_errors] ))
  local errors=$(( R[non200] + R[bad_body] + sock ))
  local wall=$(( w1 - w0 ))
  local cores='function c(d) { return (d / hz) / (ms / 1000) }'
  local cpu_json
  cpu_json="$(awk -v hz="$CLK_TCK" -v ms="$wall" -v b="$(( busy1 - busy0 ))" -v st="$(( steal1 - steal0 ))" \
      -v s0="${srv0:-}" -v s1="${srv1:-}" -v k0="$kid0" -v k1="$kid1" -v n="$NCPU" "$cores"'
    BEGIN {
      m = c(b); steal = c(st); w = (k1 - k0) / (ms / 1000)
      if (s0 == "" || s1 == "") { srv = "null"; oth = "null" }
      else { s = c(s1 - s0); o = m - s - w - steal; if (o < 0) o = 0; srv = sprintf("%.2f", s); oth = sprintf("%.2f", o) }
      printf "{\"server_cores\":%s,\"wrk_cores\":%.2f,\"other_cores\":%s,\"steal_cores\":%.2f,\"machine_cores\":%d}", srv, w, oth, steal, n
    }')"
  local peak; peak="$(peak_between "$RSS_FILE" "$w0" "$w1")"
  jq -n --argjson rps "${R[rps]}" --argjson requests "${R[requests]}" \
    --argjson p50 "$(ms "${R[lat_p50_us]}")" --argjson p90 "$(ms "${R[lat_p90_us]}")" \
    --argjson p99 "$(ms "${R[lat_p99_us]}")" --argjson max "$(ms "${R[lat_max_us]}")" \
    --argjson errors "$errors" --argjson non200 "${R[non200]}" --argjson bad "${R[bad_body]}" \
    --argjson sock "$sock" --arg statuses "${R[statuses]}" --argjson peak "$(mb "$peak")" \
    --argjson cpu "$cpu_json" --arg sample "$sample" '
    { rps: $rps, requests: $requests, p50_ms: $p50, p90_ms: $p90, p99_ms: $p99, max_ms: $max,
      errors: $errors, non200: $non200, bad_body: $bad, socket_errors: $sock,
      statuses: $statuses, peak_rss_mb: $peak, cpu: $cpu,
      rps_per_server_core: (if ($cpu.server_cores // 0) > 0 then ($rps / $cpu.server_cores | round) else null end) }
    + (if $sample != "" then { first_bad_response: $sample } else {} end)' >"$WORK/$name.json"
  (( errors == 0 )) || log "$name: $errors errors (non-200 ${R[non200]} [${R[statuses]}], bad body ${R[bad_body]}, socket $sock); first: $sample"
}

# ---- peers: install and start ----------------------------------------------
NODE_SRC="$SRC_DIR/node-oidc-provider"
NODE_DIR="$PEERS_DIR/node-oidc-provider"

install_node_peer() {
  command -v node >/dev/null 2>&1 || die "node is required for node-oidc-provider"
  command -v npm >/dev/null 2>&1 || die "npm is required for node-oidc-provider"
  local stamp="$NODE_DIR/.installed" want
  want="$(cat "$NODE_SRC/package.json" "$NODE_SRC/package-lock.json" | sha256sum | cut -d' ' -f1)"
  mkdir -p "$NODE_DIR"
  # server.mjs is copied every time: it holds no dependency, only config.
  cp "$NODE_SRC/server.mjs" "$NODE_DIR/server.mjs"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$NODE_DIR/node_modules/oidc-provider/package.json" ]]; then
    return 0
  fi
  log "installing oidc-provider into $NODE_DIR (npm install)"
  rm -rf -- "$NODE_DIR/node_modules" "$NODE_DIR/.installed"
  cp "$NODE_SRC/package.json" "$NODE_SRC/package-lock.json" "$NODE_DIR/"
  (cd "$NODE_DIR" && timeout 300 npm install --no-audit --no-fund --loglevel=error >&2) \
    || die "npm install failed in $NODE_DIR"
  echo "$want" >"$stamp"
}

start_node_peer() { # start_node_peer ALG
  local alg="$1" logf="$WORK/node-$1.log"
  SERVER_LOG="$logf"
  log "starting node-oidc-provider (alg $alg) on $BASE"
  # DEBUG would turn on the provider's debug output, NODE_OPTIONS could
  # change the runtime: neither is inherited.
  (cd "$NODE_DIR" && exec env -u DEBUG -u NODE_OPTIONS NODE_ENV=production \
     ALG="$alg" PORT="$PORT_USED" BENCH_CLIENT_ID="$CLIENT_ID" BENCH_CLIENT_SECRET="$CLIENT_SECRET" \
     BENCH_RESOURCE="$RESOURCE" BENCH_OPAQUE_RESOURCE="$OPAQUE_RESOURCE" \
     node server.mjs) >"$logf" 2>&1 &
  SERVER_PID=$!
  wait_ready "$BASE/.well-known/openid-configuration" "$logf"
  PEER_VERSION="$(jq -r .version "$NODE_DIR/node_modules/oidc-provider/package.json")"
  PEER_RUNTIME="node $(node --version)"
  PEER_PROCESSES=1
  INTROSPECT_FORMAT=opaque
  INTROSPECT_RESOURCE="$OPAQUE_RESOURCE"
}

AUTHLIB_SRC="$SRC_DIR/authlib"
AUTHLIB_DIR="$PEERS_DIR/authlib"
AUTHLIB_WORKERS=2

install_authlib_peer() {
  command -v python3 >/dev/null 2>&1 || die "python3 is required for the authlib peer"
  local stamp="$AUTHLIB_DIR/.installed" want
  want="$(cat "$AUTHLIB_SRC/requirements.txt" | sha256sum | cut -d' ' -f1)"
  mkdir -p "$AUTHLIB_DIR"
  cp "$AUTHLIB_SRC/app.py" "$AUTHLIB_DIR/app.py"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$AUTHLIB_DIR/venv/bin/gunicorn" ]]; then
    return 0
  fi
  log "installing Authlib, Flask and gunicorn into $AUTHLIB_DIR/venv (pip)"
  rm -rf -- "$AUTHLIB_DIR/venv" "$stamp"
  python3 -m venv "$AUTHLIB_DIR/venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  cp "$AUTHLIB_SRC/requirements.txt" "$AUTHLIB_DIR/"
  timeout 300 "$AUTHLIB_DIR/venv/bin/pip" install -q --disable-pip-version-check \
    -r "$AUTHLIB_DIR/requirements.txt" >&2 || die "pip install failed in $AUTHLIB_DIR"
  echo "$want" >"$stamp"
}

start_authlib_peer() { # start_authlib_peer ALG
  local alg="$1" logf="$WORK/authlib-$1.log" py="$AUTHLIB_DIR/venv/bin/python"
  SERVER_LOG="$logf"
  log "starting Authlib on gunicorn ($AUTHLIB_WORKERS workers, alg $alg) on $BASE"
  (cd "$AUTHLIB_DIR" && exec env -u PYTHONPATH ALG="$alg" BENCH_ISSUER="$BASE" \
     BENCH_CLIENT_ID="$CLIENT_ID" BENCH_CLIENT_SECRET="$CLIENT_SECRET" \
     BENCH_RESOURCE="$RESOURCE" BENCH_OPAQUE_RESOURCE="$OPAQUE_RESOURCE" \
     "$AUTHLIB_DIR/venv/bin/gunicorn" --workers "$AUTHLIB_WORKERS" --worker-class sync \
       --bind "$HOST:$PORT_USED" --log-level warning --preload app:app) >"$logf" 2>&1 &
  SERVER_PID=$!
  wait_ready "$BASE/.well-known/oauth-authorization-server" "$logf"
  PEER_VERSION="$("$py" -c 'import authlib; print(authlib.__version__)')"
  PEER_RUNTIME="python $("$py" -c 'import platform; print(platform.python_version())'), gunicorn $("$py" -c 'import gunicorn; print(gunicorn.__version__)')"
  PEER_PROCESSES=$AUTHLIB_WORKERS
  INTROSPECT_FORMAT=jwt
  INTROSPECT_RESOURCE="$RESOURCE"
}

# ---- one run: a peer, an alg ------------------------------------------------
RUN_FILES=()
SERVER_DIED=false

run_one() { # run_one PEER ALG
  local peer="$1" alg="$2" n="${#RUN_FILES[@]}"
  local load1; load1="$(cut -d' ' -f1 /proc/loadavg)"
  PORT_USED="$(pick_port)"
  BASE="http://$HOST:$PORT_USED"
  case "$peer" in
    node-oidc-provider) start_node_peer "$alg" ;;
    authlib) start_authlib_peer "$alg" ;;
  esac
  local disco token_ep introspect_ep
  disco="$(curl -s --max-time 5 "$BASE/.well-known/openid-configuration")"
  [[ "$peer" == authlib ]] && disco="$(curl -s --max-time 5 "$BASE/.well-known/oauth-authorization-server")"
  token_ep="$(jq -r '.token_endpoint // empty' <<<"$disco")"
  introspect_ep="$(jq -r '.introspection_endpoint // empty' <<<"$disco")"
  [[ -n "$token_ep" && -n "$introspect_ep" ]] || die "$peer: discovery has no token/introspection endpoint: $disco"
  [[ "$token_ep" == "$BASE"/* && "$introspect_ep" == "$BASE"/* ]] || die "$peer: endpoints are not on $BASE"
  local token_path="${token_ep#"$BASE"}" introspect_path="${introspect_ep#"$BASE"}"

  # A real token request, by hand: 200, and a JWT signed with ALG.
  local cc_body="grant_type=client_credentials&scope=read&resource=$(urlenc "$RESOURCE")"
  local probe code body at hdr
  probe="$(post "$token_ep" "$cc_body")"; code="${probe##*$'\n'}"; body="${probe%$'\n'*}"
  [[ "$code" == 200 ]] || die "$peer: probe token request answered $code: $body"
  at="$(jq -r '.access_token // empty' <<<"$body")"
  [[ "$at" =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] || die "$peer: access token is not a JWS compact JWT: $body"
  hdr="$(cut -d. -f1 <<<"$at" | tr '_-' '/+' | awk '{ n = length($0) % 4; if (n) $0 = $0 substr("==", 1, 4 - n); print }' | base64 -d 2>/dev/null || true)"
  [[ "$(jq -r '.alg // empty' <<<"$hdr" 2>/dev/null)" == "$alg" ]] || die "$peer: token header $hdr does not have alg $alg"
  log "$peer ($alg): probe OK, JWT header $hdr"

  sleep 1
  list_server_pids   # after start-up: gunicorn's workers are forked by now
  local idle; idle="$(rss_kb)"
  RSS_FILE="$WORK/rss-$n"
  start_sampler "$RSS_FILE"

  run_wrk "cc-$n" "$token_path" "$cc_body" '"access_token"%s*:%s*"'

  # Token for introspection: obtained now, after the token load (the
  # in-memory LRU of node-oidc-provider keeps only the last 1,000 entries),
  # and checked once by hand.
  local ibody itok
  probe="$(post "$token_ep" "grant_type=client_credentials&scope=read&resource=$(urlenc "$INTROSPECT_RESOURCE")")"
  code="${probe##*$'\n'}"; body="${probe%$'\n'*}"
  [[ "$code" == 200 ]] || die "$peer: token for introspection: status $code: $body"
  itok="$(jq -r '.access_token // empty' <<<"$body")"
  [[ -n "$itok" ]] || die "$peer: token for introspection: no access_token in $body"
  ibody="token=$(urlenc "$itok")&token_type_hint=access_token"
  probe="$(post "$introspect_ep" "$ibody")"; code="${probe##*$'\n'}"; body="${probe%$'\n'*}"
  [[ "$code" == 200 && "$(jq -r '.active' <<<"$body" 2>/dev/null)" == true ]] || die "$peer: probe introspection answered $code: $body"

  run_wrk "in-$n" "$introspect_path" "$ibody" '"active"%s*:%s*true'
  local scen_end="$LAST_W1"

  # Connection sweep of client_credentials (SWEEP): after both scenarios, so
  # that they run exactly as without it. The CONNECTIONS run is a point too.
  local sweep_files=("$WORK/cc-$n.json") sweep_conns=("$CONNECTIONS") sweep_threads=("$THREADS") c t
  for c in "${SWEEP_LIST[@]}"; do
    t=$(( THREADS < c ? THREADS : c ))
    run_wrk "cc-$n-c$c" "$token_path" "$cc_body" '"access_token"%s*:%s*"' "$c" "$t" 0
    sweep_files+=("$WORK/cc-$n-c$c.json"); sweep_conns+=("$c"); sweep_threads+=("$t")
  done
  local i
  for i in "${!sweep_files[@]}"; do
    jq --argjson c "${sweep_conns[$i]}" --argjson t "${sweep_threads[$i]}" '
      { connections: $c, threads: $t, rate_per_s: .rps, p50_ms, p99_ms, errors,
        requests, peak_rss_mb, cpu }' "${sweep_files[$i]}"
  done | jq -s 'sort_by(.connections)' >"$WORK/sweep-$n.json"

  stop_pid "$SAMPLER_PID" "RSS sampler"; SAMPLER_PID=""
  local alive=true
  kill -0 "$SERVER_PID" 2>/dev/null || { alive=false; SERVER_DIED=true; log "$peer ($alg): server died during the load"; tail -n 20 "$SERVER_LOG" >&2; }
  local peak; peak="$(peak_between "$RSS_FILE" 0 "$scen_end")"
  stop_pid "$SERVER_PID" server; SERVER_PID=""
  local warn; warn="$(grep -ciE 'server_error|error|exception|traceback' "$SERVER_LOG" || true)"
  (( warn == 0 )) || { log "$peer ($alg): $warn error lines in the server log:"; grep -iE 'server_error|error|exception|traceback' "$SERVER_LOG" | head -n 5 >&2; }

  jq -n --arg peer "$peer" --arg version "$PEER_VERSION" --arg runtime "$PEER_RUNTIME" \
    --argjson processes "$PEER_PROCESSES" --arg alg "$alg" \
    --slurpfile cc "$WORK/cc-$n.json" --slurpfile in "$WORK/in-$n.json" --arg ifmt "$INTROSPECT_FORMAT" \
    --slurpfile sweep "$WORK/sweep-$n.json" \
    --argjson idle "$(mb "$idle")" --argjson peak "$(mb "$peak")" \
    --argjson c "$CONNECTIONS" --argjson t "$THREADS" --argjson d "$DURATION_S" --argjson alive "$alive" --argjson load1 "$load1" --argjson w "$WARMUP_S" '
    { peer: $peer, version: $version, runtime: $runtime, processes: $processes, alg: $alg,
      client_credentials: ($cc[0] + { token_format: "jwt" }),
      introspection: ($in[0] + { token_format: $ifmt }),
      idle_rss_mb: $idle, peak_rss_mb: $peak,
      connections: $c, threads: $t, duration_s: $d, warmup_s: $w, server_alive: $alive,
      loadavg_1m_before: $load1, sweep: $sweep[0] }' >"$WORK/run-$n.json"
  RUN_FILES+=("$WORK/run-$n.json")
}

# ---- main -------------------------------------------------------------------
CLIENT_SECRET="$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')"
BENCH_AUTH="Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"
export BENCH_AUTH

for peer in "${PEER_LIST[@]}"; do
  case "$peer" in
    node-oidc-provider) install_node_peer ;;
    authlib) install_authlib_peer ;;
  esac
done

log "machine: $NCPU cores; load average $(cut -d' ' -f1-3 /proc/loadavg); busiest processes now:"
top -bn1 -o %CPU 2>/dev/null | sed -n '7,12p' >&2 || true

for peer in "${PEER_LIST[@]}"; do
  for alg in "${ALGS[@]}"; do
    run_one "$peer" "$alg"
  done
done

mkdir -p "$(dirname "$OUT")"
if (( ${#RUN_FILES[@]} == 1 )); then
  jq . "${RUN_FILES[0]}" >"$OUT"
else
  jq -s --argjson c "$CONNECTIONS" --argjson t "$THREADS" --argjson d "$DURATION_S" --argjson w "$WARMUP_S" \
    '{ connections: $c, threads: $t, duration_s: $d, warmup_s: $w, runs: . }' "${RUN_FILES[@]}" >"$OUT"
fi

# ---- table ------------------------------------------------------------------
{
  echo
  sweep_note=""
  (( ${#SWEEP_LIST[@]} == 0 )) || sweep_note="; client_credentials also at c=$(IFS=,; echo "${SWEEP_LIST[*]}")"
  echo "Peers: t=$THREADS c=$CONNECTIONS d=${DURATION_S}s per scenario, 127.0.0.1, $NCPU cores$sweep_note"
  jq -rs '
    def f1: if . == null then "-" else (. * 10 | round / 10 | tostring) end;
    def f2: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
    (["peer", "version", "alg", "scenario", "req/s", "p50 ms", "p99 ms", "errors", "idle MB", "peak MB", "cpu srv/wrk/other", "req/s per srv core"] | @tsv),
    (.[] | . as $r
      | ( ((["client_credentials", .client_credentials], ["introspection(" + .introspection.token_format + ")", .introspection]) as [$name, $s]
           | [$r.peer + " x" + ($r.processes | tostring), $r.version, $r.alg, $name, ($s.rps | f1), ($s.p50_ms | f2), ($s.p99_ms | f2),
              ($s.errors | tostring), ($r.idle_rss_mb | f1), ($s.peak_rss_mb | f1),
              (($s.cpu.server_cores | f2) + "/" + ($s.cpu.wrk_cores | f2) + "/" + ($s.cpu.other_cores | f2)),
              ($s.rps_per_server_core | tostring)]),
          ((.sweep // [])[] | select(.connections != $r.connections)
           | [$r.peer + " x" + ($r.processes | tostring), $r.version, $r.alg,
              "client_credentials c=" + (.connections | tostring) + " t=" + (.threads | tostring),
              (.rate_per_s | f1), (.p50_ms | f2), (.p99_ms | f2), (.errors | tostring), "-", (.peak_rss_mb | f1),
              ((.cpu.server_cores | f2) + "/" + (.cpu.wrk_cores | f2) + "/" + (.cpu.other_cores | f2)),
              (if (.cpu.server_cores // 0) > 0 then (.rate_per_s / .cpu.server_cores | round | tostring) else "null" end)]) )
      | @tsv)
  ' "${RUN_FILES[@]}" | if command -v column >/dev/null 2>&1; then column -t -s $'\t'; else tr '\t' ' '; fi
  echo
  echo "written: $OUT"
} >&2

$SERVER_DIED && die "a server died during the load"
exit 0
