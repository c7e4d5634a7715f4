#!/usr/bin/env bash
# Costs as the database grows: for each size (refresh families; users, PATs and clients in
# proportion, see examples/seed.rs) and each backend, seeds a fresh database, starts the
# release server on it and measures start-up time, then waits until the housekeeping round
# that runs at start has finished (it logs at debug level; with a million families it
# deletes 300,000 expired tokens) and measures refresh, code exchange, /api/validate (JWT
# and PAT), client_credentials, peak RSS and the database size on the quiet server.
#
# Then the purge under load (PURGE=1, the default, for every size but 0): 32 refresh
# tokens are minted, the server is stopped, another tenth of the seeded families' tokens
# are made to expire (`seed … expire`) and the server is started again with the refresh
# load (examples/loadgen.rs with REFRESH_TOKENS, no sign-in first) running from the first
# moment, so its start-up round (rows deleted, elapsed, slowest statement) runs beside it;
# the load's p99 and maximum latency are what the round cost the requests. On SQLite the
# WAL restarts of that phase are counted too, with their median and longest hold of the
# writer (src/store/checkpoint.rs logs them at debug level).
#
#   bash bench/scale.sh                                # sizes 0 10000 100000 1000000, both backends
#   SIZES="0 100000" BACKENDS=sqlite DURATION=5 bash bench/scale.sh
#   PG_URL=postgres://user@127.0.0.1:5432/postgres bash bench/scale.sh   # an existing server
#
# PostgreSQL: PG_URL (or AUTHSERVER_TEST_POSTGRES_URL) names a server whose user may create
# databases; without either, a throwaway one is started with .ci/postgres.sh.
# Writes one JSON line per (backend, size) to bench/results/scale.jsonl (OUT=…; replacing
# it, or adding to it with APPEND=1) and draws bench/results/scale.svg (beside OUT) from it
# (bench/chart.py).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-0 10000 100000 1000000}
BACKENDS=${BACKENDS:-sqlite postgres}
DURATION=${DURATION:-5}
CONNS=${CONNS:-32}
SECRET=bench-secret-0123456789
OUT=${OUT:-bench/results/scale.jsonl}
SVG=${OUT%.jsonl}.svg
mkdir -p bench/results

command -v wrk >/dev/null || { echo "bench/scale.sh needs wrk (apt-get install wrk)"; exit 1; }
cargo build --release --quiet
cargo build --release --quiet --example loadgen --example seed
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
BIN=$TARGET/release/authserver
LOADGEN=$TARGET/release/examples/loadgen
SEED=$TARGET/release/examples/seed
PURGE=${PURGE:-1}

WORK=$(mktemp -d)
SERVER_PID=
PG_DIR=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  [ -n "$TWIN_PID" ] && kill "$TWIN_PID" 2>/dev/null
  wait 2>/dev/null || true
  [ -n "$PG_DIR" ] && { .ci/postgres.sh stop "$PG_DIR" >/dev/null 2>&1; rm -rf "$PG_DIR"; }
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

PG_URL=${PG_URL:-${AUTHSERVER_TEST_POSTGRES_URL:-}}
if [[ " $BACKENDS " == *" postgres "* ]] && [ -z "$PG_URL" ]; then
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
loadgen_rate() { # $1 = issuer, $2 = refresh|code; prints "rate p99_ms max_ms"
  DETAIL=1 "$LOADGEN" "$1" "$2" "$CONNS" "$DURATION" "$SECRET" bench-user bench-password-1 > "$WORK/lg.txt" 2>&1
  loadgen_figures
}
measure_op() { # $1 = op, $2 = issuer, $3 = PAT; prints "rate p99_ms" (and max_ms for the grants)
  local token
  case $1 in
    refresh|code) loadgen_rate "$2" "$1" ;;
    validate_jwt)
      token=$(curl -s -X POST -H "X-Auth-Secret: $SECRET" -u bench-user:bench-password-1 \
        "$2/api/token?grant_type=client_credentials&client_id=webApplicationPlatform" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
      wrk_rate -H "Authorization: Token $token" "$2/api/validate" ;;
    validate_pat) wrk_rate -H "Authorization: Bearer $3" "$2/api/validate" ;;
    client_credentials)
      wrk_rate -m POST -H "X-Auth-Secret: $SECRET" \
        -H "Authorization: Basic $(printf 'bench-user:bench-password-1' | base64)" \
        "$2/api/token?grant_type=client_credentials&client_id=webApplicationPlatform" ;;
  esac
}
OPS="refresh code validate_jwt validate_pat client_credentials"
loadgen_figures() { # reads $WORK/lg.txt; prints "rate p99_ms max_ms"
  python3 - "$WORK/lg.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rate = re.search(r"= (\d+) req/s, p50 [\d.]+ ms, p99 ([\d.]+) ms", t)
mx = re.search(r"max ([\d.]+) ms; requests per second", t)
print(rate.group(1), rate.group(2), mx.group(1) if mx else "0")
PY
}

