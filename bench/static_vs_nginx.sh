#!/usr/bin/env bash
# Discovery and JWKS: authserver against nginx serving the same bytes from files (one
# worker, unprivileged, loopback), measured in the same run, alternating A B A B.
#
#   bash bench/static_vs_nginx.sh
#   ROUNDS=3 DURATION=10 CONNS=64 bash bench/static_vs_nginx.sh
#   BASELINE_BIN=/tmp/old/authserver bash bench/static_vs_nginx.sh   # also an older build
#
#   PEER_DIR=/tmp/peer/node-oidc-provider bash bench/static_vs_nginx.sh   # also the peer
#
# Needs `wrk` and `nginx` (for the benchmark only: `apt-get install -y wrk nginx-light`).
# Writes the nginx configuration and the documents to a temporary directory, removed at
# the end. Prints one line per run (requests/s, p99) and the ratio authserver / nginx (and
# authserver / peer: node-oidc-provider's own discovery and JWKS, with its `npm ci` done in
# PEER_DIR; its documents are not the same bytes). Writes one JSON line per document and
# reference to bench/results/static_vs_nginx.jsonl (OUT=… elsewhere), which
# `python3 bench/chart.py --side-by-side` draws.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-2}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/authserver}
BASELINE_BIN=${BASELINE_BIN:-}
PEER_DIR=${PEER_DIR:-}
OUT=${OUT:-bench/results/static_vs_nginx.jsonl}
SECRET=bench-secret-0123456789

command -v wrk >/dev/null || { echo "wrk is needed (apt-get install -y wrk)"; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "nginx is needed (apt-get install -y nginx-light)"; exit 1; }
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

start_authserver() { # $1 = binary, $2 = name; sets PORT_<name> and PID_<name>
  local bin=$1 name=$2 port
  port=$(free_port)
  mkdir -p "$WORK/$name"
  cat > "$WORK/$name/authserver.properties" <<PROPS
server.port = $port
database.url = sqlite://$WORK/$name/bench.db
authentication.client.ids = webApplicationPlatform
authentication.redirect.uri.whitelist = http://localhost:8080/callback
authentication.client.secret = $SECRET
logging.level = warn
PROPS
  "$bin" --config "$WORK/$name/authserver.properties" serve >/dev/null 2>"$WORK/$name/server.log" &
  PIDS+=("$!")
  echo "$!" > "$WORK/$name/pid"
  eval "PORT_$name=$port"
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0
    sleep 0.1
  done
  echo "authserver ($name) did not start" >&2; cat "$WORK/$name/server.log" >&2; exit 1
}

start_authserver "$BIN" current
AS="http://127.0.0.1:$PORT_current/authentication"
BASE=
if [ -n "$BASELINE_BIN" ]; then
  start_authserver "$BASELINE_BIN" baseline
  BASE="http://127.0.0.1:$PORT_baseline/authentication"
fi

# the same bytes, from files
mkdir -p "$WORK/nginx/www/authentication/.well-known" "$WORK/nginx/tmp"
curl -sf "$AS/.well-known/openid-configuration" > "$WORK/nginx/www/authentication/.well-known/openid-configuration"
curl -sf "$AS/jwks.json" > "$WORK/nginx/www/authentication/jwks.json"
# when run as root, nginx's worker runs as nobody: it must be able to read the files
chmod 755 "$WORK" "$WORK/nginx"; chmod -R a+rX "$WORK/nginx/www"
NG_PORT=$(free_port)
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/tmp;
  proxy_temp_path $WORK/nginx/tmp;
  fastcgi_temp_path $WORK/nginx/tmp;
  uwsgi_temp_path $WORK/nginx/tmp;
  scgi_temp_path $WORK/nginx/tmp;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NG_PORT;
    root $WORK/nginx/www;
    location = /authentication/.well-known/openid-configuration {
      default_type application/json;
      add_header Cache-Control "public, max-age=300";
    }
    location = /authentication/jwks.json {
      default_type application/jwk-set+json;
      add_header Cache-Control "public, max-age=300";
    }
  }
}
CONF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >/dev/null 2>"$WORK/nginx/stderr.log" &
PIDS+=("$!")
NG_PID=$!
NG="http://127.0.0.1:$NG_PORT/authentication"
for _ in $(seq 1 50); do curl -sf "$NG/jwks.json" >/dev/null && break; sleep 0.1; done
cmp <(curl -s "$AS/jwks.json") <(curl -s "$NG/jwks.json") || { echo "nginx serves other bytes"; exit 1; }

