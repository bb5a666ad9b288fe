-- A backfill that runs in a background worker: start_backfill, watching it
-- in backfill_status and status(), pausing, resuming, cancelling, throttling
-- on replication lag, a worker that fails, and the rules around it.
SET client_min_messages = warning;
CREATE SCHEMA backfill_worker;
SET search_path = backfill_worker;
CREATE TABLE bookings (id bigint PRIMARY KEY, status text NOT NULL);
INSERT INTO bookings SELECT g, (ARRAY['booked', 'attended_registered'])[1 + g % 2]
  FROM generate_series(1, 3000) g;
CREATE TABLE visits (studio text NOT NULL, visitor text NOT NULL);    -- no key
INSERT INTO visits SELECT 'Studio ' || g % 7, 'visitor ' || g FROM generate_series(1, 1000) g;
RESET client_min_messages;

-- Waits until every table of the schema's backfill is in one of `wanted`
-- states (or 30 s passed), then shows them.
CREATE FUNCTION pg_temp.backfill_reaches(VARIADIC wanted text[])
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    seen text;
    reached boolean;
BEGIN
    FOR i IN 1..600 LOOP
        SELECT string_agg(table_name || ': ' || state, ', ' ORDER BY table_name),
               bool_and(state = ANY (wanted))
          INTO seen, reached
          FROM expand_contract.backfill_status WHERE schema_name = 'backfill_worker';
        IF reached THEN
            RETURN seen;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN 'timed out waiting: ' || seen;
END $$;
-- Waits until no worker of the schema is left in pg_stat_activity.
CREATE FUNCTION pg_temp.worker_gone()
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..600 LOOP
        IF NOT EXISTS (SELECT FROM pg_stat_activity
                        WHERE backend_type = 'expand_contract backfill'
                          AND query LIKE '%schema backfill_worker:%') THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN false;
END $$;
-- Waits until the worker has committed a batch of the first table.
CREATE FUNCTION pg_temp.some_rows_done()
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..600 LOOP
        IF EXISTS (SELECT FROM expand_contract.backfill_status
                    WHERE schema_name = 'backfill_worker' AND rows_done > 0) THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
    RETURN false;
END $$;
CREATE FUNCTION pg_temp.sqlstate_of(statement text)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, 'pid \d+', 'pid N');
END $$;

SELECT expand_contract.start('02_registered', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}},
  {"add_column": {"table": "visits", "column": {"name": "studio_code", "type": "text", "nullable": true},
                  "up": "upper(replace(studio, '' '', ''_''))"}}]}', 'backfill_worker');

-- Before anybody runs it, both tables wait; status() shows one row per table.
SELECT table_name, backfill_state, backfill_rows_done, backfill_rows_left
  FROM expand_contract.status('backfill_worker');

--------------------------------------------------------------------------------
-- 1. Start, pause, look, resume.
--------------------------------------------------------------------------------
SELECT expand_contract.start_backfill('backfill_worker', batch_size => 100, batch_delay_ms => 20) > 0
       AS worker_started;
SELECT pg_temp.some_rows_done();
SELECT expand_contract.pause_backfill('backfill_worker');
SELECT pg_temp.backfill_reaches('paused');
-- The worker is paused part-way into the first table, and stays there.
SELECT rows_done AS paused_at FROM expand_contract.backfill_status
 WHERE schema_name = 'backfill_worker' AND table_name = 'bookings' \gset
SELECT :paused_at > 0 AS some_done, :paused_at < 3000 AS some_left;
SELECT pg_sleep(0.3);
SELECT rows_done = :paused_at AS still_paused FROM expand_contract.backfill_status
 WHERE schema_name = 'backfill_worker' AND table_name = 'bookings';
-- It shows in pg_stat_activity (connected as the bootstrap superuser).
SELECT a.backend_type, a.usename, a.application_name,
       a.query LIKE 'expand_contract backfill of schema backfill_worker: paused, table bookings, %' AS reports_progress
  FROM pg_stat_activity a JOIN expand_contract.backfill_runners r ON r.pid = a.pid
 WHERE r.schema_name = 'backfill_worker';

-- One runner per schema: another worker or a CALL is refused while it lives.
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start_backfill('backfill_worker')$$);
\set VERBOSITY sqlstate
CALL expand_contract.run_backfill('backfill_worker');
\set VERBOSITY default

