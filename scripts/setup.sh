#!/usr/bin/env bash
# setup.sh — install what building and testing expand_contract needs, then
# build and install the extension. Safe to run repeatedly: apt is touched only
# when a package is missing, and make rebuilds only what changed.
#
#   PG_CONFIG   pg_config of the target server (default: PostgreSQL 15 from Debian)
#   EC_SKIP_APT=1   never call apt-get (assume the packages are present)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
export PG_CONFIG

log() { printf 'setup: %s\n' "$*"; }

# --- privileges --------------------------------------------------------------
# Root installs directly; otherwise sudo is used only if it works without a
# password prompt. Without either, the packages are assumed to be installed.
SUDO=()
CAN_ROOT=1
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
        SUDO=(sudo -n)
    else
        CAN_ROOT=0
    fi
fi

# --- packages ----------------------------------------------------------------
installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}
installed_version() {
    dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true
}

APT_UPDATED=0
apt_install() {
    if [ "${EC_SKIP_APT:-0}" = 1 ] || [ "$CAN_ROOT" = 0 ]; then
        log "missing packages: $* (not root, no sudo: assuming they are provided)"
        return 0
    fi
    if [ "$APT_UPDATED" = 0 ]; then
        log "apt-get update"
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    # Packages with a service (postgresql-15, pgbouncer) would start it:
    # the tests start their own servers, and leave none running.
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
        "${SUDO[@]}" chmod 755 "$policy"
        own_policy=1
    fi
    local status=0
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" || status=$?
    [ "$own_policy" = 1 ] && "${SUDO[@]}" rm -f "$policy"
    return "$status"
}

if command -v dpkg-query >/dev/null 2>&1; then
    # The server comes first: the dev package is pinned to its exact version,
    # so installing headers never upgrades the server underneath a cluster.
    if ! installed postgresql-15; then
        apt_install postgresql-15
    fi
    server_version="$(installed_version postgresql-15)"

    want=()
    if [ -n "$server_version" ]; then
        if [ "$(installed_version postgresql-server-dev-15)" != "$server_version" ] \
           || ! installed postgresql-server-dev-15; then
            want+=("postgresql-server-dev-15=$server_version")
        fi
    fi
    for pkg in build-essential g++ make cmake postgresql-15-pgtap \
               libtap-parser-sourcehandler-pgtap-perl libipc-run-perl gnuplot-nox \
               libpq-dev libyaml-cpp-dev python3 python3-yaml python3-jsonschema \
               debhelper postgresql-server-dev-all python3-sqlalchemy python3-psycopg2 pgbouncer; do
        installed "$pkg" || want+=("$pkg")
    done
    if [ "${#want[@]}" -gt 0 ]; then
        apt_install "${want[@]}"
    else
        log "all packages present (postgresql-15 $server_version)"
    fi
else
    log "dpkg-query not found: not a Debian system, assuming dependencies are present"
fi

if [ ! -x "$PG_CONFIG" ]; then
    echo "setup: $PG_CONFIG not found; install postgresql-server-dev-15 or set PG_CONFIG" >&2
    exit 1
fi

# --- build and install -------------------------------------------------------
jobs="$(nproc 2>/dev/null || echo 2)"
log "make (PG_CONFIG=$PG_CONFIG)"
make -j"$jobs" PG_CONFIG="$PG_CONFIG"

log "make install"
if [ "$CAN_ROOT" = 1 ]; then
    "${SUDO[@]}" make PG_CONFIG="$PG_CONFIG" install
elif [ -w "$("$PG_CONFIG" --pkglibdir)" ] && [ -w "$("$PG_CONFIG" --sharedir)/extension" ]; then
    make PG_CONFIG="$PG_CONFIG" install
else
    echo "setup: cannot install into $("$PG_CONFIG" --pkglibdir): need root or sudo" >&2
    exit 1
fi
log "done"
