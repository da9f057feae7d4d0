#!/usr/bin/env bash
# A private PostgreSQL server for the tests: prints its URL on stdout, nothing else.
#
#   bash scripts/postgres.sh          install PostgreSQL if missing (apt-get, needs root),
#                                     start the cluster in .pg/ and print
#                                     postgresql+psycopg://wfm:wfm@127.0.0.1:PORT/wfm_test
#   bash scripts/postgres.sh stop     stop that cluster (its data stays in .pg/)
#
# Idempotent: a second run reuses the cluster (starting it again if it is down). The cluster
# lives in .pg/ (owned by user postgres) and listens on 127.0.0.1 only, port 5433 or the next
# free one. It is a throw-away test server: fsync is off. On failure the last line on stderr
# says why, and the exit status is non-zero (the Makefile passes that line to the tests'
# skip reason).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PGDIR="$ROOT/.pg"

log() { echo "postgres.sh: $*" >&2; }
fail() {
    log "$*"
    exit 1
}

bindir() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null |
        sort -V | tail -n 1)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; fi
}

as_postgres() { runuser -u postgres -- "$@"; }

port_in_use() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

[ "$(id -u)" = 0 ] || fail "not root: cannot install PostgreSQL or run it as user postgres"

BIN=$(bindir)
if [ -z "$BIN" ]; then
    command -v apt-get >/dev/null || fail "PostgreSQL is not installed and there is no apt-get"
    log "installing PostgreSQL (apt-get install postgresql)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || fail "apt-get update failed"
    apt-get install -y -qq --no-install-recommends postgresql >&2 ||
        fail "apt-get install postgresql failed"
    BIN=$(bindir)
    [ -n "$BIN" ] || fail "apt-get installed postgresql, but no initdb under /usr/lib/postgresql"
fi
getent passwd postgres >/dev/null || fail "PostgreSQL is installed, but there is no user postgres"

DATA="$PGDIR/data"
RUN="$PGDIR/run"

if [ "${1:-}" = "stop" ]; then
    if [ -f "$DATA/postmaster.pid" ]; then
        as_postgres "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
    fi
    exit 0
fi

mkdir -p "$PGDIR"
chown postgres:postgres "$PGDIR"
chmod 700 "$PGDIR"
as_postgres test -w "$PGDIR" ||
    fail "user postgres cannot write $PGDIR (is a parent folder closed to other users?)"

if [ ! -f "$DATA/PG_VERSION" ]; then
    log "creating a cluster in $DATA"
    as_postgres "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C \
        --auth-local=trust --auth-host=scram-sha-256 >"$PGDIR/initdb.log" 2>&1 ||
        fail "initdb failed (see $PGDIR/initdb.log)"
fi
as_postgres mkdir -p "$RUN"

PORT=$(cat "$PGDIR/port" 2>/dev/null || echo 5433)
if ! as_postgres "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    while port_in_use "$PORT"; do
        PORT=$((PORT + 1))
        [ "$PORT" -lt 5533 ] || fail "no free port in 5433..5532"
    done
    log "starting PostgreSQL on 127.0.0.1:$PORT"
    as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$PGDIR/server.log" -w -t 60 \
        -o "-p $PORT -k $RUN -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
        start >&2 || fail "pg_ctl start failed (see $PGDIR/server.log)"
    echo "$PORT" >"$PGDIR/port"
fi

admin() {
    as_postgres "$BIN/psql" -h "$RUN" -p "$PORT" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -q -t -A "$@"
}
admin -c "SELECT 1" >/dev/null || fail "cannot connect to PostgreSQL on port $PORT"
if [ "$(admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'wfm'")" != 1 ]; then
    admin -c "CREATE ROLE wfm LOGIN PASSWORD 'wfm'" >&2
fi
if [ "$(admin -c "SELECT 1 FROM pg_database WHERE datname = 'wfm_test'")" != 1 ]; then
    admin -c "CREATE DATABASE wfm_test OWNER wfm" >&2
fi

echo "postgresql+psycopg://wfm:wfm@127.0.0.1:$PORT/wfm_test"
