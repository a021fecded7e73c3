"""SVG chart of the client-credentials connection sweep (no dependencies).

Two panels side by side, x = wrk connections on a log2 axis:
tokens/s (left) and p99 latency in ms (right), both y axes linear, one line
per backend, plus (dashed) the peer's own client-credentials sweep
(node-oidc-provider, ES256) when bench/out/peers.json has it.

    python3 bench/chart.py [--results F] [--peers F] [--out F]

redraws bench/out/cc-connections.svg from bench/out/results.json and, if it
exists, bench/out/peers.json (else the peer data kept in results.json).
"""

import math
from xml.sax.saxutils import escape

PEER = "peer"   # key of the peer's series among the backends
COLORS = {"sqlite": "#1f77b4", "postgres": "#d62728", PEER: "#2ca02c"}
NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL", PEER: "node-oidc-provider"}
DASH = {PEER: ' stroke-dasharray="6,3"'}


def peer_series(peers, peer="node-oidc-provider", alg="ES256"):
    """The peer's client-credentials points from a parsed bench/out/peers.json
    (one run object, or {"runs": [...]}; also bench.py's read_peers() dict):
    its "sweep" list, or only the CONNECTIONS point for a file written before
    peers.sh had SWEEP. None when there is no such run."""
    if not isinstance(peers, dict):
        return None
    runs = peers.get("runs") if "runs" in peers else [peers]
    run = next((r for r in runs or [] if isinstance(r, dict) and r.get("peer") == peer
                and r.get("alg", "ES256") == alg), None)
    if run is None:
        return None
    pts = run.get("sweep")
    if not pts:
        cc = run.get("client_credentials") or {}
        if cc.get("rps") is None or run.get("connections") is None:
            return None
        pts = [{"connections": run["connections"], "threads": run.get("threads"), "rate_per_s": cc["rps"],
                "p99_ms": cc.get("p99_ms"), "errors": cc.get("errors")}]
    pts = [dict(p, backend=PEER) for p in pts
           if p.get("connections") and p.get("rate_per_s") is not None and p.get("p99_ms") is not None]
    if not pts:
        return None
    return {"points": sorted(pts, key=lambda p: p["connections"]), "peer": peer, "alg": alg,
            "version": run.get("version"), "runtime": run.get("runtime"),
            "processes": run.get("processes"), "duration_s": run.get("duration_s"),
            "threads": run.get("threads"), "file_mtime": peers.get("file_mtime")}


