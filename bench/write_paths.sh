#!/usr/bin/env bash
# write_paths.sh — what keeping a column in sync costs on every way of
# writing a table, against a stored generated column computing the same
# value and a C BEFORE ROW trigger that does nothing (the floor of any
# trigger). Report: bench/write_paths.md.
#
#   bash bench/write_paths.sh [--rows N] [--rounds N] [--memory-rows N]
#
# One throwaway durable cluster (scripts/cluster.sh, EC_CLUSTER_DURABLE: fsync,
# synchronous_commit, full_page_writes on) with the library preloaded, so
# every statement can take the plan path. Four copies of a bookings table
# (id, status, studio, registered), each in its own schema:
#   none       registered present, nothing computes it;
#   ec         an open expand_contract migration adding registered with
#              "up": status = 'attended_registered' (old-version writes);
#   generated  registered GENERATED ALWAYS AS (status = ...) STORED;
#   floor      C triggers that do nothing: lo_manage() (contrib lo) BEFORE
#              INSERT, suppress_redundant_updates_trigger() BEFORE UPDATE.
# Statements, each timed on every variant per round in rotating order, with
# VACUUM and CHECKPOINT before each, median over the rounds:
#   insert_select  INSERT ... SELECT of N rows into the empty table;
#   insert_values  N/1000 INSERT ... VALUES statements of 1000 rows each;
#   upsert         INSERT ... SELECT ... ON CONFLICT DO UPDATE, every row
#                  conflicting (the UPDATE side);
#   merge          MERGE of N rows, every row matched (UPDATE actions);
#   copy           COPY of N rows from a server-side file (no plan: the
#                  trigger, which also turns off COPY's multi-insert).
# Then the same INSERT ... SELECT and a bulk UPDATE through the new
# version's view against the base table of the ec copy (that migration
# renames status, so the view is a real projection), and the backend's
# private memory (RssAnon from /proc) over a --memory-rows statement of each
# path on the ec copy.
set -euo pipefail
shopt -s inherit_errexit   # a failing statement fails the run
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=500000
ROUNDS=5
MEMORY_ROWS=10000000
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --memory-rows) MEMORY_ROWS="$2"; shift 2 ;;
        *) echo "usage: $0 [--rows N] [--rounds N] [--memory-rows N]" >&2; exit 2 ;;
    esac
done
EC_CLUSTER_DURABLE=1 EC_CLUSTER_PORT=54470 EC_CLUSTER_CONF="shared_preload_libraries = 'expand_contract'
max_wal_size = '8GB'
checkpoint_timeout = '30min'
autovacuum = off" source scripts/cluster.sh >/dev/null
q() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
ROWS_FILE="$EC_CLUSTER_DIR/rows.copy"
VALUES_FILE="$EC_CLUSTER_DIR/values.sql"
ROW_SQL="g, CASE WHEN g % 3 = 0 THEN 'attended_registered' ELSE 'booked' END, 'studio ' || (g % 50)"
# What upsert and merge write over those rows: every status changes.
CHANGED_SQL="g, CASE WHEN g % 3 = 0 THEN 'booked' ELSE 'attended_registered' END, 'studio ' || (g % 50)"

q <<SQL
CREATE EXTENSION expand_contract;
CREATE EXTENSION lo;
CREATE SCHEMA none; CREATE SCHEMA ec; CREATE SCHEMA generated; CREATE SCHEMA floor;
CREATE TABLE none.bookings (id integer PRIMARY KEY, status text NOT NULL, studio text NOT NULL, registered boolean);
CREATE TABLE ec.bookings (id integer PRIMARY KEY, status text NOT NULL, studio text NOT NULL);
CREATE TABLE generated.bookings (id integer PRIMARY KEY, status text NOT NULL, studio text NOT NULL,
    registered boolean GENERATED ALWAYS AS (status = 'attended_registered') STORED);
