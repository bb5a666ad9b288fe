-- phase_start: the expand phase of the acceptance story, and every way start()
-- can refuse a migration. A refused start must leave nothing behind.
--
-- The studio booking app keeps one status column; migration 02_split_status
-- splits it into booking_status + registered. Everything lives in the schema
-- phase_start, so this file does not disturb the other tests.
-- Both versions write here while rows still wait for the backfill, so the
-- new version opens at start (by default it opens once the backfill is done).
SET expand_contract.open_new_version = at_start;


CREATE SCHEMA phase_start;
SET search_path = phase_start;

SET ec_test.schema = 'phase_start';
\i sql/include/phase_helpers.psql
-- The same as one line: 'nothing' when the schema is as the app left it.
CREATE FUNCTION pg_temp.leftovers() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(what, ', '), 'nothing') FROM pg_temp.migration_objects() AS what
$$;

-- A refused start: its SQLSTATE and message, then what it left behind.
CREATE FUNCTION pg_temp.refused(sql text, OUT error text, OUT left_behind text)
LANGUAGE plpgsql AS $$
BEGIN
    error := pg_temp.sqlstate_of(sql);
    left_behind := pg_temp.leftovers();
END $$;

-- Version 1 of the app.
CREATE TABLE bookings (
    id      bigserial PRIMARY KEY,
    student text NOT NULL,
    studio  text NOT NULL,
    status  text NOT NULL   -- booked, cancelled, attended, attended_registered
);
INSERT INTO bookings (student, studio, status) VALUES
    ('Ada',     'Pottery', 'booked'),
    ('Grace',   'Yoga',    'cancelled'),
    ('Hedy',    'Salsa',   'attended'),
    ('Radia',   'Pottery', 'attended_registered');
-- A table the migration does not touch: the new version shows it unchanged.
CREATE TABLE studios (name text PRIMARY KEY, city text NOT NULL DEFAULT 'Lyon');
INSERT INTO studios (name) VALUES ('Pottery'), ('Salsa'), ('Yoga');
-- A table without any key: backfill could not walk it.
CREATE TABLE visits (studio text NOT NULL, visitor text NOT NULL);

SELECT pg_temp.leftovers();

--------------------------------------------------------------------------------
-- 1. Refused starts. Each shows 'SQLSTATE: message', then that nothing was left.
--------------------------------------------------------------------------------

-- NULL arguments: 22004.
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start(NULL, '{"operations": []}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', NULL, 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": []}', NULL)$$);

-- An empty name.
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('', '{"operations": []}', 'phase_start')$$);

-- The schema to migrate does not exist: 3F000.
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": []}', 'phase_start_nowhere')$$);

-- Documents that are not migration documents.
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '[]', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '"operations"', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"name": "m"}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [], "owner": "me"}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": {"drop_column": {}}}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": ["drop_column"]}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"name": "n", "operations": []}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"version_schema": 2, "operations": []}', 'phase_start')$$);

-- Unknown operations, unknown fields in an operation, fields of the wrong type.
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"split_column": {"table": "bookings", "column": "status"}}]}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"drop_column": {"table": "bookings", "column": "status"}, "add_column": {}}]}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"drop_column": {"table": "bookings", "column": "status", "cascade": true}}]}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"add_column": {"table": "bookings", "column": {"name": "note", "type": "text", "colour": "red"}}}]}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"drop_column": {"table": "bookings", "column": 4}}]}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"add_column": {"table": "bookings", "column": {"name": "note", "type": "text", "nullable": "yes"}}}]}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"drop_column": "status"}]}', 'phase_start')$$);

-- The table or the column does not exist: 42P01, 42703.
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"drop_column": {"table": "booking", "column": "status"}}]}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"drop_column": {"table": "bookings", "column": "state"}}]}', 'phase_start')$$);

-- up/down expressions that do not parse: 42601.
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                    "up": "CASE status WHEN"}}]}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                    "up": "status; DROP TABLE bookings"}}]}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                    "up": "status FROM bookings"}}]}', 'phase_start')$$);

-- up/down referring to a column its version does not have: 42703. "up" sees
-- the old shape only, "down" the new shape only (status is gone there).
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                    "up": "upper(state)"}}]}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                    "up": "status"}},
    {"drop_column": {"table": "bookings", "column": "status",
                     "down": "CASE WHEN registered THEN ''attended_registered'' ELSE booking_status END"}}]}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                    "up": "status"}},
    {"drop_column": {"table": "bookings", "column": "status", "down": "status"}}]}', 'phase_start')$$);

