#!/usr/bin/env bash
# A throwaway PostgreSQL server for the PostgreSQL test suite (tests/postgres).
#
#   .ci/postgres.sh start [DIR]   initdb into DIR (default: a new temporary directory), start
#                                 the server on 127.0.0.1 and print its URL on stdout:
#                                 postgres://authserver@127.0.0.1:PORT/postgres
#   .ci/postgres.sh stop DIR      stop that server and delete DIR
#
# Local use:
#   export AUTHSERVER_TEST_POSTGRES_URL="$(.ci/postgres.sh start /tmp/authserver-pg)"
#   cargo test --test postgres
#   .ci/postgres.sh stop /tmp/authserver-pg
#
# Installs Debian's postgresql package when no initdb is found. As root, the server runs as
# the `postgres` system user (PostgreSQL refuses to run as root); otherwise as the caller.
# Everything except the URL goes to stderr.
set -euo pipefail

say() { echo "postgres.sh: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# The directory holding initdb, pg_ctl and pg_isready.
find_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return 0
    fi
  done
  if command -v initdb >/dev/null 2>&1; then
    dir="$(dirname "$(readlink -f "$(command -v initdb)")")"
    if [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return 0
    fi
  fi
  return 1
}

# Runs a command as the user the server runs as.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    # from / : the caller's working directory may be closed to that user
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

start() {
  local bindir
  if ! bindir="$(find_bindir)"; then
    say "no initdb found: installing postgresql"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bindir="$(find_bindir)" || die "postgresql installed, but still no initdb"
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    die "running as root, but there is no 'postgres' user to run the server as"
  fi

  local dir="${1:-}"
  if [ -z "$dir" ]; then
    dir="$(mktemp -d "${TMPDIR:-/tmp}/authserver-pg.XXXXXX")"
    say "stop it with: $0 stop $dir"
  fi
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  [ -e "$dir/data" ] && die "$dir/data exists: stop that server first ($0 stop $dir)"
  mkdir -p "$dir/data" "$dir/socket"
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$dir"
  fi

  if ! as_pg "$bindir/initdb" -D "$dir/data" --auth=trust --username=authserver \
    --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    die "initdb failed"
  fi

  # The first free port from 55432 on (a stable URL spares cargo a rebuild: the URL is an
  # input of the build script). pg_ctl -w fails when the port is taken after all: next one.
  # a test server need not survive a power cut; PG_DURABLE=1 keeps PostgreSQL's durable
  # defaults (for benchmarks)
  local speed="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  if [ -n "${PG_DURABLE:-}" ]; then speed=""; fi
  local port started=""
  for port in $(seq 55432 55531); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      continue
    fi
    if as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start \
      -o "-p $port -k $dir/socket -c listen_addresses=127.0.0.1 -c max_connections=300 $speed" \
      >&2; then
      started=1
      break
    fi
    tail -n 5 "$dir/postgres.log" >&2 || true
  done
  [ -n "$started" ] || die "the server did not start; see $dir/postgres.log"

  local pg_isready="$bindir/pg_isready"
  [ -x "$pg_isready" ] || pg_isready="pg_isready"
  local tries=0
  until "$pg_isready" -q -h 127.0.0.1 -p "$port" -U authserver -d postgres; do
    tries=$((tries + 1))
    [ "$tries" -lt 100 ] || die "the server does not accept connections; see $dir/postgres.log"
    sleep 0.1
  done
  say "PostgreSQL ($("$bindir/postgres" --version)) is up on 127.0.0.1:$port, data in $dir"
  echo "postgres://authserver@127.0.0.1:$port/postgres"
}

stop() {
  local dir="${1:?usage: $0 stop DIR}"
  if [ -f "$dir/data/postmaster.pid" ]; then
    local bindir
    bindir="$(find_bindir)" || die "no pg_ctl found"
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *)
    echo "usage: $0 start [DIR] | stop DIR" >&2
    exit 2
    ;;
esac
