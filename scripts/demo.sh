#!/usr/bin/env bash
# demo.sh — set up, start a throwaway cluster and walk through demo/demo.sql:
# the expand/contract story of splitting bookings.status in two while an old
# and a new version of the app keep reading and writing.
#
# The cluster (and everything in it) is removed when the script exits.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
export PG_CONFIG

echo "== setup (build and install the extension) =="
bash scripts/setup.sh

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
exit "$status"
