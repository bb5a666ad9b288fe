#!/usr/bin/env bash
# extension_update: a database still at extension version 0.1, with a
# migration open (its sync trigger in 0.1's format), keeps writing under the
# new library, goes through ALTER EXTENSION expand_contract UPDATE while the
# migration is open, and completes it after.
# Runs against the server named by PGHOST/PGPORT/PGUSER; exits non-zero on failure.
set -euo pipefail

db=ec_extension_update
trap 'dropdb --if-exists "$db"' EXIT

q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" -c "$1"; }
fail() { echo "extension_update: $*"; exit 1; }
trigger_args="SELECT tgnargs, split_part(encode(tgargs, 'escape'), '\\000', 1) FROM pg_trigger
               WHERE tgrelid = 'bookings'::regclass AND tgname = 'zz_expand_contract_sync'"

# writes_both_versions ID: the old app and the new one each write a row.
writes_both_versions() {
    psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -d "$db" <<SQL
INSERT INTO bookings (id, student, status) VALUES ($1, ' Old App ', 'attended_registered');
SET search_path = public_02_tidy;
INSERT INTO bookings (id, student, status, registered) VALUES ($1 + 1, 'new app', 'booked', false);
UPDATE bookings SET student = 'renamed' WHERE id = 1;
SQL
}

dropdb --if-exists "$db"
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -d "$db" <<'SQL'
CREATE EXTENSION expand_contract VERSION '0.1';
CREATE FUNCTION tidy(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(btrim($1)) $$;
CREATE TABLE statuses (code text PRIMARY KEY, registered boolean NOT NULL);
INSERT INTO statuses VALUES ('booked', false), ('attended', false), ('attended_registered', true);
CREATE TABLE bookings (id int PRIMARY KEY, student text NOT NULL, status text NOT NULL);
INSERT INTO bookings SELECT g, ' Student ' || g, (ARRAY['booked', 'attended', 'attended_registered'])[1 + g % 3]
  FROM generate_series(1, 30) g;
SET expand_contract.open_new_version = at_start;
SELECT expand_contract.start('02_tidy', '{"operations": [
  {"alter_column": {"table": "bookings", "column": "student", "type": "varchar(60)", "up": "tidy(student)", "down": "student"}},
  {"add_column": {"table": "bookings",
                  "column": {"name": "registered", "type": "boolean", "nullable": true},
                  "up": "(SELECT s.registered FROM statuses s WHERE s.code = status)"}}]}');
SELECT count(*) FROM expand_contract.backfill(batch_size => 10, max_batches => 1);
SQL
[ "$(q "$trigger_args" | cut -d'|' -f1)" = 7 ] || fail "the 0.1 start did not attach a 0.1 trigger"

# The new library, the database still at 0.1: both versions write, and a
# CALL run_backfill uses 0.1's catalog (no parts, no rate limits).
writes_both_versions 100
q "CALL expand_contract.run_backfill('public', 10)" 2>/dev/null
[ "$(q "SELECT bool_and(done) FROM expand_contract.backfill_progress")" = t ] || fail "run_backfill at 0.1 did not finish"

q "ALTER EXTENSION expand_contract UPDATE"
[ "$(q "SELECT extversion FROM pg_extension WHERE extname = 'expand_contract'")" = 0.2 ] || fail "not at 0.2"
[ "$(q "$trigger_args" | cut -d'|' -f2)" = "expand_contract rules 2" ] || fail "the sync trigger was not rewritten"

writes_both_versions 200
[ "$(q "SELECT count(*) FROM expand_contract.verify()")" = 0 ] || fail "verify() found rows out of step"
q "SELECT count(*) FROM expand_contract.backfill()" >/dev/null
q "SELECT expand_contract.complete(force => true)" >/dev/null
[ "$(q "SELECT student, registered FROM bookings WHERE id IN (100, 200, 1) ORDER BY id")" \
    = "$(printf 'renamed|f\nold app|t\nold app|t')" ] || fail "rows out of step after complete: $(q "SELECT * FROM bookings WHERE id IN (1, 100, 200)")"
echo "extension_update: an open migration went from 0.1 to 0.2 and completed"
