#!/usr/bin/env bash
# The PostgreSQL benchmark of BENCHMARKS.md ("Issue 14: several hosts on
# PostgreSQL"), side by side in one run on this machine with the release
# build: 64 devices at pipeline 4 for 20 s (2 s warm-up) against
#   sqlite      `mpos serve` on its embedded SQLite file (synchronous=FULL);
#   postgres    the same host on a local PostgreSQL cluster (fsync on,
#               synchronous_commit on: an approval is durable when sent),
#               a fresh database each run;
# alternated twice; then `postgres, two hosts`: two hosts on one database,
# the devices spread over both (`loadgen --iso A,B`). PostgreSQL, the
# hosts and the load generator share the machine's cores.
# Usage: scripts/bench-postgres.sh [SECONDS]
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
bench_init postgres
SECONDS_OF_LOAD=${1:-20}
ISO_B=127.0.0.1:18584

# Not under $WORK: the cluster's folder is the postgres user's under root,
# and $WORK is root's only.
PG_DIR=$(mktemp -d /tmp/mpos-pg-bench.XXXXXX)
trap 'kill -9 $HOST_PID $EXTRA_PIDS 2>/dev/null || true; scripts/test-postgres.sh stop "$PG_DIR" 2>/dev/null || true; rm -rf "$WORK" "$PG_DIR"' EXIT
PG_URL=$(scripts/test-postgres.sh start "$PG_DIR")
PSQL="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql"
[ "$(id -u)" = 0 ] && PSQL="runuser -u postgres -- $PSQL"

# database NAME: a fresh, empty database; its URL.
database() {
    $PSQL -h 127.0.0.1 -p "${PG_URL##*:}" -U mpos -d postgres -qc "CREATE DATABASE $1" >/dev/null
    echo "$PG_URL/$1"
}

load() {
    $MPOS loadgen --iso "$1" --devices 64 --pipeline 4 --duration "$SECONDS_OF_LOAD" --warmup 2 --json
}

run_sqlite() {
    start_host "$WORK/data-sqlite-$1" fixtures/load.toml
    echo "sqlite $1: $(load $ISO)"
    kill_host
}

run_postgres() {
    local url
    url=$(database "r$1")
    MPOS_STORE__URL=$url start_host "$WORK/data-pg-$1" fixtures/load.toml
    echo "postgres $1: $(load $ISO)"
    kill_host
}

for round in 1 2; do
    run_sqlite $round
    run_postgres $round
done

# Two hosts on one database, the second with the first's PAN hash key.
url=$(database two)
MPOS_STORE__URL=$url start_host "$WORK/data-a" fixtures/load.toml
first=$HOST_PID
MPOS_STORE__URL=$url MPOS_STORE__PAN_HASH_KEY_FILE="$WORK/data-a/pan-hash.key" \
    RUST_LOG=error $MPOS serve --data-dir "$WORK/data-b" --iso-listen $ISO_B \
    --http-listen 127.0.0.1:18081 --metrics-listen 127.0.0.1:19465 >"$WORK/banner-b" 2>>"$WORK/host.log" &
EXTRA_PIDS="$EXTRA_PIDS $!"
for _ in $(seq 1 200); do grep -q '^Press' "$WORK/banner-b" 2>/dev/null && break; sleep 0.05; done
echo "postgres, two hosts: $(load $ISO,$ISO_B)"
HOST_PID=$first
kill_host
