--
-- partitioned_tables: bookings partitioned by month migrate like a plain
-- table. The staged columns go on the parent (so on every partition), one
-- sync trigger on the parent is cloned onto each partition, present and
-- future, and binds its rules by column name on each (the November
-- partition was attached with its columns in another order, after a dropped
-- one). The backfill goes partition by partition, each with its own progress.
--
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA partitioned_tables;
SET search_path = partitioned_tables;

SET ec_test.schema = 'partitioned_tables';
\i sql/include/op_helpers.psql

-- Version 1 of the app.
CREATE TABLE bookings (id integer NOT NULL, day date NOT NULL, status text NOT NULL, legacy text,
                       PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE bookings_2026_10 PARTITION OF bookings FOR VALUES FROM ('2026-10-01') TO ('2026-11-01');
CREATE TABLE bookings_2026_11 (gone integer, legacy text, status text NOT NULL, day date NOT NULL,
                               id integer NOT NULL);
ALTER TABLE bookings_2026_11 DROP COLUMN gone;
ALTER TABLE bookings ATTACH PARTITION bookings_2026_11 FOR VALUES FROM ('2026-11-01') TO ('2026-12-01');
CREATE INDEX bookings_status_idx ON bookings (status);
INSERT INTO bookings
SELECT g, DATE '2026-10-01' + g, (ARRAY['booked', 'attended', 'attended_registered'])[1 + g % 3], 'note ' || g
  FROM generate_series(1, 50) g;

CREATE FUNCTION pg_temp.registered_doc() RETURNS jsonb LANGUAGE sql AS $$
SELECT '{"operations": [
  {"add_column": {"table": "bookings",
                  "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}},
  {"alter_column": {"table": "bookings", "column": "status", "type": "varchar(24)",
                    "up": "status", "down": "status"}},
  {"drop_column": {"table": "bookings", "column": "legacy", "down": "''(none)''"}},
  {"create_index": {"table": "bookings", "name": "bookings_day_idx", "columns": [{"column": "day"}]}}]}'::jsonb
$$;

--------------------------------------------------------------------------
-- Documents that start() must refuse. Each leaves nothing behind.
--------------------------------------------------------------------------
-- a partition alone
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "bookings_2026_10",
    "column": {"name": "registered", "type": "boolean", "nullable": true}, "up": "true"}}]}$$);
-- the partition key's column (complete() could not drop it)
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "bookings",
    "column": "day", "down": "DATE '2026-10-01'"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "bookings",
    "column": "day", "type": "timestamptz", "up": "day", "down": "day::date"}}]}$$);
-- a partition in another schema (the backfill keeps its progress by name)
CREATE SCHEMA partitioned_elsewhere;
CREATE TABLE visits (id integer NOT NULL, day date NOT NULL) PARTITION BY RANGE (day);
CREATE TABLE partitioned_elsewhere.visits_2026 PARTITION OF visits FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "visits",
    "column": {"name": "late", "type": "boolean", "nullable": true}, "up": "day > '2026-06-30'"}}]}$$);
DROP TABLE visits;
DROP SCHEMA partitioned_elsewhere;
-- a constraint's index carried to a copy: its index could be built partition
-- by partition, but not the constraint made of them yet
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "bookings",
    "column": "id", "type": "bigint"}}]}$$);

--------------------------------------------------------------------------
-- The whole cycle.
--------------------------------------------------------------------------
SELECT expand_contract.start('01_registered', pg_temp.registered_doc(), 'partitioned_tables') AS version_schema;
-- One trigger on the parent, a clone of it on each partition.
SELECT tgrelid::regclass AS "table", tgparentid <> 0 AS cloned
  FROM pg_trigger WHERE tgname = 'zz_expand_contract_sync' ORDER BY 1;
-- Indexes are built partition by partition (the status index is carried to
-- the staged column, the day index is new): the parent's own, ON ONLY it,
-- waits for them.
SET client_min_messages = warning;
CALL expand_contract.wait_for_index_builds('partitioned_tables');
RESET client_min_messages;
SELECT index_name, table_name, state FROM expand_contract.index_build_status
 WHERE schema_name = 'partitioned_tables' ORDER BY 1;
-- Progress is kept by partition.
SELECT table_name, key_columns, rows_total, done FROM expand_contract.backfill_progress
 WHERE schema_name = 'partitioned_tables' ORDER BY 1;

