#!/usr/bin/env bash
# bench/phase_locks.sh — what start and complete cost the writers of a big
# table (issue 9): for each operation, on a table of --rows rows (default
# 2,000,000), the longest ACCESS EXCLUSIVE hold on the table and the longest
# single-row write while the phase runs, plus how long the phase took; and
# the same for start with a reporting transaction holding a lock meanwhile.
#
#   bash bench/phase_locks.sh              # 2,000,000 rows (several minutes)
#   bash bench/phase_locks.sh --rows 100000
#
# Method, per operation: a fresh table; a probe writer (pgbench, one client,
# single-row UPDATEs of the base table, per-transaction latency log) runs
# throughout; a lock watcher polls pg_locks every millisecond and records
# the longest stretch in which some session held ACCESS EXCLUSIVE on the
# table; the phase runs 1 s into the probe. Between start and complete,
# CALL run_backfill fills the table (not measured). Writes
# bench/phase_locks_report.md. Uses the installed extension and a throwaway
# cluster (scripts/cluster.sh), stopped on exit.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROWS=2000000
OUT="$BENCH_DIR/phase_locks_report.md"
while [ "$#" -gt 0 ]; do
    case "$1" in
        --rows) ROWS="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "phase_locks.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

cd "$BENCH_DIR/.."
# shellcheck source=scripts/cluster.sh
source scripts/cluster.sh >/dev/null
WORK="$(mktemp -d)"
chmod 755 "$WORK"
trap 'ec_cluster_stop >/dev/null 2>&1; rm -rf "$WORK"' EXIT
PGBENCH="$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --bindir)/pgbench"
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

q -c "CREATE EXTENSION expand_contract" -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null
cat >"$WORK/probe.sql" <<'SQL'
\set id random(1, 1000)
UPDATE bench.bookings SET status = status WHERE id = :id;
SQL

# The longest stretch (ms) in which another session held ACCESS EXCLUSIVE on
# bench.bookings, watched for $1 seconds.
watch_locks() {
    q -c "DO \$\$
DECLARE
    until_at timestamptz := clock_timestamp() + interval '$1 s';
    held_since timestamptz;
    longest interval := interval '0';
    held boolean;
BEGIN
    WHILE clock_timestamp() < until_at LOOP
        SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                        WHERE c.relname = 'bookings' AND c.relnamespace = 'bench'::regnamespace
                          AND l.mode = 'AccessExclusiveLock' AND l.granted) INTO held;
        IF held AND held_since IS NULL THEN held_since := clock_timestamp(); END IF;
        IF NOT held AND held_since IS NOT NULL THEN
            longest := greatest(longest, clock_timestamp() - held_since);
            held_since := NULL;
        END IF;
        PERFORM pg_sleep(0.001);
    END LOOP;
    IF held_since IS NOT NULL THEN longest := greatest(longest, clock_timestamp() - held_since); END IF;
    RAISE NOTICE 'longest_ms=%', round(extract(epoch FROM longest) * 1000, 1);
END \$\$" 2>&1 | sed -n 's/.*longest_ms=//p'
}

fresh_table() {
    q -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS bench CASCADE" -c "DELETE FROM expand_contract.migrations WHERE schema_name = 'bench'" \
      -c "CREATE SCHEMA bench" \
      -c "CREATE TABLE bench.bookings (id bigint PRIMARY KEY, student text NOT NULL, status text NOT NULL, note text)" \
      -c "INSERT INTO bench.bookings SELECT g, 'student ' || g, (ARRAY['booked','attended','attended_registered'])[1 + g % 3], NULL FROM generate_series(1, $ROWS) g" \
      -c "VACUUM ANALYZE bench.bookings" >/dev/null
    for s in $(q -c "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench\_%'"); do
        q -c "SET client_min_messages = warning" -c "DROP SCHEMA \"$s\" CASCADE" >/dev/null
    done
}

# measure NAME SQL: runs SQL under the probe and the watcher; prints
# "phase_ms hold_ms stall_ms".
measure() {
    local sql="$1" log_prefix="$WORK/probe_$RANDOM"
    rm -f "$log_prefix".*
    (cd "$WORK" && "$PGBENCH" -n -c 1 -T 6 -f "$WORK/probe.sql" -l --log-prefix="$log_prefix" >/dev/null 2>&1) &
    local probe=$!
    watch_locks 5 >"$WORK/hold" &
    local watcher=$!
    sleep 1
    local t0 t1
    t0=$(date +%s%N)
    q -c "SET client_min_messages = warning" -c "$sql" >/dev/null
    t1=$(date +%s%N)
    wait "$watcher"; wait "$probe" || true
    local stall
    stall=$(cat "$log_prefix".* 2>/dev/null | awk '{ if ($3 > m) m = $3 } END { printf "%.1f", m / 1000 }')
    printf '%s %s %s\n' "$(( (t1 - t0) / 1000000 ))" "$(cat "$WORK/hold")" "$stall"
}