def load_peers(path):
    """peer_series() of the file at path, or None if it is missing or unreadable."""
    import datetime
    import json
    import os
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    if isinstance(doc, dict) and "file_mtime" not in doc:
        mtime = datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc)
        doc = dict(doc, file_mtime=mtime.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return peer_series(doc)


def nice_max(v):
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * exp >= v:
            return m * exp
    return 10 * exp


def fmt_num(v):
    if v >= 1000:
        return f"{round(v / 1000, 1):g}k"
    return f"{round(v, 1):g}"


def panel(x0, y0, w, h, points_by_backend, key, title, xs, log=False):
    """log=True: a log10 value axis (decades), for latencies that span
    milliseconds (Portcullis) to hundreds of milliseconds (the peer)."""
    out = []
    values = [p[key] for pts in points_by_backend.values() for p in pts]
    ymax = nice_max(max(values + [0]) * 1.05)
    if log:
        lo = 10 ** math.floor(math.log10(max(min([v for v in values if v > 0] + [1]), 1e-3)))
        hi = 10 ** math.ceil(math.log10(max(max(values + [1]), lo * 10)))
        ticks = [lo * 10 ** i for i in range(round(math.log10(hi / lo)) + 1)]
    else:
        ticks = [ymax * i / 5 for i in range(6)]
    lx0, lx1 = math.log2(min(xs)), math.log2(max(xs))
    if lx1 == lx0:
        lx0, lx1 = lx0 - 1, lx1 + 1

    def X(c):
        return x0 + (math.log2(c) - lx0) / (lx1 - lx0) * w

    def Y(v):
        if log:
            v = max(v, lo)
            return y0 + h - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * h
        return y0 + h - v / ymax * h

    out.append(f'<text x="{x0 + w / 2}" y="{y0 - 14}" text-anchor="middle" font-size="14" '
               f'font-weight="bold">{escape(title)}</text>')
    out.append(f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#444"/>')
    for v in ticks:
        y = Y(v)
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{fmt_num(round(v, 2))}</text>')
    for c in xs:
        x = X(c)
        out.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + h}" stroke="#eee"/>')
        out.append(f'<text x="{x:.1f}" y="{y0 + h + 16}" text-anchor="middle" font-size="11">{c}</text>')
    out.append(f'<text x="{x0 + w / 2}" y="{y0 + h + 34}" text-anchor="middle" font-size="12">'
               f'wrk connections</text>')
    labels = []   # (y px, backend, point): placed after every line, topmost first
    for backend, pts in points_by_backend.items():
        pts = sorted(pts, key=lambda p: p["connections"])
        color = COLORS.get(backend, "#2ca02c")
        d = " ".join(f"{X(p['connections']):.1f},{Y(p[key]):.1f}" for p in pts)
        out.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="2"{DASH.get(backend, "")}/>')
        for p in pts:
            mark = "" if not p.get("errors") else " (errors!)"
            name = NAMES.get(backend, backend)
            out.append(f'<circle cx="{X(p["connections"]):.1f}" cy="{Y(p[key]):.1f}" r="3.5" fill="{color}">'
                       f'<title>{escape(name)} c={p["connections"]}: '
                       f'{p[key]:,.2f}{mark}</title></circle>')
            labels.append((Y(p[key]), backend, p))

    # Value labels: above the point; else below; else right, left; else
    # stacked higher up; the first place that stays in the panel and overlaps
    # no label already placed. A white halo keeps them readable over lines.
    placed = [(x0 - 8 - 6 * len(fmt_num(round(v, 2))), Y(v) - 5, x0 - 4, Y(v) + 6)
              for v in ticks]   # boxes (x1, y1, x2, y2); first the y-axis tick labels

    marks = [(X(p["connections"]) - 3.5, y - 3.5, X(p["connections"]) + 3.5, y + 3.5) for y, _, p in labels]

    def free(box, own):
        return (x0 <= (box[0] + box[2]) / 2 <= x0 + w and box[1] >= y0 + 1 and box[3] <= y0 + h - 1
                and all(box[2] <= q[0] or box[0] >= q[2] or box[3] <= q[1] or box[1] >= q[3]
                        for q in placed + [m for m in marks if m != own]))

    for y, backend, p in sorted(labels, key=lambda t: t[0]):
        own = (X(p["connections"]) - 3.5, y - 3.5, X(p["connections"]) + 3.5, y + 3.5)
        text = fmt_num(round(p[key], 1))
        tw, x = 5.5 * len(text), X(p["connections"])
        side = min(y + 4, y0 + h - 4)
        cands = [(x, y - 7, "middle"), (x, y + 15, "middle"), (x + 6, side, "start"), (x - 6, side, "end")]
        cands += [(x, y - 7 - 12 * k, "middle") for k in range(1, 12)]
        def box_of(lx, ly, anchor):
            left = {"middle": lx - tw / 2, "start": lx, "end": lx - tw}[anchor]
            return (left, ly - 9, left + tw, ly + 2)

        lx, ly, anchor = next((cand for cand in cands if free(box_of(*cand), own)), cands[0])
        placed.append(box_of(lx, ly, anchor))
        out.append(f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}" font-size="10" '
                   f'fill="{COLORS.get(backend, "#2ca02c")}" stroke="white" stroke-width="3" '
                   f'paint-order="stroke">{text}</text>')
    return out


