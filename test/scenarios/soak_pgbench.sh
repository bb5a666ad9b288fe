#!/usr/bin/env bash
# soak_pgbench: two versions of an application write the same table at full
# speed while the backfill runs, and nothing is lost or out of step.
#
# A bookings table of 100,000 rows gets an open migration in which each version
# has columns the other lacks: the new version splits `status` into
# `booking_status` + `registered` (two add_column with up, a drop_column whose
# down rebuilds status) and turns the text column `amount` into
# `price numeric(10,2)` (alter_column with rename, up and down). Then for
# SOAK_SECONDS two pgbench processes run at the same time:
#   - the old app (search_path = public, the base table; prepared statements,
#     so its first statements are planned before the library is loaded), and
#   - the new app (search_path = the version schema, its views; simple
#     protocol),
# each with 2 clients doing single-row UPDATEs of random existing ids (of the
# columns synced each way and of a column nothing syncs), INSERTs (one of them
# followed by an UPDATE of the new row in the same transaction) and DELETEs,
# while the background worker backfills in committed batches.
#
# Afterwards: both pgbench runs exited 0 with zero failed transactions, the
# backfill finished and no row waits for it, the server log has no ERROR,
# verify() is empty, every row's new columns equal up(old columns) and its old
# status equals down(new columns), and complete(verify => true) contracts the
# table without losing a row.
#
# The worker is started with start_backfill and watched through
# expand_contract.backfill_status until every table is done.
#
# Runs on a throwaway cluster of its own, so the suite's server is untouched.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
EC_CLUSTER_PORT="${EC_CLUSTER_PORT:-54370}"
# shellcheck source=scripts/cluster.sh
source scripts/cluster.sh >/dev/null

NAME=soak_pgbench
ROWS=100000
SOAK_SECONDS="${SOAK_SECONDS:-15}"
BATCH=500
BATCH_DELAY_MS=40   # 200 batches of 500 rows: the backfill spans most of the soak
DB=soak
VERSION_SCHEMA=public_02_soak
PGBENCH="$EC_PG_BINDIR/pgbench"

fail() { echo "$NAME: $*"; exit 1; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
since() { awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }'; }

work="$(mktemp -d "${TMPDIR:-/tmp}/ec_soak.XXXXXX")"
# cluster.sh's EXIT trap stops the server; keep it and remove the scripts too.
ec_soak_prev_trap="$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")"
# shellcheck disable=SC2064
trap "rm -rf '$work'; $ec_soak_prev_trap" EXIT

createdb "$DB"
psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -d "$DB" <<SQL
CREATE EXTENSION expand_contract;
CREATE TABLE bookings (id bigserial PRIMARY KEY, student text NOT NULL, status text NOT NULL,
                       amount text NOT NULL);
INSERT INTO bookings (student, status, amount)
SELECT 'student ' || g, (ARRAY['booked', 'cancelled', 'attended', 'attended_registered'])[1 + g % 4],
       ((g * 7919 % 100000) / 100.0)::numeric(10,2)::text
  FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE bookings;
-- Both applications write while the worker backfills: the new version opens at start.
SET expand_contract.open_new_version = at_start;
SELECT expand_contract.start('02_soak', \$\${"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                  "up": "CASE status WHEN 'attended_registered' THEN 'attended' ELSE status END"}},
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = 'attended_registered'"}},
  {"drop_column": {"table": "bookings", "column": "status",
                   "down": "CASE WHEN registered THEN 'attended_registered' ELSE booking_status END"}},
  {"alter_column": {"table": "bookings", "column": "amount", "name": "price", "type": "numeric(10,2)",
                    "up": "amount::numeric(10,2)", "down": "price::text"}}]}\$\$);
SQL
[ "$(q "SELECT version_schema FROM expand_contract.status('public')")" = "$VERSION_SCHEMA" ] \
    || fail "start() did not create $VERSION_SCHEMA"