-- up/down whose type does not fit the column: 42804.
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true},
                    "up": "status"}}]}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"add_column": {"table": "bookings", "column": {"name": "booked_on", "type": "date", "nullable": true},
                    "up": "42"}}]}', 'phase_start')$$);

-- up/down calling a function or an operator that does not exist: 42883.
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                    "up": "split_status(status)"}}]}', 'phase_start')$$);
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true},
                    "up": "status = 4"}}]}', 'phase_start')$$);

-- The last operation fails after the first ones already changed the table:
-- the whole start is undone.
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                    "up": "CASE status WHEN ''attended_registered'' THEN ''attended'' ELSE status END"}},
    {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                    "up": "status = ''attended_registered''"}},
    {"drop_column": {"table": "bookings", "column": "status", "down": "no_such_column"}}]}', 'phase_start')$$);

-- A late refusal, once the first operation's columns and trigger were made:
-- raw SQL that fails (with its own SQLSTATE, 22012).
SELECT * FROM pg_temp.refused($$SELECT expand_contract.start('m', '{"operations": [
    {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                    "up": "CASE status WHEN ''attended_registered'' THEN ''attended'' ELSE status END"}},
    {"sql": {"up": "SELECT 1 / 0"}}]}', 'phase_start')$$);

-- The version schema exists already: 42P06.
CREATE SCHEMA phase_start_taken;
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start('taken', '{"operations": []}', 'phase_start')$$);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start('m', '{"version_schema": "phase_start_taken", "operations": []}', 'phase_start')$$);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start('m', '{"version_schema": "phase_start", "operations": []}', 'phase_start')$$);
DROP SCHEMA phase_start_taken;
SELECT pg_temp.leftovers();

-- The same refusal outside a subtransaction: the statement fails as a whole.
SELECT expand_contract.start('m', '{"operations": [
    {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                    "up": "upper(state)"}}]}', 'phase_start');
SELECT pg_temp.leftovers();
SHOW search_path;

-- The same for the late refusal.
SELECT expand_contract.start('m', '{"operations": [
    {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                    "up": "upper(status)"}},
    {"sql": {"up": "SELECT 1 / 0"}}]}', 'phase_start');
SELECT pg_temp.leftovers();

-- And inside a transaction block that then goes on: nothing is left either.
BEGIN;
SET LOCAL expand_contract.phase_in_transaction_block = on;
SAVEPOINT before_start;
SELECT expand_contract.start('m', '{"operations": [
    {"drop_column": {"table": "bookings", "column": "status", "down": "booking_status"}}]}', 'phase_start');
ROLLBACK TO SAVEPOINT before_start;
SELECT pg_temp.leftovers();
COMMIT;

--------------------------------------------------------------------------------
-- 2. The story's start: 02_split_status.
--------------------------------------------------------------------------------

SELECT expand_contract.start('02_split_status', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                  "up": "CASE status WHEN ''attended_registered'' THEN ''attended'' ELSE status END"}},
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}},
  {"drop_column": {"table": "bookings", "column": "status",
                   "down": "CASE WHEN registered THEN ''attended_registered'' ELSE booking_status END"}}]}',
  schema => 'phase_start') AS version_schema;

-- The session's search_path is untouched by start.
SHOW search_path;

-- The history row and the backfill bookkeeping.
SELECT schema_name, name, version_schema, previous_version_schema, parent, phase,
       completed_at IS NULL AS open, touched_tables
  FROM expand_contract.migrations WHERE schema_name = 'phase_start';
SELECT schema_name, migration, phase, version_schema, previous_version_schema
  FROM expand_contract.status('phase_start');
SELECT table_name, key_columns, marker_column, rows_done, batches, done
  FROM expand_contract.backfill_progress WHERE schema_name = 'phase_start';
-- The document is kept as given.
SELECT jsonb_array_length(document -> 'operations') AS operations,
       document #>> '{operations,2,drop_column,down}' AS down
  FROM expand_contract.migrations WHERE schema_name = 'phase_start';

-- The version schema holds one view per table of the schema, in the new shape.
SELECT c.relname, c.relkind, c.reloptions
  FROM pg_class c
 WHERE c.relnamespace = 'phase_start_02_split_status'::regnamespace
 ORDER BY c.relname;
