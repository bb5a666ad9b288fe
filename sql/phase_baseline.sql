--
-- phase_baseline: a version schema from day one. baseline() records the
-- current shape as a version schema of views, so the old application can
-- use a version schema too: across start() its prepared SELECT * keeps
-- working and never shows the staged columns, its writes through the
-- baseline views count as the old version's, and the next complete() drops
-- the baseline schema.
--
\pset null '(null)'
CREATE SCHEMA phase_baseline;
SET search_path = phase_baseline;
CREATE TABLE bookings (id integer PRIMARY KEY, student text NOT NULL, status text NOT NULL);
INSERT INTO bookings VALUES (1, 'Ada', 'booked'), (2, 'Grace', 'attended_registered');

SELECT expand_contract.baseline('01_initial', 'phase_baseline') AS version_schema;
SELECT migration, phase, version_schema FROM expand_contract.status('phase_baseline');
-- A name is taken once, and nothing may be open meanwhile.
SELECT expand_contract.baseline('01_initial', 'phase_baseline');

-- The old application reads and writes through the baseline.
SET search_path = phase_baseline_01_initial;
PREPARE old_read AS SELECT * FROM bookings ORDER BY id;
EXECUTE old_read;

-- The migration.
CREATE FUNCTION pg_temp.doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [
      {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true},
                      "up": "status = ''attended_registered''"}}]}'::jsonb
$$;
SELECT expand_contract.start('02_registered', pg_temp.doc(), 'phase_baseline') AS version_schema;
SELECT expand_contract.baseline('02_again', 'phase_baseline');
-- Across start, the old application's prepared SELECT * still works, in the
-- old shape: no staged column, no marker.
EXECUTE old_read;
-- The old application goes on writing; the new version opens once the
-- backfill is done, and from then on both versions write. The baseline's
-- writes are the old version's.
INSERT INTO bookings VALUES (3, 'Hedy', 'attended_registered');
SELECT new_version_open FROM expand_contract.status('phase_baseline');
SELECT * FROM expand_contract.backfill('phase_baseline') \g /dev/null
SELECT new_version_open FROM expand_contract.status('phase_baseline');
INSERT INTO phase_baseline_02_registered.bookings (id, student, status, registered)
VALUES (4, 'Radia', 'booked', false);
SELECT * FROM phase_baseline_02_registered.bookings WHERE id >= 3 ORDER BY id;
EXECUTE old_read;

-- Rollback keeps the baseline; start again, complete drops it.
SELECT expand_contract.rollback('phase_baseline');
SELECT nspname FROM pg_namespace WHERE nspname LIKE 'phase\_baseline\_%' ORDER BY 1;
EXECUTE old_read;
SELECT expand_contract.start('02_registered', pg_temp.doc(), 'phase_baseline') AS version_schema;
SELECT * FROM expand_contract.backfill('phase_baseline') \g /dev/null
SELECT expand_contract.complete('phase_baseline');
SELECT nspname FROM pg_namespace WHERE nspname LIKE 'phase\_baseline\_%' ORDER BY 1;
SELECT migration, phase, previous_version_schema FROM expand_contract.status('phase_baseline');
SELECT * FROM phase_baseline.bookings ORDER BY id;
-- The completed migration's version schema is live now: it is the current
-- version, and a baseline beside it would be left behind.
SELECT expand_contract.baseline('03_again', 'phase_baseline');
DEALLOCATE old_read;

-- Clean up.
SET search_path = public;
SET client_min_messages = warning;
DROP SCHEMA phase_baseline, phase_baseline_02_registered CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'phase_baseline';
