# Shared by the scripts/bench-*.sh benchmarks (sourced, not run): the
# release binary, fixed loopback ports away from the defaults, a scratch
# folder removed on exit, and a host started and stopped the same way by
# every benchmark.
#   bench_init NAME           cd to the repository, set MPOS ISO HTTP METRICS
#                             WORK, build the release binary, clean up on exit
#   start_host DATA FIXTURE   start `mpos serve` in the background, wait for
#                             its banner (HOST_PID); HOST_WRAPPER (an array)
#                             runs it through a wrapper, e.g. a ulimit;
#                             HOST_ARGS (an array) adds arguments (--config)
#   kill_host                 SIGKILL the host and reap it
# Processes listed in EXTRA_PIDS are killed on exit too.

bench_init() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    MPOS=./target/release/mpos
    ISO=127.0.0.1:18583
    HTTP=127.0.0.1:18080
    METRICS=127.0.0.1:19464
    WORK=$(mktemp -d "/tmp/mpos-$1.XXXXXX")
    HOST_PID=
    EXTRA_PIDS=
    HOST_WRAPPER=()
    HOST_ARGS=()
    trap 'kill -9 $HOST_PID $EXTRA_PIDS 2>/dev/null || true; rm -rf "$WORK"' EXIT
    cargo build --release --quiet --bin mpos
}

start_host() {
    RUST_LOG=${RUST_LOG:-error} "${HOST_WRAPPER[@]}" $MPOS serve --data-dir "$1" --fixtures "$2" \
        --iso-listen $ISO --http-listen $HTTP --metrics-listen $METRICS "${HOST_ARGS[@]}" \
        >"$WORK/banner" 2>>"$WORK/host.log" &
    HOST_PID=$!
    for _ in $(seq 1 200); do
        grep -q '^Press' "$WORK/banner" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "the host did not start; see $WORK/host.log" >&2
    exit 1
}

kill_host() { kill -9 "$HOST_PID"; wait "$HOST_PID" 2>/dev/null || true; }
