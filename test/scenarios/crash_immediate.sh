#!/usr/bin/env bash
# crash_immediate: the whole server is stopped with `pg_ctl stop -m immediate`
# (every process gets SIGQUIT, nothing is checkpointed or flushed from shared
# memory: the next start recovers from WAL, as after a power cut of the
# database but not of the OS) while a backfill is half-way. After the restart:
#   - the progress committed before the stop is still there, and it agrees with
#     the rows actually synced (each batch commits both in one transaction);
#   - nothing committed before the last synchronous commit ahead of the stop
#     is lost (the batches themselves commit asynchronously: the last one or
#     two may be lost and are then simply redone);
#   - the next backfill continues after the last committed batch: the rows
#     synced before the stop are not written again and it needs only as many
#     batches as the rows left call for;
#   - backfill_status shows the dead worker's run as interrupted;
#   - rows_done ends at the total, verify() is empty, every row agrees with up.
#
# The backfill runs in the background worker (start_backfill) and resumes in
# a new one; crash_resume.sh covers CALL run_backfill and a killed backend.
#
# Runs on a throwaway cluster of its own, so the suite's server is untouched.
# cluster.sh sets fsync = off: harmless here, since the OS keeps the files
# written before an immediate stop (only an OS crash would lose them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
EC_CLUSTER_PORT="${EC_CLUSTER_PORT:-54360}"
# shellcheck source=scripts/cluster.sh
source scripts/cluster.sh >/dev/null

NAME=crash_immediate
ROWS=20000
BATCH=100
fail() { echo "$NAME: $*"; exit 1; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d crash -c "$1"; }

createdb crash
psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -d crash <<SQL
CREATE EXTENSION expand_contract;
CREATE TABLE seen_before_crash (rows_done bigint NOT NULL);
CREATE TABLE bookings (id bigint PRIMARY KEY, status text NOT NULL);
INSERT INTO bookings SELECT g, (ARRAY['booked', 'cancelled', 'attended', 'attended_registered'])[1 + g % 4]
  FROM generate_series(1, $ROWS) g;
SELECT expand_contract.start('02_registered', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}}]}');
SQL

[ "$(q "SELECT count(*) FROM pg_proc WHERE proname = 'start_backfill'
         AND pronamespace = 'expand_contract'::regnamespace")" -gt 0 ] \
    || fail "expand_contract.start_backfill is not installed"

# Batches of 100 rows, 50 ms apart: 200 batches, about 10 s.
q "SELECT expand_contract.start_backfill('public', $BATCH, 50)" >/dev/null
seen=0
for _ in $(seq 1 200); do
    seen="$(q "SELECT coalesce(max(rows_done), 0) FROM expand_contract.backfill_progress")"
    [ "$seen" -ge 1000 ] && break
    sleep 0.05
done
[ "$seen" -ge 1000 ] || fail "the backfill never got going ($seen rows done after 10 s)"
# The backfill commits its batches with synchronous_commit = off (a batch lost
# in a crash is simply redone), so the last few batches seen committed may
# still sit in shared memory when the server stops. A synchronous commit of a
# transaction that wrote WAL (one that wrote none commits asynchronously)
# writes the WAL out up to its own commit record, which comes after every
# batch its snapshot saw: from here on those batches must survive.
seen="$(psql -X -q -At -v ON_ERROR_STOP=1 -d crash <<'SQL'
SET synchronous_commit = on;
INSERT INTO seen_before_crash SELECT coalesce(max(rows_done), 0) FROM expand_contract.backfill_progress
RETURNING rows_done;
SQL
)"

# --- the crash ------------------------------------------------------------------
"${EC_AS_PG[@]}" "$EC_PG_BINDIR/pg_ctl" -D "$EC_CLUSTER_DIR/data" -m immediate -w -t 30 stop >/dev/null \
    || fail "pg_ctl stop -m immediate failed"
# The postmaster ran as a child of this shell (cluster.sh); reap it.
wait "$EC_CLUSTER_PID" 2>/dev/null || true
EC_CLUSTER_PID=
grep -q "received immediate shutdown request" "$EC_CLUSTER_LOG" || fail "no immediate shutdown in the server log"
[ ! -e "$EC_CLUSTER_DIR/data/postmaster.pid" ] || fail "postmaster.pid is still there after the stop"

