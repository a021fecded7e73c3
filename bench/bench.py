#!/usr/bin/env python3
"""Portcullis benchmark driver; run it through bench/run (which builds).

Runs every scenario against servers it starts on 127.0.0.1, each on a fresh
store (a temp data dir for SQLite, a new database for PostgreSQL), with wrk
(or, for the full browser flow, a Python driver), bounded in time. Prints one
table, writes bench/out/results.json and bench/out/cc-connections.svg.
Stops only the processes it started (by PID) and drops only the databases
it created. See bench/README.md.
"""

import base64
import datetime
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import http.client
import urllib.parse

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
OUT_DIR = os.path.join(BENCH_DIR, "out")
WRK_DIR = os.path.join(BENCH_DIR, "wrk")
HOST = "127.0.0.1"  # fixed: load only ever goes to loopback
sys.path.insert(0, BENCH_DIR)
import flow  # noqa: E402
import chart  # noqa: E402
import profile_summary  # noqa: E402

REDIRECT_URI = "https://app.example/cb"
PASSWORD = "pass-word-123"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Targets from the performance issue.
TARGETS = {
    "cc_es256_per_s": 20000,
    "introspection_per_s": 25000,
    "p99_ms_at_half_peak": 5.0,
    "idle_rss_mb": 20.0,
    "peak_rss_mb": 64.0,
    "ready_ms": 200,
    "errors": 0,
}


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


class BenchFailure(Exception):
    pass


# ---------------------------------------------------------------- options --

def parse_duration(s):
    m = re.fullmatch(r"(\d+)([smh]?)", s.strip())
    if not m:
        raise BenchFailure(f"DURATION must look like 10, 10s, 2m (got {s!r})")
    n = int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    if not 1 <= n <= 3600:
        raise BenchFailure("DURATION must be between 1s and 1h")
    return n


def env_int(name, default, lo, hi):
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise BenchFailure(f"{name} must be an integer in {lo}..{hi} (got {raw!r})")
    return int(raw)


class Options:
    def __init__(self, argv):
        self.peers = "--peers" in argv
        unknown = [a for a in argv if a not in ("--peers",)]
        if unknown:
            raise BenchFailure(f"unknown argument(s): {' '.join(unknown)} (only --peers)")
        self.quick = os.environ.get("QUICK", "") not in ("", "0")
        self.duration = 2 if self.quick else parse_duration(os.environ.get("DURATION", "10s"))
        self.connections = env_int("CONNECTIONS", 64, 2, 10000)
        self.threads = env_int("THREADS", 2, 1, 64)
        if self.threads > self.connections:
            raise BenchFailure("THREADS must not exceed CONNECTIONS")
        self.wrk_timeout = os.environ.get("WRK_TIMEOUT", "2s")
        if not re.fullmatch(r"\d+(ms|s)?", self.wrk_timeout):
            raise BenchFailure("WRK_TIMEOUT must look like 2s or 500ms")
        sweep = os.environ.get("SWEEP", "8,32,128")
        try:
            self.sweep = sorted({int(x) for x in sweep.split(",") if x.strip()})
        except ValueError:
            raise BenchFailure(f"SWEEP must be a comma-separated list of integers (got {sweep!r})")
        self.flow_workers = env_int("FLOW_WORKERS", 4, 1, 64)
        self.backends = [b for b in os.environ.get("BACKENDS", "sqlite,postgres").split(",") if b]
        for b in self.backends:
            if b not in ("sqlite", "postgres"):
                raise BenchFailure(f"BACKENDS: unknown backend {b!r} (sqlite, postgres)")
        self.pg_host = "127.0.0.1"
        self.pg_port = env_int("PG_PORT", 5432, 1, 65535)
        self.pg_user = os.environ.get("PG_USER", "postgres")
        self.bin = os.environ["BENCH_BIN_RESOLVED"]
        # PROFILE=REGEX: run `perf record` on the server during every wrk
        # scenario whose tag (e.g. sq-cc, po-intro, po-intro-key) matches.
        self.profile = os.environ.get("PROFILE") or None
        if self.profile:
            try:
                re.compile(self.profile)
            except re.error as e:
                raise BenchFailure(f"PROFILE is not a regular expression: {e}")


# ---------------------------------------------------------------- helpers --

STARTED = []          # Popen objects this run started, for the cleanup
SERVERS = []          # Server objects, to save their logs whatever happens
DATABASES = []        # PostgreSQL databases this run created
TMP_ROOT = None


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PORTCULLIS_") and k != "RUST_LOG" and not k.startswith("BENCH_")}
    env["PORTCULLIS_LOG_LEVEL"] = "warn"
    env.update(extra or {})
    return env


def free_port(start=18100):
    for p in range(start, start + 400):
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((HOST, p))
        except OSError:
            continue
        finally:
            s.close()
        # bound fine: is anything listening (bind with REUSEADDR can succeed
        # beside a TIME_WAIT socket, never beside a listener)?
        return p
    raise BenchFailure("no free port in 18100..18499")


_next_port = [18100]


def take_port():
    p = free_port(_next_port[0])
    _next_port[0] = p + 1
    return p


def profiled(server, tag, fn):
    """Runs fn() with `perf record` sampling the server (DWARF call graphs,
    299 Hz), then writes bench/out/profiles/TAG.{svg,folded,txt}: an inferno
    flame graph, the folded stacks, and perf's flat profile by symbol. The
    sampling costs the server some throughput: a profiled row is not a
    figure of record."""
    outdir = os.path.join(OUT_DIR, "profiles")
    os.makedirs(outdir, exist_ok=True)
    data = os.path.join(TMP_ROOT, f"{tag}.perf.data")
    perf = subprocess.Popen(["perf", "record", "-q", "-F", "299", "--call-graph", "dwarf,16384",
                             "-p", str(server.proc.pid), "-o", data],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    STARTED.append(perf)
    time.sleep(0.5)
    try:
        result = fn()
    finally:
        if perf.poll() is None:
            perf.send_signal(signal.SIGINT)
        try:
            perf.wait(120)
        except subprocess.TimeoutExpired:
            stop_pid(perf, "perf record")
    if not os.path.exists(data):
        raise BenchFailure(f"perf record wrote nothing: {perf.stderr.read().decode(errors='replace')[-500:]}")
    try:
        log(f"  profile {tag}: processing the samples (perf script | inferno)")
        script = subprocess.run(["perf", "script", "-i", data], capture_output=True, check=True)
        folded = subprocess.run(["inferno-collapse-perf", "--kernel"], input=script.stdout,
                                capture_output=True, check=True).stdout
        with open(os.path.join(outdir, f"{tag}.folded"), "wb") as f:
            f.write(folded)
        svg = subprocess.run(["inferno-flamegraph", "--title", f"portcullis serve: {tag}"],
                             input=folded, capture_output=True, check=True).stdout
        with open(os.path.join(outdir, f"{tag}.svg"), "wb") as f:
            f.write(svg)
        flat = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,symbol",
                               "-g", "none", "--stdio", "--percent-limit", "0.3"],
                              capture_output=True, check=True)
        total, totals = profile_summary.summarize(folded.decode(errors="replace").splitlines())
        summary = [f"{100 * n / total:5.1f} %  {cat}" for cat, n in totals.most_common()] if total else []
        with open(os.path.join(outdir, f"{tag}.txt"), "wb") as f:
            f.write(("Self time by category (bench/profile_summary.py):\n" + "\n".join(summary)
                     + "\n\n").encode())
            f.write(flat.stdout)
        result["profile_summary"] = summary
        os.remove(data)
    except (subprocess.CalledProcessError, OSError) as e:
        log(f"  profile {tag}: could not process the samples ({e}); the row stands without it")
        return result
    result["profile"] = os.path.join("profiles", f"{tag}.svg")
    log(f"  profile {tag}: bench/out/profiles/{tag}.svg")
    return result


