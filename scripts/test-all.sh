#!/usr/bin/env bash
# Runs every check and test of the project, exactly as CI does (.ci/run calls
# this script): installs the test dependencies if missing, then formatting,
# lints, the ISO 8583 vectors against pyiso8583, the cabinet's stylesheet
# against the browsers the user manual names, and all Rust tests.
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

echo "==> the served stylesheet in the manual's browsers (doiuse, scripts/css-compat)"
# The file the cabinet's binary embeds and serves at /static/cabinet.css.
served=$(sed -n 's|.*include_str!("\(.*cabinet\.css\)").*|\1|p' crates/mpos-cabinet/src/pages/mod.rs)
if [ -z "$served" ]; then
    echo "error: crates/mpos-cabinet/src/pages/mod.rs embeds no cabinet.css any more; point this check at the served stylesheet" >&2
    exit 1
fi
node scripts/css-compat/check.mjs "crates/mpos-cabinet/src/pages/$served"

echo "==> cargo test"
cargo test --workspace --all-targets --locked --no-fail-fast
cargo test --workspace --doc --locked
