#!/usr/bin/env bash
# Client-authentication cost of registered clients (issue 15): introspection calls per
# second authenticated with the shared secret and with a registered client's own secret,
# at 32 connections, with 10, 10,000 and 100,000 registered clients in the database.
#
#   bash bench/clients.sh                       # release build, 10 s per line
#   BIN=target/debug/authserver bash bench/clients.sh   # quicker, slower figures
#
# Needs wrk and sqlite3. private_key_jwt is not measured here (every call needs a fresh
# signed assertion, which wrk cannot make).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
PORT=${PORT:-$(python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])")}
SECRET=bench-secret-0123456789
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/authserver
fi
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
logging.level = warn
PROPS
CLI() { "$BIN" --config "$WORK/authserver.properties" "$@"; }
printf 'bench-password-1\n' | CLI user add bench-user --password-stdin >/dev/null
OUT=$(CLI client add --client-id bench-rs --name "Bench resource server" --grant-type client_credentials --scope profile)
CLIENT_SECRET=$(printf '%s\n' "$OUT" | awk -F'\t' '/^client_secret/ {print $2}')
ISS="http://127.0.0.1:$PORT/authentication"

start_server() {
  "$BIN" --config "$WORK/authserver.properties" serve 2>"$WORK/server.log" &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return 0
    sleep 0.1
  done
  echo "server did not start"; cat "$WORK/server.log"; exit 1
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }

add_clients() { # $1 = how many registered clients in total (one exists)
  python3 - "$WORK/bench.db" "$1" <<'PY'
import sqlite3, sys, json, os, hashlib
db, total = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
have = c.execute("SELECT COUNT(*) FROM oauth_clients").fetchone()[0]
meta = json.dumps({"client_name": "filler", "redirect_uris": [], "redirect_uri_prefix_match": False,
    "post_logout_redirect_uris": [], "grant_types": ["client_credentials"], "response_types": [],
    "token_endpoint_auth_method": "client_secret_basic", "scope": "profile", "first_party": False})
rows = [(f"filler-{i}", "filler", meta) for i in range(have, total)]
c.executemany("INSERT INTO oauth_clients (client_id, name, metadata, dynamic, created_at, updated_at) VALUES (?, ?, ?, 0, 0, 0)", rows)
c.executemany("INSERT INTO client_secrets (id, client_id, secret_hash, created_at) VALUES (?, ?, ?, 0)",
    [(f"s-{r[0]}", r[0], hashlib.sha256(os.urandom(32)).digest()) for r in rows])
c.commit()
PY
}

line() { # $1 = label, $2 = Authorization or X-Auth-Secret header line
  cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = "token=$TOKEN"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["${2%%:*}"] = "${2#*: }"
LUA
  local rps
  rps=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" -s "$WORK/post.lua" "$ISS/api/introspect" | awk '/Requests\/sec/ {print $2}')
  echo "$1: $rps req/s"
}

BASIC=$(printf 'bench-rs:%s' "$CLIENT_SECRET" | base64 -w0)
for n in 10 10000 100000; do
  add_clients "$n"
  start_server
  TOKEN=$(curl -s -X POST -H "X-Auth-Secret: $SECRET" -H "Authorization: Basic $(printf 'bench-user:bench-password-1' | base64)" \
    "$ISS/api/token?grant_type=client_credentials&client_id=webApplicationPlatform" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  echo "== $n registered clients, $CONNS connections, ${DURATION}s =="
  line "introspect, shared secret (X-Auth-Secret)" "X-Auth-Secret: $SECRET"
  line "introspect, registered client_secret_basic" "Authorization: Basic $BASIC"
  stop_server
done
