#!/usr/bin/env bash
# Repeated `client_credentials` calls, RS256 and ES256, measured side by side in one run,
# alternating the servers (A B C A B C …): this build, optionally an older build
# (BASELINE_BIN) and optionally the comparison peer (PEER_DIR, node-oidc-provider with its
# node_modules installed; see ../shared/peers/README.md).
#
#   bash bench/cc_side_by_side.sh
#   BASELINE_BIN=/tmp/old/authserver PEER_DIR=/tmp/peer/node-oidc-provider \
#     ROUNDS=3 DURATION=10 CONNS=64 bash bench/cc_side_by_side.sh
#
# Writes one JSON line per algorithm and reference to bench/results/cc_side_by_side.jsonl
# (OUT=… elsewhere), which `python3 bench/chart.py --side-by-side` draws.
#
# Needs `wrk`. Every server listens on loopback only, on a temporary SQLite database in a
# temporary directory removed at the end. The peer issues opaque access tokens and keeps
# them in memory; authserver answers with two JWTs (access and ID token), signing them
# only when no earlier pair for the same credential, client and scope may be reused.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-2}
ALGS=${ALGS:-RS256 ES256}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/authserver}
BASELINE_BIN=${BASELINE_BIN:-}
PEER_DIR=${PEER_DIR:-}
OUT=${OUT:-bench/results/cc_side_by_side.jsonl}
SECRET=bench-secret-0123456789

command -v wrk >/dev/null || { echo "wrk is needed (apt-get install -y wrk)"; exit 1; }
[ -x "$BIN" ] || cargo build --release --quiet --bin authserver

free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_for() { # $1 = url, $2 = log
  for _ in $(seq 1 150); do
    curl -sf "$1" >/dev/null && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2; cat "$2" >&2; exit 1
}

start_authserver() { # $1 = binary, $2 = name, $3 = algorithm; sets PORT_<name>, PID_<name>
  local bin=$1 name=$2 alg=$3 port dir
  port=$(free_port)
  dir="$WORK/$name-$alg"
  mkdir -p "$dir"
  cat > "$dir/authserver.properties" <<PROPS
server.port = $port
database.url = sqlite://$dir/bench.db
authentication.client.ids = webApplicationPlatform
authentication.redirect.uri.whitelist = http://localhost:8080/callback
authentication.client.secret = $SECRET
authentication.signing.algorithm = $alg
logging.level = warn
PROPS
  printf 'bench-password-1\n' | "$bin" --config "$dir/authserver.properties" user add bench-user --password-stdin >/dev/null
  "$bin" --config "$dir/authserver.properties" serve >/dev/null 2>"$dir/server.log" &
  PIDS+=("$!")
  eval "PID_$name=$!; PORT_$name=$port"
  wait_for "http://127.0.0.1:$port/healthz" "$dir/server.log"
}

authserver_lua() { # $1 = file
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.headers["X-Auth-Secret"] = "$SECRET"
wrk.headers["Authorization"] = "Basic $(printf 'bench-user:bench-password-1' | base64 -w0)"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials&client_id=webApplicationPlatform"
LUA
}
peer_lua() { # $1 = file
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Basic $(printf 'twc-client:s3cret' | base64 -w0)"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials"
LUA
}
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
authserver_lua "$WORK/authserver.lua"
peer_lua "$WORK/peer.lua"

RUNS="$WORK/runs.txt"
: > "$RUNS"
measure() { # $1 = label, $2 = lua, $3 = url; prints the rate on stdout, a line on stderr,
  # and adds "label rate p99_ms" to $RUNS
  local out rate p99 errors
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$2" "$3")
  rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/' <<<"$out" | tr '\n' ' ')
  printf '%-30s %10.0f req/s   p99 %-8s %s\n' "$1" "$rate" "$p99" "$errors" >&2
  echo "$1 $rate $(python3 -c "v='$p99'; import re; n, u = re.match(r'([\d.]+)(us|ms|s)', v).groups(); print(float(n) * {'us': 0.001, 'ms': 1, 's': 1000}[u])")" >> "$RUNS"
  echo "$rate"
}

PEER_URL=
if [ -n "$PEER_DIR" ]; then
  PEER_PORT=$(free_port)
  PORT=$PEER_PORT node "$PEER_DIR/server.mjs" >"$WORK/peer.log" 2>&1 &
  PIDS+=("$!")
  PID_peer=$!
  wait_for "http://127.0.0.1:$PEER_PORT/.well-known/openid-configuration" "$WORK/peer.log"
  PEER_URL="http://127.0.0.1:$PEER_PORT/token"
  measure "w0 warm-up peer" "$WORK/peer.lua" "$PEER_URL" >/dev/null 2>&1 || true
