-- Rate limits: writers' commits wait for the WAL flush, and a backfill's WAL
-- queues ahead of theirs, so a backfill can be held to a number of rows, or
-- of WAL bytes, per second. The runner pauses after each batch for as long
-- as the limit asks (backfill_runners.throttled_ms adds the pauses up), and
-- its worker carries the limits of the session that started it.
\set SHOW_CONTEXT never
CREATE SCHEMA backfill_rate_limits;
SET search_path = backfill_rate_limits;
CREATE TABLE readings (id integer PRIMARY KEY, celsius numeric NOT NULL);
INSERT INTO readings SELECT g, g % 40 FROM generate_series(1, 2000) g;

CREATE FUNCTION pg_temp.start() RETURNS void LANGUAGE sql AS $$
    SELECT FROM expand_contract.start('02_fahrenheit', '{"operations": [{"add_column": {"table": "readings",
      "column": {"name": "fahrenheit", "type": "numeric", "nullable": true}, "up": "celsius * 9 / 5 + 32"}}]}',
      'backfill_rate_limits')
$$;
CREATE FUNCTION pg_temp.run() RETURNS TABLE (max_rows_per_second integer, max_wal_kb_per_second integer,
                                             paused boolean, rows_left bigint)
LANGUAGE sql AS $$
    SELECT r.max_rows_per_second, r.max_wal_kb_per_second, r.throttled_ms > 0,
           (SELECT sum(b.rows_left)::bigint FROM expand_contract.backfill_status b
             WHERE b.schema_name = 'backfill_rate_limits')
      FROM expand_contract.backfill_runners r WHERE r.schema_name = 'backfill_rate_limits'
$$;
-- Waits (at most a minute) until every worker of the schema's run is done.
CREATE PROCEDURE pg_temp.wait_until_workers_done() LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..1200 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM expand_contract.backfill_runners
                               WHERE schema_name = 'backfill_rate_limits' AND state <> 'done');
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SET client_min_messages = warning;   -- the backfill's NOTICEs report rates

-- By default a backfill writes at most 32MB of WAL per second (what it adds
-- to writers' commit flushes stays bounded), and no limit on rows.
SELECT pg_temp.start();
SHOW expand_contract.backfill_max_wal_per_second;
CALL expand_contract.run_backfill('backfill_rate_limits', 500);
SELECT max_rows_per_second, max_wal_kb_per_second, rows_left FROM pg_temp.run();
SELECT expand_contract.rollback('backfill_rate_limits');

-- No limit (0 for both): the runner never pauses.
SELECT pg_temp.start();
SET expand_contract.backfill_max_wal_per_second = 0;
CALL expand_contract.run_backfill('backfill_rate_limits', 500);
SELECT * FROM pg_temp.run();
RESET expand_contract.backfill_max_wal_per_second;
SELECT expand_contract.rollback('backfill_rate_limits');

-- At most 5000 rows per second: batches of 500 rows take 100 ms each.
SELECT pg_temp.start();
SET expand_contract.backfill_max_rows_per_second = 5000;
CALL expand_contract.run_backfill('backfill_rate_limits', 500);
SELECT * FROM pg_temp.run();
RESET expand_contract.backfill_max_rows_per_second;
SELECT expand_contract.rollback('backfill_rate_limits');

-- At most 256 kB of WAL per second.
SELECT pg_temp.start();
SET expand_contract.backfill_max_wal_per_second = '256kB';
CALL expand_contract.run_backfill('backfill_rate_limits', 500);
SELECT * FROM pg_temp.run();
RESET expand_contract.backfill_max_wal_per_second;
SELECT expand_contract.rollback('backfill_rate_limits');

-- Batches sized by time (batch_size NULL) aim at batch_target_ms (100 ms)
-- only while nothing holds the runner back. While a limit makes it pause
-- after each batch they aim at 5 ms: the pause pays for their extra commits,
-- and the backfill's WAL and row locks come in short bursts spread over each
-- second. Here each row takes over 0.2 ms: limited to 1000 rows per second
-- (well below what the slowest machine we run on does unlimited, or no pause
-- would come), the 4000 rows take over a hundred batches; unlimited, batches
-- grow back and take a few dozen.
CREATE TABLE slow_readings (id integer PRIMARY KEY, celsius numeric NOT NULL);
INSERT INTO slow_readings SELECT g, g % 40 FROM generate_series(1, 4000) g;
CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    until timestamptz := clock_timestamp() + interval '200 microseconds';
BEGIN
    WHILE clock_timestamp() < until LOOP
    END LOOP;
    RETURN NEW;
END $$;
CREATE TRIGGER slow_row BEFORE UPDATE ON slow_readings FOR EACH ROW EXECUTE FUNCTION slow_row();
CREATE FUNCTION pg_temp.start_slow() RETURNS void LANGUAGE sql AS $$
    SELECT FROM expand_contract.start('02_slow_fahrenheit', '{"operations": [{"add_column": {"table": "slow_readings",
      "column": {"name": "fahrenheit", "type": "numeric", "nullable": true}, "up": "celsius * 9 / 5 + 32"}}]}',
      'backfill_rate_limits')