# --- the two applications -------------------------------------------------------
# Old app: sees status and amount (text).
cat >"$work/old_status.sql" <<'EOF'
\set id random(1, 100000)
\set s random(1, 4)
UPDATE bookings SET status = (ARRAY['booked', 'cancelled', 'attended', 'attended_registered'])[:s] WHERE id = :id;
EOF
cat >"$work/old_amount.sql" <<'EOF'
\set id random(1, 100000)
\set cents random(0, 9999999)
UPDATE bookings SET amount = (:cents / 100.0)::numeric(10,2)::text, student = 'old app ' || :client_id WHERE id = :id;
EOF
cat >"$work/old_student.sql" <<'EOF'
\set id random(1, 100000)
UPDATE bookings SET student = 'old app ' || :client_id WHERE id = :id;
EOF
cat >"$work/old_insert.sql" <<'EOF'
\set s random(1, 4)
\set cents random(0, 9999999)
INSERT INTO bookings (student, status, amount)
VALUES ('old app ' || :client_id, (ARRAY['booked', 'cancelled', 'attended', 'attended_registered'])[:s],
        (:cents / 100.0)::numeric(10,2)::text);
EOF
cat >"$work/old_delete.sql" <<'EOF'
\set id random(1, 100000)
DELETE FROM bookings WHERE id = :id;
EOF
# New app: sees booking_status, registered and price (numeric), no status or
# amount. It writes only (booking_status, registered) pairs the old status
# can express, as the real new app would.
cat >"$work/new_status.sql" <<'EOF'
\set id random(1, 100000)
\set s random(1, 4)
UPDATE bookings SET booking_status = (ARRAY['booked', 'cancelled', 'attended', 'attended'])[:s],
                    registered = (:s = 4) WHERE id = :id;
EOF
cat >"$work/new_amount.sql" <<'EOF'
\set id random(1, 100000)
\set cents random(0, 9999999)
UPDATE bookings SET price = :cents / 100.0 WHERE id = :id;
EOF
cat >"$work/new_student.sql" <<'EOF'
\set id random(1, 100000)
UPDATE bookings SET student = 'new app ' || :client_id WHERE id = :id;
EOF
cat >"$work/new_insert.sql" <<'EOF'
\set s random(1, 3)
\set cents random(0, 9999999)
BEGIN;
INSERT INTO bookings (student, booking_status, registered, price)
VALUES ('new app ' || :client_id, (ARRAY['booked', 'cancelled', 'attended'])[:s], false, :cents / 100.0)
RETURNING id AS new_id \gset
UPDATE bookings SET booking_status = 'attended', registered = true WHERE id = :new_id;
COMMIT;
EOF
cat >"$work/new_delete.sql" <<'EOF'
\set id random(1, 100000)
DELETE FROM bookings WHERE id = :id;
EOF

run_app() {   # run_app old|new search_path protocol
    local app="$1" path="$2" protocol="$3"
    PGOPTIONS="-c search_path=$path" "$PGBENCH" -n -M "$protocol" -d "$DB" -c 2 -j 1 -T "$SOAK_SECONDS" \
        -f "$work/${app}_status.sql@4" -f "$work/${app}_amount.sql@3" -f "$work/${app}_student.sql@1" \
        -f "$work/${app}_insert.sql@2" -f "$work/${app}_delete.sql@1" \
        >"$work/$app.out" 2>"$work/$app.err"
}

# --- the backfill -----------------------------------------------------------------
[ "$(q "SELECT count(*) FROM pg_proc WHERE proname = 'start_backfill'
         AND pronamespace = 'expand_contract'::regnamespace")" -gt 0 ] \
    || fail "expand_contract.start_backfill is not installed"