SET client_min_messages = warning;
SELECT expand_contract.resume_backfill('backfill_worker');
RESET client_min_messages;
SELECT pg_temp.backfill_reaches('done');
SELECT table_name, state, rows_done, rows_left, rows_per_second, eta, error
  FROM expand_contract.backfill_status WHERE schema_name = 'backfill_worker' ORDER BY 1;
SELECT pg_temp.worker_gone();
SELECT runner, state, request, alive FROM expand_contract.backfill_runners
 WHERE schema_name = 'backfill_worker';
SELECT * FROM expand_contract.verify('backfill_worker');
SELECT count(*) FILTER (WHERE _ec_new_registered = (status = 'attended_registered')) AS bookings_filled
  FROM bookings;
SELECT count(*) FILTER (WHERE _ec_new_studio_code = upper(replace(studio, ' ', '_'))) AS visits_filled
  FROM visits;

-- Nothing is running now: pause, resume and cancel say so.
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.pause_backfill('backfill_worker')$$);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.cancel_backfill('backfill_worker')$$);
SELECT expand_contract.rollback('backfill_worker');

--------------------------------------------------------------------------------
-- 2. Cancel: the worker stops after its batch; its progress is kept and the
--    next run continues from there.
--------------------------------------------------------------------------------
SELECT expand_contract.start('02_registered', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}}]}', 'backfill_worker');
SELECT expand_contract.start_backfill('backfill_worker', 50, 50) > 0 AS worker_started;
SELECT pg_sleep(0.2);
SELECT expand_contract.cancel_backfill('backfill_worker');
SELECT pg_temp.backfill_reaches('cancelled');
SELECT pg_temp.worker_gone();
SELECT rows_done > 0 AS kept_progress, rows_left > 0 AS work_left
  FROM expand_contract.backfill_status WHERE schema_name = 'backfill_worker';
SET client_min_messages = warning;
CALL expand_contract.run_backfill('backfill_worker');
RESET client_min_messages;
SELECT table_name, state, rows_done, rows_left FROM expand_contract.backfill_status
 WHERE schema_name = 'backfill_worker';
SELECT runner, state, alive FROM expand_contract.backfill_runners WHERE schema_name = 'backfill_worker';
SELECT expand_contract.rollback('backfill_worker');

--------------------------------------------------------------------------------
-- 3. A worker that fails reports why; once the cause is gone, a new one
--    resumes.
--------------------------------------------------------------------------------
CREATE FUNCTION backfill_worker.refuse_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = 2500 THEN
        RAISE EXCEPTION 'booking % is frozen', NEW.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_row BEFORE UPDATE ON bookings FOR EACH ROW EXECUTE FUNCTION refuse_row();
SELECT expand_contract.start('02_registered', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}}]}', 'backfill_worker');
SELECT expand_contract.start_backfill('backfill_worker', 1000) > 0 AS worker_started;
SELECT pg_temp.backfill_reaches('failed');
SELECT table_name, state, rows_done, error FROM expand_contract.backfill_status
 WHERE schema_name = 'backfill_worker';
SELECT pg_temp.worker_gone();
DROP TRIGGER refuse_row ON bookings;
SELECT expand_contract.start_backfill('backfill_worker', 1000) > 0 AS worker_started;
SELECT pg_temp.backfill_reaches('done');
SELECT table_name, state, rows_done, error FROM expand_contract.backfill_status
 WHERE schema_name = 'backfill_worker';
SELECT pg_temp.worker_gone();

--------------------------------------------------------------------------------
-- 4. Throttling: while a replication slot lags more than
--    expand_contract.max_replication_lag the worker waits.
--------------------------------------------------------------------------------
SELECT expand_contract.rollback('backfill_worker');
SELECT expand_contract.start('02_registered', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}}]}', 'backfill_worker');
SELECT 'slot' FROM pg_create_physical_replication_slot('backfill_worker_standby', true);
CREATE TABLE wal_filler AS SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 1000) g;
SET expand_contract.max_replication_lag = '1kB';
SELECT expand_contract.start_backfill('backfill_worker') > 0 AS worker_started;
RESET expand_contract.max_replication_lag;
SELECT pg_temp.backfill_reaches('throttled');
SELECT rows_done, error LIKE 'replication lag % kB is above 1 kB' AS says_why
  FROM expand_contract.backfill_status WHERE schema_name = 'backfill_worker';
-- The standby catches up (here: goes away), and the worker goes on.
SELECT pg_drop_replication_slot('backfill_worker_standby');
SELECT pg_temp.backfill_reaches('done');
SELECT pg_temp.worker_gone();