def stop_pid(p, name, grace=10.0):
    """SIGTERM to one process we started; SIGKILL if still alive after grace."""
    if p.poll() is not None:
        return p.returncode
    try:
        p.send_signal(signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        return p.wait(grace)
    except subprocess.TimeoutExpired:
        log(f"{name} (pid {p.pid}) ignored SIGTERM for {grace:.0f} s; sending SIGKILL")
        p.kill()
        return p.wait()


def proc_status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def postgres_ticks():
    """CPU ticks of every process named `postgres` (the local PostgreSQL
    server's backends, whoever they serve), read from /proc only, keyed by
    (pid, start time) so that the delta over a window counts processes that
    started during it and ignores those that ended (a plain sum would go
    down when a busy backend exits)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        name = raw[raw.find("(") + 1:raw.rfind(")")]
        if name == "postgres" or name.startswith("postgres:"):
            f2 = raw.rsplit(")", 1)[1].split()
            out[(d, f2[19])] = int(f2[11]) + int(f2[12])
    return out


def ticks_delta(before, after):
    return sum(t - before.get(k, 0) for k, t in after.items())


def machine_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
    return busy, v[7]


def self_and_children_cpu_s():
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def mb(kb):
    return None if kb is None else round(kb / 1024, 1)


def http_get(port, path, timeout=1.0):
    c = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


# ----------------------------------------------------------------- stores --

class Store:
    """A fresh SQLite data dir or a fresh PostgreSQL database."""

    def __init__(self, opts, backend, label, alg):
        self.opts = opts
        self.backend = backend
        self.label = label
        # The CLI and the server must share the config: a CLI run with another
        # signing_alg (e.g. the default ES256) makes a key of *its* algorithm
        # current in the store, and a running server switches to it at its
        # next key refresh.
        self.env = {"PORTCULLIS_SIGNING_ALG": alg}
        if backend == "sqlite":
            self.path = os.path.join(TMP_ROOT, label)
            self.args = ["--data-dir", self.path]
        else:
            name = f"bench_{int(time.time())}_{os.getpid()}_{len(DATABASES)}"
            psql(opts, f'CREATE DATABASE "{name}"')
            DATABASES.append(name)
            self.db = name
            # PostgreSQL deployments name their key-encryption key.
            kek = os.path.join(TMP_ROOT, f"{name}.kek")
            subprocess.run([opts.bin, "keys", "new-kek", "--out", kek], check=True,
                           capture_output=True, timeout=60)
            self.args = ["--database-url",
                         f"postgres://{opts.pg_user}@{opts.pg_host}:{opts.pg_port}/{name}",
                         "--kek-file", kek]

    def cli(self, *args, stdin=None):
        cmd = [self.opts.bin] + self.args + list(args)
        r = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                           env=clean_env(self.env), timeout=120)
        if r.returncode != 0:
            raise BenchFailure(f"{' '.join(args[:2])} failed ({r.returncode}): {r.stderr.strip()[:500]}")
        return r.stdout


def psql(opts, sql, db="test"):
    r = subprocess.run(["psql", "-h", opts.pg_host, "-p", str(opts.pg_port), "-U", opts.pg_user,
                        "-d", db, "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise BenchFailure(f"psql {sql!r}: {r.stderr.strip()}")
    return r.stdout


def pg_available(opts):
    if shutil.which("psql") is None:
        return "psql is not installed"
    try:
        psql(opts, "SELECT 1")
    except (BenchFailure, subprocess.TimeoutExpired) as e:
        return f"PostgreSQL at {opts.pg_host}:{opts.pg_port} unreachable: {str(e)[:200]}"
    return None


class Fixtures:
    pass


def make_fixtures(store, users=0, code_client=True):
    fx = Fixtures()
    store.cli("scope", "define", "read", "--description", "Read")
    cc = json.loads(store.cli("client", "create", "--name", "bench-cc", "--grant-type",
                              "client_credentials", "--scope", "read", "--json"))
    fx.cc_id, fx.cc_secret = cc["client_id"], cc["client_secret"]
    fx.cc_auth = flow.basic(fx.cc_id, fx.cc_secret)
    if code_client:
        web = json.loads(store.cli("client", "create", "--name", "bench-web",
                                   "--grant-type", "authorization_code",
                                   "--grant-type", "refresh_token",
                                   "--redirect-uri", REDIRECT_URI, "--scope", "read",
                                   "--no-pkce", "--json"))
        fx.web_id, fx.web_secret = web["client_id"], web["client_secret"]
        fx.web_auth = flow.basic(fx.web_id, fx.web_secret)
    fx.users = []
    for i in range(users):
        name = f"bench{i}"
        store.cli("user", "create", "--username", name, "--password-stdin", stdin=PASSWORD)
        fx.users.append(name)
    return fx


# ---------------------------------------------------------------- servers --

class Server:
    def __init__(self, opts, store, label, alg, extra_env=None):
        self.opts, self.store, self.label, self.alg = opts, store, label, alg
        self.port = take_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log_path = os.path.join(TMP_ROOT, f"{label}.log")
        self.extra_env = dict(extra_env or {})
        self.extra_env.update(store.env)
        assert store.env["PORTCULLIS_SIGNING_ALG"] == alg
        self.proc = None
        self.ready_ms = None
        self.idle_rss_kb = None
        self.peak_rss_kb = None
        self.final_hwm_kb = None
        self.samples_max_kb = 0
        self.log_pos = 0
        self.exit_code = None

    def start(self):
        logf = open(self.log_path, "ab")
        cmd = [self.opts.bin] + self.store.args + ["serve", "--listen", f"{HOST}:{self.port}"]
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=clean_env(self.extra_env))
        logf.close()
        STARTED.append(self.proc)
        last = None
        while True:
            if self.proc.poll() is not None:
                raise BenchFailure(f"server {self.label} exited ({self.proc.returncode}) before it was ready:\n"
                                   + self.read_log()[-2000:])
            try:
                st, _ = http_get(self.port, "/readyz", timeout=1.0)
                last = st
                if st == 200:
                    break
            except OSError as e:
                last = repr(e)
            if time.monotonic() - t0 > 30:
                raise BenchFailure(f"server {self.label} not ready after 30 s (last: {last})")
            time.sleep(0.002)
        self.ready_ms = round((time.monotonic() - t0) * 1000, 1)
        log(f"{self.label}: ready after {self.ready_ms} ms on {self.base} (pid {self.proc.pid})")

    def rss_kb(self):
        return proc_status_kb(self.proc.pid, "VmRSS")

    def hwm_kb(self):
        return proc_status_kb(self.proc.pid, "VmHWM")

    def ticks(self):
        return proc_ticks(self.proc.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def read_log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def new_log_lines(self):
        """Warn/error lines logged since the last call."""
        try:
            with open(self.log_path, "r", errors="replace") as f:
                f.seek(self.log_pos)
                text = f.read()
                self.log_pos = f.tell()
        except OSError:
            return []
        return [l for l in text.splitlines() if re.search(r"WARN|ERROR|panicked", l)]

    def stop(self):
        if self.proc is None:
            return
        if self.exit_code is not None:
            return
        self.final_hwm_kb = self.hwm_kb()
        self.peak_rss_kb = max(self.samples_max_kb, self.final_hwm_kb or 0)
        self.exit_code = stop_pid(self.proc, f"server {self.label}")
        log(f"{self.label}: stopped (exit status {self.exit_code})")
        self.save_log()

    def save_log(self):
        os.makedirs(os.path.join(OUT_DIR, "logs"), exist_ok=True)
        if os.path.exists(self.log_path):
            shutil.copy(self.log_path, os.path.join(OUT_DIR, "logs", f"{self.label}.log"))


class Sampler:
    """Polls VmRSS of the given servers every 100 ms; keeps the maxima."""

    def __init__(self, servers):
        self.servers = servers
        self.max_kb = {s.label: 0 for s in servers}
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop_ev.is_set():
            for s in self.servers:
                r = s.rss_kb()
                if r is not None and r > self.max_kb[s.label]:
                    self.max_kb[s.label] = r
                if r is not None and r > s.samples_max_kb:
                    s.samples_max_kb = r
            self.stop_ev.wait(0.1)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *a):
        self.stop_ev.set()
        self.t.join()


class CpuWindow:
    def __init__(self, servers):
        self.servers = servers

    def __enter__(self):
        self.t0 = time.monotonic()
        self.busy0, self.steal0 = machine_ticks()
        self.srv0 = [s.ticks() for s in self.servers]
        self.pg0 = postgres_ticks()
        self.gen0 = self_and_children_cpu_s()
        self.load0 = open("/proc/loadavg").read().split()[:3]
        return self

    def __exit__(self, *a):
        dt = max(time.monotonic() - self.t0, 1e-3)
        busy1, steal1 = machine_ticks()
        srv1 = [s.ticks() for s in self.servers]
        pg = max(ticks_delta(self.pg0, postgres_ticks()), 0) / CLK_TCK / dt
        gen = (self_and_children_cpu_s() - self.gen0) / dt
        machine = (busy1 - self.busy0) / CLK_TCK / dt
        steal = (steal1 - self.steal0) / CLK_TCK / dt
        if all(a is not None and b is not None for a, b in zip(self.srv0, srv1)):
            server = sum(b - a for a, b in zip(self.srv0, srv1)) / CLK_TCK / dt
            other = max(machine - server - gen - steal - pg, 0.0)
            server, other = round(server, 2), round(other, 2)
        else:
            server = other = None
        self.result = {"server": server, "postgres": round(pg, 2), "load_generator": round(gen, 2), "other": other,
                       "steal": round(steal, 2), "machine_busy": round(machine, 2),
                       "loadavg_before": " ".join(self.load0)}


# -------------------------------------------------------------------- wrk --

def parse_result(text):
    line = next((l for l in text.splitlines() if l.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise BenchFailure("wrk printed no BENCH_RESULT line:\n" + text[-2000:])
    r = {}
    for kv in line.split()[1:]:
        k, _, v = kv.partition("=")
        if k == "statuses":
            r[k] = v
        else:
            r[k] = float(v) if "." in v else int(v)
    sample = next((l[len("BENCH_SAMPLE "):] for l in text.splitlines()
                   if l.startswith("BENCH_SAMPLE ")), None)
    r["sample"] = sample
    r["socket_errors"] = r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeout_errors"]
    r["errors"] = r["non2xx"] + r["bad_body"] + r["socket_errors"]
    return r


def run_wrk(opts, jobs, duration_s, script, tag):
    """Runs one wrk process per job in parallel.
    job: dict(url, env, connections, threads). Returns parsed results."""
    procs = []
    for i, job in enumerate(jobs):
        done_prefix = os.path.join(TMP_ROOT, f"done-{tag}-{i}.")
        env = dict(os.environ)
        env.update({"BENCH_WRK_DIR": WRK_DIR, "BENCH_THREADS": str(job["threads"]),
                    "BENCH_DONE_PREFIX": done_prefix})
        env.update(job["env"])
        out_path = os.path.join(TMP_ROOT, f"wrk-{tag}-{i}.out")
        outf = open(out_path, "wb")
        cmd = ["wrk", "-t", str(job["threads"]), "-c", str(job["connections"]),
               "-d", f"{duration_s}s", "--timeout", opts.wrk_timeout,
               "-s", os.path.join(WRK_DIR, script), job["url"]]
        p = subprocess.Popen(cmd, stdout=outf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        outf.close()
        STARTED.append(p)
        procs.append((p, job, done_prefix, out_path))
    deadline = time.monotonic() + duration_s + 30
    interrupted = set()
    while any(p.poll() is None for p, *_ in procs):
        for p, job, prefix, _ in procs:
            if p.poll() is None and p.pid not in interrupted:
                ndone = sum(1 for t in range(1, job["threads"] + 1) if os.path.exists(f"{prefix}{t}"))
                if ndone == job["threads"]:
                    # Every thread ran out of codes/tokens: end wrk's -d wait.
                    p.send_signal(signal.SIGINT)
                    interrupted.add(p.pid)
        if time.monotonic() > deadline:
            for p, *_ in procs:
                if p.poll() is None:
                    log(f"wrk (pid {p.pid}) still running 30 s after its duration; killing it")
                    p.kill()
        time.sleep(0.05)
    results = []
    for p, job, _, out_path in procs:
        text = open(out_path, errors="replace").read()
        if p.returncode != 0:
            raise BenchFailure(f"wrk exited with status {p.returncode}:\n{text[-2000:]}")
        results.append(parse_result(text))
    return results


def combine(results):
    """Sums several wrk processes run side by side (two instances)."""
    if len(results) == 1:
        return results[0]
    r = {}
    for k in ("requests", "ok", "non2xx", "bad_body", "filler", "connect_errors", "read_errors",
              "write_errors", "timeout_errors", "socket_errors", "errors", "threads_stopped_early"):
        r[k] = sum(x[k] for x in results)
    r["rps"] = sum(x["rps"] for x in results)
    r["ok_per_s"] = sum(x["ok_per_s"] for x in results)
    r["duration_s"] = max(x["duration_s"] for x in results)
    for k in ("lat_p50_us", "lat_p90_us", "lat_p99_us", "lat_max_us"):
        r[k] = max(x[k] for x in results)   # the worse of the instances
    r["lat_mean_us"] = sum(x["lat_mean_us"] * x["requests"] for x in results) / max(r["requests"], 1)
    st = {}
    for x in results:
        if x["statuses"] != "none":
            for kv in x["statuses"].split(","):
                c, n = kv.split(":")
                st[c] = st.get(c, 0) + int(n)
    r["statuses"] = ",".join(f"{c}:{n}" for c, n in sorted(st.items())) or "none"
    r["sample"] = next((x["sample"] for x in results if x["sample"]), None)
    r["per_instance_rps"] = [x["rps"] for x in results]
    r["per_instance"] = [{k: x[k] for k in ("rps", "ok", "errors", "lat_p50_us", "lat_p90_us", "lat_p99_us",
                                            "lat_max_us", "duration_s", "statuses")} for x in results]
    return r


# -------------------------------------------------------------- the bench --

class Bench:
    def __init__(self, opts):
        self.opts = opts
        self.rows = []
        self.servers = []
        self.notes = []
        self.sweep = []
        self.apikey_cmd = None

    # One measured row.
    def row(self, backend, scenario, servers, result, connections, *, alg="ES256",
            instances=1, target=None, note=None, unit="req/s", kind="wrk"):
        warn = []
        for s in servers:
            warn += [f"{s.label}: {l}" for l in s.new_log_lines()]
        r = {
            "backend": backend, "scenario": scenario, "alg": alg, "instances": instances,
            "connections": connections, "kind": kind, "unit": unit,
            "rate_per_s": round(result["ok_per_s"], 1),
            "requests": result["requests"], "ok": result["ok"],
            "duration_s": round(result["duration_s"], 3),
            "errors": result["errors"],
            "errors_detail": {k: result.get(k) for k in
                              ("non2xx", "bad_body", "socket_errors", "statuses", "sample",
                               "timeout_errors", "connect_errors", "read_errors", "write_errors")
                              if k in result},
            "latency_ms": {k: round(result[f"lat_{k}_us"] / 1000, 2) for k in ("p50", "p90", "p99", "max")},
            "peak_rss_mb": result.get("peak_rss_mb"),
            "cpu_cores": result.get("cpu"),
            "server_warn_lines": len(warn),
            "server_warn_sample": warn[:5],
            "servers_alive_after": all(s.alive() for s in servers),
            "target": target, "note": note,
            "profile": result.get("profile"),
            "profile_summary": result.get("profile_summary"),
        }
        if r["profile"]:
            r["note"] = ((note + "; ") if note else "") + "profiled with perf (slower): " + r["profile"]
        if "per_instance_rps" in result:
            r["per_instance_rps"] = [round(x, 1) for x in result["per_instance_rps"]]
            r["per_instance"] = result["per_instance"]
        if target:
            r["target_met"] = self.judge(r, target)
        self.rows.append(r)
        lat = r["latency_ms"]
        log(f"  {backend:8} {scenario:38} {r['rate_per_s']:>10,.1f}/s  p50 {lat['p50']} ms  "
            f"p99 {lat['p99']} ms  errors {r['errors']}  peak RSS {r['peak_rss_mb']} MB"
            + (f"  [{result['statuses']}]" if r["errors"] else ""))
        if warn:
            log(f"  server logged {len(warn)} warn/error line(s), first: {warn[0][:300]}")
        return r

    @staticmethod
    def judge(r, target):
        ok = r["errors"] == 0 and r["servers_alive_after"]
        if "min_rate" in target:
            ok = ok and r["rate_per_s"] >= target["min_rate"]
        if "max_p99_ms" in target:
            ok = ok and r["latency_ms"]["p99"] < target["max_p99_ms"]
        return ok

    def measure(self, servers, fn):
        """Runs fn() under the RSS sampler and the CPU window."""
        with Sampler(servers) as smp, CpuWindow(servers) as cpu:
            result = fn()
        result["peak_rss_mb"] = mb(max(smp.max_kb.values()))
        result["cpu"] = cpu.result
        return result

    def wrk(self, servers, script, env, connections, duration, tag, jobs=None, threads=None):
        threads = threads or min(self.opts.threads, connections)
        if jobs is None:
            jobs = [{"url": servers[0].base, "env": env, "connections": connections, "threads": threads}]
        run = lambda: combine(run_wrk(self.opts, jobs, duration, script, tag))  # noqa: E731
        if self.opts.profile and re.fullmatch(self.opts.profile, tag):
            return self.measure(servers, lambda: profiled(servers[0], tag, run))
        return self.measure(servers, run)

    # ---- scenario helpers
    def cc_env(self, fx, s):
        # Every token must start with the JOSE header of the probe's token:
        # the expected alg and the same key (see idle()).
        return {"BENCH_AUTH": fx.cc_auth, "BENCH_PATH": "/oauth/token",
                "BENCH_BODY": "grant_type=client_credentials",
                "BENCH_EXPECT": f'"access_token":"{s.jose_header}.|"token_type":"Bearer"'}

    def start_server(self, backend, store, label, alg, extra_env=None, server=None):
        s = server or Server(self.opts, store, label, alg, extra_env)
        self.servers.append(s)
        SERVERS.append(s)
        s.backend = backend
        s.start()
        return s

    def idle(self, s, fx):
        """One token request, then VmRSS one second later: the idle figure."""
        b = flow.Browser(HOST, s.port)
        st, _, body = b.request("POST", "/oauth/token", form={"grant_type": "client_credentials"},
                                headers={"Authorization": fx.cc_auth})
        b.close()
        if st != 200 or '"access_token"' not in body:
            raise BenchFailure(f"probe token request on {s.label} answered {st}: {body[:300]}")
        seg = json.loads(body)["access_token"].split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))
        if header.get("alg") != s.alg:
            raise BenchFailure(f"{s.label}: token signed with {header.get('alg')}, expected {s.alg}: {header}")
        s.jose_header = seg
        s.jose_header_json = header
        time.sleep(1.0)
        s.idle_rss_kb = s.rss_kb()
        s.idle_threads = proc_status_kb(s.proc.pid, "Threads")

    def collect(self, servers, mode, duration, quota, tag, env_of, connections=None):
        """Prep run: codes (mode=code) or JWTs (mode=token), one file per
        server. Returns (files, combined result)."""
        jobs, files = [], []
        conns = connections or self.opts.connections
        n = len(servers)
        for i, s in enumerate(servers):
            prefix = os.path.join(TMP_ROOT, f"{tag}-{i}.")
            env = {"BENCH_MODE": mode, "BENCH_QUOTA": str(quota), "BENCH_OUT_PREFIX": prefix}
            env.update(env_of(s))
            th = max(1, min(self.opts.threads // n, conns // n))
            jobs.append({"url": s.base, "env": env, "connections": max(conns // n, th), "threads": th})
            files.append((prefix, th))
        result = self.wrk(servers, "collect.lua", None, conns, duration, tag, jobs=jobs)
        out = []
        for prefix, th in files:
            path = prefix + "all"
            with open(path, "w") as f:
                for t in range(1, th + 1):
                    try:
                        f.write(open(f"{prefix}{t}").read())
                    except OSError:
                        pass
            out.append(path)
        return out, result

    @staticmethod
    def count_lines(path):
        with open(path) as f:
            return sum(1 for l in f if l.strip())

    # ---- the scenario sets
    def run_backend(self, backend):
        o = self.opts
        D = o.duration
        C = o.connections
        tagb = backend[:2]

        # Main server: ES256, every single-instance scenario.
        store = Store(o, backend, f"{backend}-es256", "ES256")
        s = self.start_server(backend, store, f"{backend}-es256", "ES256")
        fx = make_fixtures(store, users=o.flow_workers + 1)
        self.idle(s, fx)
        S = [s]

        r = self.row(backend, "client_credentials ES256", S,
                     self.wrk(S, "post.lua", self.cc_env(fx, s), C, D, f"{tagb}-cc"), C,
                     target={"min_rate": TARGETS["cc_es256_per_s"]})
        self.sweep.append({"backend": backend, "connections": C, "rate_per_s": r["rate_per_s"],
                           "p99_ms": r["latency_ms"]["p99"], "errors": r["errors"],
                               "cpu_other": (r["cpu_cores"] or {}).get("other")})
        peak = r["rate_per_s"]
        half = max(1, int(peak / 2))
        env = dict(self.cc_env(fx, s), BENCH_RATE=str(half))
        self.row(backend, "client_credentials ES256 @50% of peak", S,
                 self.wrk(S, "post.lua", env, C, D, f"{tagb}-cc-half"), C,
                 target={"max_p99_ms": TARGETS["p99_ms_at_half_peak"]},
                 note=f"paced to {half}/s (half of {peak:,.0f}/s)")

        for c in o.sweep:
            if c == C:
                continue
            r = self.row(backend, f"client_credentials ES256 c={c}", S,
                         self.wrk(S, "post.lua", self.cc_env(fx, s), c, D, f"{tagb}-cc-c{c}"), c,
                         note="connection sweep (chart)")
            self.sweep.append({"backend": backend, "connections": c, "rate_per_s": r["rate_per_s"],
                               "p99_ms": r["latency_ms"]["p99"], "errors": r["errors"],
                               "cpu_other": (r["cpu_cores"] or {}).get("other")})

        # Introspection of JWTs: a pool of 1,000 distinct tokens, cycled.
        files, prep = self.collect(S, "token", max(5, D), 500, f"{tagb}-jwt",
                                   lambda srv: {"BENCH_AUTH": fx.cc_auth}, connections=min(C, 16))
        njwt = self.count_lines(files[0])
        if njwt == 0:
            raise BenchFailure(f"could not collect any JWT for introspection (statuses {prep['statuses']})")
        s.new_log_lines()
        intro_env = {"BENCH_AUTH": fx.cc_auth, "BENCH_PATH": "/oauth/introspect",
                     "BENCH_TOKENS_FILE": files[0], "BENCH_BODY_PREFIX": "token=",
                     "BENCH_EXPECT": '"active":true'}
        r = self.row(backend, "introspect JWT", S,
                     self.wrk(S, "post.lua", intro_env, C, D, f"{tagb}-intro"), C,
                     target={"min_rate": TARGETS["introspection_per_s"]},
                     note=f"{njwt} distinct ES256 JWTs, cycled")
        half = max(1, int(r["rate_per_s"] / 2))
        self.row(backend, "introspect JWT @50% of peak", S,
                 self.wrk(S, "post.lua", dict(intro_env, BENCH_RATE=str(half)), C, D, f"{tagb}-intro-half"), C,
                 target={"max_p99_ms": TARGETS["p99_ms_at_half_peak"]},
                 note=f"paced to {half}/s (half of {r['rate_per_s']:,.0f}/s)")

        # Introspection of API keys, when this build has them.
        if self.apikey_cmd:
            keys_path = os.path.join(TMP_ROOT, f"{tagb}-apikeys")
            with open(keys_path, "w") as f:
                for i in range(16):
                    out = store.cli("api-key", "create", "--client", fx.cc_id, "--name", f"bench{i}",
                                    "--scope", "read", "--json")
                    f.write(json.loads(out)["key"] + "\n")
            key_env = dict(intro_env, BENCH_TOKENS_FILE=keys_path)
            self.row(backend, "introspect API key", S,
                     self.wrk(S, "post.lua", key_env, C, D, f"{tagb}-intro-key"), C,
                     target={"min_rate": TARGETS["introspection_per_s"]},
                     note="16 distinct keys, cycled")
        else:
            self.skip(backend, "introspect API key",
                      "not available in this build (no `portcullis api-key` command)")

        # A session that has consented: codes then come from GET /oauth/authorize.
        b = flow.Browser(HOST, s.port)
        flow.login_and_consent(b, fx.web_id, REDIRECT_URI, fx.users[-1], PASSWORD)
        session = b.cookies["portcullis_session"]
        b.close()

        # Refresh-token rotation.
        seeds = flow.refresh_seeds(HOST, s.port, fx.web_id, fx.web_secret, REDIRECT_URI,
                                   session, 2 * C)
        seeds_path = os.path.join(TMP_ROOT, f"{tagb}-seeds")
        with open(seeds_path, "w") as f:
            f.write("\n".join(seeds) + "\n")
        s.new_log_lines()
        self.row(backend, "refresh_token rotation", S,
                 self.wrk(S, "refresh.lua", {"BENCH_AUTH": fx.web_auth, "BENCH_TOKENS_FILE": seeds_path},
                          C, D, f"{tagb}-refresh"), C,
                 note=f"{len(seeds)} chains, each token used once")

        # Authorization-code exchange, codes prepared just before.
        self.code_exchange(backend, [s], fx, session, "")

        # The whole browser-less flow, fresh session each iteration.
        res = self.measure(S, lambda: self.full_flow(s, fx))
        time.sleep(1.0)
        after = mb(s.rss_kb())
        s.rss_after_flow_kb = s.rss_kb()
        s.threads_after_flow = proc_status_kb(s.proc.pid, "Threads")
        self.row(backend, "full flow authorize→login→consent→token", S, res, o.flow_workers,
                 unit="flows/s", kind="python",
                 note=f"{o.flow_workers} Python workers, PKCE S256, prompt=consent, Argon2id login; "
                      f"1 s after the run: RSS {after} MB, {s.threads_after_flow} threads "
                      f"(idle: {s.idle_threads})")

        s.stop()
        # Start-up again on the now populated store: the usual restart case.
        again = Server(o, store, f"{backend}-es256-restart", "ES256")
        again.backend = backend
        SERVERS.append(again)
        again.start()
        s.restart_ready_ms = again.ready_ms
        again.stop()

        # The other signing algorithms: client credentials on their own server.
        for alg in ("EdDSA", "RS256"):
            store = Store(o, backend, f"{backend}-{alg.lower()}", alg)
            s2 = self.start_server(backend, store, f"{backend}-{alg.lower()}", alg)
            fx2 = make_fixtures(store, users=0, code_client=False)
            self.idle(s2, fx2)
            self.row(backend, f"client_credentials {alg}", [s2],
                     self.wrk([s2], "post.lua", self.cc_env(fx2, s2), C, D, f"{tagb}-cc-{alg}"), C, alg=alg)
            s2.stop()

    def code_exchange(self, backend, servers, fx, session, suffix):
        o = self.opts
        D = min(o.duration, 25)          # codes live 60 s: prep + use stays under 50 s
        # Minting codes is slower than redeeming them: mint for 2.5x as long.
        prep_s = min(max(int(D * 2.5), 3), 25)
        tagb = backend[:2] + ("2" if len(servers) > 1 else "")
        path = "/oauth/authorize?" + urllib.parse.urlencode({
            "response_type": "code", "client_id": fx.web_id, "redirect_uri": REDIRECT_URI,
            "scope": "read", "state": "s"})
        files, prep = self.collect(servers, "code", prep_s, 10 ** 9, f"{tagb}-codes",
                                   lambda srv: {"BENCH_PATH": path,
                                                "BENCH_COOKIE": f"portcullis_session={session}"})
        prep["ok_per_s"] = prep["ok"] / max(prep["duration_s"], 1e-3)
        n = len(servers)
        label = "authorize with consented session → code" + suffix
        self.row(backend, label, servers, prep, self.opts.connections, instances=n,
                 note=f"preparation of the exchange run (303 with code counts as success); {prep_s} s")
        ncodes = [self.count_lines(f) for f in files]
        if sum(ncodes) == 0:
            raise BenchFailure(f"no code prepared ({prep['statuses']}, {prep.get('sample')})")
        jobs = []
        for i, s in enumerate(servers):
            # Two instances: redeem the codes minted by the *other* one.
            codes = files[(i + 1) % n] if n > 1 else files[0]
            th = max(1, self.opts.threads // n)
            jobs.append({"url": s.base, "connections": max(self.opts.connections // n, th), "threads": th,
                         "env": {"BENCH_AUTH": fx.web_auth, "BENCH_CODES_FILE": codes,
                                 "BENCH_REDIRECT_URI": urllib.parse.quote(REDIRECT_URI, safe="")}})
        res = self.wrk(servers, "exchange.lua", None, self.opts.connections, D, f"{tagb}-exchange", jobs=jobs)
        note = f"{sum(ncodes):,} codes, each redeemed once; ran {res['duration_s']:.1f} s"
        if res["threads_stopped_early"]:
            note += " (stopped when the codes ran out)"
        if n > 1:
            note += "; codes minted on one instance redeemed on the other"
        self.row(backend, "authorization_code exchange" + suffix, servers, res, self.opts.connections,
                 instances=n, note=note)

    def full_flow(self, s, fx):
        o = self.opts
        res = flow.full_flow(HOST, s.port, fx.web_id, fx.web_secret, REDIRECT_URI,
                             fx.users[:o.flow_workers], PASSWORD, o.duration, o.flow_workers)
        lat = res["latencies_s"]

        def pct(p):
            if not lat:
                return 0
            return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))] * 1e6
        nerr = sum(res["errors"].values())
        return {"ok": res["ok"], "requests": res["ok"] + nerr, "duration_s": res["elapsed_s"],
                "ok_per_s": res["ok"] / res["elapsed_s"], "errors": nerr,
                "non2xx": sum(v for k, v in res["errors"].items() if not k.startswith("socket")),
                "bad_body": 0, "socket_errors": sum(v for k, v in res["errors"].items() if k.startswith("socket")),
                "statuses": ",".join(f"{k}:{v}" for k, v in sorted(res["errors"].items())) or "none",
                "sample": "; ".join(res["samples"]) or None,
                "lat_p50_us": pct(50), "lat_p90_us": pct(90), "lat_p99_us": pct(99),
                "lat_max_us": (lat[-1] * 1e6 if lat else 0)}

    def two_instances(self):
        o = self.opts
        C, D = o.connections, o.duration
        store = Store(o, "postgres", "postgres-2x", "ES256")
        a = Server(o, store, "postgres-2x-a", "ES256")
        b = Server(o, store, "postgres-2x-b", "ES256")
        # One issuer for both (as behind a load balancer): instance A's URL.
        for x in (a, b):
            x.extra_env["PORTCULLIS_ISSUER"] = a.base
        self.start_server("postgres", store, a.label, "ES256", server=a)
        self.start_server("postgres", store, b.label, "ES256", server=b)
        fx = make_fixtures(store, users=1)
        self.idle(a, fx)
        self.idle(b, fx)
        S = [a, b]
        jobs = [{"url": x.base, "env": self.cc_env(fx, x), "connections": max(C // 2, 1),
                 "threads": max(1, o.threads // 2)} for x in S]
        self.row("postgres", "client_credentials ES256 ×2 instances", S,
                 self.wrk(S, "post.lua", None, C, D, "pg2-cc", jobs=jobs), C, instances=2,
                 target={"min_rate": TARGETS["cc_es256_per_s"]},
                 note=f"two wrk processes, {C // 2} connections each, rates summed; latency: worse instance")
        br = flow.Browser(HOST, a.port)
        flow.login_and_consent(br, fx.web_id, REDIRECT_URI, fx.users[0], PASSWORD)
        session = br.cookies["portcullis_session"]
        br.close()
        self.code_exchange("postgres", S, fx, session, " ×2 instances")
        for x in S:
            x.stop()

    def skip(self, backend, scenario, why):
        self.rows.append({"backend": backend, "scenario": scenario, "skipped": why})
        log(f"  {backend:8} {scenario:38} skipped: {why}")


# ------------------------------------------------------------------ report --

def fmt_rate(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


def table(bench, meta, peers):
    lines = []
    hdr = ("backend", "scenario", "conns", "rate/s", "p50 ms", "p99 ms", "errors", "peak RSS MB",
           "CPU srv/pg/gen/other", "target")
    rows = []
    for r in bench.rows:
        if "skipped" in r:
            rows.append((r["backend"], r["scenario"], "", "skipped", "", "", "", "", "", r["skipped"]))
            continue
        cpu = r["cpu_cores"] or {}
        t = ""
        if r.get("target"):
            tg = r["target"]
            cond = (f"≥ {tg['min_rate']:,}/s" if "min_rate" in tg else f"p99 < {tg['max_p99_ms']} ms")
            why = []
            if not r["target_met"]:
                if r["errors"]:
                    why.append("errors")
                if not r["servers_alive_after"]:
                    why.append("server died")
                if "min_rate" in tg and r["rate_per_s"] < tg["min_rate"]:
                    why.append("rate")
                if "max_p99_ms" in tg and r["latency_ms"]["p99"] >= tg["max_p99_ms"]:
                    why.append("p99")
            t = ("PASS " if r["target_met"] else f"FAIL ({', '.join(why)}) ") + cond + ", 0 errors"
        ratio = r.get("peer_ratio")
        if ratio:
            t = (t + "; " if t else "") + ratio
        rows.append((r["backend"], r["scenario"], str(r["connections"]),
                     fmt_rate(r["rate_per_s"]) + (" flows" if r["unit"] == "flows/s" else ""),
                     f"{r['latency_ms']['p50']:.2f}", f"{r['latency_ms']['p99']:.2f}",
                     str(r["errors"]) + ("" if r["errors"] == 0 else f" ({r['errors_detail'].get('statuses')})"),
                     "" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:.1f}",
                     "/".join(f"{cpu.get(k, 0) or 0:.2f}" for k in ("server", "postgres", "load_generator", "other")), t))
    rows.append(("",) * len(hdr))
    for s in bench.servers:
        idle = mb(s.idle_rss_kb)
        peak = mb(s.peak_rss_kb or s.samples_max_kb)
        rs = getattr(s, "restart_ready_ms", None)
        failed = []
        if s.ready_ms is None or s.ready_ms >= TARGETS["ready_ms"]:
            failed.append("ready")
        if rs is not None and rs >= TARGETS["ready_ms"]:
            failed.append("ready on restart")
        if idle is None or idle >= TARGETS["idle_rss_mb"]:
            failed.append("idle RSS")
        if peak is None or peak >= TARGETS["peak_rss_mb"]:
            failed.append("peak RSS")
        verdict = "PASS" if not failed else "FAIL (" + ", ".join(failed) + ")"
        rows.append((s.backend, f"server {s.label}: ready {s.ready_ms} ms"
                     + (f", on restart {rs} ms" if rs is not None else ""), "", "", "", "", "",
                     f"idle {idle} / peak {peak}", "",
                     verdict + ": ready < 200 ms, RSS < 20 MB idle, < 64 MB peak"))
    widths = [max(len(str(x[i])) for x in rows + [hdr]) for i in range(len(hdr))]
    right = {2, 3, 4, 5, 6}

    def fmt(row):
        return "  ".join((str(c).rjust(w) if i in right else str(c).ljust(w))
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()
    lines.append(fmt(hdr))
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(fmt(row) if any(row) else "")
    return "\n".join(lines)


def read_peers():
    path = os.path.join(OUT_DIR, "peers.json")
    if not os.path.exists(path):
        return None, "bench/out/peers.json does not exist (run `bench/run --peers`)"
    try:
        data = json.load(open(path))
    except (OSError, ValueError) as e:
        return None, f"bench/out/peers.json unreadable: {e}"
    runs = data.get("runs") if isinstance(data, dict) and "runs" in data else [data]
    mtime = datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc)
    return {"runs": runs, "file_mtime": mtime.strftime("%Y-%m-%dT%H:%M:%SZ")}, None


def add_peer_ratios(bench, peers):
    """Portcullis / peer for client credentials and introspection, same alg."""
    out = []
    for pr in peers["runs"]:
        for key, scen in (("client_credentials", "client_credentials {alg}"), ("introspection", "introspect JWT")):
            p = pr.get(key)
            if not p or not p.get("rps"):
                continue
            # Portcullis introspects ES256 JWTs: compare with the peer's ES256 run only.
            if key == "introspection" and pr.get("alg", "ES256") != "ES256":
                continue
            name = scen.format(alg=pr.get("alg", "ES256"))
            for r in bench.rows:
                if r.get("scenario") == name and "skipped" not in r:
                    ratio = r["rate_per_s"] / p["rps"]
                    r.setdefault("peer_ratio_detail", []).append(
                        {"peer": pr.get("peer"), "peer_rps": p["rps"], "peer_p99_ms": p.get("p99_ms"),
                         "peer_errors": p.get("errors"), "peer_token_format": p.get("token_format"),
                         "ratio": round(ratio, 2)})
                    r["peer_ratio"] = "; ".join(f"{d['ratio']:.1f}× {d['peer']}" for d in r["peer_ratio_detail"])
                    out.append({"peer": pr.get("peer"), "alg": pr.get("alg"), "scenario": key,
                                "backend": r["backend"], "portcullis_rps": r["rate_per_s"],
                                "peer_rps": p["rps"], "ratio": round(ratio, 2),
                                "peer_token_format": p.get("token_format")})
    return out


def machine_meta(opts):
    def cmd(*a):
        try:
            return subprocess.run(a, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return None
    model = None
    for line in (cmd("lscpu") or "").splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    sha = hashlib.sha256(open(opts.bin, "rb").read()).hexdigest()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nproc": os.cpu_count(), "cpu_model": model, "mem_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": os.uname().release,
        "wrk": (cmd("wrk", "-v") or "").splitlines()[0] if cmd("wrk", "-v") else None,
        "rustc": cmd("rustc", "-V"),
        "postgres": None,
        "git_commit": cmd("git", "-C", ROOT, "rev-parse", "--short", "HEAD"),
        "uncommitted_files_under_crates": len((cmd("git", "-C", ROOT, "status", "--porcelain", "--", "crates") or "").splitlines()),
        "binary": os.environ.get("BENCH_BIN_ORIGINAL", opts.bin), "binary_sha256": sha[:16],
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
        "duration_s": opts.duration, "connections": opts.connections, "threads": opts.threads,
        "quick": opts.quick, "wrk_timeout": opts.wrk_timeout, "flow_workers": opts.flow_workers,
        "sweep": opts.sweep,
    }


def main():
    global TMP_ROOT
    opts = Options(sys.argv[1:])
    TMP_ROOT = tempfile.mkdtemp(prefix="portcullis-bench.")
    os.makedirs(OUT_DIR, exist_ok=True)
    if os.path.isdir(os.path.join(OUT_DIR, "logs")):
        shutil.rmtree(os.path.join(OUT_DIR, "logs"))
    bench = Bench(opts)
    meta = machine_meta(opts)
    log(f"duration {opts.duration}s per scenario, {opts.connections} connections, {opts.threads} wrk threads"
        + (" (QUICK)" if opts.quick else "") + f"; binary {opts.bin}")
    log(f"load average at start: {' '.join(meta['loadavg_start'])} on {meta['nproc']} cores")

    r = subprocess.run([opts.bin, "api-key", "--help"], capture_output=True, text=True, env=clean_env())
    bench.apikey_cmd = r.returncode == 0
    if not bench.apikey_cmd:
        bench.notes.append("introspect API key: not available in this build (no `portcullis api-key` command)")

    failure = None
    try:
        pg_missing = None
        if "postgres" in opts.backends:
            pg_missing = pg_available(opts)
            if pg_missing:
                bench.notes.append(f"PostgreSQL rows skipped: {pg_missing}")
            else:
                meta["postgres"] = psql(opts, "SHOW server_version").strip()
        for backend in opts.backends:
            if backend == "postgres" and pg_missing:
                bench.skip("postgres", "all scenarios", pg_missing)
                continue
            log(f"=== {backend} ===")
            bench.run_backend(backend)
            if backend == "postgres":
                log("=== postgres, two instances ===")
                bench.two_instances()
    except BenchFailure as e:
        failure = str(e)
        log(f"error: {failure}")

    meta["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    peers_result = None
    if opts.peers:
        peers_result = run_peers(opts)
    peers, peers_note = read_peers()
    ratios = add_peer_ratios(bench, peers) if peers else []
    if peers_note:
        bench.notes.append(peers_note)
    elif peers:
        bench.notes.append(f"peer figures from bench/out/peers.json written {peers['file_mtime']}"
                           + ("" if opts.peers else " (not re-run: add --peers)"))
    if peers_result:
        bench.notes.append(peers_result)

    # Verdict.
    measured = [r for r in bench.rows if "skipped" not in r]
    verdict = {
        "targets_with_a_row_met": all(r.get("target_met", True) for r in measured),
        "zero_errors": all(r["errors"] == 0 for r in measured),
        "servers_alive": all(r["servers_alive_after"] for r in measured),
        "ready_under_200ms_fresh_store": all(s.ready_ms is not None and s.ready_ms < TARGETS["ready_ms"] for s in bench.servers),
        "ready_under_200ms_restart": all(s.restart_ready_ms < TARGETS["ready_ms"] for s in bench.servers
                                         if getattr(s, "restart_ready_ms", None) is not None),
        "idle_rss_under_20mb": all(s.idle_rss_kb is not None and s.idle_rss_kb / 1024 < TARGETS["idle_rss_mb"] for s in bench.servers),
        "peak_rss_under_64mb": all((s.peak_rss_kb or s.samples_max_kb) / 1024 < TARGETS["peak_rss_mb"] for s in bench.servers),
        "complete": failure is None,
    }
    verdict["all_met"] = all(verdict.values())

    text = table(bench, meta, peers)
    print()
    print(f"Portcullis benchmark  {meta['date']}  {meta['nproc']} cores ({meta['cpu_model']}), "
          f"load avg at start {' '.join(meta['loadavg_start'])}, end {' '.join(meta['loadavg_end'])}")
    print(f"binary {meta['binary_sha256']} (git {meta['git_commit']}, {meta['uncommitted_files_under_crates']} "
          f"uncommitted files under crates/), {opts.duration} s per scenario, wrk -t{opts.threads}, "
          f"{opts.connections} connections unless stated" + (", QUICK" if opts.quick else ""))
    print("CPU column: cores busy during the scenario: Portcullis server(s) / all `postgres` processes / "
          "load generator (wrk or the Python driver) / everything else (e.g. other engineers' compiles)")
    print()
    print(text)
    print()
    for n in bench.notes:
        print(f"note: {n}")
    if failure:
        print(f"INCOMPLETE: {failure}")
    print("verdict: " + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in verdict.items()))
    print()

    servers = [{"label": s.label, "backend": s.backend, "alg": s.alg, "ready_ms": s.ready_ms,
                "restart_ready_ms": getattr(s, "restart_ready_ms", None),
                "token_jose_header": getattr(s, "jose_header_json", None),
                "rss_1s_after_full_flow_mb": mb(getattr(s, "rss_after_flow_kb", None)),
                "threads_idle": getattr(s, "idle_threads", None),
                "threads_1s_after_full_flow": getattr(s, "threads_after_flow", None),
                "idle_rss_mb": mb(s.idle_rss_kb),
                "peak_rss_mb": mb(s.peak_rss_kb or s.samples_max_kb),
                "peak_rss_polled_mb": mb(s.samples_max_kb),
                "vmhwm_at_stop_mb": mb(s.final_hwm_kb),
                "exit_code": s.exit_code,
                "log_warn_or_error_lines": len([l for l in s.read_log().splitlines()
                                                if re.search(r"WARN|ERROR|panicked", l)]),
                "log_file": f"bench/out/logs/{s.label}.log"} for s in bench.servers]
    doc = {"meta": meta, "targets": TARGETS, "verdict": verdict, "servers": servers,
           "rows": bench.rows, "cc_connection_sweep": sorted(bench.sweep, key=lambda x: (x["backend"], x["connections"])),
           "peers": peers, "peer_ratios": ratios, "notes": bench.notes, "failure": failure,
           "table": text}
    with open(os.path.join(OUT_DIR, "results.json"), "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
    log("wrote bench/out/results.json")
    if bench.sweep:
        # With the peer's own sweep (node-oidc-provider ES256) from peers.json, if any.
        chart.write(os.path.join(OUT_DIR, "cc-connections.svg"), doc["cc_connection_sweep"], meta,
                    chart.peer_series(peers))
        log("wrote bench/out/cc-connections.svg")
    return 1 if failure else 0


def run_peers(opts):
    script = os.path.join(BENCH_DIR, "peers.sh")
    if not os.path.exists(script):
        log("bench/peers.sh does not exist yet: no peer comparison")
        return "--peers: bench/peers.sh does not exist yet; no peer run"
    env = {k: v for k, v in os.environ.items() if k not in ("PORT",) and not k.startswith("BENCH_")}
    # SWEEP: the same connection counts as Portcullis's sweep, for the chart.
    env.update({"DURATION": f"{opts.duration}s", "CONNECTIONS": str(opts.connections),
                "THREADS": str(opts.threads), "SWEEP": ",".join(str(c) for c in opts.sweep)})
    log("running bench/peers.sh")
    p = subprocess.Popen(["bash", script], env=env, stdin=subprocess.DEVNULL)
    STARTED.append(p)
    rc = p.wait()
    if rc != 0:
        return f"bench/peers.sh exited with status {rc}"
    return None


def cleanup():
    for s in SERVERS:
        if s.exit_code is None:
            try:
                s.stop()
            except Exception as e:  # keep cleaning up
                log(f"stopping {s.label}: {e}")
    for p in reversed(STARTED):
        if p.poll() is None:
            stop_pid(p, f"pid {p.pid}")
    for name in DATABASES:
        try:
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", os.environ.get("PG_USER", "postgres"),
                            "-p", os.environ.get("PG_PORT", "5432"), "-d", "test", "-Atqc",
                            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
                           capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            log(f"could not drop database {name}")
    if DATABASES:
        log(f"dropped {len(DATABASES)} database(s)")
    if TMP_ROOT:
        shutil.rmtree(TMP_ROOT, ignore_errors=True)


_signalled = []


def on_signal(sig, frame):
    # Ctrl-C reaches this process twice (from the terminal and forwarded by
    # bench/run): only the first one may interrupt; the cleanup must run.
    if _signalled:
        return
    _signalled.append(sig)
    log(f"signal {sig}: stopping")
    raise SystemExit(128 + sig)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    rc = 1
    try:
        rc = main()
    except BenchFailure as e:
        log(f"error: {e}")
        rc = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cleanup()
    sys.exit(rc)
