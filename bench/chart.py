#!/usr/bin/env python3
"""Draws the benchmarks' results as SVG charts. Standard library only.

bench/scale.sh's results: request rate and p99 against database size, one line per
operation, one column per backend:

    python3 bench/chart.py bench/results/scale.jsonl bench/results/scale.svg

The side-by-side runs (bench/cc_side_by_side.sh, bench/static_vs_nginx.sh,
bench/code_vs_refresh.sh): authserver against the reference of each case, as the ratio of
their request rates on a logarithmic axis, with both rates written out:

    python3 bench/chart.py --side-by-side bench/results/side_by_side.svg \
        bench/results/static_vs_nginx.jsonl bench/results/cc_side_by_side.jsonl \
        bench/results/code_vs_refresh.jsonl
"""
import json
import math
import sys

OPS = [
    ("refresh", "refresh"),
    ("code", "code exchange"),
    ("validate_jwt", "validate (JWT)"),
    ("validate_pat", "validate (PAT)"),
    ("client_credentials", "client_credentials"),
]
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
W, H = 460, 250  # one panel
ML, MR, MT, MB = 70, 20, 40, 45


def esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;")


def panel(x0, y0, title, rows, key, ylabel, log_y):
    out = [f'<g transform="translate({x0},{y0})">']
    out.append(f'<text x="{W/2}" y="18" text-anchor="middle" font-weight="bold">{esc(title)}</text>')
    sizes = sorted({r["families"] for r in rows})
    xs = {s: i for i, s in enumerate(sizes)}
    values = [r[op + key] for r in rows for op, _ in OPS if r.get(op + key) is not None]
    values = [v for v in values if v > 0] or [1]
    lo, hi = min(values), max(values)
    if log_y:
        lo, hi = 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi))
    else:
        lo, hi = 0, hi * 1.1

    def px(i):
        return ML + (W - ML - MR) * (i / max(len(sizes) - 1, 1))

    def py(v):
        if log_y:
            f = (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        else:
            f = (v - lo) / (hi - lo or 1)
        return H - MB - (H - MT - MB) * f

    out.append(f'<line x1="{ML}" y1="{H-MB}" x2="{W-MR}" y2="{H-MB}" stroke="black"/>')
    out.append(f'<line x1="{ML}" y1="{MT}" x2="{ML}" y2="{H-MB}" stroke="black"/>')
    for s, i in xs.items():
        label = f"{s:,}" if s else "empty"
        out.append(f'<text x="{px(i)}" y="{H-MB+16}" text-anchor="middle" font-size="11">{label}</text>')
    out.append(f'<text x="{(ML+W-MR)/2}" y="{H-8}" text-anchor="middle" font-size="11">refresh families in the database</text>')
    ticks = []
    if log_y:
        t = lo
        while t <= hi:
            ticks.append(t)
            t *= 10
    else:
        step = 10 ** math.floor(math.log10(hi / 4 or 1))
        ticks = [i * step for i in range(int(hi / step) + 1)][:: max(1, int(hi / step) // 5)]
    for t in ticks:
        out.append(f'<line x1="{ML-4}" y1="{py(t)}" x2="{W-MR}" y2="{py(t)}" stroke="#ddd"/>')
        out.append(f'<text x="{ML-6}" y="{py(t)+4}" text-anchor="end" font-size="10">{t:g}</text>')
    out.append(f'<text transform="translate(14,{(MT+H-MB)/2}) rotate(-90)" text-anchor="middle" font-size="11">{esc(ylabel)}</text>')
    for (op, _), colour in zip(OPS, COLOURS):
        pts = [(px(xs[r["families"]]), py(r[op + key])) for r in sorted(rows, key=lambda r: r["families"]) if r.get(op + key)]
        if pts:
            out.append('<polyline fill="none" stroke-width="2" stroke="%s" points="%s"/>' % (colour, " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)))
            for x, y in pts:
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
    out.append("</g>")
    return out


def side_by_side(dst, sources):
    rows = []
    for src in sources:
        try:
            rows += [json.loads(line) for line in open(src) if line.strip()]
        except FileNotFoundError:
            print(f"chart.py: {src} not found, left out", file=sys.stderr)
    label_w, bar_w, text_w, row_h, top = 420, 360, 300, 34, 50
    lo, hi = 0.25, 16.0  # the ratio axis (log)
    width, height = label_w + bar_w + text_w, top + row_h * len(rows) + 50

    def px(ratio):
        f = (math.log(min(max(ratio, lo), hi)) - math.log(lo)) / (math.log(hi) - math.log(lo))
        return label_w + bar_w * f

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width/2}" y="20" text-anchor="middle" font-weight="bold">authserver against the reference in the same run: ratio of request rates (log scale)</text>']
    t = lo
    while t <= hi:
        x = px(t)
        svg.append(f'<line x1="{x:.1f}" y1="{top-8}" x2="{x:.1f}" y2="{top + row_h*len(rows)}" stroke="{"black" if t == 1 else "#ddd"}"/>')
        svg.append(f'<text x="{x:.1f}" y="{top-12}" text-anchor="middle" font-size="10">{t:g}×</text>')
        t *= 2
    for i, r in enumerate(rows):
        y = top + i * row_h
        ratio = r["ratio"]
        x0, x1 = sorted((px(1), px(ratio)))
        colour = "#2ca02c" if ratio >= 1 else "#d62728"
        svg.append(f'<text x="{label_w-8}" y="{y+14}" text-anchor="end">{esc(r["case"])}</text>')
        svg.append(f'<text x="{label_w-8}" y="{y+27}" text-anchor="end" font-size="10" fill="#555">vs {esc(r["reference"])}</text>')
        svg.append(f'<rect x="{x0:.1f}" y="{y+6}" width="{max(x1-x0, 1):.1f}" height="{row_h-12}" fill="{colour}"/>')
        svg.append(f'<text x="{label_w+bar_w+8}" y="{y+14}">{ratio:g}×</text>')
        svg.append(f'<text x="{label_w+bar_w+8}" y="{y+27}" font-size="10" fill="#555">{r["authserver"]:,}/s vs {r["reference_rate"]:,}/s</text>')
    notes = sorted({f'{r.get("connections", "?")} connections, {r.get("rounds", "?")} rounds of {r.get("duration_s", "?")} s' for r in rows})
    svg.append(f'<text x="10" y="{height-18}" font-size="10" fill="#555">{esc("; ".join(notes))}; interleaved runs on one 2-core machine, load tool on the same machine</text>')
    svg.append("</svg>")
    open(dst, "w").write("\n".join(svg) + "\n")


def main():
    if sys.argv[1] == "--side-by-side":
        side_by_side(sys.argv[2], sys.argv[3:])
        return
    src, dst = sys.argv[1], sys.argv[2]
    rows = [json.loads(line) for line in open(src) if line.strip()]
    backends = sorted({r["backend"] for r in rows}, key=lambda b: b != "sqlite")
    ratios = any(k.endswith("_vs_empty") for r in rows for k in r)
    panels = 3 if ratios else 2
    width = W * max(len(backends), 1)
    height = panels * H + 40
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    for col, b in enumerate(backends):
        rs = [r for r in rows if r["backend"] == b]
        svg += panel(col * W, 0, f"{b}: requests per second", rs, "", "requests/s (log)", True)
        svg += panel(col * W, H, f"{b}: p99 latency", rs, "_p99", "p99 ms", False)
        if ratios:
            svg += panel(col * W, 2 * H, f"{b}: rate / the empty database's, same minute", rs, "_vs_empty", "ratio", False)
    x = 10
    for (_, label), colour in zip(OPS, COLOURS):
        svg.append(f'<rect x="{x}" y="{panels*H+14}" width="12" height="12" fill="{colour}"/>')
        svg.append(f'<text x="{x+16}" y="{panels*H+24}">{esc(label)}</text>')
        x += 30 + 8 * len(label)
    svg.append("</svg>")
    open(dst, "w").write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