CREATE TABLE floor.bookings (LIKE none.bookings INCLUDING ALL);
CREATE TRIGGER floor_insert BEFORE INSERT ON floor.bookings FOR EACH ROW EXECUTE FUNCTION lo_manage(id);
CREATE TRIGGER floor_update BEFORE UPDATE ON floor.bookings FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
SELECT FROM expand_contract.start('02_registered', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true},
                  "up": "status = ''attended_registered''"}},
  {"rename_column": {"table": "bookings", "from": "studio", "to": "room"}}]}', 'ec');
CALL expand_contract.run_backfill('ec');
COPY (SELECT $ROW_SQL FROM generate_series(1, $ROWS) g) TO '$ROWS_FILE';
SQL
# The multi-row VALUES statements, generated once (parsing them is part of
# what every variant pays).
q -c "COPY (SELECT 'INSERT INTO :\"schema\".bookings (id, status, studio) VALUES ' ||
               string_agg(format('(%s, %L, %L)', g, CASE WHEN g % 3 = 0 THEN 'attended_registered' ELSE 'booked' END,
                                 'studio ' || (g % 50)), ', ') || ';'
          FROM generate_series(1, $ROWS) g GROUP BY (g - 1) / 1000 ORDER BY (g - 1) / 1000)
      TO STDOUT" > "$VALUES_FILE"

now_s() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.3f", b - a }'; }
fill() { q -c "TRUNCATE $1.bookings" -c "INSERT INTO $1.bookings (id, status, studio) SELECT $ROW_SQL FROM generate_series(1, $ROWS) g"; }
prepare() { q -c "VACUUM $1.bookings" -c "CHECKPOINT"; }
# statement schema -> prints seconds; the table is left as the statement
# left it (the next statement's setup puts it in the state it needs).
run_statement() {
    local s="$1" t0
    case "$2" in
        insert_select)
            q -c "TRUNCATE $s.bookings"; prepare "$s"; t0=$(now_s)
            q -c "INSERT INTO $s.bookings (id, status, studio) SELECT $ROW_SQL FROM generate_series(1, $ROWS) g" ;;
        insert_values)
            q -c "TRUNCATE $s.bookings"; prepare "$s"; t0=$(now_s)
            q -1 -v schema="$s" -f "$VALUES_FILE" ;;
        upsert)
            fill "$s"; prepare "$s"; t0=$(now_s)
            q -c "INSERT INTO $s.bookings (id, status, studio) SELECT $CHANGED_SQL FROM generate_series(1, $ROWS) g
                  ON CONFLICT (id) DO UPDATE SET status = excluded.status" ;;
        merge)
            fill "$s"; prepare "$s"; t0=$(now_s)
            q -c "MERGE INTO $s.bookings b USING (SELECT $CHANGED_SQL FROM generate_series(1, $ROWS) g) v(id, status, studio)
                  ON b.id = v.id
                  WHEN MATCHED THEN UPDATE SET status = v.status
                  WHEN NOT MATCHED THEN INSERT (id, status, studio) VALUES (v.id, v.status, v.studio)" ;;
        copy)
            q -c "TRUNCATE $s.bookings"; prepare "$s"; t0=$(now_s)
            q -c "COPY $s.bookings (id, status, studio) FROM '$ROWS_FILE'" ;;
        view_insert)   # $s is the version schema: ec (base) or ec_02_registered (view)
            q -c "TRUNCATE ec.bookings"; prepare ec; t0=$(now_s)
            local studio=studio; [ "$s" = ec ] || studio=room
            q -c "INSERT INTO $s.bookings (id, status, $studio) SELECT $ROW_SQL FROM generate_series(1, $ROWS) g" ;;
        view_update)
            fill ec; prepare ec; t0=$(now_s)
            q -c "UPDATE $s.bookings SET status = CASE WHEN status = 'booked' THEN 'attended_registered' ELSE 'booked' END" ;;
    esac
    seconds_since "$t0"
}
# Check the ec copy agrees with its rule after each kind of statement.
check_ec() {
    local bad
    bad=$(q -c "SELECT count(*) FROM ec.bookings WHERE _ec_new_registered IS DISTINCT FROM (status = 'attended_registered')")
    [ "$bad" = 0 ] || { echo "ec after $1: $bad rows disagree with the rule" >&2; exit 1; }
}

