#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, idempotently, so that
# a fresh machine (CI runs on a clean checkout) can run scripts/test-all.sh:
#   - .venv/: a Python virtual environment with scripts/requirements-test.txt
#     (pyiso8583, the independent ISO 8583 implementation; aiosmtpd, the SMTP
#     server the password recovery e-mail is sent to in tests/mail_smtp.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null; then
    echo "error: $python not found; install Python 3.11 or later (apt-get install python3 python3-venv)" >&2
    exit 1
fi

stamp=.venv/.requirements-installed
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && cmp -s scripts/requirements-test.txt "$stamp"; then
    exit 0
fi
echo "==> installing test dependencies into .venv"
"$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
cp scripts/requirements-test.txt "$stamp"
