#!/usr/bin/env bash
# demo.sh — set up, start a throwaway cluster and walk through demo/demo.sql:
# the expand/contract story of splitting bookings.status in two while an old
# and a new version of the app keep reading and writing.
#
# The cluster (and everything in it) is removed when the script exits,
# unless --keep: then it keeps running, and the script says how to connect
# and how to stop it.
#
#   bash scripts/demo.sh [--keep]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
export PG_CONFIG

keep=0
for arg in "$@"; do
    case "$arg" in
        --keep) keep=1 ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "demo: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

# The build's own output goes to a log, shown only when it fails.
setup_log="$(mktemp "${TMPDIR:-/tmp}/ec_demo_setup.XXXXXX")"
echo "== setup (build and install the extension; log: $setup_log) =="
if ! bash scripts/setup.sh >"$setup_log" 2>&1; then
    cat "$setup_log"
    echo "demo: setup FAILED (log above)" >&2
    exit 1
fi
rm -f "$setup_log"

echo "== throwaway cluster =="
# shellcheck source=scripts/cluster.sh
source scripts/cluster.sh

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE demo"

status=0
PGDATABASE=demo psql -X -v ON_ERROR_STOP=1 --echo-queries --no-psqlrc \
    -f demo/demo.sql || status=$?

if [ "$status" -ne 0 ]; then
    echo
    echo "demo FAILED (psql exit status $status). Last lines of the server log:"
    tail -n 20 "$EC_CLUSTER_LOG" || true
fi
if [ "$keep" = 1 ]; then
    trap - EXIT
    stop="$EC_PG_BINDIR/pg_ctl -D $EC_CLUSTER_DIR/data stop"
    [ "$(id -u)" -eq 0 ] && stop="runuser -u postgres -- $stop"
    cat <<EOF

The cluster keeps running (--keep), with the demo database as the story left it:
  psql -h $PGHOST -p $PGPORT -U postgres demo
  PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=postgres $EC_PG_BINDIR/expand-contract -d demo status
Stop it and remove it with:
  $stop && rm -rf $EC_CLUSTER_DIR
EOF
fi
exit "$status"
