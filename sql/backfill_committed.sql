-- backfill_committed: run_backfill commits after every batch, so an
-- interrupted backfill keeps what it did and the next call continues from
-- there; verify() shows rows whose versions disagree, and
-- complete(verify => true) refuses to contract while any do.

CREATE SCHEMA backfill_committed;
SET search_path = backfill_committed;
CREATE TABLE bookings (id int PRIMARY KEY, status text NOT NULL);
INSERT INTO bookings SELECT g, (ARRAY['booked', 'cancelled', 'attended', 'attended_registered'])[1 + g % 4]
  FROM generate_series(1, 200) g;
CREATE FUNCTION is_registered(id int, status text) RETURNS boolean IMMUTABLE LANGUAGE sql
AS $$ SELECT status = 'attended_registered' $$;
SELECT expand_contract.start('02_registered', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "backfill_committed.is_registered(id, status)"}}]}', 'backfill_committed') AS version_schema;

-- It needs CALL outside a transaction block, and sane arguments.
BEGIN;
CALL expand_contract.run_backfill('backfill_committed');
ROLLBACK;
SELECT expand_contract.backfill('backfill_committed', 1, 0);   -- the in-transaction variant still works: 0 batches
CALL expand_contract.run_backfill(NULL);
CALL expand_contract.run_backfill('backfill_committed', 0);
CALL expand_contract.run_backfill('backfill_committed', 10, -1);
CALL expand_contract.run_backfill('no_such_schema');
CALL expand_contract.run_backfill('public');

-- Interrupted after a few batches of 10 (the statement times out during the
-- pauses between them): what was committed stays committed.
SET client_min_messages = warning;   -- progress notices carry timings
SET statement_timeout = '400ms';
CALL expand_contract.run_backfill('backfill_committed', batch_size => 10, batch_delay_ms => 100);
RESET statement_timeout;
SELECT rows_done > 0 AS some_done, rows_done < rows_total AS some_left, done,
       rows_done = batches * 10 AS whole_batches
  FROM expand_contract.backfill_progress WHERE schema_name = 'backfill_committed';
SELECT count(*) FILTER (WHERE NOT _ec_needs_backfill) > 0 AS rows_synced,
       count(*) FILTER (WHERE _ec_needs_backfill) > 0 AS rows_pending
  FROM bookings;

-- The next call continues where the last one stopped, sizing its batches to
-- expand_contract.batch_target_ms.
SET expand_contract.batch_target_ms = 5;
CALL expand_contract.run_backfill('backfill_committed');
RESET client_min_messages;
SELECT rows_done, rows_total, done FROM expand_contract.backfill_progress
 WHERE schema_name = 'backfill_committed';
SELECT backfill_rows_left FROM expand_contract.status('backfill_committed');

-- Every row is consistent.
SELECT * FROM expand_contract.verify('backfill_committed');

-- The function "up" calls is replaced under the migration: rows filled
-- before now disagree with it (here two of them). verify shows them,
-- complete refuses.
CREATE OR REPLACE FUNCTION is_registered(id int, status text) RETURNS boolean IMMUTABLE LANGUAGE sql
AS $$ SELECT (status = 'attended_registered') <> (id IN (3, 7)) $$;
SELECT * FROM expand_contract.verify('backfill_committed') ORDER BY key, column_name;
SELECT expand_contract.complete('backfill_committed', verify => true);
-- Writing the rows again brings them back in step.
UPDATE bookings SET status = status WHERE id IN (3, 7);
SELECT count(*) AS mismatches FROM expand_contract.verify('backfill_committed');
SELECT expand_contract.complete('backfill_committed', verify => true);
SELECT expand_contract.verify('backfill_committed');
SELECT registered, count(*) FROM bookings GROUP BY 1 ORDER BY 1;

SET client_min_messages = warning;
DROP SCHEMA backfill_committed, backfill_committed_02_registered CASCADE;

-- verify() names nothing a user's table could also use: a table called v
-- with columns called like verify's own output.
CREATE SCHEMA backfill_committed_names;
CREATE TABLE backfill_committed_names.v (name text PRIMARY KEY, expected text NOT NULL, actual text);
CREATE FUNCTION backfill_committed_names.is_registered(name text, expected text) RETURNS boolean
IMMUTABLE LANGUAGE sql AS $$ SELECT expected = 'attended_registered' $$;
INSERT INTO backfill_committed_names.v VALUES ('a', 'booked', NULL), ('b', 'attended_registered', NULL);
SELECT expand_contract.start('02_registered', '{"operations": [
  {"add_column": {"table": "v", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "backfill_committed_names.is_registered(name, expected)"}}]}', 'backfill_committed_names');
SELECT table_name, rows, rows_left FROM expand_contract.backfill('backfill_committed_names');
-- (a disagreeing row, as above: the function changed under it)
CREATE OR REPLACE FUNCTION backfill_committed_names.is_registered(name text, expected text) RETURNS boolean
IMMUTABLE LANGUAGE sql AS $$ SELECT (expected = 'attended_registered') <> (name = 'b') $$;
SELECT * FROM expand_contract.verify('backfill_committed_names');
SELECT expand_contract.rollback('backfill_committed_names');
SET client_min_messages = warning;
DROP SCHEMA backfill_committed_names CASCADE;
RESET client_min_messages;
