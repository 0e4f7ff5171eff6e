#!/usr/bin/env bash
# The fleet benchmarks of BENCHMARKS.md ("A fleet back in seconds"), side by
# side in one run on this machine, with the release build:
#   storm N      N devices sign on by password to a cold host; the host is
#                killed (SIGKILL) and restarted on the same address; the
#                devices come back by ticket. Prints loadgen's JSON: the
#                times are all_signed_on_ms (cold, by password) and
#                all_resumed_ms (first reconnection to last device back).
#   memory       the host's RSS with no device, then with 10,000 signed on.
#   open-loop    --rate 5000, synchronous=full, 30 s after a 5 s warm-up:
#                64 devices, then the fleet's 10,000.
#   abuse        64 devices at pipeline 4 for 20 s, quiet and beside 200
#                wrong-password sign-ons a second, alternated twice.
#   flood        64 devices at pipeline 4 for 20 s, quiet and beside 3,000
#                idle connections that never sign on (scripts/iso-flood.py;
#                the default [host] limits: 2,500 held, the rest closed at
#                once and opened again every second), alternated twice.
# Usage: scripts/bench-fleet.sh [storm 256|storm 10000|memory|open-loop|abuse|flood|all]
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
bench_init fleet

FLEET=(--first-serial FLEET-00001 --password fleet-pass-1 --merchant MTBFLEET0000001 --terminal 90000002)

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$HOST_PID/status"; }

storm() {
    local devices=$1 fixture=fixtures/load.toml extra=()
    if [ "$devices" -gt 256 ]; then fixture=fixtures/fleet.toml; extra=("${FLEET[@]}"); fi
    local data="$WORK/storm-$devices"
    start_host "$data" "$fixture"
    # A light open-loop load, so that the storm, not the payments, is measured.
    $MPOS loadgen --iso $ISO --devices "$devices" "${extra[@]}" --rate 1000 \
        --duration 25 --json >"$WORK/storm.json" &
    local loadgen=$!
    sleep 10
    kill_host
    sleep 0.5
    start_host "$data" "$fixture"
    wait $loadgen
    echo "storm $devices: $(cat "$WORK/storm.json")"
    kill_host
}

memory() {
    local data="$WORK/memory"
    start_host "$data" fixtures/fleet.toml
    sleep 1
    local before; before=$(rss_kib)
    $MPOS loadgen --iso $ISO --devices 10000 "${FLEET[@]}" --rate 100 --duration 20 --json \
        >"$WORK/memory.json" &
    local loadgen=$!
    sleep 15
    local during; during=$(rss_kib)
    wait $loadgen
    echo "memory: RSS ${before} KiB with no device, ${during} KiB with 10,000 signed on:" \
        "$(( (during - before) * 1024 / 10000 )) bytes each; loadgen: $(cat "$WORK/memory.json")"
    kill_host
}

open_loop() {
    # 35 s with a 5 s warm-up: 30 s of steady state measured.
    start_host "$WORK/open-loop-64" fixtures/load.toml
    echo "open loop, 64 devices: $($MPOS loadgen --iso $ISO --devices 64 --rate 5000 --duration 35 --warmup 5 --json)"
    kill_host
    start_host "$WORK/open-loop-fleet" fixtures/fleet.toml
    echo "open loop, 10,000 devices: $($MPOS loadgen --iso $ISO --devices 10000 "${FLEET[@]}" --rate 5000 --duration 35 --warmup 5 --json)"
    kill_host
}

abuse() {
    start_host "$WORK/abuse" fixtures/load.toml
    for round in 1 2; do
        echo "quiet $round: $($MPOS loadgen --iso $ISO --devices 64 --pipeline 4 --duration 20 --json)"
        $MPOS loadgen --iso $ISO --devices 1 --first-serial LOAD-0256 --rate 1 --duration 22 \
            --wrong-sign-ons 200 --json >"$WORK/guesser.json" &
        local guesser=$!
        sleep 1
        echo "beside 200 wrong sign-ons/s $round: $($MPOS loadgen --iso $ISO --devices 64 --pipeline 4 --duration 20 --json)"
        wait $guesser
        echo "  the guesser: $(cat "$WORK/guesser.json")"
    done
    kill_host
}

flood() {
    local python=${MPOS_PYTHON:-python3}
    start_host "$WORK/flood" fixtures/load.toml
    for round in 1 2; do
        # Both runs alike: 23 s, the first 3 left out of the percentiles.
        echo "quiet $round: $($MPOS loadgen --iso $ISO --devices 64 --pipeline 4 --duration 23 --warmup 3 --json)"
        # The devices sign on first (the quarter is full once the flood is
        # in, and a new connection is then closed at once); the flood comes
        # in during the 3 s warm-up, left out of the percentiles.
        $MPOS loadgen --iso $ISO --devices 64 --pipeline 4 --duration 23 --warmup 3 --json \
            >"$WORK/flooded.json" &
        local loadgen=$!
        sleep 1
        "$python" scripts/iso-flood.py $ISO --connections 3000 --duration 23 >"$WORK/flood.json"
        wait $loadgen
        echo "beside 3,000 idle unsigned connections $round: $(cat "$WORK/flooded.json")"
        echo "  the flood: $(cat "$WORK/flood.json")"
        sleep 1
    done
    kill_host
}

case "${1:-all}" in
    storm) storm "${2:-256}" ;;
    memory) memory ;;
    open-loop) open_loop ;;
    abuse) abuse ;;
    flood) flood ;;
    all) storm 256; storm 10000; memory; open_loop; abuse; flood ;;
    *) echo "usage: $0 [storm 256|storm 10000|memory|open-loop|abuse|flood|all]" >&2; exit 2 ;;
esac
