"""SVG chart of the client-credentials connection sweep (no dependencies).

Two panels side by side, x = wrk connections on a log2 axis:
tokens/s (left) and p99 latency in ms (right), one line per backend.
"""

import math
from xml.sax.saxutils import escape

COLORS = {"sqlite": "#1f77b4", "postgres": "#d62728"}
NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


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


def panel(x0, y0, w, h, points_by_backend, key, title, xs):
    out = []
    ymax = nice_max(max([p[key] for pts in points_by_backend.values() for p in pts] + [0]) * 1.05)
    lx0, lx1 = math.log2(min(xs)), math.log2(max(xs))
    if lx1 == lx0:
        lx0, lx1 = lx0 - 1, lx1 + 1

    def X(c):
        return x0 + (math.log2(c) - lx0) / (lx1 - lx0) * w

    def Y(v):
        return y0 + h - v / ymax * h

    out.append(f'<text x="{x0 + w / 2}" y="{y0 - 14}" text-anchor="middle" font-size="14" '
               f'font-weight="bold">{escape(title)}</text>')
    out.append(f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#444"/>')
    for i in range(6):
        v = ymax * i / 5
        y = Y(v)
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{fmt_num(round(v, 2))}</text>')
    for c in xs:
        x = X(c)
        out.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + h}" stroke="#eee"/>')
        out.append(f'<text x="{x:.1f}" y="{y0 + h + 16}" text-anchor="middle" font-size="11">{c}</text>')
    out.append(f'<text x="{x0 + w / 2}" y="{y0 + h + 34}" text-anchor="middle" font-size="12">'
               f'wrk connections</text>')
    top = {}
    for pts in points_by_backend.values():
        for p in pts:
            top[p["connections"]] = max(top.get(p["connections"], p[key]), p[key])
    for backend, pts in points_by_backend.items():
        pts = sorted(pts, key=lambda p: p["connections"])
        color = COLORS.get(backend, "#2ca02c")
        d = " ".join(f"{X(p['connections']):.1f},{Y(p[key]):.1f}" for p in pts)
        out.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="2"/>')
        for p in pts:
            mark = "" if not p.get("errors") else " (errors!)"
            out.append(f'<circle cx="{X(p["connections"]):.1f}" cy="{Y(p[key]):.1f}" r="3.5" fill="{color}">'
                       f'<title>{NAMES.get(backend, backend)} c={p["connections"]}: '
                       f'{p[key]:,.2f}{mark}</title></circle>')
            out.append(f'<text x="{X(p["connections"]):.1f}" y="{Y(p[key]) + (-7 if p[key] >= top[p["connections"]] else 15):.1f}" text-anchor="middle" '
                       f'font-size="10" fill="{color}">{fmt_num(round(p[key], 1))}</text>')
    return out


def write(path, sweep, meta):
    by = {}
    for p in sweep:
        by.setdefault(p["backend"], []).append(p)
    xs = sorted({p["connections"] for p in sweep})
    W, H = 900, 420
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           f'font-family="sans-serif">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
           f'Portcullis client_credentials (ES256) against wrk connections</text>',
           f'<text x="{W / 2}" y="40" text-anchor="middle" font-size="11" fill="#555">'
           f'{escape(str(meta.get("date")))}, {meta.get("nproc")} cores, {meta.get("duration_s")} s per point, '
           f'wrk -t{meta.get("threads")}, server and wrk on the same machine; '
           f'load avg at start {escape(" ".join(meta.get("loadavg_start") or []))}</text>']
    others = [p["cpu_other"] for p in sweep if p.get("cpu_other") is not None]
    if others:
        out.append(f'<text x="{W / 2}" y="54" text-anchor="middle" font-size="11" fill="#555">'
                   f'CPU used by other processes during these points: {min(others):.2f}–{max(others):.2f} '
                   f'of {meta.get("nproc")} cores</text>')
    out += panel(80, 92, 330, 250, by, "rate_per_s", "tokens/s", xs)
    out += panel(530, 92, 330, 250, by, "p99_ms", "p99 latency (ms)", xs)
    lx = 80
    for backend in by:
        color = COLORS.get(backend, "#2ca02c")
        out.append(f'<rect x="{lx}" y="{H - 22}" width="14" height="4" fill="{color}"/>')
        out.append(f'<text x="{lx + 20}" y="{H - 16}" font-size="12">{NAMES.get(backend, backend)}</text>')
        lx += 130
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    # Redraw bench/out/cc-connections.svg from bench/out/results.json.
    import json
    import os
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
    doc = json.load(open(os.path.join(out, "results.json")))
    write(os.path.join(out, "cc-connections.svg"), doc["cc_connection_sweep"], doc["meta"])