# --- the restart, the way cluster.sh starts it ---------------------------------
# A background child again, so that the EXIT trap (ec_cluster_stop, which reads
# EC_CLUSTER_PID when it runs) stops and reaps it.
"${EC_AS_PG[@]}" "$EC_PG_BINDIR/postgres" -D "$EC_CLUSTER_DIR/data" >>"$EC_CLUSTER_LOG" 2>&1 &
EC_CLUSTER_PID=$!
for _ in $(seq 1 300); do
    pg_isready -q -d crash && q "SELECT 1" >/dev/null 2>&1 && break
    kill -0 "$EC_CLUSTER_PID" 2>/dev/null || { cat "$EC_CLUSTER_LOG"; fail "the server did not restart"; }
    sleep 0.1
done
q "SELECT 1" >/dev/null 2>&1 || fail "the server does not accept connections 30 s after the restart"
grep -q "automatic recovery in progress" "$EC_CLUSTER_LOG" || fail "the restart did not recover from WAL"

# --- what survived ------------------------------------------------------------------
before="$(q "SELECT rows_done FROM expand_contract.backfill_progress")"
batches_before="$(q "SELECT batches FROM expand_contract.backfill_progress")"
synced="$(q "SELECT count(*) FROM bookings WHERE NOT _ec_needs_backfill")"
[ "$(q "SELECT done FROM expand_contract.backfill_progress")" = f ] || fail "the backfill finished before the crash"
[ "$before" -gt 0 ] || fail "no committed progress survived"
[ "$before" -ge "$seen" ] || fail "progress went back from $seen (seen committed and flushed) to $before rows"
# Committed progress and committed rows agree: each batch committed both.
[ "$synced" = "$before" ] || fail "$synced rows synced but progress says $before"
[ "$before" = $((batches_before * BATCH)) ] || fail "$before rows done in $batches_before batches of $BATCH"
[ "$(q "SELECT rows_done FROM seen_before_crash")" = "$seen" ] || fail "the synchronous commit before the stop was lost"
# The worker died with the server; its run is left behind as interrupted.
state="$(q "SELECT string_agg(DISTINCT state, ',') FROM expand_contract.backfill_status")"
[ "$state" = interrupted ] || fail "backfill_status says '$state' after the restart, not 'interrupted'"

# The rows synced before the crash, with the transaction that wrote them.
q "CREATE TABLE synced_before AS SELECT id, xmin::text AS written_by FROM bookings WHERE NOT _ec_needs_backfill"

# --- the resume ---------------------------------------------------------------------
q "SELECT expand_contract.start_backfill('public', 1000)" >/dev/null
state=""
for _ in $(seq 1 300); do
    state="$(q "SELECT string_agg(state, ',' ORDER BY table_name) FROM expand_contract.backfill_status")"
    [ "$state" = "done" ] && break
    case "$state" in *failed*|*cancelled*|*interrupted*) break ;; esac
    sleep 0.1
done
[ "$state" = "done" ] || fail "the resumed worker did not finish: state '$state', error: $(q "SELECT error FROM expand_contract.backfill_status")"
after="$(q "SELECT rows_done FROM expand_contract.backfill_progress")"
resumed_batches=$(( $(q "SELECT batches FROM expand_contract.backfill_progress") - batches_before ))
[ "$after" = "$ROWS" ] || fail "rows_done is $after after the resume, not $ROWS"
[ "$(q "SELECT done FROM expand_contract.backfill_progress")" = t ] || fail "backfill_progress is not done"
[ "$resumed_batches" -le $(( (ROWS - before + 999) / 1000 )) ] \
    || fail "the resumed run took $resumed_batches batches of 1000 for $((ROWS - before)) rows: it started over"
rewritten="$(q "SELECT count(*) FROM synced_before s JOIN bookings b USING (id) WHERE b.xmin::text <> s.written_by")"
[ "$rewritten" = 0 ] || fail "the resumed run wrote $rewritten of the $before rows synced before the crash again"
[ "$(q "SELECT count(*) FROM bookings WHERE _ec_needs_backfill")" = 0 ] || fail "rows still wait for the backfill"
mismatches="$(q "SELECT count(*) FROM expand_contract.verify()")"
[ "$mismatches" = 0 ] || fail "verify() found $mismatches mismatches: $(q "SELECT * FROM expand_contract.verify() LIMIT 5")"
[ "$(q "SELECT count(*) FROM bookings WHERE _ec_new_registered IS DISTINCT FROM (status = 'attended_registered')")" = 0 ] \
    || fail "rows out of step with up"
if grep -E "^[^ ]+ [^ ]+ [^ ]+ \[[0-9]+\] (ERROR|PANIC):" "$EC_CLUSTER_LOG"; then
    fail "the server log has errors"
fi
echo "$NAME: immediate stop with the worker at $before of $ROWS rows; restarted, a new worker resumed in $resumed_batches batches; verify() empty"
