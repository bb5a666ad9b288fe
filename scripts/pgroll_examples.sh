#!/usr/bin/env bash
# pgroll_examples.sh — runs pgroll's own example migrations (the examples/
# directory of a checkout of github.com/xataio/pgroll, YAML) in order on a
# throwaway cluster: start, run_backfill, wait_for_index_builds, complete.
# Prints one line per file and the count; not part of the test suite (it
# needs a pgroll checkout and python3-yaml).
#
#   bash scripts/pgroll_examples.sh /path/to/pgroll/examples
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DIR="${1:?usage: pgroll_examples.sh PGROLL_EXAMPLES_DIR}"
python3 -c 'import yaml' 2>/dev/null || { echo "pgroll_examples: needs python3-yaml"; exit 1; }
# shellcheck source=scripts/cluster.sh
source scripts/cluster.sh >/dev/null || exit 1
createdb pgroll_examples
psql -X -q -d pgroll_examples -c "CREATE EXTENSION expand_contract"

ok=0
total=0
for f in "$DIR"/*.yaml; do
    name="$(basename "$f" .yaml)"
    doc="$(python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' "$f")"
    total=$((total + 1))
    if out="$(psql -X -q -At -v ON_ERROR_STOP=1 -d pgroll_examples -v name="$name" -v doc="$doc" 2>&1 <<'SQL'
SET client_min_messages = warning;
SELECT expand_contract.start(:'name', :'doc'::jsonb) \g /dev/null
CALL expand_contract.run_backfill();
CALL expand_contract.wait_for_index_builds();
SELECT expand_contract.complete() \g /dev/null
SQL
)"; then
        echo "ok   $name"
        ok=$((ok + 1))
    else
        echo "FAIL $name: $(echo "$out" | grep -m1 ERROR)"
        psql -X -q -d pgroll_examples -c "SELECT expand_contract.rollback()" >/dev/null 2>&1
    fi
done
echo "pgroll_examples: $ok of $total ran start -> complete"
