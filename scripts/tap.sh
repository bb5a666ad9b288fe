#!/usr/bin/env bash
# tap.sh — the TAP stories (t/*.pl, PostgreSQL::Test::Cluster from
# postgresql-server-dev-15): several clusters (standbys, ...). Runs prove as
# PGXS's prove_installcheck would, as the postgres OS user when run as root
# (initdb refuses root), with its clusters under a throwaway directory.
# Called by scripts/test.sh; prints prove's verbose report.
#
#   bash scripts/tap.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
PGXS_DIR="$(dirname "$("$PG_CONFIG" --pgxs)")/../.."
BINDIR="$("$PG_CONFIG" --bindir)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ec_tap.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
# The stories run from a copy the postgres user can read wherever the
# checkout is (a root-only home directory, say).
cp -r t "$WORK/t"
mkdir -p "$WORK/test" && cp -r test/fixtures "$WORK/test/fixtures"
AS=()
if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres "$WORK"
    AS=(runuser -u postgres --)
fi
cd "$WORK" || exit 1
"${AS[@]}" env TESTDIR="$WORK" PATH="$BINDIR:$PATH" PGPORT=65432 \
    PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" \
    prove -I "$PGXS_DIR/src/test/perl/" --verbose ${EC_TAP_FILES:-t/*.pl}
