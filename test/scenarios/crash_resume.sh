#!/usr/bin/env bash
# crash_resume: a run_backfill whose backend is killed (SIGKILL: the
# postmaster then resets every backend and recovers from WAL, as after a
# crash) keeps the batches it committed (the last ones may be lost with
# their progress: batches commit asynchronously); the next call continues after the
# last one instead of starting over, and verify() finds nothing wrong.
# Runs on a throwaway cluster of its own, so the suite's server is untouched.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/cluster.sh
source scripts/cluster.sh >/dev/null

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d crash -c "$1"; }

createdb crash
psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -d crash <<'SQL'
CREATE EXTENSION expand_contract;
CREATE TABLE bookings (id bigint PRIMARY KEY, status text NOT NULL);
INSERT INTO bookings SELECT g, (ARRAY['booked', 'attended_registered'])[1 + g % 2]
  FROM generate_series(1, 20000) g;
SELECT expand_contract.start('02_registered', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}}]}');
SQL

# Batches of 100 rows, 50 ms apart: 200 batches, about 10 s.
psql -X -q -d crash -c "CALL expand_contract.run_backfill('public', 100, 50)" >/dev/null 2>&1 &
caller=$!
pid=""
for _ in $(seq 1 100); do
    pid="$(q "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CALL expand_contract.run_backfill%'")"
    done_rows="$(q "SELECT coalesce(rows_done, 0) FROM expand_contract.backfill_progress")"
    [ -n "$pid" ] && [ "$done_rows" -ge 1000 ] && break
    sleep 0.1
done
[ -n "$pid" ] || { echo "crash_resume: run_backfill never started"; exit 1; }
kill -KILL "$pid"
wait "$caller" || true

# The postmaster recovers; wait until it accepts connections again.
for _ in $(seq 1 300); do
    pg_isready -q -d crash && q "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.1
done
grep -q "terminated by signal 9" "$EC_CLUSTER_LOG" || { echo "crash_resume: no crash in the server log"; exit 1; }

before="$(q "SELECT rows_done FROM expand_contract.backfill_progress")"
synced="$(q "SELECT count(*) FROM bookings WHERE NOT _ec_needs_backfill")"
[ "$(q "SELECT done FROM expand_contract.backfill_progress")" = f ] || { echo "crash_resume: finished before the crash"; exit 1; }
[ "$before" -gt 0 ] || { echo "crash_resume: no committed progress survived"; exit 1; }
# Committed progress and committed rows agree: each batch committed both.
[ "$synced" = "$before" ] || { echo "crash_resume: $synced rows synced but progress says $before"; exit 1; }

# The next call resumes after the last committed batch.
psql -X -q -v ON_ERROR_STOP=1 -d crash -c "SET client_min_messages = warning" \
     -c "CALL expand_contract.run_backfill('public', 1000)" >/dev/null
after_batches="$(q "SELECT batches FROM expand_contract.backfill_progress")"
resumed_batches=$(( after_batches - before / 100 ))
[ "$(q "SELECT rows_done FROM expand_contract.backfill_progress")" = 20000 ] || { echo "crash_resume: not finished"; exit 1; }
[ "$resumed_batches" -le $(( (20000 - before + 999) / 1000 )) ] || {
    echo "crash_resume: the second run took $resumed_batches batches: it started over"; exit 1; }
[ "$(q "SELECT count(*) FROM expand_contract.verify()")" = 0 ] || { echo "crash_resume: verify() found mismatches"; exit 1; }
[ "$(q "SELECT count(*) FROM bookings WHERE _ec_new_registered IS DISTINCT FROM (status = 'attended_registered')")" = 0 ] \
    || { echo "crash_resume: rows out of step"; exit 1; }
echo "crash_resume: killed after $before of 20000 rows; resumed in $resumed_batches batches; verify() empty"
