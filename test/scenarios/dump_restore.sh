#!/usr/bin/env bash
# dump_restore: the migration history survives pg_dump/pg_restore (the catalog
# tables are pg_extension_config_dump'ed), and so does an open migration: after
# the restore both versions keep writing and complete() finishes it. A new
# version that waits for its backfill (the default) is still closed after a
# restore, and the restored backfill opens it.
# Runs against the server named by PGHOST/PGPORT/PGUSER; exits non-zero on failure.
set -euo pipefail

src=ec_dump_source
dst=ec_dump_restored
gated=ec_dump_gated
dump="$(mktemp -d)/history.dump"
trap 'rm -rf "$(dirname "$dump")"; for db in "$src" "$dst" "$gated"; do dropdb --if-exists "$db"; done' EXIT

q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$1" -c "$2"; }

for db in "$src" "$dst" "$gated"; do dropdb --if-exists "$db"; done
createdb "$src"
psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -d "$src" <<'SQL'
CREATE EXTENSION expand_contract;
CREATE TABLE bookings (id bigserial PRIMARY KEY, student text NOT NULL, status text NOT NULL);
INSERT INTO bookings (student, status)
SELECT 'student ' || g, (ARRAY['booked', 'attended', 'attended_registered'])[1 + g % 3]
  FROM generate_series(1, 30) g;

-- A completed migration...
SELECT expand_contract.start('01_rename', '{"operations": [
  {"rename_column": {"table": "bookings", "from": "student", "to": "student_name"}}]}');
SELECT expand_contract.complete();

-- ...and an open one, half backfilled, written through both versions (so
-- its new version opens at start).
SET expand_contract.open_new_version = at_start;
SELECT expand_contract.start('02_registered', '{"operations": [
  {"add_column": {"table": "bookings",
                  "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}}]}');
SELECT count(*) FROM expand_contract.backfill(batch_size => 10, max_batches => 1);
INSERT INTO bookings (student_name, status) VALUES ('old app', 'attended_registered');
SET search_path = public_02_registered;
INSERT INTO bookings (student_name, status, registered) VALUES ('new app', 'booked', false);
RESET search_path;
SQL

history="SELECT schema_name, name, version_schema, previous_version_schema, parent, document,
                phase, started_at, completed_at, touched_tables, complete_steps, rollback_steps
           FROM expand_contract.migrations ORDER BY started_at"
progress="SELECT table_name, key_columns, high_water, cursor, rows_total, rows_done, batches, done
            FROM expand_contract.backfill_progress ORDER BY table_name"

pg_dump -Fc -d "$src" -f "$dump"
createdb "$dst"
pg_restore --exit-on-error -d "$dst" "$dump"

[ "$(q "$src" "$history")" = "$(q "$dst" "$history")" ] || { echo "history differs after restore"; exit 1; }
[ "$(q "$src" "$progress")" = "$(q "$dst" "$progress")" ] || { echo "backfill progress differs after restore"; exit 1; }
[ "$(q "$dst" "SELECT count(*) FROM expand_contract.migrations")" = 2 ] || { echo "expected 2 history rows"; exit 1; }

# The restored open migration still syncs both ways, resumes its backfill and completes.
psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -d "$dst" <<'SQL'
INSERT INTO bookings (student_name, status) VALUES ('old app after restore', 'attended_registered');
SET search_path = public_02_registered;
UPDATE bookings SET student_name = 'renamed after restore' WHERE id = 3;
RESET search_path;
SELECT count(*) FROM expand_contract.backfill(batch_size => 10);
SELECT expand_contract.complete();
SQL

bad=$(q "$dst" "SELECT count(*) FROM bookings WHERE registered IS DISTINCT FROM (status = 'attended_registered')")
[ "$bad" = 0 ] || { echo "$bad rows have registered out of step with status"; exit 1; }
[ "$(q "$dst" "SELECT count(*) FROM bookings")" = 33 ] || { echo "expected 33 bookings"; exit 1; }
[ "$(q "$dst" "SELECT phase FROM expand_contract.status('public')")" = completed ] || { echo "not completed"; exit 1; }

# A new version waiting for its backfill: restored closed, opened by the backfill.
psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -d "$dst" <<'SQL'
CREATE TABLE studios (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO studios SELECT g, CASE WHEN g % 3 = 0 THEN 'closed' ELSE 'studio ' || g END FROM generate_series(1, 30) g;
SELECT expand_contract.start('03_closed', '{"operations": [{"add_column": {"table": "studios",
    "column": {"name": "closed", "type": "boolean", "nullable": true}, "up": "name = ''closed''"}}]}');
SQL
pg_dump -Fc -d "$dst" -f "$dump"
createdb "$gated"
pg_restore --exit-on-error -d "$gated" "$dump"
closed="$(psql -X -q -At -d "$gated" -c "SELECT count(*) FROM public_03_closed.studios" 2>&1 || true)"
case "$closed" in *"is not open yet"*) ;; *) echo "the restored new version is open before its backfill: $closed"; exit 1 ;; esac
q "$gated" "SELECT count(*) FROM expand_contract.backfill()" >/dev/null
[ "$(q "$gated" "SELECT count(*) FILTER (WHERE closed), count(closed) FROM public_03_closed.studios")" = "10|30" ] \
    || { echo "the restored backfill did not open the new version"; exit 1; }
q "$gated" "SELECT expand_contract.complete()" >/dev/null
echo "dump_restore: history and the open migrations survived pg_dump/pg_restore"
