#!/usr/bin/env bash
# What an idle server spends on housekeeping as the database grows: seeds SIZE refresh
# families (SQLite; examples/seed.rs, with users, PATs and clients in proportion), starts
# the release server with housekeeping's debug log, waits for the round that runs at start,
# then reads the server's CPU time (utime + stime from /proc/<pid>/stat) over IDLE_S
# seconds of no requests. Prints every round's log line (rows, whether it walked the
# refresh families, elapsed, slowest statement) and the CPU seconds.
#
#   bash bench/idle_housekeeping.sh                     # a million families, 185 s
#   SIZE=100000 IDLE_S=125 bash bench/idle_housekeeping.sh
#   BIN=/path/to/another/authserver bash bench/idle_housekeeping.sh   # another build
#
# The background task runs a round a minute; 185 s after the first round covers three.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-1000000}
IDLE_S=${IDLE_S:-185}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
BIN=${BIN:-$TARGET/release/authserver}
SEED=${SEED:-$TARGET/release/examples/seed}
SECRET=bench-secret-0123456789

[ -x "$BIN" ] || cargo build --release --quiet --bin authserver
[ -x "$SEED" ] || cargo build --release --quiet --example seed
WORK=$(mktemp -d)
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
. bench/lib.sh

bench_config
"$SEED" "sqlite://$WORK/bench.db" "$SIZE" >/dev/null
RUST_LOG=warn,authserver::housekeeping=debug "$BIN" --config "$WORK/authserver.properties" \
  serve >/dev/null 2>"$WORK/server.log" &
SERVER_PID=$!
rounds() { sed 's/\x1b\[[0-9;]*m//g' "$WORK/server.log" | grep 'housekeeping round' || true; }
until [ -n "$(rounds)" ]; do
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.2
done
cpu() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
ticks=$(getconf CLK_TCK)
c0=$(cpu)
sleep "$IDLE_S"
c1=$(cpu)
stop_server
rounds
python3 -c "print('server CPU time over the $IDLE_S s after the first round: %.2f s' % (($c1 - $c0) / $ticks))"
