#!/usr/bin/env python3
"""Turns scripts/bench.sh's measurements into its table and plot series.

    bench_report.py CRITERION_DIR EXTRA_TSV OUT_DIR

Reads criterion's results (each bench's `new/benchmark.json` and
`new/estimates.json`: the median time per iteration and the elements per
iteration) and the whole-process figures bench.sh wrote (NAME, X, VALUE per
line); writes OUT_DIR/table.md and OUT_DIR/series.tsv (SERIES, X, Y per line,
what scripts/plots.py draws).
"""
import json
import os
import sys


def criterion(root):
    """{(group, function, value): elements per second} of every bench."""
    out = {}
    for dirpath, _, files in os.walk(root):
        if os.path.basename(dirpath) != "new" or "benchmark.json" not in files:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            b = json.load(f)
        with open(os.path.join(dirpath, "estimates.json")) as f:
            e = json.load(f)
        ns = e["median"]["point_estimate"]
        elements = (b.get("throughput") or {}).get("Elements", 1)
        key = (b["group_id"], b.get("function_id") or "", b.get("value_str") or "")
        out[key] = elements / (ns * 1e-9)
    return out


def extras(path):
    """{(name, x): value} of the whole-process figures."""
    out = {}
    with open(path) as f:
        for line in f:
            name, x, value = line.rstrip("\n").split("\t")
            out[(name, x)] = float(value)
    return out


def fmt(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:,.2f}"


def rows(c, x):
    """The table's rows: (what, figure)."""
    r = []

    def crit(label, key):
        if key in c:
            r.append((label, fmt(c[key])))

    crit("small close, runs/s (verdict on)", ("small-close", "runs", ""))
    crit("small close, events/s", ("small-close", "events", ""))
    crit("100-step exchange, runs/s", ("exchange-100-steps", "runs", ""))
    crit("100-step exchange, events/s", ("exchange-100-steps", "events", ""))
    crit("10 MB over 1 % loss, runs/s", ("bulk-10MB-1pct-loss", "runs", ""))
    crit("10 MB over 1 % loss, events/s", ("bulk-10MB-1pct-loss", "events", ""))
    for b in ("1000000", "10000000", "100000000"):
        crit(f"bulk {int(b) // 1000000} MB, events/s", ("bulk-by-bytes", "events", b))
    for b in (1000000000, 10000000000):
        key = str(b)
        if ("bulk-wall-s", key) in x:
            s, ev = x[("bulk-wall-s", key)], x[("bulk-events", key)]
            gb = b // 1000000000
            r.append((f"bulk {gb} GB (whole process), wall s", fmt(s)))
            r.append((f"bulk {gb} GB, events/s", fmt(ev / s)))
            r.append((f"bulk {gb} GB, peak memory (MB)", fmt(x[("bulk-peak-kb", key)] / 1024)))
    crit("fuzz, cases/s (one thread)", ("fuzz", "cases", ""))
    for s in ("2000", "20000"):
        crit(f"explore close matrix to {int(s):,} states, states/s (one thread)",
             ("explore-close-matrix", "states", s))
    for s in ("100000", "300000"):
        for t in ("1", "2"):
            if (f"explore-cpu-s-t{t}", s) in x:
                wall = x[(f"explore-wall-s-t{t}", s)]
                cpu = x[(f"explore-cpu-s-t{t}", s)]
                r.append((f"explore to {int(s):,} states, {t} thread(s): states/s (wall)",
                          fmt(int(s) / wall)))
                r.append((f"explore to {int(s):,} states, {t} thread(s): states per CPU second",
                          fmt(int(s) / cpu)))
                r.append((f"explore to {int(s):,} states, {t} thread(s): peak memory (MB)",
                          fmt(x[(f"explore-peak-kb-t{t}", s)] / 1024)))
    if ("fuzz-wall-s", "1") in x:
        n = x[("fuzz-cases", "-")]
        for t in ("1", "2"):
            r.append((f"fuzz {n:,.0f} cases, {t} thread(s): cases/s (wall, whole process)",
                      fmt(n / x[("fuzz-wall-s", t)])))
            r.append((f"fuzz {n:,.0f} cases, {t} thread(s): cases per CPU second",
                      fmt(n / x[("fuzz-cpu-s", t)])))
        r.append(("fuzz speed-up on two threads", fmt(x[("fuzz-wall-s", "1")] / x[("fuzz-wall-s", "2")])))
    crit("parse + resolve a 10,000-step scenario, steps/s", ("parse-10000-steps", "steps", ""))
    if ("small-close-instructions", "10000") in x:
        ir = x[("small-close-instructions", "10000")] / 10000
        ev = x[("small-close-events", "-")]
        r.append(("small close, instructions per run (callgrind)", fmt(ir)))
        r.append((f"small close, instructions per event ({ev:.0f} events)", fmt(ir / ev)))
        r.append(("small close, allocations per run (dhat, 1,000 runs)",
                  fmt(x[("small-close-allocations", "1000")] / 1000)))
    return r


def series(c, x):
    """(series, x, y) points for the plots."""
    s = []
    for (g, f, v), rate in sorted(c.items()):
        if g == "exchange-by-steps":
            steps = int(v)
            s.append(("runs-per-s-by-steps", steps, rate / steps))
        if g == "bulk-by-bytes":
            s.append(("events-per-s-by-bytes", int(v), rate))
        if g == "explore-close-matrix":
            s.append(("states-per-s-by-bound", int(v), rate))
    for (name, key), val in sorted(x.items()):
        if name == "bulk-wall-s":
            s.append(("events-per-s-by-bytes", int(key), x[("bulk-events", key)] / val))
        if name == "explore-cpu-s-t1":
            s.append(("states-per-s-by-bound", int(key), int(key) / val))
        if name == "fuzz-wall-s":
            s.append(("fuzz-cases-per-s-by-threads", int(key), x[("fuzz-cases", "-")] / val))
    return sorted(s)


def main():
    crit_dir, extra_tsv, out = sys.argv[1:4]
    c, x = criterion(crit_dir), extras(extra_tsv)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write("| what | figure |\n| --- | --- |\n")
        for what, fig in rows(c, x):
            f.write(f"| {what} | {fig} |\n")
    with open(os.path.join(out, "series.tsv"), "w") as f:
        for name, xv, yv in series(c, x):
            f.write(f"{name}\t{xv}\t{yv:.1f}\n")


if __name__ == "__main__":
    main()
