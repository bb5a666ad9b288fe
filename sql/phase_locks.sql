--
-- phase_locks: a phase never queues the schema's writers behind a long
-- reader. It waits for its locks at most expand_contract.phase_lock_timeout
-- at a time, backs off and retries (each attempt rolled back whole), and
-- gives up with 55P03 at expand_contract.phase_lock_deadline having changed
-- nothing. A reporting transaction that holds a lock on the table is played
-- by a second connection (dblink).
--
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA phase_locks;
SET search_path = phase_locks;
SET ec_test.schema = 'phase_locks';
\i sql/include/phase_helpers.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink SCHEMA phase_locks;
RESET client_min_messages;

CREATE TABLE bookings (id integer PRIMARY KEY, status text NOT NULL);
INSERT INTO bookings SELECT g, 'booked' FROM generate_series(1, 100) g;
-- How long single-row writes had to wait, as a writer measured them.
CREATE TABLE writer_waits (waited interval);

SELECT dblink_connect('reader', format('host=%s port=%s dbname=%s',
    split_part(current_setting('unix_socket_directories'), ',', 1),
    current_setting('port'), current_database())) AS reader_connected;
SELECT dblink_connect('writer', format('host=%s port=%s dbname=%s',
    split_part(current_setting('unix_socket_directories'), ',', 1),
    current_setting('port'), current_database())) AS writer_connected;

-- The reporting transaction: open, holding ACCESS SHARE on bookings.
SELECT dblink_exec('reader', 'BEGIN');
SELECT * FROM dblink('reader', 'SELECT count(*) FROM phase_locks.bookings') AS t(n bigint);

-- A writer that, 100 ms from now, updates a row and notes how long it took.
SELECT dblink_send_query('writer', $w$
    DO $$
    DECLARE
        t0 timestamptz;
    BEGIN
        PERFORM pg_sleep(0.1);
        t0 := clock_timestamp();
        UPDATE phase_locks.bookings SET status = 'attended' WHERE id = 1;
        INSERT INTO phase_locks.writer_waits VALUES (clock_timestamp() - t0);
    END $$$w$) AS writer_sent;

-- start() cannot get its lock while the reader lives: it retries, then gives
-- up. (Retry notices and the error's detail name pids; terse shows neither.)
SET expand_contract.phase_lock_timeout = '50ms';
SET expand_contract.phase_lock_deadline = '400ms';
SET client_min_messages = warning;
\set VERBOSITY terse
SELECT expand_contract.start('02_registered', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true},
                  "up": "status = ''attended''"}}]}', 'phase_locks');
\set VERBOSITY default
RESET client_min_messages;
-- Nothing was changed.
SELECT * FROM pg_temp.migration_objects();
-- The writer got through while start() was retrying, waiting at most about
-- one lock timeout (not until the reader ended).
SELECT * FROM dblink_get_result('writer') AS r(status text);
SELECT count(*) AS writes, bool_and(waited < interval '300 ms') AS waited_less_than_the_reader
  FROM writer_waits;

-- Once the reader ends, start() gets its lock at the first attempt.
SELECT dblink_exec('reader', 'COMMIT');
SELECT expand_contract.start('02_registered', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true},
                  "up": "status = ''attended''"}}]}', 'phase_locks') AS version_schema;

-- complete() and rollback() follow the same rules.
SELECT dblink_exec('reader', 'BEGIN');
SELECT * FROM dblink('reader', 'SELECT count(*) FROM phase_locks.bookings') AS t(n bigint);
SET client_min_messages = warning;
\set VERBOSITY terse
SELECT expand_contract.rollback('phase_locks');
SELECT expand_contract.complete('phase_locks');
\set VERBOSITY default
RESET client_min_messages;
SELECT migration, phase FROM expand_contract.status('phase_locks');
SELECT dblink_exec('reader', 'COMMIT');
SELECT expand_contract.rollback('phase_locks');
SELECT expand_contract.start('02_registered', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true},
                  "up": "status = ''attended''"}}]}', 'phase_locks') AS version_schema;
