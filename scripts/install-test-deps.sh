#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, idempotently, so that
# a fresh machine (CI runs on a clean checkout) can run scripts/test-all.sh:
#   - .venv/: a Python virtual environment with scripts/requirements-test.txt
#     (pyiso8583, the independent ISO 8583 implementation; aiosmtpd, the SMTP
#     server the password recovery e-mail is sent to in tests/mail_smtp.rs).
#   - Debian's chromium and chromium-driver (/usr/bin/chromium and
#     /usr/bin/chromedriver): tests/browser.rs drives the cabinet in a real
#     headless browser. Only the distribution's packages: a test tool's own
#     browser download cannot work on a machine without internet.
#   - Debian's libnss3-tools (/usr/bin/certutil): the browser test trusts the
#     demo CA in a throwaway NSS database for its HTTPS run only.
#   - Node.js and npm (Debian's nodejs and npm packages when missing), then
#     `npm ci` in scripts/css-compat/: doiuse and browserslist at the versions
#     package-lock.json pins, for the stylesheet's compatibility check with
#     the browsers the user manual names. Only at install time: the check
#     itself downloads nothing.
#   - Debian's postgresql package when no initdb is found: the tests start
#     throwaway PostgreSQL clusters of their own (initdb into a temporary
#     folder, a free loopback port, stopped at the end); the package's
#     service is not used.
# Each step does nothing when what it installs is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        echo "error: installing $* needs root: run this script as root, or install sudo" >&2
        exit 1
    fi
}

install_python_deps() {
    local python=${PYTHON:-python3}
    if ! command -v "$python" >/dev/null; then
        echo "error: $python not found; install Python 3.11 or later (apt-get install python3 python3-venv)" >&2
        exit 1
    fi
    local stamp=.venv/.requirements-installed
    if [ -x .venv/bin/python ] && [ -f "$stamp" ] && cmp -s scripts/requirements-test.txt "$stamp"; then
        return 0
    fi
    echo "==> installing test dependencies into .venv"
    "$python" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
    cp scripts/requirements-test.txt "$stamp"
}

install_chromium() {
    if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
        return 0
    fi
    if ! command -v apt-get >/dev/null; then
        echo "error: /usr/bin/chromium or /usr/bin/chromedriver is missing and there is no apt-get;" \
            "install Chromium and a ChromeDriver of the same version there" >&2
        exit 1
    fi
    echo "==> installing chromium and chromium-driver (Debian packages) for tests/browser.rs"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends chromium chromium-driver
    if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
        echo "error: apt-get installed chromium and chromium-driver, but /usr/bin/chromium" \
            "or /usr/bin/chromedriver is still missing" >&2
        exit 1
    fi
}

install_certutil() {
    if [ -x /usr/bin/certutil ]; then
        return 0
    fi
    if ! command -v apt-get >/dev/null; then
        echo "error: /usr/bin/certutil is missing and there is no apt-get; install NSS's tools" \
            "(certutil) there" >&2
        exit 1
    fi
    echo "==> installing libnss3-tools (Debian package, certutil) for tests/browser.rs over HTTPS"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends libnss3-tools
    if [ ! -x /usr/bin/certutil ]; then
        echo "error: apt-get installed libnss3-tools, but /usr/bin/certutil is still missing" >&2
        exit 1
    fi
}

install_node() {
    if command -v node >/dev/null && command -v npm >/dev/null; then
        return 0
    fi
    if ! command -v apt-get >/dev/null; then
        echo "error: node or npm is missing and there is no apt-get; install Node.js 18 or later with npm" >&2
        exit 1
    fi
    echo "==> installing nodejs and npm (Debian packages) for scripts/css-compat"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends nodejs npm
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        echo "error: apt-get installed nodejs and npm, but node or npm is still missing" >&2
        exit 1
    fi
}

install_postgresql() {
    if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
        return 0
    fi
    if ! command -v apt-get >/dev/null; then
        echo "error: PostgreSQL's initdb is missing and there is no apt-get; install PostgreSQL 13" \
            "or later so that /usr/lib/postgresql/<version>/bin/initdb exists" >&2
        exit 1
    fi
    echo "==> installing postgresql (Debian package) for the tests' throwaway clusters"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends postgresql
    if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
        echo "error: apt-get installed postgresql, but /usr/lib/postgresql/*/bin/initdb is missing" >&2
        exit 1
    fi
}

# `npm ci` (exactly package-lock.json) once per lock file: a stamp in
# node_modules/ remembers which lock file was installed.
install_css_compat() {
    local dir=scripts/css-compat
    local stamp=$dir/node_modules/.mpos-installed-lock.json
    if [ -f "$stamp" ] && cmp -s "$dir/package-lock.json" "$stamp"; then
        return 0
    fi
    echo "==> installing the stylesheet check's packages (npm ci in $dir)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$stamp"
}

install_python_deps
install_chromium
install_certutil
install_node
install_css_compat
install_postgresql
