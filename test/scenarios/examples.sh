#!/usr/bin/env bash
# examples: every migration of examples/, in order, through the whole cycle:
# start, backfill, rollback, start again, backfill, complete; after each
# complete, verify() had nothing to report. Between them the files use every
# operation the extension has.
# Runs against the server named by PGHOST/PGPORT/PGUSER; exits non-zero on failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

db=ec_examples
trap 'dropdb --if-exists "$db" >/dev/null 2>&1' EXIT
dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION expand_contract"

cycle() {
    local name="$1" file="$2"
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -v name="$name" -v doc="$(cat "$file")" <<'SQL'
SET client_min_messages = warning;
SELECT expand_contract.start(:'name', :'doc'::jsonb) \g /dev/null
CALL expand_contract.run_backfill();
SELECT expand_contract.rollback() \g /dev/null
SELECT expand_contract.start(:'name', :'doc'::jsonb) \g /dev/null
CALL expand_contract.run_backfill();
SELECT count(*) = 0 AS consistent FROM expand_contract.verify() \gset
\if :consistent
\else
\echo verify() found rows whose versions disagree
SELECT 1/0;
\endif
CALL expand_contract.wait_for_index_builds();
SELECT expand_contract.complete() \g /dev/null
SQL
}

n=0
for file in examples/*.json; do
    name="$(basename "$file" .json)"
    if ! out="$(cycle "$name" "$file" 2>&1)"; then
        echo "examples: $name failed: $out"
        exit 1
    fi
    n=$((n + 1))
done
echo "examples: $n migrations each started, rolled back, started again and completed"
