-- How start_backfill(..., workers => N) splits a table into N parts of about
-- as many rows: by ANALYZE's histogram of the leading key column while it is
-- fresh (an index probe per split, where counting reads the whole key
-- range), else by counting keys. DEBUG1 names the way each table took.
-- Tables of a million rows and more are not counted either while their
-- statistics are fresh.
\set SHOW_CONTEXT never
CREATE SCHEMA backfill_split;
SET search_path = backfill_split;
-- Keys dense at first, sparse later: the middle row is not the middle key.
CREATE TABLE readings (id bigint PRIMARY KEY, value integer NOT NULL);
INSERT INTO readings SELECT CASE WHEN g <= 30000 THEN g ELSE 30000 + (g - 30000) * 100 END, g % 7
  FROM generate_series(1, 60000) g;
-- A composite key whose leading column has most common values, which a
-- histogram leaves out: counted.
CREATE TABLE visits (tenant integer, id integer, page text NOT NULL, PRIMARY KEY (tenant, id));
INSERT INTO visits SELECT CASE WHEN g % 2 = 0 THEN 1 ELSE g % 5 END, g, 'p' || g % 10
  FROM generate_series(1, 40000) g;
SELECT pg_stat_force_next_flush();   -- the inserts counted before ANALYZE, not after
ANALYZE readings, visits;
-- No ANALYZE but ours: what each split takes is shown.
ALTER TABLE readings SET (autovacuum_enabled = false);
ALTER TABLE visits SET (autovacuum_enabled = false);

\i sql/include/backfill_workers.psql
-- Each part's share of its table's rows, in whole percent, from the parts'
-- key ranges: (the part before's high water, its own].
CREATE FUNCTION pg_temp.part_shares() RETURNS TABLE (table_name name, part integer, share numeric)
LANGUAGE sql AS $$
    WITH parts AS (
        SELECT p.table_name, p.part, p.high_water,
               lag(p.high_water) OVER (PARTITION BY p.table_name ORDER BY p.part) AS after
          FROM expand_contract.backfill_progress p WHERE p.schema_name = 'backfill_split')
    SELECT p.table_name, p.part,
           round(CASE p.table_name
               WHEN 'readings' THEN (SELECT 100.0 * count(*) FROM backfill_split.readings r
                                      WHERE (p.after IS NULL OR r.id > p.after[1]::bigint)
                                        AND r.id <= p.high_water[1]::bigint)
                                    / (SELECT count(*) FROM backfill_split.readings)
               ELSE (SELECT 100.0 * count(*) FROM backfill_split.visits v
                      WHERE (p.after IS NULL OR (v.tenant, v.id) > (p.after[1]::integer, p.after[2]::integer))
                        AND (v.tenant, v.id) <= (p.high_water[1]::integer, p.high_water[2]::integer))
                    / (SELECT count(*) FROM backfill_split.visits) END)
      FROM parts p ORDER BY 1, 2
$$;

SET expand_contract.open_new_version = 'at_start';
CREATE FUNCTION pg_temp.start_migration() RETURNS void LANGUAGE sql AS $$
    SELECT FROM expand_contract.start('02_levels', '{"operations": [
      {"add_column": {"table": "readings", "column": {"name": "high", "type": "boolean", "nullable": true},
                      "up": "value > 3"}},
      {"add_column": {"table": "visits", "column": {"name": "page_upper", "type": "text", "nullable": true},
                      "up": "upper(page)"}}]}', 'backfill_split');
$$;
SELECT pg_temp.start_migration();
CREATE FUNCTION pg_temp.write_both(first integer) RETURNS void LANGUAGE sql AS $$
    UPDATE backfill_split.readings SET value = value + 1 WHERE id % 5000 = first % 5000;
    INSERT INTO backfill_split.readings VALUES (first, 3);
    INSERT INTO backfill_split_02_levels.readings VALUES (first + 1, 4, true);
    INSERT INTO backfill_split_02_levels.visits VALUES (9, first, 'p1', 'P1');
$$;

-- Fresh statistics: readings by its histogram, three even parts although
-- its keys are uneven; visits counted.
SET client_min_messages = debug1;
SELECT expand_contract.start_backfill('backfill_split', 2000, workers => 3) IS NOT NULL AS started;
SET client_min_messages = warning;
SELECT table_name, part, share BETWEEN 31 AND 36 AS about_a_third FROM pg_temp.part_shares();
SELECT pg_temp.write_both(10000000);
SELECT pg_temp.workers_reach('backfill_split', 'done');
SELECT count(*) AS mismatches FROM expand_contract.verify('backfill_split');
SELECT FROM expand_contract.rollback('backfill_split');

-- The backfill rewrote every row since ANALYZE: its histogram is not
-- trusted any more, readings is counted too, and its parts are as even.
SELECT pg_temp.start_migration();
SET client_min_messages = debug1;
SELECT expand_contract.start_backfill('backfill_split', 2000, workers => 2) IS NOT NULL AS started;
SET client_min_messages = warning;
SELECT table_name, part, share BETWEEN 48 AND 52 AS about_half FROM pg_temp.part_shares();
SELECT pg_temp.write_both(10000010);
SELECT pg_temp.workers_reach('backfill_split', 'done');
SELECT count(*) AS mismatches FROM expand_contract.verify('backfill_split');
SELECT FROM expand_contract.complete('backfill_split');
SELECT count(*) FILTER (WHERE high IS DISTINCT FROM (value > 3)) AS wrong_readings FROM readings;
SELECT count(*) FILTER (WHERE page_upper IS DISTINCT FROM upper(page)) AS wrong_visits FROM visits;

