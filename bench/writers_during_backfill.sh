#!/usr/bin/env bash
# writers_during_backfill.sh — the latency of fixed-rate writers while a
# table is backfilled. Report: bench/writers_during_backfill.md (this
# script prints its table; the report adds the machine and the reading).
#
#   bash bench/writers_during_backfill.sh [--rows N] [--rounds N] [--rate TPS]
#                                         [--variants "pgroll ec_default ..."]
#
# One throwaway durable cluster (scripts/cluster.sh, EC_CLUSTER_DURABLE: fsync,
# synchronous_commit, full_page_writes on: writers wait for their commit
# flush, and the first write of a page after a checkpoint logs it whole),
# the installed library. Two
# copies of a bookings table of N rows: ec.bookings with an expand_contract
# migration adding registered (up: status = 'attended_registered'), and
# plain.bookings with a plain registered column. One pgbench client writes
# single-row UPDATEs at a fixed rate (-R) to the table a variant backfills:
# 5 s without anything else (its "without" window), then while the variant
# runs. Per round, pgroll and plain_update first, then ours in an order rotated
# by the round, CHECKPOINT before each:
#   pgroll          pgroll-style batches (pgroll.bookings, which has pgroll's
#                   kind of PL/pgSQL BEFORE row trigger computing the column):
#                   1000 rows by key per transaction (UPDATE ... SET id = id,
#                   as pgroll's batch does), committed synchronously
#   plain_update    one UPDATE of the whole column (plain.bookings)
#   ec_default      CALL expand_contract.run_backfill() with default settings
#                   (backfill_max_wal_per_second = 32MB)
#   ec_unthrottled  the same without a limit (backfill_max_wal_per_second = 0)
#   ec_adaptive     unthrottled but adaptive: backfill_max_wal_sync_ms = twice
#                   the average WAL sync of the writers alone (pg_stat_wal,
#                   measured in the previous variant's 5 s without;
#                   track_wal_io_timing is on for every variant)
#   ec_pgroll_rate  unthrottled but for backfill_max_rows_per_second =
#                   pgroll's rows/s of this round
# Prints one line per variant and round: variant round rows/s p50 p99 p99.9
# (ms, during), p99 p99.9 (ms, without), the average WAL sync without (ms)
# and, for ours, the batches a writer waited for (a writer that touches a
# row of a batch waits for its commit: backfill_runs.writer_waits), then the
# medians.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ROWS=2000000
ROUNDS=5
RATE=1000
VARIANTS="pgroll plain_update ec_default ec_unthrottled ec_adaptive ec_pgroll_rate"
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --rate) RATE="$2"; shift 2 ;;
        --variants) VARIANTS="$2"; shift 2 ;;
        *) echo "usage: $0 [--rows N] [--rounds N] [--rate TPS] [--variants LIST]" >&2; exit 2 ;;
    esac
done

EC_CLUSTER_DURABLE=1 EC_CLUSTER_PORT=54430 EC_CLUSTER_CONF="max_wal_size = '4GB'
checkpoint_timeout = '30min'
track_wal_io_timing = on" source scripts/cluster.sh >/dev/null
WORK="$(mktemp -d)"
chmod 777 "$WORK"
trap 'rm -rf "$WORK"; ec_cluster_stop >/dev/null 2>&1 || true' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

q <<SQL
SET client_min_messages = warning;
CREATE EXTENSION expand_contract;
CREATE SCHEMA ec;
CREATE SCHEMA plain;
CREATE SCHEMA pgroll;
CREATE TABLE ec.bookings (id integer PRIMARY KEY, status text NOT NULL, studio text NOT NULL);
INSERT INTO ec.bookings SELECT g, CASE WHEN g % 3 = 0 THEN 'attended_registered' ELSE 'booked' END,
                               'studio ' || (g % 50) FROM generate_series(1, $ROWS) g;