SELECT table_name, column_name, data_type, column_default
  FROM information_schema.columns
 WHERE table_schema = 'phase_start_02_split_status'
 ORDER BY table_name, ordinal_position;
SELECT table_name, is_updatable, is_insertable_into
  FROM information_schema.views
 WHERE table_schema = 'phase_start_02_split_status'
 ORDER BY table_name;

-- The base table keeps the old shape, plus the staged new columns (with the
-- new column's default) and the backfill marker.
SELECT column_name, data_type, is_nullable, column_default
  FROM information_schema.columns
 WHERE table_schema = 'phase_start' AND table_name = 'bookings'
 ORDER BY ordinal_position;
-- registered is NOT NULL in the new version: a check, NOT VALID so that start
-- scanned nothing; complete() validates it.
SELECT conname, pg_get_constraintdef(oid) AS definition, convalidated
  FROM pg_constraint
 WHERE conrelid = 'phase_start.bookings'::regclass AND contype = 'c'
 ORDER BY conname;
-- The sync trigger: BEFORE INSERT OR UPDATE, FOR EACH ROW, the native function.
SELECT tgname, tgfoid::regprocedure AS function, tgenabled, tgnargs,
       tgtype & 1 = 1 AS for_each_row, tgtype & 2 = 2 AS before,
       tgtype & 4 = 4 AS on_insert, tgtype & 16 = 16 AS on_update,
       tgtype & 8 = 8 AS on_delete
  FROM pg_trigger
 WHERE tgrelid = 'phase_start.bookings'::regclass AND NOT tgisinternal;
-- The untouched table gets no trigger and no staged columns.
SELECT count(*) AS studios_triggers FROM pg_trigger
 WHERE tgrelid = 'phase_start.studios'::regclass AND NOT tgisinternal;
-- Everything start added, in one list.
SELECT * FROM pg_temp.migration_objects();

-- Both versions read the existing rows. Rows that predate start have not
-- been backfilled yet: the new version sees the staged columns' defaults.
SELECT id, student, studio, status FROM phase_start.bookings ORDER BY id;
SELECT id, student, studio, booking_status, registered
  FROM phase_start_02_split_status.bookings ORDER BY id;
SELECT name, city FROM phase_start_02_split_status.studios ORDER BY name;

-- The carried defaults work through the view: id from the sequence,
-- registered false.
SET search_path = phase_start_02_split_status;
INSERT INTO bookings (student, studio, booking_status)
VALUES ('Katherine', 'Yoga', 'booked')
RETURNING id, student, studio, booking_status, registered;
INSERT INTO studios (name) VALUES ('Life drawing') RETURNING name, city;
SET search_path = phase_start;
SELECT id, student, status FROM bookings WHERE id = 5;

--------------------------------------------------------------------------------
-- 3. Refusals that need an open migration, or a history.
--------------------------------------------------------------------------------

-- A second start on the same schema while 02_split_status is open: 55000.
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start('03_other', '{"operations": [
    {"add_column": {"table": "studios", "column": {"name": "phone", "type": "text", "nullable": true}}}]}', 'phase_start')$$);
-- Even under the same name.
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start('02_split_status', '{"operations": []}', 'phase_start')$$);
-- Nothing changed: the same objects as before, studios untouched.
SELECT * FROM pg_temp.migration_objects();
SELECT column_name FROM information_schema.columns
 WHERE table_schema = 'phase_start' AND table_name = 'studios' ORDER BY ordinal_position;

-- Once completed, the name stays in the history and cannot be started again:
-- 42710.
SELECT expand_contract.complete('phase_start');
SELECT name, phase FROM expand_contract.migrations WHERE schema_name = 'phase_start';
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start('02_split_status', '{"operations": [
    {"add_column": {"table": "studios", "column": {"name": "phone", "type": "text", "nullable": true}}}]}', 'phase_start')$$);
SELECT name, phase FROM expand_contract.migrations WHERE schema_name = 'phase_start';
SELECT column_name FROM information_schema.columns
 WHERE table_schema = 'phase_start' AND table_name = 'studios' ORDER BY ordinal_position;
SELECT nspname FROM pg_namespace WHERE nspname LIKE 'phase\_start%' ORDER BY nspname;

-- The completed table.
SELECT id, student, studio, booking_status, registered FROM bookings ORDER BY id;

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA phase_start_02_split_status CASCADE;
DROP SCHEMA phase_start CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'phase_start';
