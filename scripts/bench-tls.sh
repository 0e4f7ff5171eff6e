#!/usr/bin/env bash
# The TLS benchmarks of BENCHMARKS.md ("TLS on the device link"), side by
# side in one run on this machine, with the release build and the demo
# certificates (ECDSA P-256, TLS 1.3):
#   payments    64 devices at pipeline 4 for 20 s against a fresh host,
#               plain TCP then TLS then mutual TLS, alternated twice:
#               approvals/s and p99 from loadgen's JSON.
#   handshakes  64 devices connect, handshake, send one echo and close, over
#               and over for 10 s (`loadgen --handshakes`): full handshakes
#               (--tls-no-resume) then resumed ones, against TLS and mutual
#               TLS. Host and load generator share the 2 cores, so the host
#               alone would do more.
# Usage: scripts/bench-tls.sh [payments|handshakes|all]
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
bench_init tls

PKI="$WORK/pki"
devices=()
for i in $(seq -f %04g 1 64); do devices+=(--device "LOAD-$i"); done
$MPOS admin --data-dir "$WORK" tls demo-certs "$PKI" "${devices[@]}" >/dev/null

# start_with MODE NAME: a fresh host speaking MODE (plain, tls, mtls).
start_with() {
    unset MPOS_HOST__TLS_CERT MPOS_HOST__TLS_KEY MPOS_HOST__CLIENT_CA
    if [ "$1" != plain ]; then
        export MPOS_HOST__TLS_CERT="$PKI/server.pem" MPOS_HOST__TLS_KEY="$PKI/server.key"
    fi
    if [ "$1" = mtls ]; then export MPOS_HOST__CLIENT_CA="$PKI/ca.pem"; fi
    start_host "$WORK/$2" fixtures/load.toml
}

# client MODE: loadgen's TLS options for MODE.
client() {
    case "$1" in
        plain) ;;
        tls) echo --tls-ca "$PKI/ca.pem" ;;
        mtls) echo --tls-ca "$PKI/ca.pem" --tls-cert-dir "$PKI" ;;
    esac
}

payments() {
    for round in 1 2; do
        for mode in plain tls mtls; do
            start_with $mode "payments-$mode-$round"
            # shellcheck disable=SC2046
            echo "$mode $round: $($MPOS loadgen --iso $ISO --devices 64 --pipeline 4 --duration 20 \
                --warmup 2 $(client $mode) --json)"
            kill_host
        done
    done
}

# The host's CPU time so far (user + system), in clock ticks.
host_ticks() { awk '{print $14 + $15}' "/proc/$HOST_PID/stat"; }

handshakes() {
    local ticks_per_s; ticks_per_s=$(getconf CLK_TCK)
    for mode in tls mtls; do
        start_with $mode "handshakes-$mode"
        for kind in full resumed; do
            local resume=(); [ $kind = full ] && resume=(--tls-no-resume)
            local before; before=$(host_ticks)
            # shellcheck disable=SC2046
            local json; json=$($MPOS loadgen --iso $ISO --devices 64 --duration 10 --handshakes \
                "${resume[@]}" $(client $mode) --json)
            local after; after=$(host_ticks)
            echo "$mode $kind: host CPU $(( (after - before) * 1000 / ticks_per_s )) ms; $json"
        done
        kill_host
    done
}

case "${1:-all}" in
    payments) payments ;;
    handshakes) handshakes ;;
    all) payments; handshakes ;;
    *) echo "usage: $0 [payments|handshakes|all]" >&2; exit 2 ;;
esac