CREATE TABLE plain.bookings AS SELECT *, NULL::boolean AS registered FROM ec.bookings;
ALTER TABLE plain.bookings ADD PRIMARY KEY (id);
CREATE TABLE pgroll.bookings AS SELECT id, status, studio FROM plain.bookings;
ALTER TABLE pgroll.bookings ADD PRIMARY KEY (id);
\i bench/pgroll_bookings.sql
VACUUM ANALYZE;
-- pgroll's batch (pkg/backfill): lock the next batch of flagged rows by key,
-- touch them, one transaction each, committed synchronously.
CREATE PROCEDURE pgroll.batches(batch integer) LANGUAGE plpgsql AS \$\$
DECLARE
    last integer := 0;
    n integer;
BEGIN
    LOOP
        WITH b AS (SELECT id FROM pgroll.bookings WHERE _pgroll_needs_backfill = true AND id > last
                    ORDER BY id LIMIT batch FOR NO KEY UPDATE),
             u AS (UPDATE pgroll.bookings SET id = pgroll.bookings.id FROM b
                    WHERE pgroll.bookings.id = b.id RETURNING pgroll.bookings.id)
        SELECT max(id) INTO n FROM u;
        EXIT WHEN n IS NULL;
        last := n;
        COMMIT;
    END LOOP;
END \$\$;
SQL

DOC='{"operations": [{"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true}, "up": "status = '"''"'attended_registered'"''"'"}}]}'

now_s() { date +%s.%N; }

# Runs the writers against $1, 5 s alone, then `variant_sql` ($2) from psql;
# sets DURING_RATE, and the percentiles.
measure() {   # table variant-sql settings...
    local table="$1" sql="$2" settings="$3" log="$WORK/lat" t0 t1 t_base
    rm -f "$log".*
    printf '\\set id random(1, %d)\nUPDATE %s SET studio = studio WHERE id = :id;\n' "$ROWS" "$table" > "$WORK/writer.sql"
    q -c "CHECKPOINT"
    ( cd "$WORK" && pgbench -n -R "$RATE" -c 1 -T 900 -l --log-prefix=lat -f writer.sql >/dev/null 2>&1 ) &
    local bench=$!
    sleep 1
    t_base=$(now_s)
    local syncs_base; syncs_base=$(q -c "SELECT wal_sync || ' ' || wal_sync_time FROM pg_stat_wal")
    sleep 5
    t0=$(now_s)
    local syncs_before; syncs_before=$(q -c "SELECT wal_sync || ' ' || wal_sync_time FROM pg_stat_wal")
    # The average WAL sync (pg_stat_wal, every process) while the writers ran alone.
    SYNC_MS_WITHOUT=$(awk -v a="$syncs_base" -v b="$syncs_before" 'BEGIN { split(a, x, " "); split(b, y, " ");
        printf "%.3f", (y[1] > x[1]) ? (y[2] - x[2]) / (y[1] - x[1]) : 0 }')
    PGOPTIONS="-c client_min_messages=warning $settings" q -c "$sql" >/dev/null
    t1=$(now_s)
    q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgbench'" >/dev/null
    wait "$bench" 2>/dev/null || true
    DURING_SECONDS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    # pgbench -l: client tx time(us) script epoch_s epoch_us [lag]
    cat "$log".* | awk -v a="$t_base" -v b="$t0" -v c="$t1" '
        { t = $5 + $6 / 1e6; ms = $3 / 1000.0
          if (t >= a && t < b) print "without", ms; else if (t >= b && t <= c) print "during", ms }' > "$WORK/split"
}

percentile() {   # window p
    awk -v w="$1" '$1 == w { print $2 }' "$WORK/split" | sort -n |
        awk -v p="$2" '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int(NR * p); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.2f", v[i] }'
}

report() {   # variant round rows
    local rps
    rps=$(awk -v r="$3" -v s="$DURING_SECONDS" 'BEGIN { printf "%.0f", r / s }')
    echo "$1 $2 $rps $(percentile during 0.5) $(percentile during 0.99) $(percentile during 0.999) $(percentile without 0.99) $(percentile without 0.999) $SYNC_MS_WITHOUT"
}