def write(path, sweep, meta, peer=None):
    """sweep: Portcullis's points (results.json cc_connection_sweep); peer:
    peer_series() of bench/out/peers.json, or None."""
    by = {}
    for p in sweep:
        by.setdefault(p["backend"], []).append(p)
    if peer and peer.get("points"):
        by[PEER] = list(peer["points"])
    xs = sorted({p["connections"] for pts in by.values() for p in pts})
    W, H = 900, 440 if peer else 420
    title = ("Portcullis and node-oidc-provider: client_credentials (ES256) against wrk connections" if peer
             else "Portcullis client_credentials (ES256) against wrk connections")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           f'font-family="sans-serif">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
           f'{escape(title)}</text>',
           f'<text x="{W / 2}" y="40" text-anchor="middle" font-size="11" fill="#555">'
           f'{escape(str(meta.get("date")))}, {meta.get("nproc")} cores, {meta.get("duration_s")} s per point, '
           f'wrk -t{meta.get("threads")}, server and wrk on the same machine; '
           f'load avg at start {escape(" ".join(meta.get("loadavg_start") or []))}</text>']
    y = 54
    others = [p["cpu_other"] for p in sweep if p.get("cpu_other") is not None]
    if others:
        out.append(f'<text x="{W / 2}" y="{y}" text-anchor="middle" font-size="11" fill="#555">'
                   f'CPU used by other processes during these points: {min(others):.2f}–{max(others):.2f} '
                   f'of {meta.get("nproc")} cores</text>')
        y += 14
    if peer:
        desc = " ".join(str(v) for v in (peer.get("peer"), peer.get("version")) if v)
        extra = ", ".join(str(v) for v in (
            peer.get("runtime"),
            f'{peer["processes"]} process{"es" if peer["processes"] != 1 else ""}' if peer.get("processes") else None,
            f'{peer["duration_s"]} s per point' if peer.get("duration_s") else None,
            f'wrk -t{peer["threads"]} (at most)' if peer.get("threads") else None,
            f'bench/peers.sh, written {peer["file_mtime"]}' if peer.get("file_mtime") else "bench/peers.sh") if v)
        out.append(f'<text x="{W / 2}" y="{y}" text-anchor="middle" font-size="11" fill="#555">'
                   f'{escape(desc)} ({escape(peer.get("alg") or "")}, dashed): {escape(extra)}</text>')
    top = 92 if not peer else 100
    out += panel(80, top, 330, 250, by, "rate_per_s", "tokens/s", xs)
    out += panel(530, top, 330, 250, by, "p99_ms", "p99 latency (ms, log scale)", xs, log=True)
    lx = 80
    for backend in by:
        color = COLORS.get(backend, "#2ca02c")
        name = NAMES.get(backend, backend)
        if backend == PEER and peer:
            name = " ".join(str(v) for v in (peer.get("peer"), peer.get("version")) if v)
        out.append(f'<line x1="{lx}" y1="{H - 20}" x2="{lx + 18}" y2="{H - 20}" stroke="{color}" '
                   f'stroke-width="3"{DASH.get(backend, "")}/>')
        out.append(f'<text x="{lx + 24}" y="{H - 16}" font-size="12">{escape(name)}</text>')
        lx += max(130, 24 + 7 * len(name) + 20)
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    import argparse
    import json
    import os
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
    ap = argparse.ArgumentParser(description="Redraw the client-credentials connection chart.")
    ap.add_argument("--results", default=os.path.join(out, "results.json"), help="bench.py's results.json")
    ap.add_argument("--peers", default=os.path.join(out, "peers.json"),
                    help="bench/peers.sh's peers.json (used if it exists; else the peer data in results.json)")
    ap.add_argument("--out", default=os.path.join(out, "cc-connections.svg"), help="SVG to write")
    a = ap.parse_args()
    with open(a.results) as f:
        doc = json.load(f)
    peer = load_peers(a.peers) if os.path.exists(a.peers) else peer_series(doc.get("peers"))
    write(a.out, doc["cc_connection_sweep"], doc["meta"], peer)
    print(f"wrote {a.out}" + (f" (peer: {len(peer['points'])} point(s) of {peer['peer']} {peer['alg']})" if peer
                              else " (no peer data)"))
