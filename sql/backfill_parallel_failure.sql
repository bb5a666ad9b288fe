-- A parallel backfill where one worker fails: its part stops where the
-- error is, the other worker finishes its own part, and once the cause is
-- gone a later run takes up the failed part from its cursor.
\set SHOW_CONTEXT never
CREATE SCHEMA backfill_parallel_failure;
SET search_path = backfill_parallel_failure;
CREATE TABLE readings (id integer PRIMARY KEY, divisor integer NOT NULL);
INSERT INTO readings SELECT g, CASE WHEN g = 15000 THEN 0 ELSE g % 7 + 1 END FROM generate_series(1, 20000) g;
SELECT FROM expand_contract.start('02_ratio', '{"operations": [{"add_column": {"table": "readings",
  "column": {"name": "ratio", "type": "integer", "nullable": true}, "up": "100 / divisor"}}]}',
  'backfill_parallel_failure');
SET client_min_messages = warning;

\i sql/include/backfill_workers.psql

-- Row 15000 (in the second part) divides by zero: worker 1 fails there,
-- worker 0 finishes.
SELECT expand_contract.start_backfill('backfill_parallel_failure', 1000, workers => 2) IS NOT NULL AS started;
SELECT pg_temp.workers_reach('backfill_parallel_failure', 'done', 'failed');
SELECT worker, state, error FROM expand_contract.backfill_runners
 WHERE schema_name = 'backfill_parallel_failure' ORDER BY worker;
SELECT part, done, cursor[1]::integer < 15000 AS stopped_before_the_row
  FROM expand_contract.backfill_progress WHERE schema_name = 'backfill_parallel_failure' ORDER BY part;
SELECT table_name, state FROM expand_contract.backfill_status WHERE schema_name = 'backfill_parallel_failure';

-- The row fixed (the old version writes it: its new column is computed
-- now), one worker takes up the failed part.
UPDATE readings SET divisor = 4 WHERE id = 15000;
SELECT expand_contract.start_backfill('backfill_parallel_failure', 1000) IS NOT NULL AS started;
SELECT pg_temp.workers_reach('backfill_parallel_failure', 'done');
SELECT bool_and(done) AS all_done FROM expand_contract.backfill_progress
 WHERE schema_name = 'backfill_parallel_failure';
SELECT count(*) AS mismatches FROM expand_contract.verify('backfill_parallel_failure');
SELECT FROM expand_contract.complete('backfill_parallel_failure');
SELECT count(*) FILTER (WHERE ratio = 100 / divisor) AS computed, count(*) AS total FROM readings;

RESET client_min_messages;
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA backfill_parallel_failure CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'backfill_parallel_failure';
