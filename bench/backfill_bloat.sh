#!/usr/bin/env bash
# backfill_bloat.sh — what a full backfill does to the table's size: heap and
# index size before and after, and how many of its row versions were HOT
# (no index entry written). Report: bench/backfill_bloat.md.
#
#   bash bench/backfill_bloat.sh [--rows N]
#
# One throwaway durable cluster (EC_CLUSTER_DURABLE), the installed library. For fillfactor 100 (the
# default) and 90, a fresh bookings table of N rows (primary key, plus an
# index on studio), then either one plain UPDATE of a new column or an
# expand_contract migration adding it and CALL run_backfill, or its worker
# with backfill_vacuum_every = a tenth of the rows ("backfill_vacuum"). Autovacuum is
# off for the tables, so what is measured is the statement's own effect;
# "after VACUUM" is the size once a plain VACUUM has run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=1000000
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS="$2"; shift 2 ;;
        *) echo "usage: $0 [--rows N]" >&2; exit 2 ;;
    esac
done
EC_CLUSTER_DURABLE=1 EC_CLUSTER_PORT=54460 EC_CLUSTER_CONF="max_wal_size = '8GB'" source scripts/cluster.sh >/dev/null
q() { PGOPTIONS="-c client_min_messages=warning -c expand_contract.backfill_max_wal_per_second=0" psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
q -c "CREATE EXTENSION expand_contract"
DOC='{"operations": [{"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true}, "up": "status = '"''"'attended_registered'"''"'"}}]}'
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo "| fillfactor | variant | seconds | heap MB before | heap MB after | after VACUUM | indexes MB before | indexes MB after | HOT updates |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
for ff in 100 90; do
    for variant in update backfill backfill_vacuum; do
        s="b_${variant}_${ff}"
        q <<SQL
CREATE SCHEMA $s;
CREATE TABLE $s.bookings (id integer PRIMARY KEY, status text NOT NULL, studio text NOT NULL)
  WITH (fillfactor = $ff, autovacuum_enabled = false);
CREATE INDEX ON $s.bookings (studio);
INSERT INTO $s.bookings SELECT g, CASE WHEN g % 3 = 0 THEN 'attended_registered' ELSE 'booked' END,
                               'studio ' || (g % 50) FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE $s.bookings;
SQL
        [ "$variant" = update ] && q -c "ALTER TABLE $s.bookings ADD COLUMN registered boolean"
        [ "$variant" != update ] && q -c "SELECT FROM expand_contract.start('02_registered', '$DOC', '$s')"
        heap0=$(q -c "SELECT pg_relation_size('$s.bookings')")
        idx0=$(q -c "SELECT pg_indexes_size('$s.bookings')")
        hot0=$(q -c "SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = '$s.bookings'::regclass")
        t0=$(date +%s.%N)
        case "$variant" in
            update) q -c "UPDATE $s.bookings SET registered = (status = 'attended_registered')" ;;
            backfill) q -c "CALL expand_contract.run_backfill('$s')" ;;
            backfill_vacuum)
                PGOPTIONS="-c client_min_messages=warning -c expand_contract.backfill_max_wal_per_second=0 -c expand_contract.backfill_vacuum_every=$(( ROWS / 10 ))" \
                    psql -X -q -At -v ON_ERROR_STOP=1 -c "SELECT FROM expand_contract.start_backfill('$s')"
                # Polled from here, so that no snapshot of ours holds the VACUUMs back.
                until [ "$(q -c "SELECT state IN ('done', 'failed', 'cancelled') FROM expand_contract.backfill_runners WHERE schema_name = '$s'")" = t ]; do
                    sleep 0.2
                done ;;
        esac
        seconds=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
        sleep 1   # the statistics collector's last report
        heap1=$(q -c "SELECT pg_relation_size('$s.bookings')")
        idx1=$(q -c "SELECT pg_indexes_size('$s.bookings')")
        hot=$(q -c "SELECT pg_stat_force_next_flush(); SELECT n_tup_hot_upd - $hot0 FROM pg_stat_user_tables WHERE relid = '$s.bookings'::regclass" | tail -1)
        q -c "VACUUM $s.bookings"
        heap2=$(q -c "SELECT pg_relation_size('$s.bookings')")
        echo "| $ff | $variant | $seconds | $(mb "$heap0") | $(mb "$heap1") | $(mb "$heap2") | $(mb "$idx0") | $(mb "$idx1") | $(awk -v h="$hot" -v n="$ROWS" 'BEGIN { printf "%.0f%%", 100 * h / n }') |"
    done
done
