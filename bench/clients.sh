#!/usr/bin/env bash
# Client-authentication cost of registered clients (issue 15), at 32 connections, with one
# driver for every line (examples/client_auth_load.rs: hand-written HTTP/1.1 on kept-alive
# sockets; for private_key_jwt it signs a fresh ES256 assertion per request, which wrk
# cannot):
#
# 1. `cc`: client_credentials of a registered client, client_secret_basic against
#    private_key_jwt, interleaved (A B A B …).
# 2. `registry`: introspection calls authenticated with the shared secret (a
#    properties-file client), a registered client's own secret (client_secret_basic) and
#    private_key_jwt, with 10, 10,000 and 100,000 registered clients in the database
#    (A B C A B C … per size).
#
#   bash bench/clients.sh                               # release build, both parts
#   PARTS=registry SIZES="10 100000" DURATION=5 ROUNDS=2 bash bench/clients.sh
#   BIN=target/debug/authserver LOAD=target/debug/examples/client_auth_load bash bench/clients.sh
#
# Needs python3 (with its sqlite3 module) and curl. The server listens on loopback only,
# on a temporary SQLite database in a temporary directory removed at the end. The machine's
# load average is printed with each part: on a shared machine only the comparison within
# one run means anything.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-2}
PARTS=${PARTS:-cc registry}
SIZES=${SIZES:-10 10000 100000}
SECRET=bench-secret-0123456789
PORT=${PORT:-$(python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])")}
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bin authserver --example client_auth_load
  BIN=target/release/authserver
  LOAD=${LOAD:-target/release/examples/client_auth_load}
fi
LOAD=${LOAD:-target/release/examples/client_auth_load}
[ -x "$LOAD" ] || { echo "no $LOAD: cargo build --release --example client_auth_load"; exit 1; }

WORK=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
cat > "$WORK/authserver.properties" <<PROPS
server.port = $PORT
server.public.url = http://127.0.0.1:$PORT
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

# the private_key_jwt client: a P-256 key (PKCS#8 DER for the driver) and its public JWK
export KID=bench-es256
"$LOAD" keygen "$WORK/signer.der" "$WORK/signer.jwks.json"
CLI client add --client-id bench-signer --name "Bench signer" --grant-type client_credentials \
  --scope profile --auth-method private_key_jwt --jwks-file "$WORK/signer.jwks.json" >/dev/null
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

add_clients() { # $1 = how many registered clients in total (two exist)
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

run() { # $1 = endpoint, $2 = shared|basic|jwt; prints the driver's line
  case $2 in
    shared) "$LOAD" "$ISS" "$1" shared "$CONNS" "$DURATION" webApplicationPlatform "$SECRET" ;;
    basic) "$LOAD" "$ISS" "$1" basic "$CONNS" "$DURATION" bench-rs "$CLIENT_SECRET" ;;
    jwt) "$LOAD" "$ISS" "$1" jwt "$CONNS" "$DURATION" bench-signer "$WORK/signer.der" ;;
  esac
}

for part in $PARTS; do
  case $part in
    cc)
      add_clients 10
      start_server
      echo "== client_credentials, registered client, $CONNS connections, ${DURATION}s x $ROUNDS rounds; load average $(cut -d' ' -f1-3 /proc/loadavg) =="
      for round in $(seq 1 "$ROUNDS"); do
        echo "r$round $(run token basic)"
        echo "r$round $(run token jwt)"
      done
      stop_server
      ;;
    registry)
      for n in $SIZES; do
        add_clients "$n"
        start_server
        TOKEN=$(curl -s -X POST -H "X-Auth-Secret: $SECRET" -H "Authorization: Basic $(printf 'bench-user:bench-password-1' | base64)" \
          "$ISS/api/token?grant_type=client_credentials&client_id=webApplicationPlatform" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
        export TOKEN
        echo "== introspection, $n registered clients, $CONNS connections, ${DURATION}s x $ROUNDS rounds; load average $(cut -d' ' -f1-3 /proc/loadavg) =="
        for round in $(seq 1 "$ROUNDS"); do
          echo "r$round shared secret      $(run introspect shared)"
          echo "r$round client_secret_basic $(run introspect basic)"
          echo "r$round private_key_jwt    $(run introspect jwt)"
        done
        stop_server
      done
      ;;
    *) echo "unknown part $part"; exit 2 ;;
  esac
done
