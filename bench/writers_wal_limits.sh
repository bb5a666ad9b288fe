#!/usr/bin/env bash
# writers_wal_limits.sh — writers' latency on another table while a 2M-row
# table is backfilled at each backfill_max_wal_per_second. Report: the
# "WAL limits" section of bench/writers_during_backfill.md.
#
#   bash bench/writers_wal_limits.sh [--rows N] [--rounds N] [--limits "0 16MB 32MB"]
#
# One throwaway durable cluster (scripts/cluster.sh, EC_CLUSTER_DURABLE), the
# installed library. One pgbench client writes single-row UPDATEs at a fixed
# 1,000/s (-R) to a 100,000-row table the backfill never touches, for 10 s
# per window: once alone, then once per limit while CALL run_backfill() of a
# migration adding a column to the N-row table runs (started 0.5 s into the
# window; a backfill shorter than the window leaves its rest without one,
# which flatters the fast ones). CHECKPOINT before each window. Prints one
# line per window: name, samples, p50, p99, p99.9 and max in ms.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=2000000
ROUNDS=4
LIMITS="0 16MB 32MB"
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --limits) LIMITS="$2"; shift 2 ;;
        *) echo "usage: $0 [--rows N] [--rounds N] [--limits \"0 16MB 32MB\"]" >&2; exit 2 ;;
    esac
done
EC_CLUSTER_DURABLE=1 EC_CLUSTER_PORT=54490 EC_CLUSTER_CONF="max_wal_size = '4GB'
checkpoint_timeout = '30min'" source scripts/cluster.sh >/dev/null
WORK="$(mktemp -d)"
chmod 777 "$WORK"
trap 'rm -rf "$WORK"; ec_cluster_stop >/dev/null 2>&1 || true' EXIT
q() { PGOPTIONS="-c client_min_messages=warning ${SETTINGS:-}" psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
q <<SQL
CREATE EXTENSION expand_contract;
CREATE SCHEMA ec;
CREATE TABLE ec.bookings (id integer PRIMARY KEY, status text NOT NULL, studio text NOT NULL);
INSERT INTO ec.bookings SELECT g, CASE WHEN g % 3 = 0 THEN 'attended_registered' ELSE 'booked' END,
                               'studio ' || (g % 50) FROM generate_series(1, $ROWS) g;
CREATE TABLE public.counters (id integer PRIMARY KEY, v integer NOT NULL);
INSERT INTO public.counters SELECT g, 0 FROM generate_series(1, 100000) g;
VACUUM ANALYZE;
SQL
DOC='{"operations": [{"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true}, "up": "status = '"''"'attended_registered'"''"'"}}]}'
printf '\\set id random(1, 100000)\nUPDATE public.counters SET v = v + 1 WHERE id = :id;\n' > "$WORK/writer.sql"
percentiles() {
    sort -n | awk '{ v[NR] = $1 } END { printf "%d %.2f %.2f %.2f %.2f\n", NR, v[int(NR * 0.5)], v[int(NR * 0.99)], v[int(NR * 0.999)], v[NR] }'
}
window() {   # name [limit]
    rm -f "$WORK"/lat.*
    q -c "CHECKPOINT"
    ( cd "$WORK" && pgbench -n -R 1000 -c 1 -T 10 -l --log-prefix=lat -f writer.sql >/dev/null 2>&1 ) &
    local bench=$! backfill=
    if [ $# -gt 1 ]; then
        sleep 0.5
        SETTINGS="-c expand_contract.backfill_max_wal_per_second=$2" q -c "CALL expand_contract.run_backfill('ec')" >/dev/null 2>&1 &
        backfill=$!
    fi
    wait "$bench"
    if [ -n "$backfill" ]; then
        q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'CALL expand_contract.run_backfill%'" >/dev/null
        wait "$backfill" 2>/dev/null || true
    fi
    # pgbench -l: client tx time(us) ...; the first 0.5 s (500 rows) warm up.
    echo "$1 $(cat "$WORK"/lat.* | awk 'NR > 500 { print $3 / 1000 }' | percentiles)"
}
echo "window samples p50_ms p99_ms p999_ms max_ms"
for round in $(seq "$ROUNDS"); do
    window alone
    for limit in $LIMITS; do
        q -c "SELECT FROM expand_contract.start('02_registered', '$DOC', 'ec')"
        window "wal_limit_$limit" "$limit"
        q -c "SELECT expand_contract.rollback('ec')" >/dev/null
        q -c "VACUUM ec.bookings"
    done
done