--------------------------------------------------------------------------------
-- 5. Rolling back while a worker runs stops it; its run goes with the
--    migration.
--------------------------------------------------------------------------------
SELECT expand_contract.rollback('backfill_worker');
SELECT expand_contract.start('02_registered', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}}]}', 'backfill_worker');
SELECT expand_contract.start_backfill('backfill_worker', 10, 100) > 0 AS worker_started;
SELECT expand_contract.rollback('backfill_worker');
SELECT pg_temp.worker_gone();
SELECT count(*) AS runs FROM expand_contract.backfill_runs WHERE schema_name = 'backfill_worker';

--------------------------------------------------------------------------------
-- 6. A writer that has to wait for a batch is noticed: the runner counts it
--    (and makes its next batches short).
--------------------------------------------------------------------------------
SELECT expand_contract.start('02_registered', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}}]}', 'backfill_worker');
-- The worker's first batch (rows 1 to 100) lingers on row 50.
CREATE FUNCTION backfill_worker.slow_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = 50 AND current_setting('application_name') = 'expand_contract backfill' THEN
        PERFORM pg_sleep(2);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER slow_row BEFORE UPDATE ON bookings FOR EACH ROW EXECUTE FUNCTION slow_row();
CREATE FUNCTION pg_temp.worker_sleeping()
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..600 LOOP
        PERFORM pg_stat_clear_snapshot();
        IF EXISTS (SELECT FROM pg_stat_activity
                    WHERE backend_type = 'expand_contract backfill' AND wait_event = 'PgSleep') THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
    RETURN false;
END $$;
SELECT expand_contract.start_backfill('backfill_worker', 100) > 0 AS worker_started;
SELECT pg_temp.worker_sleeping();
-- Row 10 is already in the batch: this write waits until the batch commits.
UPDATE bookings SET status = 'attended_registered' WHERE id = 10;
SELECT pg_temp.backfill_reaches('done');
SELECT writer_waits > 0 AS writer_waited_noticed FROM expand_contract.backfill_runners
 WHERE schema_name = 'backfill_worker';
SELECT id, status, _ec_new_registered FROM bookings WHERE id = 10;
SELECT * FROM expand_contract.verify('backfill_worker');
SELECT pg_temp.worker_gone();
DROP TRIGGER slow_row ON bookings;
SELECT expand_contract.rollback('backfill_worker');

--------------------------------------------------------------------------------
-- 7. Who may start and control a worker, and bad arguments.
--------------------------------------------------------------------------------
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start_backfill('backfill_worker')$$);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start_backfill(NULL)$$);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start_backfill('no_such_schema')$$);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start_backfill('backfill_worker', 0)$$);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start_backfill('backfill_worker', 10, -1)$$);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.resume_backfill(NULL)$$);

SET client_min_messages = warning;
CREATE ROLE backfill_worker_app LOGIN;
CREATE ROLE backfill_worker_group NOLOGIN;
CREATE ROLE backfill_worker_other LOGIN;
RESET client_min_messages;
-- The migration's owner may be a NOLOGIN group role: the worker connects as
-- the bootstrap superuser and runs each batch as the owner.
GRANT backfill_worker_group TO backfill_worker_app;
DO $$ BEGIN
    EXECUTE format('GRANT CREATE ON DATABASE %I TO backfill_worker_group', current_database());
END $$;
ALTER SCHEMA backfill_worker OWNER TO backfill_worker_group;
ALTER TABLE bookings OWNER TO backfill_worker_group;
SET ROLE backfill_worker_group;
SELECT expand_contract.start('02_registered', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}}]}', 'backfill_worker');
SELECT expand_contract.start_backfill('backfill_worker', 10, 200) > 0 AS worker_started;
RESET ROLE;
SELECT role_name FROM expand_contract.backfill_runners WHERE schema_name = 'backfill_worker';
-- Another role may not steer it; a member of the owner's role may.
SET ROLE backfill_worker_other;
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.pause_backfill('backfill_worker')$$);
SET ROLE backfill_worker_app;
SELECT expand_contract.cancel_backfill('backfill_worker');
RESET ROLE;
SELECT pg_temp.backfill_reaches('cancelled');
SELECT pg_temp.worker_gone();
SELECT expand_contract.rollback('backfill_worker');

SET client_min_messages = warning;
DROP SCHEMA backfill_worker CASCADE;
DO $$ BEGIN
    EXECUTE format('REVOKE CREATE ON DATABASE %I FROM backfill_worker_group', current_database());
END $$;
DROP ROLE backfill_worker_app, backfill_worker_group, backfill_worker_other;