backfill_start() {
    q "SELECT expand_contract.start_backfill('public', $BATCH, $BATCH_DELAY_MS)" >/dev/null
}
# Prints "done", "running (<states>)", or what went wrong.
backfill_state() {
    local states
    states="$(q "SELECT string_agg(DISTINCT state, ',') FROM expand_contract.backfill_status")"
    case "$states" in
        done) echo "done" ;;
        *failed*|*cancelled*|*interrupted*)
            echo "worker $states: $(q "SELECT string_agg(DISTINCT error, '; ') FROM expand_contract.backfill_status")" ;;
        *) echo "running ($states)" ;;
    esac
}

# --- the soak ---------------------------------------------------------------------
t0=$(date +%s.%N)
run_app old public prepared & old_bench=$!
run_app new "$VERSION_SCHEMA" simple & new_bench=$!
sleep 2   # both apps are writing before the backfill starts
backfill_start
backfill_t0=$(date +%s.%N)
backfill_secs=""
state=running
seen_running=0      # polls that found the worker running with a rate and an ETA
deadline=$(( $(date +%s) + SOAK_SECONDS + 30 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    state="$(backfill_state)"
    if [ "$state" = "done" ] && [ -z "$backfill_secs" ]; then
        backfill_secs="$(since "$backfill_t0")"
    fi
    case "$state" in running*|done) ;; *) break ;; esac
    if [ "$state" = "running (running)" ] && [ "$(q "SELECT rows_per_second > 0 AND eta IS NOT NULL
            AND rows_left > 0 AND pid IS NOT NULL FROM expand_contract.backfill_status")" = t ]; then
        seen_running=$((seen_running + 1))
    fi
    # Wait for the apps too, then for the backfill alone.
    if [ "$state" = "done" ] && ! kill -0 "$old_bench" 2>/dev/null && ! kill -0 "$new_bench" 2>/dev/null; then
        break
    fi
    sleep 0.2
done
declare -A bench_status=([old]=0 [new]=0)
wait "$old_bench" || bench_status[old]=$?
wait "$new_bench" || bench_status[new]=$?
soak_secs="$(since "$t0")"

# --- pgbench's verdict --------------------------------------------------------------
pgbench_field() {   # pgbench_field app regex: the first number after it
    sed -n -E "s/^$2[^0-9]*([0-9.]+).*/\\1/p" "$work/$1.out" | head -n 1
}
for app in old new; do
    if [ "${bench_status[$app]}" != 0 ]; then
        echo "$NAME: pgbench of the $app app exited with status ${bench_status[$app]}:"
        cat "$work/$app.out" "$work/$app.err"
        exit 1
    fi
    failed="$(pgbench_field "$app" "number of failed transactions")"
    processed="$(pgbench_field "$app" "number of transactions actually processed")"
    if [ -z "$failed" ] || [ -z "$processed" ]; then
        cat "$work/$app.out" "$work/$app.err"; fail "cannot read pgbench's report of the $app app"
    fi
    [ "$failed" = 0 ] || { cat "$work/$app.out" "$work/$app.err"; fail "the $app app had $failed failed transactions"; }
    [ "$processed" -gt 0 ] || fail "the $app app ran no transaction"
    if grep -q -i -E "error|abort" "$work/$app.err"; then
        cat "$work/$app.err"; fail "pgbench of the $app app reported errors"
    fi
done
old_tps="$(pgbench_field old "tps =")"; new_tps="$(pgbench_field new "tps =")"
old_tx="$(pgbench_field old "number of transactions actually processed")"
new_tx="$(pgbench_field new "number of transactions actually processed")"

# --- the backfill's verdict ---------------------------------------------------------
[ "$state" = "done" ] || fail "the backfill did not finish within $((SOAK_SECONDS + 30)) s: $state"
[ "$(q "SELECT count(*) FROM bookings WHERE _ec_needs_backfill")" = 0 ] || fail "rows still wait for the backfill"
[ "$seen_running" -gt 0 ] || fail "backfill_status never showed the worker running with a rate, an ETA and its pid"
backfilled="$(q "SELECT sum(rows_done) FROM expand_contract.backfill_progress")"
if grep -A 2 -E "^[^ ]+ [^ ]+ [^ ]+ \[[0-9]+\] (ERROR|PANIC|FATAL):" "$EC_CLUSTER_LOG"; then
    fail "the server log has errors (above)"
