#!/usr/bin/env bash
# Directory (LDAP) users against local users, in one run on one server: login-form sign-in
# latency (the form always asks the directory, or runs argon2 for the local user),
# client_credentials latency cold (first call) and throughput once cached (wrk), and 1,000
# concurrent cold client_credentials calls for 1,000 distinct directory users while the
# directory answers slowly (every chunk it sends held DELAY_MS by a proxy): statuses,
# latencies, the server's peak RSS.
#
#   bash bench/ldap.sh                                   # release build
#   BIN=target/debug/authserver DURATION=5 bash bench/ldap.sh
#   DELAY_MS=200 BURST=1000 POOL=8 TIMEOUT=5 bash bench/ldap.sh
#
# Needs slapd, slapadd (apt-get install slapd ldap-utils), wrk, curl, python3. Everything
# listens on loopback, in a temporary directory removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
SIGNINS=${SIGNINS:-30}
BURST=${BURST:-1000}
DELAY_MS=${DELAY_MS:-100}
POOL=${POOL:-8}
TIMEOUT=${TIMEOUT:-5}
BIN=${BIN:-target/release/authserver}
SECRET=bench-secret-0123456789
DRIVER=bench/ldap_load.py

for tool in wrk curl python3 /usr/sbin/slapd /usr/sbin/slapadd; do
  command -v "$tool" >/dev/null || { echo "$tool is needed"; exit 1; }
done
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

# --- the directory: bench-user and BURST users u0..u{BURST-1}, each with password pw-<uid>
mkdir -p "$WORK/db"
LDAP_PORT=$(free_port)
cat > "$WORK/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $WORK/slapd.pid
database mdb
maxsize 104857600
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
rootpw bench-root
directory $WORK/db
index uid eq
access to attrs=userPassword by anonymous auth by * none
access to * by * read
CONF
python3 - "$BURST" > "$WORK/seed.ldif" <<'PY'
import sys
n = int(sys.argv[1])
print("dn: dc=example,dc=org\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n")
print("dn: ou=people,dc=example,dc=org\nobjectClass: organizationalUnit\nou: people\n")
for uid in ["bench-user"] + [f"u{i}" for i in range(n)]:
    print(f"dn: uid={uid},ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: {uid}\n"
          f"cn: {uid} Bench\nsn: Bench\nmail: {uid}@example.org\nuserPassword: pw-{uid}\n")
PY
/usr/sbin/slapadd -q -f "$WORK/slapd.conf" -l "$WORK/seed.ldif"
/usr/sbin/slapd -f "$WORK/slapd.conf" -h "ldap://127.0.0.1:$LDAP_PORT/" -d 0 2>"$WORK/slapd.log" &
PIDS+=($!)
SLOW_PORT=$(free_port)
python3 "$DRIVER" proxy "$SLOW_PORT" "$LDAP_PORT" "$DELAY_MS" &
PIDS+=($!)

# --- the server: a local user beside the directory
start_server() { # $1 = directory URL; sets PORT, SERVER_PID
  PORT=$(free_port)
  rm -rf "$WORK/auth" && mkdir -p "$WORK/auth"
  cat > "$WORK/auth/authserver.properties" <<PROPS
server.port = $PORT
server.trusted.proxies = 127.0.0.1/32
database.url = sqlite://$WORK/auth/auth.db
authentication.client.ids = webApplicationPlatform
authentication.redirect.uri.whitelist = http://localhost:8080/callback
authentication.client.secret = $SECRET
authentication.ldap.url = $1
authentication.ldap.base.dn = ou=people,dc=example,dc=org
authentication.ldap.pool.size = $POOL
authentication.ldap.timeout.seconds = $TIMEOUT
logging.level = error
PROPS
  printf 'pw-local-user\n' | "$BIN" --config "$WORK/auth/authserver.properties" user add local-user --password-stdin >/dev/null
  "$BIN" --config "$WORK/auth/authserver.properties" serve 2>"$WORK/auth/server.log" &
  SERVER_PID=$!
  PIDS+=($SERVER_PID)
  for _ in $(seq 1 150); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return 0
    sleep 0.1
  done
  echo "server did not start"; cat "$WORK/auth/server.log"; exit 1
}
BASE() { echo "http://127.0.0.1:$PORT/authentication"; }

cc_time() { # $1 user, $2 password: seconds of one client_credentials call
  curl -s -o /dev/null -w '%{http_code} %{time_total}' -u "$1:$2" -H "X-Auth-Secret: $SECRET" \
    -d grant_type=client_credentials -d client_id=webApplicationPlatform "$(BASE)/api/token"
}

wrk_cc() { # $1 user, $2 password
  local basic
  basic=$(printf '%s:%s' "$1" "$2" | base64)
  cat > "$WORK/cc.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&client_id=webApplicationPlatform"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
wrk.headers["X-Auth-Secret"] = "$SECRET"
LUA
  wrk -t2 -c"$CONNS" -d"${DURATION}s" -s "$WORK/cc.lua" "$(BASE)/api/token" |
    awk '/Requests\/sec/ {rps=$2} /Latency/ {lat=$2} /Non-2xx/ {bad=$NF} END {printf "%s req/s, mean latency %s, non-2xx %s\n", rps, lat, (bad==""?0:bad)}'
}

echo "== directory at full speed (ldap://127.0.0.1:$LDAP_PORT), $(basename "$BIN"), $(nproc) cores"
start_server "ldap://127.0.0.1:$LDAP_PORT"
echo "-- login form (every sign-in checks the password: directory bind or argon2id)"
python3 "$DRIVER" signin "$(BASE)" bench-user pw-bench-user "$SIGNINS"
python3 "$DRIVER" signin "$(BASE)" local-user pw-local-user "$SIGNINS"
echo "-- client_credentials, first call (cold: directory or argon2id) then cached"
echo "  directory user cold: $(cc_time bench-user pw-bench-user)   local user cold: $(cc_time local-user pw-local-user)"
echo "  directory user cached: $(wrk_cc bench-user pw-bench-user)"
echo "  local user cached:     $(wrk_cc local-user pw-local-user)"
echo "  directory user cached: $(wrk_cc bench-user pw-bench-user)"
echo "  local user cached:     $(wrk_cc local-user pw-local-user)"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true

echo "== slow directory (every chunk held ${DELAY_MS} ms), pool.size $POOL, timeout ${TIMEOUT} s"
start_server "ldap://127.0.0.1:$SLOW_PORT"
echo "  one cold sign-in through the slow directory: $(cc_time bench-user pw-bench-user)"
RSS_BEFORE=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
python3 "$DRIVER" burst "$(BASE)" u 'pw-{user}' "$BURST" > "$WORK/burst.txt" &
BURST_PID=$!
PEAK_CONNS=0
while kill -0 "$BURST_PID" 2>/dev/null; do
  # connections from the server to the slow directory right now
  C=$(ss -Htn state established "( dport = :$SLOW_PORT )" 2>/dev/null | wc -l)
  [ "$C" -gt "$PEAK_CONNS" ] && PEAK_CONNS=$C
  sleep 0.2
done
wait "$BURST_PID" || true
cat "$WORK/burst.txt"
echo "  server RSS before ${RSS_BEFORE} kB, peak $(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status") kB; peak connections to the directory: $PEAK_CONNS"
echo "  directory-unavailable answers counted: $(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^authserver_directory_unavailable_total/ {print $2}')"