SELECT expand_contract.complete('phase_locks');
SELECT id, status, registered FROM bookings WHERE id <= 2 ORDER BY id;

-- complete() does no long work under its locks: with more rows left to
-- backfill than expand_contract.complete_backfill_limit it refuses, and
-- run_backfill (committed batches, no phase lock) does the work instead.
CREATE TABLE visits (id integer PRIMARY KEY, studio text NOT NULL);
INSERT INTO visits SELECT g, 'studio ' || g % 5 FROM generate_series(1, 3000) g;
ANALYZE visits;
SELECT expand_contract.start('03_studio_code', '{"operations": [
  {"add_column": {"table": "visits", "column": {"name": "studio_code", "type": "text", "nullable": true},
                  "up": "upper(studio)"}}]}', 'phase_locks') AS version_schema;
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.complete('phase_locks')$$);
SET client_min_messages = warning;
CALL expand_contract.run_backfill('phase_locks');
RESET client_min_messages;
SELECT expand_contract.complete('phase_locks');
SELECT count(*) AS rows, count(studio_code) AS filled FROM visits;
-- The estimate can be far off (analysed while empty, then loaded): the work
-- complete() does itself is bounded all the same.
CREATE TABLE loaded (id integer PRIMARY KEY, v integer NOT NULL);
ANALYZE loaded;
INSERT INTO loaded SELECT g, g FROM generate_series(1, 3000) g;
SELECT expand_contract.start('04_double', '{"operations": [
  {"add_column": {"table": "loaded", "column": {"name": "double", "type": "integer", "nullable": true},
                  "up": "v * 2"}}]}', 'phase_locks') AS version_schema;
SELECT rows_total AS estimated FROM expand_contract.backfill_progress WHERE table_name = 'loaded';
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.complete('phase_locks')$$);
SELECT expand_contract.rollback('phase_locks');

-- The backfill opens the new version (open_new_version = when_backfilled,
-- the default) without queueing behind the new version's readers: it tries
-- to lock each view within the lock timeout, and a view it could not lock
-- keeps its gate, which lets everything through now that the backfill is
-- done, until the next backfill or complete replaces it.
SELECT expand_contract.start('04_double', '{"operations": [
  {"add_column": {"table": "loaded", "column": {"name": "double", "type": "integer", "nullable": true},
                  "up": "v * 2"}}]}', 'phase_locks') AS version_schema;
-- (A backfill() that finishes in its own transaction leaves the views to the
-- next call: they must not turn plain for snapshots taken before it commits.)
SELECT count(*) AS batches FROM expand_contract.backfill('phase_locks');
SELECT dblink_exec('reader', 'BEGIN');
SELECT dblink_exec('reader', 'LOCK TABLE phase_locks_04_double.loaded IN ACCESS SHARE MODE');
SELECT count(*) AS batches FROM expand_contract.backfill('phase_locks');
SELECT DISTINCT new_version_open FROM expand_contract.status('phase_locks');
SELECT count(*), sum(double) FROM phase_locks_04_double.loaded;
SELECT pg_get_viewdef('phase_locks_04_double.loaded'::regclass) LIKE '%new_version_open%' AS gated;
SELECT dblink_exec('reader', 'COMMIT');
SELECT count(*) AS batches FROM expand_contract.backfill('phase_locks');
SELECT pg_get_viewdef('phase_locks_04_double.loaded'::regclass) LIKE '%new_version_open%' AS gated;
SELECT expand_contract.complete('phase_locks');

-- The lock timeout must stay below deadlock_timeout, so that a phase gives
-- up before a deadlock check could cancel a writer instead.
SET expand_contract.phase_lock_timeout = '2s';
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start('03_x', '{"operations": []}', 'phase_locks')$$);
RESET expand_contract.phase_lock_timeout;
RESET expand_contract.phase_lock_deadline;

-- Clean up.
SELECT dblink_disconnect('reader');
SELECT dblink_disconnect('writer');
SET client_min_messages = warning;
DROP SCHEMA phase_locks CASCADE;
DROP SCHEMA IF EXISTS phase_locks_02_registered, phase_locks_03_studio_code, phase_locks_04_double CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'phase_locks';
