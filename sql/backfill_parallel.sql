-- Parallel backfill: start_backfill(..., workers => 2) splits what is left
-- of each table backfilled by key into two parts of about as many rows, and
-- each worker takes its own: progress by part, summed in backfill_status,
-- per worker in backfill_runners. Both versions write meanwhile; workers
-- pause, resume and cancel together; a worker killed mid-way leaves its
-- part where it was, and a later start_backfill (any number of workers)
-- goes on from there.
\set SHOW_CONTEXT never
CREATE SCHEMA backfill_parallel;
SET search_path = backfill_parallel;
CREATE TABLE events (id integer PRIMARY KEY, kind text NOT NULL);
INSERT INTO events SELECT g, CASE WHEN g % 4 = 0 THEN 'click' ELSE 'view' END
  FROM generate_series(1, 20000) g;
-- Never analyzed, so split by counting, at its middle row exactly
-- (sql/backfill_parallel_split shows the split by statistics).
ALTER TABLE events SET (autovacuum_enabled = false);
CREATE TABLE tags (tag text, weight integer NOT NULL);   -- no key: by position, split by pages
INSERT INTO tags SELECT 't' || g, g FROM generate_series(1, 3000) g;
SET expand_contract.open_new_version = 'at_start';
SELECT FROM expand_contract.start('02_flags', '{"operations": [
  {"add_column": {"table": "events", "column": {"name": "is_click", "type": "boolean", "nullable": true},
                  "up": "kind = ''click''"}},
  {"add_column": {"table": "tags", "column": {"name": "heavy", "type": "boolean", "nullable": true},
                  "up": "weight > 1500"}}]}', 'backfill_parallel');
SET client_min_messages = warning;

\i sql/include/backfill_workers.psql
-- Writes of both versions.
CREATE FUNCTION pg_temp.write_both(first integer) RETURNS void LANGUAGE sql AS $$
    UPDATE backfill_parallel.events SET kind = 'click' WHERE id % 1000 = first % 1000;
    INSERT INTO backfill_parallel.events VALUES (first, 'view');
    INSERT INTO backfill_parallel_02_flags.events VALUES (first + 1, 'click', true);
$$;

-- Two workers, paused as soon as they run: the key range of events is split
-- at its middle row, disjoint and covering; tags, without a key, into two
-- ranges of its pages.
SELECT expand_contract.start_backfill('backfill_parallel', 500, 200, workers => 2) IS NOT NULL AS started;
SELECT expand_contract.pause_backfill('backfill_parallel');
SELECT pg_temp.workers_reach('backfill_parallel', 'paused');
SELECT table_name, part, high_water,
       CASE WHEN part = 0 THEN cursor IS NULL OR cursor[1]::integer <= 10000
            ELSE cursor[1]::integer >= 10000 END AS cursor_in_its_range
  FROM expand_contract.backfill_progress
 WHERE schema_name = 'backfill_parallel' AND table_name = 'events' ORDER BY 1, 2;
SELECT count(*) AS tags_parts FROM expand_contract.backfill_progress
 WHERE schema_name = 'backfill_parallel' AND table_name = 'tags';
SELECT pg_temp.write_both(30000);

SELECT (SELECT high_water[1] FROM expand_contract.backfill_progress
         WHERE schema_name = 'backfill_parallel' AND table_name = 'tags' AND part = 1)
       = (pg_relation_size('tags') / current_setting('block_size')::integer)::text
       AS tags_last_part_ends_at_the_last_page;

-- Resumed, then cancelled: both workers stop, their progress kept.
SELECT expand_contract.resume_backfill('backfill_parallel');
SELECT pg_sleep(0.3);
SELECT pg_temp.write_both(30010);
SELECT expand_contract.cancel_backfill('backfill_parallel');
SELECT pg_temp.workers_reach('backfill_parallel', 'cancelled', 'done');
SELECT table_name, bool_and(NOT done) AS not_done, count(*) AS parts
  FROM expand_contract.backfill_progress WHERE schema_name = 'backfill_parallel' AND table_name = 'events'
 GROUP BY 1;

-- Two workers again: the parts are kept (not split anew). Worker 1 is
-- killed while paused; worker 0 finishes its share, worker 1's part waits.
SELECT expand_contract.start_backfill('backfill_parallel', 500, 50, workers => 2) IS NOT NULL AS started;
SELECT expand_contract.pause_backfill('backfill_parallel');
SELECT pg_temp.workers_reach('backfill_parallel', 'paused');
SELECT count(*) AS parts FROM expand_contract.backfill_progress
 WHERE schema_name = 'backfill_parallel' AND table_name = 'events';
SELECT pg_terminate_backend(pid) FROM expand_contract.backfill_runners
 WHERE schema_name = 'backfill_parallel' AND worker = 1;