PEER=
if [ -n "$PEER_DIR" ]; then
  PEER_PORT=$(free_port)
  PORT=$PEER_PORT node "$PEER_DIR/server.mjs" >"$WORK/peer.log" 2>&1 &
  PIDS+=("$!")
  PEER_PID=$!
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$PEER_PORT/.well-known/openid-configuration" >/dev/null && break; sleep 0.1; done
  PEER="http://127.0.0.1:$PEER_PORT"
  PEER_JWKS=$(curl -sf "$PEER/.well-known/openid-configuration" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jwks_uri"])')
fi

RUNS="$WORK/runs.txt"
: > "$RUNS"
measure() { # $1 = label, $2 = url; prints the rate; adds "label rate p99_ms" to $RUNS
  local out rate p99
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$2")
  rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  local errors
  errors=$(awk '/Non-2xx|Socket errors/' <<<"$out" | tr '\n' ' ')
  printf '%-34s %10.0f req/s   p99 %-8s %s\n' "$1" "$rate" "$p99" "$errors" >&2
  echo "$1 $rate $(python3 -c "v='$p99'; import re; n, u = re.match(r'([\d.]+)(us|ms|s)', v).groups(); print(float(n) * {'us': 0.001, 'ms': 1, 's': 1000}[u])")" >> "$RUNS"
  echo "$rate"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average before: $LOAD_START; $CONNS connections, ${DURATION}s per run, $ROUNDS rounds" >&2
declare -A SUM
for round in $(seq 1 "$ROUNDS"); do
  for doc in .well-known/openid-configuration jwks.json; do
    name=${doc##*/}
    r=$(measure "r$round $name authserver" "$AS/$doc"); SUM[$name,as]=$(python3 -c "print(${SUM[$name,as]:-0}+$r)")
    r=$(measure "r$round $name nginx" "$NG/$doc"); SUM[$name,ng]=$(python3 -c "print(${SUM[$name,ng]:-0}+$r)")
    if [ -n "$BASE" ]; then
      r=$(measure "r$round $name baseline" "$BASE/$doc"); SUM[$name,base]=$(python3 -c "print(${SUM[$name,base]:-0}+$r)")
    fi
    if [ -n "$PEER" ]; then
      if [ "$name" = jwks.json ]; then url=$PEER_JWKS; else url="$PEER/$doc"; fi
      measure "r$round $name peer" "$url" >/dev/null
    fi
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
mkdir -p "$(dirname "$OUT")"
python3 - "$RUNS" "$OUT" "$CONNS" "$DURATION" "$ROUNDS" "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, sys
runs, out, conns, duration, rounds, load_start, load_end = sys.argv[1:]
rows = {}
for line in open(runs):
    _, doc, server, rate, p99 = line.split()
    rate, p99 = float(rate), float(p99)
    rows.setdefault((doc, server), []).append((rate, p99))
names = {"openid-configuration": "discovery", "jwks.json": "JWKS"}
refs = {"nginx": "nginx, one worker, the same bytes from a file", "peer": "node-oidc-provider 9.13.3", "baseline": "authserver, older build"}
with open(out, "w") as f:
    for doc in names:
        mine = rows.get((doc, "authserver"))
        for ref, label in refs.items():
            theirs = rows.get((doc, ref))
            if not mine or not theirs:
                continue
            a = sum(r for r, _ in mine) / len(mine)
            b = sum(r for r, _ in theirs) / len(theirs)
            f.write(json.dumps({
                "case": names[doc], "reference": label,
                "authserver": round(a), "authserver_p99_ms": max(p for _, p in mine),
                "authserver_runs": [round(r) for r, _ in mine],
                "reference_rate": round(b), "reference_p99_ms": max(p for _, p in theirs),
                "reference_runs": [round(r) for r, _ in theirs],
                "ratio": round(a / b, 2), "connections": int(conns), "duration_s": int(duration),
                "rounds": int(rounds), "loadavg_start": load_start, "loadavg_end": load_end,
            }) + "\n")
print(f"results: {out}")
PY
for name in openid-configuration jwks.json; do
  line=$(python3 -c "
a, n, r = ${SUM[$name,as]}, ${SUM[$name,ng]}, $ROUNDS
print(f'$name: authserver {a/r:,.0f}/s, nginx {n/r:,.0f}/s, ratio {a/n:.2f}x')")
  if [ -n "$PEER" ]; then
    line="$line$(awk -v n="$name" -v a="${SUM[$name,as]}" '$2 == n && $3 == "peer" {s += $4; c++} END {printf ", peer %.0f/s (authserver/peer %.2fx)", s / c, a / s}' "$RUNS")"
  fi
  if [ -n "$BASE" ]; then
    line="$line$(python3 -c "b=${SUM[$name,base]}; print(f', baseline {b/$ROUNDS:,.0f}/s ({b/${SUM[$name,ng]}:.2f}x nginx)')")"
  fi
  echo "$line"
done
for name in current baseline; do
  if [ -f "$WORK/$name/pid" ]; then
    echo "peak RSS authserver ($name): $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' /proc/"$(cat "$WORK/$name/pid")"/status)"
  fi
done
[ -n "$PEER" ] && echo "peak RSS node-oidc-provider: $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' /proc/$PEER_PID/status)"
echo "peak RSS nginx (master; the worker is its child): $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' /proc/$NG_PID/status)"
