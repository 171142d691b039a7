#!/usr/bin/env python3
"""Draws docs/perf/*.svg from scripts/bench.sh's series (no plotting library:
a few SVG lines on log-scaled axes).

    plots.py SERIES_TSV OUT_DIR
"""
import math
import os
import sys

PLOTS = {
    "runs-per-s-by-steps": ("Runs per second by steps (exchanges)", "steps", "runs/s", True),
    "events-per-s-by-bytes": ("Events per second by bytes transferred", "bytes", "events/s", True),
    "states-per-s-by-bound": ("Explored states per CPU second by --max-states (one thread)",
                              "distinct states", "states/CPU s", True),
    "fuzz-cases-per-s-by-threads": ("Fuzz cases per second by threads", "threads", "cases/s", False),
}
W, H, L, R, T, B = 560, 340, 80, 20, 40, 50


def si(v):
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:g}{suffix}"
    return f"{v:g}"


def scale(lo, hi, log, a, b):
    """Maps [lo, hi] onto [a, b] (log or linear)."""
    f = (lambda v: math.log10(v)) if log else (lambda v: v)
    lo_f, hi_f = f(lo), f(hi)
    span = (hi_f - lo_f) or 1.0
    return lambda v: a + (f(v) - lo_f) / span * (b - a)


def svg(title, xlabel, ylabel, logx, pts):
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x_lo, x_hi = min(xs), max(xs)
    if not logx:
        x_lo, x_hi = x_lo - 0.5, x_hi + 0.5
    y_hi = max(ys) * 1.15
    sx = scale(x_lo, x_hi, logx, L, W - R)
    sy = scale(0, y_hi, False, H - B, T)
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
         f'font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
         f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
         f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>',
         f'<text x="{(L + W - R) / 2}" y="{H - 12}" text-anchor="middle">{xlabel}</text>',
         f'<text x="16" y="{(T + H - B) / 2}" text-anchor="middle" '
         f'transform="rotate(-90 16 {(T + H - B) / 2})">{ylabel}</text>']
    for i in range(6):
        v = y_hi * i / 5
        o.append(f'<line x1="{L - 4}" y1="{sy(v):.1f}" x2="{W - R}" y2="{sy(v):.1f}" '
                 f'stroke="#ddd"/><text x="{L - 6}" y="{sy(v) + 4:.1f}" '
                 f'text-anchor="end">{si(v)}</text>')
    for v in sorted(set(xs)):
        o.append(f'<text x="{sx(v):.1f}" y="{H - B + 16}" text-anchor="middle">{si(v)}</text>')
    line = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in pts)
    o.append(f'<polyline points="{line}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
    for a, b in pts:
        o.append(f'<circle cx="{sx(a):.1f}" cy="{sy(b):.1f}" r="3.5" fill="#1f77b4"/>')
    o.append("</svg>")
    return "\n".join(o) + "\n"


def main():
    tsv, out = sys.argv[1:3]
    series = {}
    with open(tsv) as f:
        for line in f:
            name, x, y = line.split("\t")
            series.setdefault(name, {})[float(x)] = float(y)
    os.makedirs(out, exist_ok=True)
    for name, (title, xl, yl, logx) in PLOTS.items():
        pts = sorted(series.get(name, {}).items())
        if pts:
            with open(os.path.join(out, f"{name}.svg"), "w") as f:
                f.write(svg(title, xl, yl, logx, pts))


if __name__ == "__main__":
    main()
