#!/usr/bin/env bash
# Scale-out benchmark: 1, 2 and 3 authserver instances on one PostgreSQL database, all on
# this machine (so the instances, PostgreSQL and the load tools share its cores).
#
#   bash bench/multi.sh                       # a throwaway PostgreSQL (.ci/postgres.sh)
#   PG_URL=postgres://user@host:5432/postgres bash bench/multi.sh   # an existing server
#   DURATION=20 CONNS=64 INSTANCES="1 3" ALGS=ES256 bash bench/multi.sh
#
# For each algorithm and instance count it prints the refresh grant (the `loadgen` example,
# connections spread round-robin over the instances) and `/api/validate` (one oha per
# instance, the connections split between them; the figures are summed), then the
# cross-instance revocation delay: an access token revoked at instance A (at a random
# moment), then polled at instance B every millisecond until B refuses it.
#
# The throwaway server keeps PostgreSQL's durable defaults (fsync and synchronous_commit
# on: every commit waits for its WAL flush), unlike the test suite's.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
INSTANCES=${INSTANCES:-"1 2 3"}
ALGS=${ALGS:-"RS256 ES256"}
POOL=${POOL:-8}
SECRET=bench-secret-0123456789

command -v oha >/dev/null || cargo install --locked oha
command -v psql >/dev/null || {
  echo "bench/multi.sh needs psql (Debian: postgresql-client)"
  exit 1
}
cargo build --release --quiet
cargo build --release --quiet --example loadgen
BIN=target/release/authserver
LOADGEN=target/release/examples/loadgen

WORK=$(mktemp -d)
PIDS=()
OWN_PG=
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$OWN_PG" ]; then .ci/postgres.sh stop "$OWN_PG" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${PG_URL:-}" ]; then
  # its own directory: the server runs as another user when this script runs as root
  OWN_PG=$(mktemp -d "${TMPDIR:-/tmp}/authserver-bench-pg.XXXXXX")
  rmdir "$OWN_PG"
  PG_URL=$(PG_DURABLE=1 .ci/postgres.sh start "$OWN_PG")
fi
echo "PostgreSQL: $(psql "$PG_URL" -Atc 'SHOW server_version') at ${PG_URL%%\?*}" \
  "(fsync $(psql "$PG_URL" -Atc 'SHOW fsync'), synchronous_commit $(psql "$PG_URL" -Atc 'SHOW synchronous_commit'))"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

db_url() { # $1 = database name
  python3 - "$PG_URL" "$1" <<'PY'
import sys, urllib.parse as u
url, name = sys.argv[1], sys.argv[2]
p = u.urlsplit(url)
print(u.urlunsplit((p.scheme, p.netloc, "/" + name, p.query, "")))
PY
}

# starts $1 instances on a fresh database with algorithm $2; sets PORTS and ISS
start_cluster() {
  local n=$1 alg=$2 db
  db="bench_${alg,,}_${n}_$$"
  psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  local url
  url=$(db_url "$db")
  PORTS=()
  for _ in $(seq 1 "$n"); do PORTS+=("$(free_port)"); done
  ISS="http://127.0.0.1:${PORTS[0]}/authentication"
  for i in $(seq 0 $((n - 1))); do
    cat > "$WORK/node-$i.properties" <<PROPS
server.port = ${PORTS[$i]}
server.public.url = http://127.0.0.1:${PORTS[0]}
database.url = $url
database.pool.size = $POOL
authentication.client.ids = webApplicationPlatform, MAGICDRAW, twc-rest-api
authentication.redirect.uri.whitelist = http://localhost:8080/callback
authentication.client.secret = $SECRET
authentication.client.permanent = twc-rest-api
authentication.signing.algorithm = $alg
logging.level = warn
PROPS
  done
  "$BIN" --config "$WORK/node-0.properties" migrate >/dev/null
  printf 'bench-password-1\n' | "$BIN" --config "$WORK/node-0.properties" user add bench-user --password-stdin >/dev/null
  PIDS=()
  for i in $(seq 0 $((n - 1))); do
    "$BIN" --config "$WORK/node-$i.properties" serve 2>"$WORK/node-$i.log" &
    PIDS+=($!)
  done
  for i in $(seq 0 $((n - 1))); do
    for _ in $(seq 1 100); do
      curl -sf "http://127.0.0.1:${PORTS[$i]}/healthz" >/dev/null && break
      sleep 0.1
    done
  done
}

stop_cluster() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
}