fi

rss() { awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' "/proc/$1/status"; }

for alg in $ALGS; do
  start_authserver "$BIN" current "$alg"
  CUR="http://127.0.0.1:$PORT_current/authentication/api/token"
  BASE=
  if [ -n "$BASELINE_BIN" ]; then
    start_authserver "$BASELINE_BIN" baseline "$alg"
    BASE="http://127.0.0.1:$PORT_baseline/authentication/api/token"
  fi
  # the first call of each runs argon2 once; not measured
  curl -sf -o /dev/null -X POST -H "X-Auth-Secret: $SECRET" -u bench-user:bench-password-1 "$CUR?grant_type=client_credentials&client_id=webApplicationPlatform"
  [ -n "$BASE" ] && curl -sf -o /dev/null -X POST -H "X-Auth-Secret: $SECRET" -u bench-user:bench-password-1 "$BASE?grant_type=client_credentials&client_id=webApplicationPlatform"
  echo "== $alg: $CONNS connections, ${DURATION}s per run, $ROUNDS rounds; load average $(cut -d' ' -f1-3 /proc/loadavg) ==" >&2
  cur=0; base=0; peer=0
  for round in $(seq 1 "$ROUNDS"); do
    cur=$(python3 -c "print($cur + $(measure "r$round $alg authserver" "$WORK/authserver.lua" "$CUR"))")
    if [ -n "$BASE" ]; then
      base=$(python3 -c "print($base + $(measure "r$round $alg baseline" "$WORK/authserver.lua" "$BASE"))")
    fi
    if [ -n "$PEER_URL" ]; then
      peer=$(python3 -c "print($peer + $(measure "r$round $alg peer" "$WORK/peer.lua" "$PEER_URL"))")
    fi
  done
  summary="$alg: authserver $(python3 -c "print(f'{$cur/$ROUNDS:,.0f}/s')") (peak RSS $(rss "$PID_current"))"
  [ -n "$BASE" ] && summary="$summary, baseline $(python3 -c "print(f'{$base/$ROUNDS:,.0f}/s, after/before {$cur/$base:.1f}x')") (peak RSS $(rss "$PID_baseline"))"
  [ -n "$PEER_URL" ] && summary="$summary, peer $(python3 -c "print(f'{$peer/$ROUNDS:,.0f}/s, authserver/peer {$cur/$peer:.1f}x')") (peak RSS $(rss "$PID_peer"))"
  echo "$summary; load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "$alg $(rss "$PID_current" | cut -d' ' -f1) $([ -n "$PEER_URL" ] && rss "$PID_peer" | cut -d' ' -f1)" >> "$WORK/rss.txt"
  kill "$PID_current" 2>/dev/null || true
  [ -n "$BASE" ] && kill "$PID_baseline" 2>/dev/null || true
done
mkdir -p "$(dirname "$OUT")"
python3 - "$RUNS" "$OUT" "$CONNS" "$DURATION" "$ROUNDS" "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)" "$WORK/rss.txt" <<'PY'
import json, sys
runs, out, conns, duration, rounds, load_start, load_end, rss = sys.argv[1:]
rows = {}
for line in open(runs):
    _, alg, server, rate, p99 = line.split()
    rows.setdefault((alg, server), []).append((float(rate), float(p99)))
peak = {l.split()[0]: l.split()[1:] for l in open(rss) if l.strip()}
refs = {"peer": "node-oidc-provider 9.13.3 (opaque token)", "baseline": "authserver, older build"}
with open(out, "w") as f:
    for alg in dict.fromkeys(a for a, _ in rows):
        mine = rows.get((alg, "authserver"))
        for ref, label in refs.items():
            theirs = rows.get((alg, ref))
            if not mine or not theirs:
                continue
            a = sum(r for r, _ in mine) / len(mine)
            b = sum(r for r, _ in theirs) / len(theirs)
            line = {
                "case": f"client_credentials, {alg}", "reference": label,
                "authserver": round(a), "authserver_p99_ms": max(p for _, p in mine),
                "authserver_runs": [round(r) for r, _ in mine],
                "reference_rate": round(b), "reference_p99_ms": max(p for _, p in theirs),
                "reference_runs": [round(r) for r, _ in theirs],
                "ratio": round(a / b, 2), "connections": int(conns), "duration_s": int(duration),
                "rounds": int(rounds), "loadavg_start": load_start, "loadavg_end": load_end,
            }
            p = peak.get(alg, [])
            if p:
                line["authserver_peak_rss_mib"] = float(p[0])
            if ref == "peer" and len(p) > 1:
                line["reference_peak_rss_mib"] = float(p[1])
            f.write(json.dumps(line) + "\n")
print(f"results: {out}")
PY
