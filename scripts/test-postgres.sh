#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suites' PostgreSQL pass.
#
#   scripts/test-postgres.sh start DIR   # initdb into DIR, start on a free
#                                        # loopback port, print its URL
#   scripts/test-postgres.sh stop DIR    # stop it (the caller removes DIR)
#
# The URL goes into MPOS_TEST_PG; the test kit then gives every test's data
# folder a schema of its own in it (crates/mpos-testkit/src/backend.rs).
# Debian's postgresql package provides the programs (install-test-deps.sh
# installs it); PostgreSQL refuses to run as root, so under root the
# cluster runs as the package's postgres user. Trust authentication, on
# 127.0.0.1 only: nothing else can reach it.
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "no PostgreSQL found: run scripts/install-test-deps.sh" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
    dir=$2
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$dir/data" -U mpos --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log"
    # fsync stays on: the PostgreSQL pass checks durability like the SQLite one.
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=400 -c shared_buffers=64MB" \
        start >/dev/null
    echo "postgres://mpos@127.0.0.1:$port"
    ;;
stop)
    as_owner "$bin/pg_ctl" -D "$2/data" -m immediate -w stop >/dev/null
    ;;
*)
    echo "usage: $0 start DIR | stop DIR" >&2
    exit 2
    ;;
esac
