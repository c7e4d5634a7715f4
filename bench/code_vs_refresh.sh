#!/usr/bin/env bash
# The authorization-code exchange against the refresh rotation on the same build and the
# same server, alternating the two (code, refresh, code, refresh, …), RS256 unless ALG says
# otherwise. Both grants sign the same two JWTs (ID token and access token); what differs
# is the writes: the exchange spends the code and creates a family (group-committed,
# src/store/family_batch.rs), the rotation spends a token and adds its successor (also
# group-committed, src/store/batch.rs).
#
#   bash bench/code_vs_refresh.sh
#   ROUNDS=3 DURATION=10 CONNS=32 ALG=RS256 bash bench/code_vs_refresh.sh
#   MODES=code ROUNDS=6 bash bench/code_vs_refresh.sh   # one grant only: how it changes
#                                                       # round by round, no ratio written
#
# Uses examples/loadgen.rs (its sign-ins and the minting of codes are not measured).
# Prints each run, the averages and the ratio; writes one JSON line to
# bench/results/code_vs_refresh.jsonl (OUT=… elsewhere) for `bench/chart.py --side-by-side`.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-3}
ALG=${ALG:-RS256}
MODES=${MODES:-code refresh}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
BIN=${BIN:-$TARGET/release/authserver}
LOADGEN=${LOADGEN:-$TARGET/release/examples/loadgen}
OUT=${OUT:-bench/results/code_vs_refresh.jsonl}
SECRET=bench-secret-0123456789

[ -x "$BIN" ] || cargo build --release --quiet --bin authserver
[ -x "$LOADGEN" ] || cargo build --release --quiet --example loadgen

WORK=$(mktemp -d)
. bench/lib.sh
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
bench_config "authentication.signing.algorithm = $ALG"
start_server

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== $ALG, $CONNS connections, ${DURATION}s per run, $ROUNDS rounds; load average $LOAD_START ==" >&2
: > "$WORK/runs.txt"
for round in $(seq 1 "$ROUNDS"); do
  for mode in $MODES; do
    DETAIL=1 "$LOADGEN" "$ISS" "$mode" "$CONNS" "$DURATION" "$SECRET" bench-user bench-password-1 > "$WORK/lg.txt" 2>&1
    # "<mode>: N requests in T s = R req/s, p50 A ms, p99 B ms, errors E" and "max M ms"
    python3 - "$WORK/lg.txt" "$mode" "$round" "$(cut -d' ' -f1 /proc/loadavg)" >> "$WORK/runs.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"= (\d+) req/s, p50 ([\d.]+) ms, p99 ([\d.]+) ms, errors (\d+)", t)
mx = re.search(r"max ([\d.]+) ms;", t)
if not m:
    sys.exit("loadgen: " + t)
print(sys.argv[2], sys.argv[3], m.group(1), m.group(2), m.group(3), mx.group(1) if mx else 0, m.group(4), sys.argv[4])
PY
    tail -1 "$WORK/runs.txt" | awk '{printf "r%s %-8s %6d req/s  p50 %s ms  p99 %s ms  max %s ms  errors %s  (load %s)\n", $2, $1, $3, $4, $5, $6, $7, $8}' >&2
  done
done
mkdir -p "$(dirname "$OUT")"
python3 - "$WORK/runs.txt" "$OUT" "$ALG" "$CONNS" "$DURATION" "$ROUNDS" "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, sys
runs, out, alg, conns, duration, rounds, load_start, load_end = sys.argv[1:]
rows = {"code": [], "refresh": []}
for line in open(runs):
    mode, _, rate, p50, p99, mx, errors, _ = line.split()
    rows[mode].append((int(rate), float(p99), float(mx), int(errors)))
code, refresh = rows["code"], rows["refresh"]
if not code or not refresh:
    print("one grant only (MODES): the runs are above; no ratio, nothing written")
    sys.exit(0)
a = sum(r[0] for r in code) / len(code)
b = sum(r[0] for r in refresh) / len(refresh)
line = {
    "case": f"code exchange, {alg}", "reference": "refresh rotation on the same build",
    "authserver": round(a), "authserver_p99_ms": max(r[1] for r in code),
    "authserver_runs": [r[0] for r in code], "authserver_p99_runs": [r[1] for r in code],
    "reference_rate": round(b), "reference_p99_ms": max(r[1] for r in refresh),
    "reference_runs": [r[0] for r in refresh], "reference_p99_runs": [r[1] for r in refresh],
    "errors": sum(r[3] for r in code + refresh),
    "ratio": round(a / b, 2), "connections": int(conns), "duration_s": int(duration),
    "rounds": int(rounds), "loadavg_start": load_start, "loadavg_end": load_end,
}
open(out, "w").write(json.dumps(line) + "\n")
print(f"code {a:,.0f}/s (p99 up to {line['authserver_p99_ms']} ms), refresh {b:,.0f}/s "
      f"(p99 up to {line['reference_p99_ms']} ms): code / refresh {a / b:.2f}; results: {out}")
PY
echo "peak RSS: $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' /proc/$SERVER_PID/status); load average $(cut -d' ' -f1-3 /proc/loadavg)"