backfill() { q -c "SET client_min_messages = warning" -c "CALL expand_contract.run_backfill('bench')" >/dev/null; }

ROWS_OUT=()
# case_of NAME: the migration document comes on standard input.
case_of() {
    local name="$1" doc s c
    doc="$(cat)"
    echo "phase_locks.sh: $name" >&2
    fresh_table
    s=$(measure "SELECT expand_contract.start('m', \$doc\$$doc\$doc\$, 'bench')")
    backfill
    c=$(measure "SELECT expand_contract.complete('bench')")
    ROWS_OUT+=("| $name | start | $(echo "$s" | awk '{print $2 " | " $3 " | " $1}') |")
    ROWS_OUT+=("| $name | complete | $(echo "$c" | awk '{print $2 " | " $3 " | " $1}') |")
}

case_of "add_column with up" <<'DOC'
{"operations": [{"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true}, "up": "status = 'attended_registered'"}}]}
DOC
case_of "add_column NOT NULL, default and up" <<'DOC'
{"operations": [{"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"}, "up": "status = 'attended_registered'"}}]}
DOC
case_of "add_column, volatile default" <<'DOC'
{"operations": [{"add_column": {"table": "bookings", "column": {"name": "seen_at", "type": "timestamptz", "nullable": true, "default": "clock_timestamp()"}}}]}
DOC
case_of "alter_column type" <<'DOC'
{"operations": [{"alter_column": {"table": "bookings", "column": "student", "type": "varchar(80)", "up": "student", "down": "student"}}]}
DOC
case_of "drop_column with down" <<'DOC'
{"operations": [{"drop_column": {"table": "bookings", "column": "note", "down": "NULL"}}]}
DOC
case_of "rename_column" <<'DOC'
{"operations": [{"rename_column": {"table": "bookings", "from": "note", "to": "remark"}}]}
DOC

# start with a reporting transaction holding ACCESS SHARE for 3 s.
echo "phase_locks.sh: start behind a reader" >&2
fresh_table
( q -c "BEGIN" -c "SELECT count(*) FROM bench.bookings WHERE id = 1" -c "SELECT pg_sleep(3)" -c "COMMIT" >/dev/null ) &
READER=$!
sleep 0.2
r=$(measure "SELECT expand_contract.start('m', \$doc\${\"operations\": [{\"add_column\": {\"table\": \"bookings\", \"column\": {\"name\": \"registered\", \"type\": \"boolean\", \"nullable\": true}}}]}\$doc\$, 'bench')")
wait "$READER" || true
ROWS_OUT+=("| add_column, behind a 3 s reader | start | $(echo "$r" | awk '{print $2 " | " $3 " | " $1}') |")

{
    echo "# Phase locks: ACCESS EXCLUSIVE hold and writer stalls (issue 9)"
    echo
    echo "Generated by \`bash bench/phase_locks.sh --rows $ROWS\` on $(date -u +%Y-%m-%dT%H:%M:%SZ),"
    echo "$(nproc) cores, PostgreSQL $(psql -X -At -c 'SHOW server_version'). Table: $ROWS rows."
    echo "A probe writer (pgbench, 1 client, single-row UPDATEs of the base table) runs throughout;"
    echo "the longest stretch of ACCESS EXCLUSIVE on the table is polled from pg_locks every ms."
    echo "Goal (issue 9): under 50 ms each, independent of table size."
    echo
    echo "| operation | phase | longest ACCESS EXCLUSIVE hold (ms) | longest single-row write (ms) | phase took (ms) |"
    echo "|---|---|---:|---:|---:|"
    printf '%s\n' "${ROWS_OUT[@]}"
    echo
    echo "Default settings: expand_contract.phase_lock_timeout 200 ms, phase_lock_deadline 30 s."
    echo "A hold of 0.0 ms was shorter than the watcher's poll (about 1 ms). complete's own time"
    echo "includes VALIDATE CONSTRAINT scans, which take SHARE UPDATE EXCLUSIVE (writers go on)."
} >"$OUT"
cat "$OUT"
