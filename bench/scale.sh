#!/usr/bin/env bash
# Costs as the database grows: for each size (refresh families; users, PATs and clients in
# proportion, see examples/seed.rs) and each backend, seeds a fresh database, starts the
# release server on it and measures start-up time, refresh, code exchange, /api/validate
# (JWT and PAT), client_credentials, peak RSS, database size and the housekeeping round
# that runs at start (its slowest statement is the longest a writer waits behind it on
# SQLite; the refresh run overlaps it).
#
#   bash bench/scale.sh                                # sizes 0 10000 100000 1000000, both backends
#   SIZES="0 100000" BACKENDS=sqlite DURATION=5 bash bench/scale.sh
#
# Writes one JSON line per (backend, size) to bench/results/scale.jsonl (replacing it, or
# adding to it with APPEND=1) and
# draws bench/results/scale.svg from it (bench/chart.py).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-0 10000 100000 1000000}
BACKENDS=${BACKENDS:-sqlite postgres}
DURATION=${DURATION:-5}
CONNS=${CONNS:-32}
SECRET=bench-secret-0123456789
OUT=bench/results/scale.jsonl
mkdir -p bench/results

command -v wrk >/dev/null || { echo "bench/scale.sh needs wrk (apt-get install wrk)"; exit 1; }
cargo build --release --quiet
cargo build --release --quiet --example loadgen --example seed
BIN=$PWD/target/release/authserver
LOADGEN=$PWD/target/release/examples/loadgen
SEED=$PWD/target/release/examples/seed

WORK=$(mktemp -d)
SERVER_PID=
PG_DIR=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  wait 2>/dev/null || true
  [ -n "$PG_DIR" ] && { .ci/postgres.sh stop "$PG_DIR" >/dev/null 2>&1; rm -rf "$PG_DIR"; }
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

if [[ " $BACKENDS " == *" postgres "* ]]; then
  # a directory of its own: postgres.sh runs the server as the postgres user, who cannot
  # enter $WORK
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/authserver-scale-pg.XXXXXX")
  PG_URL=$(.ci/postgres.sh start "$PG_DIR")
fi

[ -n "${APPEND:-}" ] || : > "$OUT"
wrk_rate() { # [-m POST] [-H header]... URL; prints "rate p99_ms" (wrk, from Debian's packages)
  local args=() method=GET
  while [ $# -gt 1 ]; do
    case $1 in
      -m) method=$2; shift 2 ;;
      -H) args+=(-H "$2"); shift 2 ;;
    esac
  done
  printf 'wrk.method = "%s"\n' "$method" > "$WORK/method.lua"
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "$WORK/method.lua" "${args[@]}" "$1" > "$WORK/wrk.txt"
  python3 - "$WORK/wrk.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
v, unit = re.search(r"\n\s+99%\s+([\d.]+)(us|ms|s)", t).groups()
p99 = float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
if bad:
    print(f"wrk: {bad.group(1)} non-2xx responses", file=sys.stderr)
print("%.0f %.2f" % (rate, p99))
PY
}
loadgen_rate() { # $1 = refresh|code; prints "rate p99_ms max_ms"
  DETAIL=1 "$LOADGEN" "$ISS" "$1" "$CONNS" "$DURATION" "$SECRET" bench-user bench-password-1 > "$WORK/lg.txt" 2>&1
  python3 - "$WORK/lg.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rate = re.search(r"= (\d+) req/s, p50 [\d.]+ ms, p99 ([\d.]+) ms", t)
mx = re.search(r"max ([\d.]+) ms; requests per second", t)
print(rate.group(1), rate.group(2), mx.group(1) if mx else "0")
PY
}

for backend in $BACKENDS; do
  for size in $SIZES; do
    PORT=$(free_port)
    ISS="http://127.0.0.1:$PORT/authentication"
    if [ "$backend" = sqlite ]; then
      rm -f "$WORK"/scale.db*
      URL="sqlite://$WORK/scale.db"
    else
      db="scale_$size"
      psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
      URL="${PG_URL%/*}/$db"
    fi
    cat > "$WORK/authserver.properties" <<PROPS