fi

# --- the data's verdict -------------------------------------------------------------
mismatches="$(q "SELECT count(*) FROM expand_contract.verify()")"
[ "$mismatches" = 0 ] || {
    q "SELECT * FROM expand_contract.verify() ORDER BY key LIMIT 20"
    fail "verify() found $mismatches mismatches"; }
up_wrong="$(q "SELECT count(*) FROM bookings
                WHERE _ec_new_booking_status IS DISTINCT FROM CASE status WHEN 'attended_registered' THEN 'attended' ELSE status END
                   OR _ec_new_registered IS DISTINCT FROM (status = 'attended_registered')
                   OR _ec_new_price IS DISTINCT FROM amount::numeric(10,2)")"
[ "$up_wrong" = 0 ] || {
    q "SELECT id, status, amount, _ec_new_booking_status, _ec_new_registered, _ec_new_price FROM bookings
        WHERE _ec_new_booking_status IS DISTINCT FROM CASE status WHEN 'attended_registered' THEN 'attended' ELSE status END
           OR _ec_new_registered IS DISTINCT FROM (status = 'attended_registered')
           OR _ec_new_price IS DISTINCT FROM amount::numeric(10,2) ORDER BY id LIMIT 20"
    fail "$up_wrong rows whose new columns differ from up(old columns)"; }
down_wrong="$(q "SELECT count(*) FROM bookings
                  WHERE status IS DISTINCT FROM CASE WHEN _ec_new_registered THEN 'attended_registered' ELSE _ec_new_booking_status END")"
[ "$down_wrong" = 0 ] || fail "$down_wrong rows whose status differs from down(new columns)"
# Both apps' writes are there, and each version sees every row.
total="$(q "SELECT count(*) FROM bookings")"
kept="$(q "SELECT count(*) FROM bookings WHERE id <= $ROWS")"
inserted_old="$(q "SELECT count(*) FROM bookings WHERE id > $ROWS AND student LIKE 'old app%'")"
inserted_new="$(q "SELECT count(*) FROM bookings WHERE id > $ROWS AND student LIKE 'new app%'")"
if [ "$inserted_old" = 0 ] || [ "$inserted_new" = 0 ]; then
    fail "inserts missing (old app $inserted_old, new app $inserted_new)"
fi
[ "$kept" -lt "$ROWS" ] || fail "no row was deleted"
[ "$(q "SELECT count(*) FROM $VERSION_SCHEMA.bookings")" = "$total" ] || fail "the new version does not see every row"
[ "$(q "SELECT count(*) FROM $VERSION_SCHEMA.bookings WHERE registered AND booking_status <> 'attended'")" = 0 ] \
    || fail "the new version sees registered bookings that are not attended"

# --- contract -----------------------------------------------------------------------
psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -d "$DB" -c "SET client_min_messages = warning" \
     -c "SELECT expand_contract.complete('public', verify => true)" || fail "complete(verify => true) failed"
[ "$(q "SELECT count(*) FROM bookings")" = "$total" ] || fail "complete() lost rows"
[ "$(q "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
         WHERE attrelid = 'public.bookings'::regclass AND attnum > 0 AND NOT attisdropped")" \
  = "id,student,booking_status,registered,price" ] || fail "unexpected shape after complete()"

printf '%s: %.0f s soak; worker done in %.1f s (rows_done %s); old app %.0f tps (%s tx), new app %.0f tps (%s tx), 0 failed; rows %s -> %s (%s deleted, %s+%s inserted); verify() empty; completed\n' \
    "$NAME" "$soak_secs" "${backfill_secs:-0}" "$backfilled" "$old_tps" "$old_tx" "$new_tps" "$new_tx" \
    "$ROWS" "$total" "$((ROWS - kept))" "$inserted_old" "$inserted_new"