start_server() { # sets SERVER_PID and STARTUP_MS (exec to the first /healthz answer)
  local t0
  t0=$(date +%s.%N)
  RUST_LOG=warn,authserver::housekeeping=debug,authserver::store::checkpoint=debug "$BIN" --config "$WORK/authserver.properties" serve 2>"$WORK/server.log" &
  SERVER_PID=$!
  until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do sleep 0.01; done
  STARTUP_MS=$(python3 -c "print(round(($(date +%s.%N) - $t0) * 1000))")
}
stop_server() {
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}
rounds_logged() { # the housekeeping rounds' log lines (the log is coloured: codes stripped)
  sed 's/\x1b\[[0-9;]*m//g' "$WORK/server.log" | grep 'housekeeping round' || true
}
wait_round() { # $1 = n: waits (up to 10 minutes) until n rounds have finished
  local i
  for i in $(seq 1 60000); do
    [ "$(rounds_logged | wc -l)" -ge "$1" ] && return 0
    grep -q 'housekeeping failed' "$WORK/server.log" && { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.01
  done
  echo "no housekeeping round logged" >&2; exit 1
}
restart_figures() { # prints "restarts median_held_ms max_held_ms" of the SQLite WAL restarts logged
  sed 's/\x1b\[[0-9;]*m//g' "$WORK/server.log" | sed -n 's/.*WAL restart.*held_ms=\([0-9]*\).*/\1/p' |
    sort -n | awk '{v[NR] = $1} END {if (NR) print NR, v[int((NR + 1) / 2)], v[NR]; else print 0, 0, 0}'
}
round_figures() { # $1 = n: prints "rows elapsed_ms slowest_statement_ms slowest_table" of round n
  local line
  line=$(rounds_logged | sed -n "$1p")
  printf '%s %s %s %s\n' "$(sed -n 's/.*rows=\([0-9]*\).*/\1/p' <<<"$line")" \
    "$(sed -n 's/.*elapsed_ms=\([0-9]*\).*/\1/p' <<<"$line")" \
    "$(sed -n 's/.*slowest_statement_ms=\([0-9]*\).*/\1/p' <<<"$line")" \
    "$(sed -n 's/.*slowest_table="\?\([a-z_]*\).*/\1/p' <<<"$line")"
}

# TWIN=1 (the default): a server on an empty database of the same backend runs beside the
# sized ones, and every operation is measured on it right after the sized server (A B A B):
# the "_empty" figures and the ratios compare runs a minute apart, not a quarter of an hour
# apart, on a machine shared with other work.
TWIN=${TWIN:-1}
TWIN_PID=
start_twin() { # $1 = backend; sets TWIN_ISS, TWIN_PAT, TWIN_PID
  local dir=$WORK/twin port url
  rm -rf "$dir"; mkdir -p "$dir"
  port=$(free_port)
  if [ "$1" = sqlite ]; then
    url="sqlite://$dir/twin.db"
  else
    psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS scale_twin" -c "CREATE DATABASE scale_twin" >/dev/null
    url="${PG_URL%/*}/scale_twin"
  fi
  cat > "$dir/authserver.properties" <<PROPS
server.port = $port
database.url = $url
authentication.client.ids = webApplicationPlatform, MAGICDRAW, twc-rest-api
authentication.redirect.uri.whitelist = http://localhost:8080/callback
authentication.client.secret = $SECRET
authentication.client.permanent = twc-rest-api
authentication.code.expiry = 600
logging.level = warn
PROPS
  printf 'bench-password-1\n' | "$BIN" --config "$dir/authserver.properties" user add bench-user --password-stdin >/dev/null
  TWIN_PAT=$("$BIN" --config "$dir/authserver.properties" pat create bench-user --description bench)
  "$BIN" --config "$dir/authserver.properties" serve 2>"$dir/server.log" &
  TWIN_PID=$!
  TWIN_ISS="http://127.0.0.1:$port/authentication"
  until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.02; done
}
stop_twin() {
  [ -n "$TWIN_PID" ] && { kill "$TWIN_PID"; wait "$TWIN_PID" 2>/dev/null || true; }
  TWIN_PID=
}

for backend in $BACKENDS; do
  [ "$TWIN" = 1 ] && start_twin "$backend"
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

    start_server
    startup_ms=$STARTUP_MS
    # the housekeeping round that runs at start: measured alone, and over before the rates
    wait_round 1
    read -r purge_rows purge_ms purge_slowest purge_table < <(round_figures 1)

    : > "$WORK/ops.txt"
    for op in $OPS; do
      echo "$op $(measure_op "$op" "$ISS" "$PAT")" >> "$WORK/ops.txt"
      if [ "$TWIN" = 1 ] && [ "$size" -gt 0 ]; then
        echo "${op}_empty $(measure_op "$op" "$TWIN_ISS" "$TWIN_PAT")" >> "$WORK/ops.txt"
      fi
    done
    # the peak includes the sign-ins' password hashes (argon2id, 12 MiB each, one per
    # core at a time, freed at once); the resident set after the load does not
    rss_mib=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$SERVER_PID/status)
    rss_end_mib=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' /proc/$SERVER_PID/status)
    if [ "$PURGE" = 1 ] && [ "$size" -gt 0 ]; then
      "$LOADGEN" "$ISS" mint-refresh "$CONNS" 0 "$SECRET" bench-user bench-password-1 > "$WORK/minted.txt"
    fi
    stop_server
    # as seeded, less the first round
    if [ "$backend" = sqlite ]; then
      db_mib=$(du -cm "$WORK"/scale.db* | tail -1 | cut -f1)
    else
      db_mib=$(psql -tA "$PG_URL" -c "SELECT pg_database_size('$db') / 1048576")
    fi

    # the purge under load: a second start-up round, as big as the first, with the refresh
    # load running beside it from the first moment
    lp_rows=0 lp_ms=0 lp_slowest=0 lp_table= lp_rate=0 lp_p99=0 lp_max=0 restart_ms=0
    lp_restarts=0 lp_restart_median=0 lp_restart_max=0
    if [ "$PURGE" = 1 ] && [ "$size" -gt 0 ]; then
      "$SEED" "$URL" "$size" expire
      load_s=$(python3 -c "print(max(4, round($purge_ms / 1000 * 1.5) + 3))")
      start_server
      restart_ms=$STARTUP_MS
      REFRESH_TOKENS="$WORK/minted.txt" DETAIL=1 "$LOADGEN" "$ISS" refresh "$CONNS" "$load_s" \
        "$SECRET" bench-user bench-password-1 > "$WORK/lg.txt" 2>&1
      read -r lp_rate lp_p99 lp_max < <(loadgen_figures)
      wait_round 1
      read -r lp_rows lp_ms lp_slowest lp_table < <(round_figures 1)
      read -r lp_restarts lp_restart_median lp_restart_max < <(restart_figures)
      stop_server
    fi

    line=$(python3 - "$WORK/ops.txt" <<PY
import json
row = {"backend": "$backend", "families": $size, "seed_s": $seed_s, "startup_ms": $startup_ms,
       "rss_mib": $rss_mib, "rss_end_mib": $rss_end_mib, "db_mib": $db_mib, "purge_rows": ${purge_rows:-0},
       "purge_ms": ${purge_ms:-0}, "purge_slowest_statement_ms": ${purge_slowest:-0},
       "purge_slowest_table": "${purge_table:-}"}
for line in open("$WORK/ops.txt"):
    op, *v = line.split()
    row[op] = int(float(v[0]))
    row[op + "_p99"] = float(v[1])
    if len(v) > 2:
        row[op + "_max_ms"] = float(v[2])
for op in "$OPS".split():
    if op + "_empty" in row and row[op + "_empty"]:
        row[op + "_vs_empty"] = round(row[op] / row[op + "_empty"], 2)
row.update({"restart_ms": $restart_ms, "loaded_purge_rows": ${lp_rows:-0},
            "loaded_purge_ms": ${lp_ms:-0}, "loaded_purge_slowest_statement_ms": ${lp_slowest:-0},
            "loaded_purge_slowest_table": "${lp_table:-}",
            "loaded_refresh": $lp_rate, "loaded_refresh_p99": $lp_p99,
            "loaded_refresh_max_ms": $lp_max, "loaded_wal_restarts": $lp_restarts,
            "loaded_wal_restart_median_ms": $lp_restart_median,
            "loaded_wal_restart_max_ms": $lp_restart_max, "loadavg": "$(cut -d' ' -f1-3 /proc/loadavg)"})
print(json.dumps(row))
PY
)
    echo "$line" | tee -a "$OUT"
  done
  stop_twin
done
python3 bench/chart.py "$OUT" "$SVG"
echo "chart: $SVG"