server.port = $PORT
database.url = $URL
authentication.client.ids = webApplicationPlatform, MAGICDRAW, twc-rest-api
authentication.redirect.uri.whitelist = http://localhost:8080/callback
authentication.client.secret = $SECRET
authentication.client.permanent = twc-rest-api
authentication.code.expiry = 600
logging.level = warn
PROPS
    seed_s=0
    if [ "$size" -gt 0 ]; then
      t0=$(date +%s.%N)
      "$SEED" "$URL" "$size"
      seed_s=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
    fi
    printf 'bench-password-1\n' | "$BIN" --config "$WORK/authserver.properties" user add bench-user --password-stdin >/dev/null
    PAT=$("$BIN" --config "$WORK/authserver.properties" pat create bench-user --description bench)

    t0=$(date +%s.%N)
    RUST_LOG=warn,authserver::housekeeping=debug "$BIN" --config "$WORK/authserver.properties" serve 2>"$WORK/server.log" &
    SERVER_PID=$!
    until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do sleep 0.02; done
    startup_ms=$(python3 -c "print(round(($(date +%s.%N) - $t0) * 1000))")

    # refresh first: it overlaps the start-up housekeeping round
    read -r refresh refresh_p99 refresh_max < <(loadgen_rate refresh)
    read -r code code_p99 _ < <(loadgen_rate code)
    TOKEN=$(curl -s -X POST -H "X-Auth-Secret: $SECRET" -u bench-user:bench-password-1 \
      "$ISS/api/token?grant_type=client_credentials&client_id=webApplicationPlatform" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    read -r vjwt vjwt_p99 < <(wrk_rate -H "Authorization: Token $TOKEN" "$ISS/api/validate")
    read -r vpat vpat_p99 < <(wrk_rate -H "Authorization: Bearer $PAT" "$ISS/api/validate")
    read -r cc cc_p99 < <(wrk_rate -m POST -H "X-Auth-Secret: $SECRET" \
      -H "Authorization: Basic $(printf 'bench-user:bench-password-1' | base64)" \
      "$ISS/api/token?grant_type=client_credentials&client_id=webApplicationPlatform")
    rss_mib=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$SERVER_PID/status)
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=

    # the log is coloured: strip the escape codes before reading the fields
    purge=$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/server.log" | grep 'housekeeping round' | head -1 || true)
    purge_rows=$(sed -n 's/.*rows=\([0-9]*\).*/\1/p' <<<"$purge")
    purge_ms=$(sed -n 's/.*elapsed_ms=\([0-9]*\).*/\1/p' <<<"$purge")
    purge_slowest=$(sed -n 's/.*slowest_statement_ms=\([0-9]*\).*/\1/p' <<<"$purge")
    if [ "$backend" = sqlite ]; then
      db_mib=$(du -cm "$WORK"/scale.db* | tail -1 | cut -f1)
    else
      db_mib=$(psql -tA "$PG_URL" -c "SELECT pg_database_size('$db') / 1048576")
    fi
    line=$(printf '{"backend":"%s","families":%s,"seed_s":%s,"startup_ms":%s,"rss_mib":%s,"db_mib":%s,"purge_rows":%s,"purge_ms":%s,"purge_slowest_statement_ms":%s,"refresh":%s,"refresh_p99":%s,"refresh_max_ms":%s,"code":%s,"code_p99":%s,"validate_jwt":%s,"validate_jwt_p99":%s,"validate_pat":%s,"validate_pat_p99":%s,"client_credentials":%s,"client_credentials_p99":%s}' \
      "$backend" "$size" "$seed_s" "$startup_ms" "$rss_mib" "$db_mib" "${purge_rows:-0}" "${purge_ms:-0}" "${purge_slowest:-0}" \
      "$refresh" "$refresh_p99" "$refresh_max" "$code" "$code_p99" "$vjwt" "$vjwt_p99" "$vpat" "$vpat_p99" "$cc" "$cc_p99")
    echo "$line" | tee -a "$OUT"
  done
done
python3 bench/chart.py "$OUT" bench/results/scale.svg
echo "chart: bench/results/scale.svg"
