-- A backfill worker can vacuum its table as it goes
-- (expand_contract.backfill_vacuum_every, in rows): the row versions the
-- earlier batches left dead are then reused by the later ones, so the
-- table grows by about that many rows' worth instead of doubling, as one
-- UPDATE of every row (or a backfill without it) makes it.
\set SHOW_CONTEXT never
CREATE SCHEMA backfill_vacuum;
SET search_path = backfill_vacuum;
CREATE TABLE readings (id integer PRIMARY KEY, celsius integer NOT NULL) WITH (autovacuum_enabled = false);
INSERT INTO readings SELECT g, g % 40 FROM generate_series(1, 50000) g;
VACUUM ANALYZE readings;
SELECT pg_relation_size('readings') AS size_before \gset
SELECT FROM expand_contract.start('02_fahrenheit', '{"operations": [{"add_column": {"table": "readings",
  "column": {"name": "fahrenheit", "type": "integer", "nullable": true}, "up": "celsius * 9 / 5 + 32"}}]}',
  'backfill_vacuum');
SET client_min_messages = warning;

-- Waits for the worker, committing between looks so that this session
-- holds no snapshot the worker's VACUUM would have to respect.
CREATE PROCEDURE pg_temp.wait_for_backfill() LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN (SELECT state FROM expand_contract.backfill_runners
                    WHERE schema_name = 'backfill_vacuum') IN ('done', 'failed', 'cancelled');
        COMMIT;
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;

-- Without vacuuming: every row's new version goes to a new page.
SELECT expand_contract.start_backfill('backfill_vacuum', 2000) IS NOT NULL AS started;
CALL pg_temp.wait_for_backfill();
SELECT pg_relation_size('readings')::float8 / :size_before AS growth_without \gset
SELECT expand_contract.rollback('backfill_vacuum');
VACUUM FULL readings;
SELECT pg_relation_size('readings') AS size_before \gset
SELECT FROM expand_contract.start('02_fahrenheit', '{"operations": [{"add_column": {"table": "readings",
  "column": {"name": "fahrenheit", "type": "integer", "nullable": true}, "up": "celsius * 9 / 5 + 32"}}]}',
  'backfill_vacuum');

-- Vacuuming every 10,000 rows (a fifth of the table).
SET expand_contract.backfill_vacuum_every = 10000;
SELECT expand_contract.start_backfill('backfill_vacuum', 2000) IS NOT NULL AS started;
CALL pg_temp.wait_for_backfill();
SELECT state, vacuum_every_rows FROM expand_contract.backfill_runners WHERE schema_name = 'backfill_vacuum';
SELECT vacuum_count > 0 AS vacuumed FROM pg_stat_user_tables WHERE relid = 'readings'::regclass;
-- The new versions are wider (the staged column and the marker), so even
-- perfect reuse grows the heap; without vacuuming it more than doubles.
SELECT :growth_without > 2 AS doubled_without,
       pg_relation_size('readings')::float8 / :size_before < :growth_without - 0.4 AS grew_much_less
  FROM pg_class WHERE relname = 'readings' AND relnamespace = 'backfill_vacuum'::regnamespace;
SELECT count(*) AS mismatches FROM expand_contract.verify('backfill_vacuum');
SELECT FROM expand_contract.complete('backfill_vacuum');
SELECT count(*) FILTER (WHERE fahrenheit = celsius * 9 / 5 + 32) AS computed FROM readings;

RESET expand_contract.backfill_vacuum_every;
RESET client_min_messages;
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA backfill_vacuum CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'backfill_vacuum';