UNTHROTTLED="-c expand_contract.backfill_max_wal_per_second=0"
has() { case " $VARIANTS " in *" $1 "*) return 0 ;; esac; return 1; }
echo "variant round rows_per_s p50_ms p99_ms p999_ms p99_without_ms p999_without_ms sync_without_ms writer_waits" | tee "$WORK/results"
for round in $(seq "$ROUNDS"); do
    # pgroll-style's usual rate when it does not run this round.
    pgroll_rps=31000
    if has pgroll; then
        # Every row flagged again, as at pgroll's start.
        q -c "ALTER TABLE pgroll.bookings DISABLE TRIGGER sync" \
          -c "UPDATE pgroll.bookings SET _pgroll_needs_backfill = true, registered = NULL" \
          -c "ALTER TABLE pgroll.bookings ENABLE TRIGGER sync" -c "VACUUM pgroll.bookings" >/dev/null
        measure pgroll.bookings "CALL pgroll.batches(1000)" ""
        echo "$(report pgroll "$round" "$ROWS") -" | tee -a "$WORK/results"
        pgroll_rps=$(awk -v r="$ROWS" -v s="$DURING_SECONDS" 'BEGIN { printf "%.0f", r / s }')
        q -c "VACUUM pgroll.bookings" >/dev/null
    fi
    if has plain_update; then
        measure plain.bookings "UPDATE plain.bookings SET registered = (status = 'attended_registered')" ""
        echo "$(report plain_update "$round" "$ROWS") -" | tee -a "$WORK/results"
        q -c "VACUUM plain.bookings" >/dev/null
    fi
    # Our variants in an order rotated by the round, so that none always
    # follows the same one (a window "without" comes right after the
    # previous variant's rollback and VACUUM).
    ours=()
    for v in $VARIANTS; do case "$v" in ec_*) ours+=("$v") ;; esac; done
    for i in "${!ours[@]}"; do
        variant="${ours[$(( (i + round - 1) % ${#ours[@]} ))]}"
        case "$variant" in
            ec_default) settings="" ;;
            ec_unthrottled) settings="$UNTHROTTLED" ;;
            # Twice the average WAL sync of the writers alone, as measured
            # in the previous measurement's window without.
            ec_adaptive) settings="$UNTHROTTLED -c expand_contract.backfill_max_wal_sync_ms=$(awk -v m="$SYNC_MS_WITHOUT" 'BEGIN { printf "%.3f", 2 * m }')" ;;
            ec_pgroll_rate) settings="$UNTHROTTLED -c expand_contract.backfill_max_rows_per_second=$pgroll_rps" ;;
            *) echo "unknown variant $variant" >&2; exit 2 ;;
        esac
        PGOPTIONS="-c client_min_messages=warning" q -c "SELECT FROM expand_contract.start('02_registered', '$DOC', 'ec')" >/dev/null
        measure ec.bookings "CALL expand_contract.run_backfill('ec')" "$settings"
        waits=$(q -c "SELECT sum(writer_waits) FROM expand_contract.backfill_runs WHERE schema_name = 'ec'")
        echo "$(report "$variant" "$round" "$ROWS") $waits" | tee -a "$WORK/results"
        PGOPTIONS="-c client_min_messages=warning" q -c "SELECT expand_contract.rollback('ec')" >/dev/null
        q -c "VACUUM ec.bookings" >/dev/null
    done
done

echo
echo "medians over $ROUNDS rounds ($ROWS rows, writers at $RATE/s):"
echo "| variant | rows/s | p50 ms | p99 ms | p99.9 ms | p99 ms without | p99.9 ms without | WAL sync ms without | batches writers waited for |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for variant in $VARIANTS; do
    line="| $variant |"
    for col in 3 4 5 6 7 8 9 10; do
        m=$(awk -v v="$variant" -v c="$col" '$1 == v { print $c }' "$WORK/results" | sort -n |
            awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : "n/a") }')
        line="$line $m |"
    done
    echo "$line"
done
