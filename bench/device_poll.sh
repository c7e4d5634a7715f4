#!/usr/bin/env bash
# What one pending device code can cost the server when its client ignores the polling
# interval (RFC 8628 slow_down in force): release build, temporary SQLite database, one
# device authorization polled back to back by CONNS connections for DURATION seconds:
# `early`, by its own client (too early: answered slow_down from memory), then `db`, by
# another client (every poll reaches the database; see examples/device_poll.rs).
#
#   bash bench/device_poll.sh            # 10 s, 1 and 8 connections
#   DURATION=20 CONNS="1 32" bash bench/device_poll.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNS=${CONNS:-"1 8"}
PORT=${PORT:-$(python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])")}
SECRET=bench-secret-0123456789

cargo build --release --quiet
cargo build --release --quiet --example device_poll
BIN=target/release/authserver
POLL=target/release/examples/device_poll

WORK=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

cat > "$WORK/authserver.properties" <<PROPS
server.port = $PORT
database.url = sqlite://$WORK/bench.db
authentication.client.ids = webApplicationPlatform, MAGICDRAW
authentication.redirect.uri.whitelist = http://localhost:8080/callback
authentication.client.secret = $SECRET
logging.level = warn
PROPS
"$BIN" --config "$WORK/authserver.properties" serve 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.1
done
for mode in early db; do
  for c in $CONNS; do
    echo "== $mode: $c connection(s), ${DURATION} s"
    "$POLL" "http://127.0.0.1:$PORT/authentication" "$SECRET" "$c" "$DURATION" "$SERVER_PID" "$mode"
  done
done
