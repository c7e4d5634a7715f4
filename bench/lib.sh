# The benchmark server as bench/code_vs_refresh.sh and bench/cores.sh start it: SQLite in a
# scratch directory, the standard client, one user (bench-user, password bench-password-1).
# Source it after setting BIN (the authserver binary), WORK (a scratch directory) and
# SECRET (the client secret):
#
#   . bench/lib.sh
#   bench_config "authentication.signing.algorithm = ES256"   # sets PORT and ISS
#   start_server      # or `start_server 0`: the server pinned to CPU 0 (taskset)
#   ...
#   stop_server
#
# The sourcing script's EXIT trap should kill "$SERVER_PID" if it is set.

SERVER_PID=

# Picks a free port (PORT; ISS is the issuer URL on it), writes $WORK/authserver.properties
# (each argument is one more property line) and adds bench-user.
bench_config() {
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  ISS="http://127.0.0.1:$PORT/authentication"
  {
    cat <<PROPS
server.port = $PORT
database.url = sqlite://$WORK/bench.db
authentication.client.ids = webApplicationPlatform
authentication.redirect.uri.whitelist = http://localhost:8080/callback
authentication.client.secret = $SECRET
authentication.code.expiry = 600
logging.level = warn
PROPS
    local line
    for line in "$@"; do printf '%s\n' "$line"; done
  } > "$WORK/authserver.properties"
  printf 'bench-password-1\n' | "$BIN" --config "$WORK/authserver.properties" user add bench-user --password-stdin >/dev/null
}

# Starts the server on the configuration of bench_config, under `taskset -c $1` when a CPU
# list is given; sets SERVER_PID and returns once it answers discovery. Its stderr goes to
# $WORK/server.log.
start_server() {
  local pin=()
  [ -n "${1:-}" ] && pin=(taskset -c "$1")
  "${pin[@]}" "$BIN" --config "$WORK/authserver.properties" serve >/dev/null 2>"$WORK/server.log" &
  SERVER_PID=$!
  until curl -sf "$ISS/.well-known/openid-configuration" >/dev/null; do sleep 0.05; done
}

# Stops the server start_server started.
stop_server() {
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}
