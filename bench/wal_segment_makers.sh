#!/usr/bin/env bash
# wal_segment_makers.sh — which processes make new WAL segment files during a
# backfill, and so which ones fill 16 MB with zeros and sync them while
# holding WALWriteLock (every commit of the cluster waits for that). Counts,
# not timings: the VM's own disk stalls do not change them.
#
#   bash bench/wal_segment_makers.sh [--rows N] [--variants LIST]
#
# One throwaway durable cluster (scripts/cluster.sh) with log_min_messages =
# debug2, where PostgreSQL logs "done creating and filling new WAL file" for
# every segment it makes, with the process's type in the log line. A table
# of N rows (default 2M); one pgbench client writes single-row UPDATEs to it
# at 1000/s throughout. Each variant runs on a cluster of its own, after the
# table is loaded and a CHECKPOINT (which recycles the load's segments into
# spare ones ahead, as a cluster in production has some):
#   ec_default      start_backfill() with the default settings
#   ec_unthrottled  the same with backfill_max_wal_per_second = 0
#   update          one plain UPDATE of the column (what any bulk change does)
# Prints, per variant, the segments made and by whom.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ROWS=2000000
VARIANTS="ec_default ec_unthrottled update"
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS="$2"; shift 2 ;;
        --variants) VARIANTS="$2"; shift 2 ;;
        *) echo "usage: $0 [--rows N] [--variants LIST]" >&2; exit 2 ;;
    esac
done

# Exported: ec_cluster_start reads them again for each variant's cluster.
export EC_CLUSTER_DURABLE=1 EC_CLUSTER_PORT=54480 EC_CLUSTER_CONF="max_wal_size = '4GB'
checkpoint_timeout = '30min'
log_min_messages = debug2
log_line_prefix = '%m [%p] <%b> '"
source scripts/cluster.sh >/dev/null
WORK="$(mktemp -d)"
chmod 777 "$WORK"
trap 'rm -rf "$WORK"; ec_cluster_stop >/dev/null 2>&1 || true' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

DOC='{"operations": [{"add_column": {"table": "bookings", "column": {"name": "registered_02", "type": "boolean", "nullable": true}, "up": "status = '"''"'attended_registered'"''"'"}}]}'
printf '\\set id random(1, %d)\nUPDATE ec.bookings SET studio = studio WHERE id = :id;\n' "$ROWS" > "$WORK/writer.sql"

load_table() {
    q <<SQL
SET client_min_messages = warning;
CREATE EXTENSION expand_contract;
CREATE SCHEMA ec;
CREATE TABLE ec.bookings (id integer PRIMARY KEY, status text NOT NULL, studio text NOT NULL,
                          registered boolean);
INSERT INTO ec.bookings SELECT g, CASE WHEN g % 3 = 0 THEN 'attended_registered' ELSE 'booked' END,
                               'studio ' || (g % 50) FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE;
SQL
    q -c "CHECKPOINT"
}

run_variant() {   # variant
    case "$1" in
        ec_default|ec_unthrottled)
            local settings=""
            [ "$1" = ec_unthrottled ] && settings="-c expand_contract.backfill_max_wal_per_second=0"
            PGOPTIONS="-c client_min_messages=warning" q -c "SELECT FROM expand_contract.start('02_registered', '$DOC', 'ec')" >/dev/null
            PGOPTIONS="-c client_min_messages=warning $settings" q -c "SELECT FROM expand_contract.start_backfill('ec')"
            # Polled once a second: short transactions, no snapshot held.
            until [ "$(q -c "SELECT bool_and(done) FROM expand_contract.backfill_progress WHERE schema_name = 'ec'")" = t ]; do
                sleep 1
            done
            PGOPTIONS="-c client_min_messages=warning" q -c "SELECT expand_contract.rollback('ec')" >/dev/null ;;
        update)
            q -c "UPDATE ec.bookings SET registered = (status = 'attended_registered')" ;;
        *) echo "unknown variant $1" >&2; exit 2 ;;
    esac
}

echo "| variant | segments made | by the backfill | by the writer (pgbench) | by other client backends (the UPDATE) | by the WAL writer | by others |"
echo "|---|---:|---:|---:|---:|---:|---:|"
first=1
for variant in $VARIANTS; do
    if [ "$first" = 0 ]; then
        ec_cluster_stop
        ec_cluster_start >/dev/null
    fi
    first=0
    load_table
    ( cd "$WORK" && pgbench -n -R 1000 -c 1 -T 3600 -f writer.sql >/dev/null 2>&1 ) &
    bench=$!
    sleep 1
    writer=$(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench'")
    from=$(wc -l < "$EC_CLUSTER_LOG")
    run_variant "$variant"
    q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgbench'" >/dev/null
    wait "$bench" 2>/dev/null || true
    tail -n +"$((from + 1))" "$EC_CLUSTER_LOG" | grep 'done creating and filling new WAL file' |
        sed -E 's/^[^[]*\[([0-9]+)\] <([^>]*)>.*$/\1 \2/' | awk -v v="$variant" -v writer="$writer" '
            { n++; pid = $1; sub(/^[0-9]+ /, "")
              if ($0 ~ /expand_contract/) b++; else if (pid == writer) p++
              else if ($0 == "client backend") c++; else if ($0 == "walwriter") w++; else o++ }
            END { printf "| %s | %d | %d | %d | %d | %d | %d |\n", v, n, b, p, c, w, o }'
done
