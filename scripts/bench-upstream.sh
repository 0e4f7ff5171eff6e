#!/usr/bin/env bash
# The upstream benchmark of BENCHMARKS.md ("Issue 13: the upstream link"),
# side by side in one run on this machine, with the release build: 64
# devices at pipeline 4 for 20 s (2 s warm-up) against
#   simulator       `mpos serve` deciding with the built-in simulator;
#   upstream        the same host in upstream mode, every purchase and refund
#                   forwarded over the one link to `mpos issuer-sim` on
#                   loopback (answering at once);
# alternated twice, then
#   upstream 50 ms  the same through `mpos issuer-sim --delay-ms 50`: what a
#                   link that does not serialise requests carries when the
#                   processor takes 50 ms.
# Then, open loop at 5,000 requests a second (latency from when each was
# due, 2 s warm-up), simulator against upstream: the latency at a load the
# host carries, where the closed loop's p99 is mostly queueing (256 in
# flight at N approvals/s wait 256/N s on average: Little's law).
# Each host gets a fresh data folder with the load fixture. After each
# upstream run, the host's /metrics lines of the link (in flight, timeouts,
# advice queue) are printed.
# Usage: scripts/bench-upstream.sh
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
bench_init upstream
SIM=127.0.0.1:17000
SLOW=127.0.0.1:17001

RUST_LOG=error $MPOS issuer-sim --listen $SIM >/dev/null &
EXTRA_PIDS="$EXTRA_PIDS $!"
RUST_LOG=error $MPOS issuer-sim --listen $SLOW --delay-ms 50 >/dev/null &
EXTRA_PIDS="$EXTRA_PIDS $!"

# config ADDR: a configuration file for upstream mode against ADDR.
config() {
    local file="$WORK/upstream-${1##*:}.toml"
    printf '[issuer]\nmode = "upstream"\n[upstream]\nhosts = ["%s"]\nacquirer_id = "4242"\n' "$1" >"$file"
    echo "$file"
}

load() {
    $MPOS loadgen --iso $ISO --devices 64 --pipeline 4 --duration 20 --warmup 2 ${RATE:+--rate $RATE} --json
}

# run NAME [ADDR]: a fresh host (upstream to ADDR when given), the load, its figures.
run() {
    local data="$WORK/data-$1-$RANDOM"
    HOST_ARGS=()
    if [ $# -gt 1 ]; then HOST_ARGS=(--config "$(config "$2")"); fi
    start_host "$data" fixtures/load.toml
    if [ $# -gt 1 ]; then
        for _ in $(seq 1 100); do
            curl -sf "http://$METRICS/readyz" >/dev/null && break
            sleep 0.05
        done
    fi
    echo "$1: $(load)"
    if [ $# -gt 1 ]; then
        curl -s "http://$METRICS/metrics" \
            | grep -E '^mpos_upstream_(in_flight|timeouts_total|advice_queue|advices_acknowledged_total|latency_seconds_count)' \
            | sed 's/^/  /'
    fi
    kill_host
}

for round in 1 2; do
    run "simulator $round"
    run "upstream $round" $SIM
done
run "upstream 50 ms" $SLOW
for round in 1 2; do
    RATE=5000 run "simulator, open loop 5,000/s, $round"
    RATE=5000 run "upstream, open loop 5,000/s, $round" $SIM
done
