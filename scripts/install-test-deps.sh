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

# apt_install WHAT CHECK PACKAGE...: when the shell test CHECK fails,
# installs Debian's PACKAGEs (for WHAT) and checks CHECK again; each step
# says what is missing and what to do.
apt_install() {
    local what=$1 check=$2
    shift 2
    if eval "$check"; then
        return 0
    fi
    if ! command -v apt-get >/dev/null; then
        echo "error: $what is missing ($check fails) and there is no apt-get; install $* there" >&2
        exit 1
    fi
    echo "==> installing $* (Debian packages) for $what"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
    if ! eval "$check"; then
        echo "error: apt-get installed $*, but $what is still missing ($check fails)" >&2
        exit 1
    fi
}

# The browser test's Chromium and ChromeDriver (the distribution's: a test
# tool's own browser download cannot work without internet).
install_chromium() {
    apt_install "tests/browser.rs's browser" \
        '[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]' chromium chromium-driver
}

# certutil, for the browser test's HTTPS run (a throwaway NSS database).
install_certutil() {
    apt_install "tests/browser.rs over HTTPS (certutil)" '[ -x /usr/bin/certutil ]' libnss3-tools
}

install_node() {
    apt_install "scripts/css-compat (Node.js 18 or later with npm)" \
        'command -v node >/dev/null && command -v npm >/dev/null' nodejs npm
}

# PostgreSQL's programs for the tests' throwaway clusters.
install_postgresql() {
    apt_install "the tests' PostgreSQL clusters (initdb)" \
        'compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null' postgresql
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
