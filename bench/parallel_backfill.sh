#!/usr/bin/env bash
# parallel_backfill.sh — a backfill by 1 and by N workers against one plain
# UPDATE of the same column. Report: bench/parallel_backfill.md.
#
#   bash bench/parallel_backfill.sh [--rows N] [--rounds N] [--workers N] [--by-key]
#
# One throwaway durable cluster (scripts/cluster.sh, EC_CLUSTER_DURABLE: fsync,
# synchronous_commit, full_page_writes on), the installed library, no
# other load, the backfill unthrottled. Per round, in rotating order, VACUUM and CHECKPOINT before
# each: "update", one UPDATE plain.bookings SET registered = (status = ...)
# on a copy without a migration; "ec_1", CALL run_backfill('ec') of an open
# migration adding the same column; "ec_N", start_backfill('ec', workers =>
# N) until every worker is done. Both with backfill_order = auto
# , which visits a table this large by page (TID ranges), the pages
# split into N ranges. The migration is rolled back and started again
# between runs. Prints seconds per run, then medians and ratios.
# --by-key adds "ec_key_1" and "ec_key_n": the same two with
# expand_contract.backfill_order = key (batches by key ranges, split by the
# key's histogram).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=1000000
ROUNDS=5
WORKERS=2
BY_KEY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --workers) WORKERS="$2"; shift 2 ;;
        --by-key) BY_KEY=1; shift ;;
        *) echo "usage: $0 [--rows N] [--rounds N] [--workers N] [--by-key]" >&2; exit 2 ;;
    esac
done
# Autovacuum off: each run begins with its own VACUUM ANALYZE, and an
# autovacuum of the table the last run rewrote would otherwise take a core
# from some runs and not others (and hold rollback() off until the phase
# cancels it).
EC_CLUSTER_DURABLE=1 EC_CLUSTER_PORT=54440 EC_CLUSTER_CONF="max_wal_size = '8GB'
checkpoint_timeout = '30min'
autovacuum = off" source scripts/cluster.sh >/dev/null
# Unthrottled (backfill_max_wal_per_second = 0; the default 16MB/s bounds what
# a backfill does to writers, bench/writers_during_backfill.sh): this measures
# how fast the engine goes. Workers keep the limits of the starting session.
ORDER=auto   # expand_contract.backfill_order of the variant running
q() { PGOPTIONS="-c client_min_messages=warning -c expand_contract.backfill_max_wal_per_second=0 -c expand_contract.backfill_order=$ORDER" \
          psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
q <<SQL
CREATE EXTENSION expand_contract;
CREATE SCHEMA ec;
CREATE SCHEMA plain;
CREATE TABLE ec.bookings (id integer PRIMARY KEY, status text NOT NULL, studio text NOT NULL);
INSERT INTO ec.bookings SELECT g, CASE WHEN g % 3 = 0 THEN 'attended_registered' ELSE 'booked' END,
                               'studio ' || (g % 50) FROM generate_series(1, $ROWS) g;
CREATE TABLE plain.bookings AS SELECT *, NULL::boolean AS registered FROM ec.bookings;
ALTER TABLE plain.bookings ADD PRIMARY KEY (id);
VACUUM ANALYZE;
SQL
DOC='{"operations": [{"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true}, "up": "status = '"''"'attended_registered'"''"'"}}]}'
now_s() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.3f", b - a }'; }
# ANALYZE as autovacuum would after the last round's rewrite: start_backfill
# splits by the key's histogram while it is fresh, else by counting keys.
prepare() { q -c "VACUUM ANALYZE ec.bookings" -c "VACUUM ANALYZE plain.bookings" -c "CHECKPOINT"; }
start_migration() { q -c "SELECT FROM expand_contract.start('02_registered', '$DOC', 'ec')"; }
run_variant() {   # variant -> prints seconds
    local t0
    case "$1" in ec_key_*) ORDER=key ;; *) ORDER=auto ;; esac
    case "$1" in
        update)
            prepare; t0=$(now_s)
            q -c "UPDATE plain.bookings SET registered = (status = 'attended_registered')"
            seconds_since "$t0" ;;
        ec_1|ec_key_1)
            start_migration; prepare; t0=$(now_s)
            q -c "CALL expand_contract.run_backfill('ec')"
            seconds_since "$t0"
            q -c "SELECT expand_contract.rollback('ec')" >/dev/null ;;
        ec_n|ec_key_n)
            local schema=ec
            start_migration; prepare; t0=$(now_s)
            q -c "SELECT FROM expand_contract.start_backfill('$schema', workers => $WORKERS)"
            [ "$1" = ec_key_n ] && echo "split_key $round $(seconds_since "$t0")" >> "$RESULTS"
            [ "$1" = ec_n ] && echo "split $round $(seconds_since "$t0")" >> "$RESULTS"   # start_backfill returned
            # COMMIT in the loop: a DO block's transaction would hold one
            # snapshot for the whole wait, and with it the dead row versions
            # the workers leave behind.
            q -c "DO \$\$ BEGIN
                    WHILE EXISTS (SELECT FROM expand_contract.backfill_runners
                                   WHERE schema_name = '$schema' AND state NOT IN ('done', 'failed', 'cancelled')) LOOP
                        PERFORM pg_sleep(0.01);
                        COMMIT;
                    END LOOP;
                  END \$\$"
            seconds_since "$t0"
            [ "$(q -c "SELECT bool_and(done) FROM expand_contract.backfill_progress WHERE schema_name = '$schema'")" = t ] \
                || { echo "$1: backfill not done" >&2; exit 1; }
            q -c "SELECT expand_contract.rollback('$schema')" >/dev/null ;;
    esac
}
VARIANTS=(update ec_1 ec_n)
[ "$BY_KEY" = 1 ] && VARIANTS+=(ec_key_1 ec_key_n)
RESULTS="$(mktemp)"
trap 'rm -f "$RESULTS"; ec_cluster_stop' EXIT   # and keep cluster.sh's stop
for round in $(seq "$ROUNDS"); do
    for i in "${!VARIANTS[@]}"; do
        v="${VARIANTS[$(( (i + round) % ${#VARIANTS[@]} ))]}"
        s=$(run_variant "$v" | tail -1)
        echo "$v $round $s" | tee -a "$RESULTS"
    done
done
median() { awk -v v="$1" '$1 == v { print $3 }' "$RESULTS" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
u=$(median update); one=$(median ec_1); n=$(median ec_n)
echo
echo "| variant | median s ($ROWS rows, $ROUNDS rounds) | ratio to one UPDATE |"
echo "|---|---:|---:|"
echo "| one plain UPDATE | $u | 1.00x |"
echo "| run_backfill, 1 runner | $one | $(awk -v a="$one" -v b="$u" 'BEGIN { printf "%.2fx", a / b }') |"
echo "| start_backfill, $WORKERS workers | $n | $(awk -v a="$n" -v b="$u" 'BEGIN { printf "%.2fx", a / b }') |"
[ "$BY_KEY" = 1 ] && { k=$(median ec_key_1)
    echo "| run_backfill, 1 runner, by key | $k | $(awk -v a="$k" -v b="$u" 'BEGIN { printf "%.2fx", a / b }') |"
    kn=$(median ec_key_n)
    echo "| start_backfill, $WORKERS workers, by key | $kn | $(awk -v a="$kn" -v b="$u" 'BEGIN { printf "%.2fx", a / b }') |"; }
echo
echo "start_backfill itself (the split, the workers launched): median $(median split) s$([ "$BY_KEY" = 1 ] && echo "; by key $(median split_key) s")."
