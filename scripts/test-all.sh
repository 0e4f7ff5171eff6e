#!/usr/bin/env bash
# Runs every check and test of the project, exactly as CI does (.ci/run calls
# this script): installs the test dependencies if missing, then formatting,
# lints, the ISO 8583 vectors against pyiso8583, and all Rust tests.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
export MPOS_PYTHON="$PWD/.venv/bin/python"

echo "==> cargo fmt --check"
cargo fmt --all --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> ISO 8583 test vectors still agree with pyiso8583"
"$MPOS_PYTHON" scripts/iso8583_vectors.py --check

echo "==> cargo test"
cargo test --workspace --all-targets --locked --no-fail-fast
cargo test --workspace --doc --locked
