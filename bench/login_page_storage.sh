#!/usr/bin/env bash
# What showing the login page costs the database: starts the server on a fresh SQLite
# database, sends N `GET /authorize` without a session on one keep-alive connection (each
# with a 2,048-byte state, a 512-byte nonce and a 256-byte login_hint, the largest
# accepted), and prints how many bytes the database files grew by. ID_TOKEN_HINT_BYTES=8192
# adds a junk id_token_hint of that size (refused since the hint must be our ID token).
#
#   bash bench/login_page_storage.sh             # N=3000, the debug binary
#   N=3000 BIN=target/release/authserver bash bench/login_page_storage.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-3000}
BIN=${BIN:-target/debug/authserver}
PORT=${PORT:-$(python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])")}
[ -x "$BIN" ] || cargo build --quiet

WORK=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
cat > "$WORK/authserver.properties" <<PROPS
server.port = $PORT
database.url = sqlite://$WORK/storage.db
authentication.client.ids = webApplicationPlatform
authentication.redirect.uri.whitelist = http://localhost:8080/callback
authentication.client.secret = storage-bench-secret-0123456789
logging.level = warn
PROPS
"$BIN" --config "$WORK/authserver.properties" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT/authentication"
for _ in $(seq 100); do curl -sf "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

db_bytes() { cat "$WORK"/storage.db* | wc -c; }
# let start-up writes settle, then measure
sleep 1
before=$(db_bytes)
pad() { head -c "$2" /dev/zero | tr '\0' "$1"; }
STATE=$(pad s 2040) NONCE=$(pad n 512) HINT=$(pad h 256)
EXTRA=
[ "${ID_TOKEN_HINT_BYTES:-0}" -gt 0 ] && EXTRA="&id_token_hint=$(pad i "$ID_TOKEN_HINT_BYTES")"
for i in $(seq "$N"); do
  printf 'url = "%s/authorize?response_type=code&client_id=webApplicationPlatform&redirect_uri=http%%3A%%2F%%2Flocalhost%%3A8080%%2Fcallback&scope=openid&state=%s%08d&nonce=%s&login_hint=%s%s"\noutput = /dev/null\n' \
    "$BASE" "$STATE" "$i" "$NONCE" "$HINT" "$EXTRA"
done > "$WORK/urls"
start=$(date +%s.%N)
codes=$(curl -s -K "$WORK/urls" -w '%{http_code}\n' | sort | uniq -c | tr -s ' ' | tr '\n' ' ')
end=$(date +%s.%N)
sleep 1
after=$(db_bytes)
printf '%s GET /authorize in %.1f s (status counts: %s): database grew by %d bytes (%d -> %d)\n' \
  "$N" "$(echo "$end - $start" | bc)" "$codes" "$((after - before))" "$before" "$after"