-- The old app writes while the backfill has not run. An UPDATE of the
-- partitioned table computes the new columns in its plan, for every
-- partition it reaches (the planner maps the parent's columns to each).
INSERT INTO bookings VALUES (100, '2026-10-20', 'attended_registered', 'old app');
EXPLAIN (VERBOSE, COSTS OFF) UPDATE bookings SET status = 'attended_registered' WHERE id = 3;
UPDATE bookings SET status = 'attended_registered' WHERE id = 3;
SET client_min_messages = warning;
CALL expand_contract.run_backfill('partitioned_tables');
RESET client_min_messages;
SELECT table_name, rows_done, done FROM expand_contract.backfill_progress
 WHERE schema_name = 'partitioned_tables' ORDER BY 1;

-- A partition created during the migration gets the staged columns and the
-- trigger from its parent.
CREATE TABLE bookings_2026_12 PARTITION OF bookings FOR VALUES FROM ('2026-12-01') TO ('2027-01-01');
-- A table of rows attached during the migration needs the migration's
-- columns, and its rows their new values (the new version is open already):
-- prepare_partition adds and computes them.
CREATE TABLE bookings_2027_01 (id integer NOT NULL, day date NOT NULL, status text NOT NULL, legacy text);
INSERT INTO bookings_2027_01 VALUES (200, '2027-01-05', 'attended_registered', 'archive'),
                                    (201, '2027-01-06', 'booked', 'archive');
SELECT pg_temp.error_of($$ALTER TABLE bookings ATTACH PARTITION bookings_2027_01
                          FOR VALUES FROM ('2027-01-01') TO ('2027-02-01')$$);
SELECT expand_contract.prepare_partition('bookings_2027_01', 'bookings') AS rows_computed;
ALTER TABLE bookings ATTACH PARTITION bookings_2027_01 FOR VALUES FROM ('2027-01-01') TO ('2027-02-01');
SELECT tgrelid::regclass AS "table", tgparentid <> 0 AS cloned
  FROM pg_trigger WHERE tgname = 'zz_expand_contract_sync' ORDER BY 1;

-- Both apps write, into every partition.
INSERT INTO bookings VALUES (101, '2026-11-20', 'attended_registered', 'old app'),
                            (102, '2026-12-20', 'booked', 'old app');
SET search_path = partitioned_tables_01_registered;
INSERT INTO bookings (id, day, status, registered) VALUES (103, '2026-12-21', 'attended', true),
                                                          (104, '2026-10-21', 'booked', false);
UPDATE bookings SET status = 'attended_registered', registered = true WHERE id = 40;
-- A row moved to another partition is synced there too.
UPDATE bookings SET day = '2026-11-05', status = 'attended_registered', registered = true WHERE id = 5;
SET search_path = partitioned_tables;
UPDATE bookings SET day = '2026-12-05' WHERE id = 8;
SET search_path = partitioned_tables_01_registered;
SELECT id, status, registered FROM bookings WHERE id IN (3, 5, 8, 40, 100, 101, 102, 103, 104, 200, 201) ORDER BY id;
RESET search_path;
SET search_path = partitioned_tables;
SELECT tableoid::regclass AS partition, id, status, legacy
  FROM bookings WHERE id IN (3, 5, 8, 40, 100, 101, 102, 103, 104, 200, 201) ORDER BY id;
SELECT * FROM expand_contract.verify('partitioned_tables');

-- Roll back: nothing of the migration is left on any partition.
SELECT expand_contract.rollback('partitioned_tables');
SELECT * FROM pg_temp.leftovers();

-- Again, to the end.
SELECT expand_contract.start('01_registered', pg_temp.registered_doc(), 'partitioned_tables') AS version_schema;
SET client_min_messages = warning;
CALL expand_contract.wait_for_index_builds('partitioned_tables');
CALL expand_contract.run_backfill('partitioned_tables');
RESET client_min_messages;
SELECT expand_contract.complete('partitioned_tables', force => true);
SELECT * FROM pg_temp.columns('bookings');
SELECT * FROM pg_temp.columns('bookings_2026_11');
-- The parent's indexes are valid, attached to one on every partition.
SELECT c.relname AS index, i.indisvalid AS valid,
       (SELECT count(*) FROM pg_inherits WHERE inhparent = i.indexrelid) AS partitions,
       pg_get_indexdef(i.indexrelid) AS definition
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'bookings'::regclass ORDER BY 1;
SELECT * FROM pg_temp.leftovers();
SELECT count(*) AS rows, count(*) FILTER (WHERE registered) AS registered,
       count(*) FILTER (WHERE registered <> (status = 'attended_registered') AND id NOT IN (103, 104)) AS out_of_step
  FROM bookings;

-- Clean up.
SET client_min_messages = warning;
RESET search_path;
DROP SCHEMA partitioned_tables, partitioned_tables_01_registered CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'partitioned_tables';