RESULTS="$(mktemp)"
trap 'rm -f "$RESULTS"; ec_cluster_stop' EXIT
VARIANTS=(none ec generated floor)
STATEMENTS=(insert_select insert_values upsert merge copy)
for round in $(seq "$ROUNDS"); do
    for st in "${STATEMENTS[@]}"; do
        for i in 0 1 2 3; do
            v="${VARIANTS[$(( (i + round) % 4 ))]}"
            s=$(run_statement "$v" "$st" | tail -1)
            [ "$v" = ec ] && check_ec "$st"
            echo "$st $v $round $s" | tee -a "$RESULTS" >&2
        done
    done
    for i in 0 1; do
        for st in view_insert view_update; do
            v=$([ $(( (i + round) % 2 )) = 0 ] && echo ec || echo ec_02_registered)
            s=$(run_statement "$v" "$st" | tail -1)
            [ "$v" = ec ] && check_ec "$st"   # the new version owns registered
            echo "$st $v $round $s" | tee -a "$RESULTS" >&2
        done
    done
done

median() { awk -v s="$1" -v v="$2" '$1 == s && $2 == v { print $4 }' "$RESULTS" | sort -n |
           awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
spread() {   # min-max of ec/generated over the rounds, pairing round by round
    awk -v s="$1" '$1 == s && $2 == "ec" { e[$3] = $4 } $1 == s && $2 == "generated" { g[$3] = $4 }
        END { lo = 1e9; hi = 0; for (r in e) { x = e[r] / g[r]; if (x < lo) lo = x; if (x > hi) hi = x }
              printf "%.2f–%.2fx", lo, hi }' "$RESULTS"
}

# --- memory over a long statement of each path, on the ec copy ------------
# RssAnon of the backend, sampled every 0.5 s: its value once 10% of the
# statement's time has passed, and the peak. A statement that allocates per
# row grows linearly; the plan path stays flat.
memory_run() {   # path schema -> "rss_at_10pct peak samples seconds"
    local pidfile="$EC_CLUSTER_DIR/backend.pid" sql s="$2"
    case "$1" in
        insert_select) q -c "TRUNCATE $s.bookings"
            sql="INSERT INTO $s.bookings (id, status, studio) SELECT $ROW_SQL FROM generate_series(1, $MEMORY_ROWS) g" ;;
        upsert) sql="INSERT INTO $s.bookings (id, status, studio) SELECT $CHANGED_SQL FROM generate_series(1, $MEMORY_ROWS) g
                     ON CONFLICT (id) DO UPDATE SET status = excluded.status" ;;
        merge) sql="MERGE INTO $s.bookings b USING (SELECT $ROW_SQL FROM generate_series(1, $MEMORY_ROWS) g) v(id, status, studio)
                    ON b.id = v.id WHEN MATCHED THEN UPDATE SET status = v.status
                    WHEN NOT MATCHED THEN INSERT (id, status, studio) VALUES (v.id, v.status, v.studio)" ;;
        copy) q -c "TRUNCATE $s.bookings"
            [ -f "$EC_CLUSTER_DIR/memory.copy" ] || q -c "COPY (SELECT $ROW_SQL FROM generate_series(1, $MEMORY_ROWS) g) TO '$EC_CLUSTER_DIR/memory.copy'"
            sql="COPY $s.bookings (id, status, studio) FROM '$EC_CLUSTER_DIR/memory.copy'" ;;
    esac
    rm -f "$pidfile"
    q -c "VACUUM $s.bookings" -c "CHECKPOINT"
    printf '%s\n' "\\o $pidfile" "SELECT pg_backend_pid();" "\\o" "$sql;" | q &
    local client=$! pid="" samples=() t0
    t0=$(now_s)
    while [ -z "$pid" ]; do [ -s "$pidfile" ] && pid=$(cat "$pidfile"); sleep 0.05; done
    while kill -0 "$client" 2>/dev/null; do
        samples+=("$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)")
        sleep 0.5
    done
    wait "$client"
    local secs n at peak
    secs=$(seconds_since "$t0")
    printf '%s\n' "${samples[@]}" | awk 'NF' > "$EC_CLUSTER_DIR/samples"
    n=$(wc -l < "$EC_CLUSTER_DIR/samples")
    at=$(sed -n "$(( n / 10 + 1 ))p" "$EC_CLUSTER_DIR/samples")
    peak=$(sort -n "$EC_CLUSTER_DIR/samples" | tail -1)
    echo "$at $peak $n $secs"
}
MEMORY="$(mktemp)"
if [ "$MEMORY_ROWS" -gt 0 ]; then
    for path in insert_select upsert merge copy; do
        for v in none ec; do
            echo "memory $path $v $(memory_run "$path" "$v")" | tee -a "$MEMORY" >&2
        done
        check_ec "memory $path"
    done