access_token() { # $1 = port
  curl -s -X POST -H "X-Auth-Secret: $SECRET" -u 'bench-user:bench-password-1' \
    "http://127.0.0.1:$1/authentication/api/token?grant_type=client_credentials&client_id=webApplicationPlatform" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

validate_line() { # one oha per instance, connections split; sums requests/s
  local n=${#PORTS[@]} tok i
  local ohas=()
  tok=$(access_token "${PORTS[0]}")
  for i in $(seq 0 $((n - 1))); do
    oha -z "${DURATION}s" -c $((CONNS / n)) --no-tui --wait-ongoing-requests-after-deadline --output-format json \
      -H "Authorization: Bearer $tok" \
      "http://127.0.0.1:${PORTS[$i]}/authentication/api/validate" > "$WORK/oha-$i.json" &
    ohas+=($!)
  done
  wait "${ohas[@]}"
  python3 - "$WORK" "$n" <<'PY'
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
rps = 0.0; p99 = 0.0; ok = 0; bad = 0
for i in range(n):
    d = json.load(open(f"{work}/oha-{i}.json"))
    rps += d["summary"]["requestsPerSec"]
    p99 = max(p99, d["latencyPercentiles"]["p99"] or 0)
    for code, count in d.get("statusCodeDistribution", {}).items():
        if code.startswith("2"): ok += count
        else: bad += count
    bad += sum(d.get("errorDistribution", {}).values())
print(f"  validate: {rps:.0f} req/s (sum over {n}), worst p99 {p99*1000:.2f} ms, 2xx {ok}, other {bad}")
PY
}

revocation_delay() { # revoke at instance 0, poll instance 1
  python3 - "${PORTS[0]}" "${PORTS[1]}" "$SECRET" <<'PY'
import base64, json, random, sys, time, urllib.request, urllib.error, urllib.parse
a, b, secret = sys.argv[1], sys.argv[2], sys.argv[3]
basic = base64.b64encode(b"bench-user:bench-password-1").decode()
def call(port, path, data=None, headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/authentication{path}",
                                 data=urllib.parse.urlencode(data).encode() if data else None,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
delays = []
for _ in range(20):
    # at a random moment: SQLite-style polling would otherwise phase-lock with the loop
    time.sleep(random.uniform(0, 2))
    _, body = call(a, "/api/token", {"grant_type": "client_credentials", "client_id": "webApplicationPlatform"},
                   {"X-Auth-Secret": secret, "Authorization": "Basic " + basic})
    tok = json.loads(body)["access_token"]
    assert call(b, "/api/validate", headers={"Authorization": "Bearer " + tok})[0] == 200
    assert call(a, "/api/revoke", {"token": tok, "client_id": "webApplicationPlatform"},
                {"X-Auth-Secret": secret})[0] == 200
    t = time.monotonic()
    while call(b, "/api/validate", headers={"Authorization": "Bearer " + tok})[0] == 200:
        time.sleep(0.001)
    delays.append((time.monotonic() - t) * 1000)
delays.sort()
print(f"  revocation at A refused at B after: min {delays[0]:.0f} ms, p50 {delays[len(delays)//2]:.0f} ms, "
      f"max {delays[-1]:.0f} ms (20 revocations)")
PY
}

# CPU seconds used so far by: the authserver instances, PostgreSQL's processes, the whole
# machine (busy time from /proc/stat)
cpu_snapshot() {
  python3 - "${PIDS[@]}" <<'PY'
import os, sys
hz = os.sysconf("SC_CLK_TCK")
def ticks(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except OSError:
        return 0
servers = sum(ticks(p) for p in sys.argv[1:])
pg = 0
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            if open(f"/proc/{pid}/comm").read().strip() == "postgres":
                pg += ticks(pid)
        except OSError:
            pass
cpu = open("/proc/stat").readline().split()[1:]
busy = sum(int(x) for x in cpu) - int(cpu[3]) - int(cpu[4])
print(servers / hz, pg / hz, busy / hz)
PY
}

cpu_line() { # $1 = snapshot before, $2 = after
  python3 - "$1" "$2" <<'PY'
import sys
a = [float(x) for x in sys.argv[1].split()]; b = [float(x) for x in sys.argv[2].split()]
srv, pg, busy = (b[i] - a[i] for i in range(3))
print(f"  CPU during the refresh run: authserver {srv:.1f} s, PostgreSQL {pg:.1f} s, "
      f"everything else (load tool, kernel) {busy - srv - pg:.1f} s, of {busy:.1f} s busy")
PY
}

for alg in $ALGS; do
  for n in $INSTANCES; do
    echo "== $alg, $n instance(s) on one PostgreSQL, $CONNS connections, ${DURATION}s each =="
    start_cluster "$n" "$alg"
    targets=$(printf 'http://127.0.0.1:%s,' "${PORTS[@]}")
    before=$(cpu_snapshot)
    TARGETS=${targets%,} "$LOADGEN" "$ISS" refresh "$CONNS" "$DURATION" "$SECRET" bench-user bench-password-1 |
      grep -v '^sign-in' | sed 's/^/  /'
    cpu_line "$before" "$(cpu_snapshot)"
    validate_line
    if [ "$n" -ge 2 ] && [ "$alg" = "$(echo "$ALGS" | awk '{print $1}')" ]; then revocation_delay; fi
    stop_cluster
  done
done