DO $$
BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN NOT (SELECT alive FROM expand_contract.backfill_runners
                        WHERE schema_name = 'backfill_parallel' AND worker = 1);
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT pg_temp.workers_reach('backfill_parallel', 'paused', 'gone');
SELECT expand_contract.resume_backfill('backfill_parallel');
SELECT pg_temp.write_both(30020);
SELECT pg_temp.workers_reach('backfill_parallel', 'done', 'gone');
SELECT table_name, part, done FROM expand_contract.backfill_progress
 WHERE schema_name = 'backfill_parallel' ORDER BY 1, 2;
SELECT table_name, state FROM expand_contract.backfill_status
 WHERE schema_name = 'backfill_parallel' ORDER BY 1;

-- One worker takes the part left, from its cursor.
SELECT expand_contract.start_backfill('backfill_parallel', 500) IS NOT NULL AS started;
SELECT pg_temp.workers_reach('backfill_parallel', 'done');
SELECT bool_and(done) AS all_done, sum(rows_done) >= 20000 AS rows_counted
  FROM expand_contract.backfill_progress WHERE schema_name = 'backfill_parallel';
SELECT count(*) AS mismatches FROM expand_contract.verify('backfill_parallel');
SELECT FROM expand_contract.complete('backfill_parallel');
SELECT count(*) AS events, count(*) FILTER (WHERE is_click) AS clicks,
       count(*) FILTER (WHERE is_click IS DISTINCT FROM (kind = 'click')) AS wrong FROM events;
SELECT count(*) FILTER (WHERE heavy IS DISTINCT FROM (weight > 1500)) AS wrong_tags FROM tags;

-- With the new version gated until backfilled (the default), the last
-- worker to be done opens it.
RESET expand_contract.open_new_version;
SELECT FROM expand_contract.start('03_kind_code', '{"operations": [
  {"add_column": {"table": "events", "column": {"name": "kind_code", "type": "integer", "nullable": true},
                  "up": "length(kind)"}}]}', 'backfill_parallel');
SELECT DISTINCT new_version_open FROM expand_contract.status('backfill_parallel');
SELECT expand_contract.start_backfill('backfill_parallel', 1000, workers => 2) IS NOT NULL AS started;
SELECT pg_temp.workers_reach('backfill_parallel', 'done');
DO $$
BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN (SELECT open_steps = '[]' FROM expand_contract.migrations
                    WHERE schema_name = 'backfill_parallel' AND phase = 'active');
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT open_steps = '[]' AS views_opened FROM expand_contract.migrations
 WHERE schema_name = 'backfill_parallel' AND phase = 'active';
SELECT count(*) FILTER (WHERE kind_code = length(kind)) AS computed FROM backfill_parallel_03_kind_code.events;
SELECT FROM expand_contract.complete('backfill_parallel');

-- By position, a rewrite mid-run (VACUUM FULL) moves rows still to fill
-- below the parts' cursors, also into a part already done: the last part
-- to finish finds them and passes over the whole table again.
CREATE TABLE notes (body text NOT NULL, size integer NOT NULL) WITH (autovacuum_enabled = false);
INSERT INTO notes SELECT repeat('n', 50) || g, g FROM generate_series(1, 20000) g;
DELETE FROM notes WHERE size % 2 = 0;
SELECT FROM expand_contract.start('04_notes', '{"operations": [
  {"add_column": {"table": "notes", "column": {"name": "big", "type": "boolean", "nullable": true},
                  "up": "size > 10000"}}]}', 'backfill_parallel');
SELECT expand_contract.start_backfill('backfill_parallel', 1000, 100, workers => 2) IS NOT NULL AS started;
DO $$
BEGIN
    FOR i IN 1..600 LOOP   -- until both parts have filled some rows
        EXIT WHEN (SELECT bool_and(rows_done > 0) FROM expand_contract.backfill_progress
                    WHERE schema_name = 'backfill_parallel' AND table_name = 'notes');
        PERFORM pg_sleep(0.02);
    END LOOP;
END $$;
SELECT expand_contract.pause_backfill('backfill_parallel');
SELECT pg_temp.workers_reach('backfill_parallel', 'paused');
SELECT count(*) FILTER (WHERE NOT done) AS parts_left FROM expand_contract.backfill_progress
 WHERE schema_name = 'backfill_parallel' AND table_name = 'notes';
VACUUM FULL notes;
SELECT expand_contract.resume_backfill('backfill_parallel');
SELECT pg_temp.workers_reach('backfill_parallel', 'done');
SELECT count(*) AS mismatches FROM expand_contract.verify('backfill_parallel');
SELECT FROM expand_contract.complete('backfill_parallel');
SELECT count(*) AS notes, count(*) FILTER (WHERE big IS DISTINCT FROM (size > 10000)) AS wrong_notes FROM notes;

RESET client_min_messages;
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA backfill_parallel CASCADE;
DROP SCHEMA IF EXISTS backfill_parallel_03_kind_code CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'backfill_parallel';