fi

label() {
    case "$1" in
        insert_select) echo "INSERT ... SELECT" ;;
        insert_values) echo "INSERT ... VALUES, 1000 rows per statement" ;;
        upsert) echo "INSERT ... ON CONFLICT DO UPDATE (all conflict)" ;;
        merge) echo "MERGE, all matched (UPDATE)" ;;
        copy) echo "COPY FROM file (trigger path)" ;;
    esac
}
{
    echo "# Write paths: keeping a column in sync on every way of writing a table"
    echo
    echo "Generated by \`bash bench/write_paths.sh --rows $ROWS --rounds $ROUNDS --memory-rows $MEMORY_ROWS\` on $(date -u +%Y-%m-%dT%H:%MZ),"
    echo "$(nproc) cores, $(psql -X -At -c 'SHOW server_version'), repository commit \`$(git rev-parse --short HEAD)\`."
    echo "Median seconds over $ROUNDS rounds of $ROWS rows, variants in rotating order, VACUUM and CHECKPOINT before each."
    echo "*floor* is C triggers that do nothing (lo_manage() BEFORE INSERT, suppress_redundant_updates_trigger() BEFORE UPDATE)."
    echo
    echo "| statement | none | ec | generated | floor | ec / generated | per round | ec / floor |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for st in "${STATEMENTS[@]}"; do
        n=$(median "$st" none); e=$(median "$st" ec); g=$(median "$st" generated); f=$(median "$st" floor)
        echo "| $(label "$st") | $n | $e | $g | $f | $(ratio "$e" "$g") | $(spread "$st") | $(ratio "$e" "$f") |"
    done
    echo
    echo "Through the new version's view against the same statement on the base table (ec copy; the view renames studio to room):"
    echo
    echo "| statement | base table | view | view / base |"
    echo "|---|---:|---:|---:|"
    for st in view_insert view_update; do
        b=$(median "$st" ec); v=$(median "$st" ec_02_registered)
        echo "| $([ "$st" = view_insert ] && echo "INSERT ... SELECT" || echo "UPDATE of every row") | $b | $v | $(ratio "$v" "$b") |"
    done
    if [ -s "$MEMORY" ]; then
        echo
        echo "Backend private memory (RssAnon) over one $MEMORY_ROWS-row statement, sampled every 0.5 s, on the ec copy"
        echo "and, for reference, on the copy without anything computing the column (none):"
        echo
        echo "| statement | variant | kB at 10% of its time | peak kB | growth after 10% | seconds |"
        echo "|---|---|---:|---:|---:|---:|"
        while read -r _ path v at peak _ secs; do
            echo "| $(label "$path") | $v | $at | $peak | $(( peak - at )) kB | $secs |"
        done < "$MEMORY"
    fi
} > bench/write_paths.md
cat bench/write_paths.md
rm -f "$MEMORY"
