#!/usr/bin/env bash
# Runs every check and test of the project, exactly as CI does (.ci/run calls
# this script): installs the test dependencies if missing, then formatting,
# lints, the ISO 8583 vectors against pyiso8583, the cabinet's stylesheet
# against the browsers the user manual names, all Rust tests, and the
# store's, the host's and the cabinet's suites once more on PostgreSQL.
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

echo "==> the store, host and cabinet suites again, on PostgreSQL (a throwaway cluster)"
# The test kit gives every test's data folder a schema of its own in this
# cluster (crates/mpos-testkit/src/backend.rs); tests about SQLite's own
# file (its modes, a full disk) say so and pass over it.
pg_dir=$(mktemp -d /tmp/mpos-pg-pass.XXXXXX)
trap 'scripts/test-postgres.sh stop "$pg_dir" 2>/dev/null || true; rm -rf "$pg_dir"' EXIT
MPOS_TEST_PG=$(scripts/test-postgres.sh start "$pg_dir")
export MPOS_TEST_PG
cargo test --locked --no-fail-fast -p mpos-store -p mpos-acquirer -p mpos-cabinet
cargo test --locked --no-fail-fast -p mpos \
    --test host --test host_abuse --test host_interop --test cabinet --test browser \
    --test mail_smtp --test health --test admin_cli --test loadgen --test upstream \
    --test app_download