$$;
CREATE FUNCTION pg_temp.slow_batches() RETURNS TABLE (batches bigint, rows_left bigint) LANGUAGE sql AS $$
    SELECT batches, rows_left FROM expand_contract.backfill_status
     WHERE schema_name = 'backfill_rate_limits' AND table_name = 'slow_readings'
$$;
SELECT pg_temp.start_slow();
SET expand_contract.backfill_max_rows_per_second = 1000;
CALL expand_contract.run_backfill('backfill_rate_limits');
RESET expand_contract.backfill_max_rows_per_second;
SELECT batches > 100 AS short_batches, rows_left FROM pg_temp.slow_batches();
SELECT expand_contract.rollback('backfill_rate_limits');
SELECT pg_temp.start_slow();
SET expand_contract.backfill_max_wal_per_second = 0;
CALL expand_contract.run_backfill('backfill_rate_limits');
RESET expand_contract.backfill_max_wal_per_second;
SELECT batches < 60 AS batches_grew_back, rows_left FROM pg_temp.slow_batches();
SELECT * FROM expand_contract.verify('backfill_rate_limits');
SELECT expand_contract.rollback('backfill_rate_limits');
DROP TABLE slow_readings;

-- The pages a backfill dirties are written back as it goes: its batches ask
-- the kernel for writeback every 256 kB (backend_flush_after), instead of the
-- kernel writing each file's dirty pages at once 30 s later, while writers'
-- WAL syncs wait. A session that set its own value keeps it, and the
-- session's setting is the same after the CALL. A trigger on the table sees
-- the setting each batch ran with.
CREATE TABLE batch_settings (flush_after text);
CREATE FUNCTION note_flush_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO backfill_rate_limits.batch_settings VALUES (current_setting('backend_flush_after'));
    RETURN NEW;
END $$;
CREATE TRIGGER note_flush_after BEFORE UPDATE ON readings FOR EACH ROW EXECUTE FUNCTION note_flush_after();
SET client_min_messages = error;  -- start's warning that the trigger sees staged columns
SELECT pg_temp.start();
SET client_min_messages = warning;
CALL expand_contract.run_backfill('backfill_rate_limits', 500);
SELECT flush_after, count(*) AS rows FROM batch_settings GROUP BY flush_after;
SHOW backend_flush_after;
SELECT expand_contract.rollback('backfill_rate_limits');
TRUNCATE batch_settings;
SET backend_flush_after = '1MB';
SET client_min_messages = error;
SELECT pg_temp.start();
SET client_min_messages = warning;
CALL expand_contract.run_backfill('backfill_rate_limits', 500);
SELECT flush_after, count(*) AS rows FROM batch_settings GROUP BY flush_after;
RESET backend_flush_after;
SELECT expand_contract.rollback('backfill_rate_limits');
DROP TRIGGER note_flush_after ON readings;

-- The worker takes the limits of the session that started it, the adaptive
-- one too (backfill_max_wal_sync_ms: it slows while the cluster's WAL syncs
-- take longer on average; t/004_backfill_wal_syncs.pl shows it on a durable
-- cluster, as this one, with fsync off, counts none).
SELECT pg_temp.start();
SET expand_contract.backfill_max_rows_per_second = 5000;
SET expand_contract.backfill_max_wal_sync_ms = 2.5;
SELECT expand_contract.start_backfill('backfill_rate_limits', 500) IS NOT NULL AS worker_started;
RESET expand_contract.backfill_max_rows_per_second;
RESET expand_contract.backfill_max_wal_sync_ms;
CALL pg_temp.wait_until_workers_done();
SELECT * FROM pg_temp.run();
SELECT max_wal_sync_ms FROM expand_contract.backfill_runners WHERE schema_name = 'backfill_rate_limits';
SELECT expand_contract.rollback('backfill_rate_limits');

-- The limits are the run's, not each worker's: two workers at 1000 rows per
-- second visit 500 rows per second each, so each of them, with 1000 rows in
-- batches of 500, pauses about a second after each batch (half that if each
-- had the whole limit). complete() right after the workers are done does not
-- wait for them: the last one opens the new version at once.
SELECT pg_temp.start();
SET expand_contract.backfill_max_rows_per_second = 1000;
SELECT expand_contract.start_backfill('backfill_rate_limits', 500, workers => 2) IS NOT NULL AS workers_started;
RESET expand_contract.backfill_max_rows_per_second;
CALL pg_temp.wait_until_workers_done();
SELECT worker, max_rows_per_second, throttled_ms >= 1500 AS paused_for_its_share
  FROM expand_contract.backfill_runners WHERE schema_name = 'backfill_rate_limits' ORDER BY worker;
SELECT sum(rows_left) AS rows_left FROM expand_contract.backfill_status WHERE schema_name = 'backfill_rate_limits';
SELECT expand_contract.complete('backfill_rate_limits');
SELECT count(*) FILTER (WHERE fahrenheit = celsius * 9 / 5 + 32) AS computed, count(*) AS total FROM readings;

RESET client_min_messages;
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA backfill_rate_limits CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'backfill_rate_limits';
