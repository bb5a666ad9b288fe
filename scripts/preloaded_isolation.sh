#!/usr/bin/env bash
# preloaded_isolation.sh — isolation specs that need the library in
# shared_preload_libraries (test/preloaded/specs/*.spec, expected output in
# test/preloaded/expected/), on a throwaway cluster of their own that
# preloads it. Called by scripts/test.sh; prints pg_isolation_regress's
# report and exits with its status.
#
#   bash scripts/preloaded_isolation.sh OUTPUT_DIR
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${1:?usage: preloaded_isolation.sh OUTPUT_DIR}"
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
EC_CLUSTER_PORT="${EC_CLUSTER_PORT:-54390}"
EC_CLUSTER_CONF="shared_preload_libraries = 'expand_contract'"
# shellcheck source=scripts/cluster.sh
source scripts/cluster.sh || exit 1

shopt -s nullglob
specs=(test/preloaded/specs/*.spec)
shopt -u nullglob
[ "${#specs[@]}" -gt 0 ] || { echo "preloaded: no specs in test/preloaded/specs"; exit 1; }
names=()
for s in "${specs[@]}"; do names+=("$(basename "$s" .spec)"); done

mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] && chown postgres "$OUT" 2>/dev/null
"$("$PG_CONFIG" --pkglibdir)/pgxs/src/test/isolation/pg_isolation_regress" \
    --inputdir=test/preloaded --outputdir="$OUT" --bindir="$("$PG_CONFIG" --bindir)" \
    --load-extension=expand_contract --dbname=isolation_preloaded "${names[@]}"
status=$?
if [ "$status" -ne 0 ] && [ -s "$OUT/regression.diffs" ]; then
    echo "===== $OUT/regression.diffs ====="
    cat "$OUT/regression.diffs"
fi
exit "$status"
