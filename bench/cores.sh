#!/usr/bin/env bash
# What one more core changes, and where the time goes: each case measured with the server
# on one core (`taskset -c 0`, the load tool on the other core, `taskset -c 1`) and on both
# cores (server and load tool unpinned, sharing the two cores), alternating 1-core and
# 2-core runs; with PROFILE=1 a `perf record -g` (software clock: no hardware counters in
# this VM) of the server during an extra unpinned run of each case, its top entries written
# to bench/results/profiles/<case>.txt.
#
#   bash bench/cores.sh
#   ROUNDS=2 DURATION=5 PROFILE=1 CASES="jwks refresh" bash bench/cores.sh
#
# Cases: jwks, discovery, cc (client_credentials repeated: the earlier pair reused),
# refresh (RS256 rotation), code (RS256 exchange), validate (/api/validate with an RS256
# access token). 32 connections by default. Needs `wrk`, `taskset`, and for PROFILE=1
# `perf` (linux-perf). One server (SQLite, RS256) serves every run of a case. Writes one
# JSON line per case to bench/results/cores.jsonl (OUT=…).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-2}
PROFILE=${PROFILE:-0}
CASES=${CASES:-jwks discovery cc refresh code validate}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
BIN=${BIN:-$TARGET/release/authserver}
LOADGEN=${LOADGEN:-$TARGET/release/examples/loadgen}
OUT=${OUT:-bench/results/cores.jsonl}
PROFILES=bench/results/profiles
SECRET=bench-secret-0123456789

command -v wrk >/dev/null || { echo "wrk is needed (apt-get install -y wrk)"; exit 1; }
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
bench_config

cat > "$WORK/cc.lua" <<LUA
wrk.method = "POST"
wrk.headers["X-Auth-Secret"] = "$SECRET"
wrk.headers["Authorization"] = "Basic $(printf 'bench-user:bench-password-1' | base64 -w0)"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials&client_id=webApplicationPlatform"
LUA

run_case() { # $1 = case, $2 = taskset CPU list for the load tool or ""; prints "rate p99_ms"
  local pin=() c=$1
  [ -n "$2" ] && pin=(taskset -c "$2")
  case $c in
    refresh|code)
      DETAIL=1 "${pin[@]}" "$LOADGEN" "$ISS" "$c" "$CONNS" "$DURATION" "$SECRET" bench-user bench-password-1 > "$WORK/out.txt" 2>&1
      python3 - "$WORK/out.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"= (\d+) req/s, p50 [\d.]+ ms, p99 ([\d.]+) ms", t)
print(m.group(1), m.group(2))
PY
      ;;
    *)
      local args=()
      case $c in
        jwks) args=("$ISS/jwks.json") ;;
        discovery) args=("$ISS/.well-known/openid-configuration") ;;
        cc) args=(-s "$WORK/cc.lua" "$ISS/api/token") ;;
        validate) args=(-H "Authorization: Token $TOKEN" "$ISS/api/validate") ;;
      esac
      "${pin[@]}" wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "${args[@]}" > "$WORK/out.txt"
      python3 - "$WORK/out.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
v, unit = re.search(r"\n\s+99%\s+([\d.]+)(us|ms|s)", t).groups()
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
if bad:
    print(f"wrk: {bad.group(1)} non-2xx responses", file=sys.stderr)
print("%.0f %.2f" % (rate, float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]))
PY
      ;;
  esac
}

prepare() { # makes the first (argon2) call and the token /api/validate checks
  TOKEN=$(curl -s -X POST -H "X-Auth-Secret: $SECRET" -u bench-user:bench-password-1 \
    "$ISS/api/token?grant_type=client_credentials&client_id=webApplicationPlatform" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
}

mkdir -p "$(dirname "$OUT")"
: > "$OUT"
[ "$PROFILE" = 1 ] && mkdir -p "$PROFILES"
echo "$CONNS connections, ${DURATION}s per run, $ROUNDS rounds; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for c in $CASES; do
  one=() two=()
  for round in $(seq 1 "$ROUNDS"); do
    start_server 0; prepare
    read -r rate p99 < <(run_case "$c" 1)
    one+=("$rate $p99"); stop_server
    printf '%-10s r%s 1 core  (server cpu 0, load cpu 1) %8s req/s  p99 %6s ms  load %s\n' "$c" "$round" "$rate" "$p99" "$(cut -d' ' -f1 /proc/loadavg)" >&2
    start_server ""; prepare
    read -r rate p99 < <(run_case "$c" "")
    two+=("$rate $p99"); stop_server
    printf '%-10s r%s 2 cores (both unpinned)            %8s req/s  p99 %6s ms  load %s\n' "$c" "$round" "$rate" "$p99" "$(cut -d' ' -f1 /proc/loadavg)" >&2
  done
  if [ "$PROFILE" = 1 ]; then
    start_server ""; prepare
    # the load runs DURATION seconds; perf samples the server in the middle of it
    run_case "$c" "" > /dev/null &
    load=$!
    sleep 1
    # the grants' load driver signs in and mints codes first: wait for its measured phase
    case $c in
      refresh|code) until grep -q '^measuring' "$WORK/out.txt" 2>/dev/null; do sleep 0.1; done; sleep 0.5 ;;
    esac
    perf record -q -e cpu-clock -F 999 -g -p "$SERVER_PID" -o "$WORK/perf.data" -- sleep $((DURATION - 2)) 2>/dev/null
    wait "$load"
    {
      echo "# $c: perf record -e cpu-clock -F 999 -g -p <server> during a ${DURATION}s run, $CONNS connections, both cores unpinned; load average $(cut -d' ' -f1-3 /proc/loadavg)"
      echo "# self time by binary (perf report --no-children --sort dso)"
      perf report -i "$WORK/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -8
      echo "# self time by symbol (perf report --no-children --sort dso,symbol), top entries"
      perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --stdio -g none --percent-limit 0.7 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40
    } | sed 's/[ -]*$//' > "$PROFILES/$c.txt"
    stop_server
    echo "profile: $PROFILES/$c.txt" >&2
  fi
  python3 - "$c" "$OUT" "$(cut -d' ' -f1-3 /proc/loadavg)" "${one[@]}" -- "${two[@]}" <<'PY'
import json, sys
case, out, load = sys.argv[1:4]
rest = sys.argv[4:]
i = rest.index("--")
one = [tuple(map(float, r.split())) for r in rest[:i]]
two = [tuple(map(float, r.split())) for r in rest[i + 1:]]
a = sum(r for r, _ in one) / len(one)
b = sum(r for r, _ in two) / len(two)
line = {"case": case, "one_core": round(a), "one_core_runs": [round(r) for r, _ in one],
        "one_core_p99_ms": max(p for _, p in one), "two_cores": round(b),
        "two_cores_runs": [round(r) for r, _ in two], "two_cores_p99_ms": max(p for _, p in two),
        "two_over_one": round(b / a, 2), "loadavg_end": load}
open(out, "a").write(json.dumps(line) + "\n")
print(f"{case}: 1 core {a:,.0f}/s, 2 cores {b:,.0f}/s ({b / a:.2f}x)")
PY
done
