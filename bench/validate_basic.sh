#!/usr/bin/env bash
# /api/validate throughput with each credential a resource server's check receives (issue
# 18): a cached Basic user:password, Basic user:<PAT>, Bearer <PAT> and Bearer <JWT>, at
# CONNS connections, interleaved over ROUNDS rounds (the machine may be shared: compare
# within a round); then the cost of one uncached Basic check (argon2id), from single
# requests for UNCACHED users whose first check it is.
#
#   bash bench/validate_basic.sh                  # 3 rounds, 10 s each, 32 connections
#   ROUNDS=5 DURATION=20 CONNS=64 bash bench/validate_basic.sh
#
# Needs wrk (apt-get install wrk) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
UNCACHED=${UNCACHED:-20}
PORT=${PORT:-$(python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])")}
SECRET=bench-secret-0123456789

command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 1; }
cargo build --release --quiet
BIN=target/release/authserver

WORK=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

cat > "$WORK/authserver.properties" <<PROPS
server.port = $PORT
database.url = sqlite://$WORK/bench.db
authentication.client.ids = webApplicationPlatform
authentication.redirect.uri.whitelist = http://localhost:8080/callback
authentication.client.secret = $SECRET
authentication.validate.basic = true
logging.level = warn
PROPS
cli() { "$BIN" --config "$WORK/authserver.properties" "$@"; }

printf 'bench-password-1\n' | cli user add bench-user --password-stdin >/dev/null
for i in $(seq 1 "$UNCACHED"); do
  printf 'cold-password-%s\n' "$i" | cli user add "cold$i" --password-stdin >/dev/null
done
PAT=$(cli pat create bench-user --description bench)
KEY=$(cli service-account add bench-sync)

"$BIN" --config "$WORK/authserver.properties" serve 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.1
done
ISS="http://127.0.0.1:$PORT/authentication"
VALIDATE="$ISS/api/validate"
b64() { printf '%s' "$1" | base64 -w0; }
BASIC="Basic $(b64 bench-user:bench-password-1)"
BASIC_PAT="Basic $(b64 "bench-user:$PAT")"
BASIC_KEY="Basic $(b64 "bench-sync:$KEY")"
TOKEN=$(curl -s -X POST -H "X-Auth-Secret: $SECRET" -H "$(printf 'Authorization: %s' "$BASIC")" \
  "$ISS/api/token?grant_type=client_credentials&client_id=webApplicationPlatform" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# the first Basic check pays argon2 and fills the verified-credential cache
curl -sf -o /dev/null -H "Authorization: $BASIC" "$VALIDATE"

wrk_line() { # $1 = label, $2 = Authorization value
  local out
  out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -H "Authorization: $2" "$VALIDATE")
  local rps p50 p99 bad
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '%-34s %9.0f req/s  p50 %-8s p99 %-8s non-2xx %s\n' "$1" "$rps" "$p50" "$p99" "${bad:-0}"
}

echo "== /api/validate, $CONNS connections, ${DURATION}s each, $ROUNDS interleaved rounds =="
for round in $(seq 1 "$ROUNDS"); do
  echo "-- round $round"
  wrk_line "Basic user:password (cached)" "$BASIC"
  wrk_line "Basic user:<PAT>" "$BASIC_PAT"
  wrk_line "Basic service-account:<key>" "$BASIC_KEY"
  wrk_line "Bearer <PAT>" "Bearer $PAT"
  wrk_line "Bearer <access token JWT>" "Bearer $TOKEN"
done

echo "== one uncached Basic check (argon2id), $UNCACHED users, one request each =="
times=()
for i in $(seq 1 "$UNCACHED"); do
  t=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Basic $(b64 "cold$i:cold-password-$i")" "$VALIDATE")
  times+=("$t")
done
cached=()
for i in $(seq 1 "$UNCACHED"); do
  t=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Basic $(b64 "cold$i:cold-password-$i")" "$VALIDATE")
  cached+=("$t")
done
summary() {
  python3 -c 'import sys, statistics as s; v=sorted(float(x)*1000 for x in sys.argv[2:]); print(f"{sys.argv[1]}: median {s.median(v):.1f} ms, min {v[0]:.1f} ms, max {v[-1]:.1f} ms")' "$@"
}
summary "uncached (argon2id)" "${times[@]}"
summary "same pairs again (cached)" "${cached[@]}"
echo "server peak RSS: $(grep VmHWM /proc/$SERVER_PID/status | awk '{print $2/1024 " MiB"}')"
