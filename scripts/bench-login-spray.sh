#!/usr/bin/env bash
# The login-spray benchmark of BENCHMARKS.md ("Payments while the cabinet is
# sprayed"), side by side in one run on this machine, with the release
# build: purchase throughput and p99 of 64 devices at pipeline 4 for 20 s,
#   quiet          no one at the cabinet;
#   one address    8 clients spraying failed logins with ever-new e-mails
#                  from 127.0.0.1 (the per-address limit answers 429 after
#                  20, without hashing);
#   many addresses the same from 1,000 loopback addresses (the limit never
#                  bites: every login costs a PBKDF2 check, on the pool the
#                  host's sign-ons share, cores - 1 at most);
# alternated twice. Each spray line is followed by the sprayer's own JSON
# (answers by status, logins/s).
# Usage: scripts/bench-login-spray.sh
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
bench_init spray
PYTHON=${MPOS_PYTHON:-python3}

load() { $MPOS loadgen --iso $ISO --devices 64 --pipeline 4 --duration 20 --warmup 2 --json; }

# beside ADDRESSES: the load while 8 clients spray from ADDRESSES addresses.
beside() {
    $PYTHON scripts/login_spray.py --http $HTTP --clients 8 --addresses "$1" --duration 22 \
        >"$WORK/spray.json" &
    local spray=$!
    sleep 1
    local figures; figures=$(load)
    wait $spray
    echo "$figures"
    echo "  the sprayer: $(cat "$WORK/spray.json")"
}

start_host "$WORK/data" fixtures/load.toml
for round in 1 2; do
    echo "quiet $round: $(load)"
    echo "one address $round: $(beside 1)"
    echo "many addresses $round: $(beside 1000)"
done
kill_host