-- From a million rows on, fresh statistics stand in for counting the rows
-- too: progress shows about as many. A text key in its own collation is
-- split by its histogram as well.
-- (By key: from 8 MB on, the default order would visit big by page.)
SET expand_contract.backfill_order = key;
CREATE TABLE big (id integer PRIMARY KEY, n integer NOT NULL) WITH (autovacuum_enabled = false);
INSERT INTO big SELECT g, g % 10 FROM generate_series(1, 1000000) g;
CREATE TABLE codes (code text COLLATE "C" PRIMARY KEY, n integer NOT NULL)
  WITH (autovacuum_enabled = false);
INSERT INTO codes SELECT CASE WHEN g % 3 = 0 THEN 'Z' ELSE 'a' END || lpad(g::text, 6, '0'), g
  FROM generate_series(1, 30000) g;
SELECT pg_stat_force_next_flush();
VACUUM ANALYZE big, codes;
SELECT FROM expand_contract.start('03_even', '{"operations": [
  {"add_column": {"table": "big", "column": {"name": "even", "type": "boolean", "nullable": true},
                  "up": "n % 2 = 0"}},
  {"add_column": {"table": "codes", "column": {"name": "even", "type": "boolean", "nullable": true},
                  "up": "n % 2 = 0"}}]}', 'backfill_split');
SET client_min_messages = debug1;
SELECT expand_contract.start_backfill('backfill_split', 20000, workers => 2) IS NOT NULL AS started;
SET client_min_messages = warning;
SELECT part, rows_total BETWEEN 490000 AND 510000 AS about_half FROM expand_contract.backfill_progress
 WHERE schema_name = 'backfill_split' AND table_name = 'big' ORDER BY part;
SELECT p.part, (SELECT count(*) FROM codes c
                 WHERE (p.part = 0 OR c.code > q.high_water[1]) AND c.code <= p.high_water[1])
               BETWEEN 14500 AND 15500 AS about_half
  FROM expand_contract.backfill_progress p
  LEFT JOIN expand_contract.backfill_progress q
    ON q.schema_name = p.schema_name AND q.table_name = p.table_name AND q.part = p.part - 1
 WHERE p.schema_name = 'backfill_split' AND p.table_name = 'codes' ORDER BY p.part;
SELECT pg_temp.workers_reach('backfill_split', 'done');
SELECT FROM expand_contract.complete('backfill_split');
SELECT count(*) FILTER (WHERE even IS DISTINCT FROM (n % 2 = 0)) AS wrong_big FROM big;
SELECT count(*) FILTER (WHERE even IS DISTINCT FROM (n % 2 = 0)) AS wrong_codes FROM codes;
RESET expand_contract.backfill_order;

-- A table without a key is split by its pages into ranges of about as many
-- rows: after a VACUUM that left the live rows of events in the second half
-- of its pages, the free space map weighs each page, and the first part
-- takes the empty half and a quarter more. (Split into halves of its pages,
-- one worker would get no rows.) Each part's share is counted from where
-- the rows were when the split was made.
CREATE TABLE events (n integer NOT NULL, note text NOT NULL) WITH (autovacuum_enabled = false);
INSERT INTO events SELECT g, repeat('e', 100) FROM generate_series(1, 40000) g;
DELETE FROM events WHERE n <= 20000;
VACUUM events;
CREATE TEMP TABLE rows_on_page AS
  SELECT (ctid::text::point)[0]::bigint AS page, count(*) AS rows FROM events GROUP BY 1;
CREATE FUNCTION pg_temp.start_odd() RETURNS void LANGUAGE sql AS $$
    SELECT FROM expand_contract.start('04_odd', '{"operations": [
      {"add_column": {"table": "events", "column": {"name": "odd", "type": "boolean", "nullable": true},
                      "up": "n % 2 = 1"}}]}', 'backfill_split');
$$;
SELECT pg_temp.start_odd();
SET client_min_messages = debug1;
SELECT expand_contract.start_backfill('backfill_split', 2000, workers => 2) IS NOT NULL AS started;
SET client_min_messages = warning;
-- A part's pages: [the part before's high water, its own).
SELECT p.part, p.key_columns,
       (SELECT round(100.0 * sum(r.rows) / 20000) FROM rows_on_page r
         WHERE r.page >= coalesce(p.after[1]::bigint, 0) AND r.page < p.high_water[1]::bigint)
       BETWEEN 45 AND 55 AS about_half
  FROM (SELECT part, key_columns, high_water,
               lag(high_water) OVER (ORDER BY part) AS after
          FROM expand_contract.backfill_progress
         WHERE schema_name = 'backfill_split' AND table_name = 'events') p
 ORDER BY p.part;
-- Both versions write meanwhile, also to rows no worker has reached.
UPDATE events SET n = n + 2 WHERE n % 1000 = 1;
INSERT INTO events VALUES (50001, 'old app');
INSERT INTO backfill_split_04_odd.events VALUES (50002, 'new app', false);
SELECT pg_temp.workers_reach('backfill_split', 'done');
SELECT count(*) AS mismatches FROM expand_contract.verify('backfill_split');
SELECT FROM expand_contract.rollback('backfill_split');
-- Again, to the end.
SELECT pg_temp.start_odd();
SELECT expand_contract.start_backfill('backfill_split', 2000, workers => 2) IS NOT NULL AS started;
SELECT pg_temp.workers_reach('backfill_split', 'done');
SELECT FROM expand_contract.complete('backfill_split');
SELECT count(*) AS events, count(*) FILTER (WHERE odd IS DISTINCT FROM (n % 2 = 1)) AS wrong_events
  FROM events;

RESET client_min_messages;
RESET search_path;
RESET expand_contract.open_new_version;
SET client_min_messages = warning;
DROP SCHEMA backfill_split CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'backfill_split';
