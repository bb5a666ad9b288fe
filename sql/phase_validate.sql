--
-- validate(name, migration, schema): a dry run of start. It plans the
-- migration exactly as start would (same checks, same errors and SQLSTATEs)
-- and undoes it, returning the steps it planned: complete's and rollback's
-- statements, the indexes it would build online, the tables it would
-- backfill. Nothing is left behind, no worker starts, and it may run inside
-- a transaction block.
--
\pset null '(null)'
CREATE SCHEMA phase_validate;
SET search_path = phase_validate;
SET ec_test.schema = 'phase_validate';
\i sql/include/phase_helpers.psql

CREATE TABLE bookings (id integer PRIMARY KEY, student text NOT NULL, status text NOT NULL);
INSERT INTO bookings VALUES (1, 'Ada', 'attended_registered'), (2, 'Grace', 'booked');
CREATE FUNCTION pg_temp.doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [
      {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "default": "false"},
                      "up": "status = ''attended_registered''"}},
      {"rename_column": {"table": "bookings", "from": "student", "to": "student_name"}},
      {"create_index": {"name": "bookings_student_idx", "table": "bookings", "columns": [{"column": "student_name"}]}}]}'::jsonb
$$;

SELECT * FROM expand_contract.validate('02_registered', pg_temp.doc(), 'phase_validate');
-- Nothing was changed, and a start afterwards is the first.
SELECT * FROM pg_temp.migration_objects();
SELECT count(*) AS index_builds FROM expand_contract.index_builds WHERE schema_name = 'phase_validate';

-- A document start would refuse fails the same way, changing nothing.
CREATE FUNCTION pg_temp.both(doc jsonb) RETURNS TABLE (start text, validate text) LANGUAGE sql AS $$
    SELECT pg_temp.sqlstate_of(format('SELECT expand_contract.start(%L, %L, %L)', 'x', doc, 'phase_validate')),
           pg_temp.sqlstate_of(format('SELECT * FROM expand_contract.validate(%L, %L, %L)', 'x', doc, 'phase_validate'))
$$;
SELECT * FROM pg_temp.both('{"operations": [{"add_column": {"table": "nope", "column": {"name": "c", "type": "text"}}}]}');
SELECT * FROM pg_temp.both('{"operations": [{"add_column": {"table": "bookings", "column": {"name": "c", "type": "txet"}}}]}');
SELECT * FROM pg_temp.both('{"operations": [{"alter_column": {"table": "bookings", "column": "status", "type": "integer", "up": "status +"}}]}');
SELECT * FROM pg_temp.both('{"operations": [{"drop_index": {"name": "no_such_index"}}]}');
SELECT * FROM pg_temp.migration_objects();

-- Inside a transaction block too (it holds its locks only while it runs).
BEGIN;
SELECT count(*) AS planned_steps FROM expand_contract.validate('02_registered', pg_temp.doc(), 'phase_validate');
SELECT count(*) AS locks_on_bookings FROM pg_locks WHERE relation = 'phase_validate.bookings'::regclass
   AND pid = pg_backend_pid() AND mode = 'AccessExclusiveLock';
COMMIT;

-- The whole cycle with the validated document.
SELECT expand_contract.start('02_registered', pg_temp.doc(), 'phase_validate') AS version_schema;
SET client_min_messages = warning;
CALL expand_contract.run_backfill('phase_validate');
CALL expand_contract.wait_for_index_builds('phase_validate');
RESET client_min_messages;
SELECT expand_contract.rollback('phase_validate');
SELECT expand_contract.start('02_registered', pg_temp.doc(), 'phase_validate') AS version_schema;
SET client_min_messages = warning;
CALL expand_contract.run_backfill('phase_validate');
CALL expand_contract.wait_for_index_builds('phase_validate');
RESET client_min_messages;
SELECT expand_contract.complete('phase_validate');
SELECT * FROM bookings ORDER BY id;

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA phase_validate, phase_validate_02_registered CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'phase_validate';
