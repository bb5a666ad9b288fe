-- phase_rollback: the story ends in a rollback. Both apps wrote during the
-- migration; afterwards the table has its old shape and every row the way
-- the old app reads it, and nothing of the migration is left.
-- Both versions write here while rows still wait for the backfill, so the
-- new version opens at start (by default it opens once the backfill is done).
SET expand_contract.open_new_version = at_start;

CREATE SCHEMA phase_rollback;
SET search_path = phase_rollback;

SET ec_test.schema = 'phase_rollback';
\i sql/include/phase_helpers.psql

CREATE TABLE bookings (
    id      bigserial PRIMARY KEY,
    student text NOT NULL,
    studio  text NOT NULL,
    status  text NOT NULL   -- booked, cancelled, attended, attended_registered
);
INSERT INTO bookings (student, studio, status)
SELECT 'student ' || lpad(i::text, 2, '0'),
       (ARRAY['Pottery', 'Yoga', 'Salsa'])[1 + (i - 1) % 3],
       (ARRAY['booked', 'cancelled', 'attended', 'attended_registered'])[1 + (i - 1) % 4]
  FROM generate_series(1, 12) AS i;

-- Nothing open yet: complete and rollback have nothing to act on.
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.complete('phase_rollback')$$);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.rollback('phase_rollback')$$);
SELECT count(*) AS status_rows FROM expand_contract.status('phase_rollback');

-- What the old app should read at the end: the table as it is now, plus the
-- changes each app makes below, in the old app's terms.
CREATE TEMP TABLE expected_rows AS SELECT id, student, studio, status FROM bookings;

SELECT expand_contract.start('02_split_status', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                  "up": "CASE status WHEN ''attended_registered'' THEN ''attended'' ELSE status END"}},
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}},
  {"drop_column": {"table": "bookings", "column": "status",
                   "down": "CASE WHEN registered THEN ''attended_registered'' ELSE booking_status END"}}]}',
  'phase_rollback') AS version_schema;
SELECT * FROM pg_temp.migration_objects();

-- Rolling back is transactional too: undone with its transaction, the
-- migration stays open. (Inside a transaction block a phase needs the
-- opt-in: its locks last until the block ends.)
BEGIN;
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.rollback('phase_rollback')$$);
SET LOCAL expand_contract.phase_in_transaction_block = on;
SELECT expand_contract.rollback('phase_rollback');
SELECT count(*) AS objects_inside FROM pg_temp.migration_objects();
ROLLBACK;
-- BEGIN and the phase sent as one query string are a transaction block too.
BEGIN \; SELECT pg_temp.sqlstate_of($$SELECT expand_contract.rollback('phase_rollback')$$) \; ROLLBACK;
BEGIN;
SET LOCAL expand_contract.phase_in_transaction_block = on;
SELECT expand_contract.rollback('phase_rollback');
SELECT count(*) AS objects_inside FROM pg_temp.migration_objects();
ROLLBACK;
SELECT schema_name, migration, phase FROM expand_contract.status('phase_rollback');

--------------------------------------------------------------------------------
-- Both apps write: before the backfill, then after a partial backfill.
--------------------------------------------------------------------------------
SET search_path = phase_rollback_02_split_status;
INSERT INTO bookings (student, studio, booking_status, registered)
VALUES ('Grace (new app)', 'Yoga', 'attended', true) RETURNING id;
INSERT INTO expected_rows VALUES (13, 'Grace (new app)', 'Yoga', 'attended_registered');
UPDATE bookings SET student = 'Hedy (renamed by new app)' WHERE id = 4;      -- un-backfilled
UPDATE expected_rows SET student = 'Hedy (renamed by new app)' WHERE id = 4;
UPDATE bookings SET registered = false WHERE id = 8;                        -- un-backfilled, attended_registered
UPDATE expected_rows SET status = 'attended' WHERE id = 8;
UPDATE bookings SET booking_status = 'cancelled' WHERE id = 1;              -- un-backfilled, booked
UPDATE expected_rows SET status = 'cancelled' WHERE id = 1;
DELETE FROM bookings WHERE id = 2;
DELETE FROM expected_rows WHERE id = 2;

SET search_path = phase_rollback;
INSERT INTO bookings (student, studio, status)
VALUES ('Ada (old app)', 'Pottery', 'attended_registered') RETURNING id;
INSERT INTO expected_rows VALUES (14, 'Ada (old app)', 'Pottery', 'attended_registered');
UPDATE bookings SET status = 'booked' WHERE id = 3;
UPDATE expected_rows SET status = 'booked' WHERE id = 3;
UPDATE bookings SET status = 'cancelled' WHERE id = 13;                     -- the new app's row
UPDATE expected_rows SET status = 'cancelled' WHERE id = 13;

SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('phase_rollback', batch_size => 4, max_batches => 1);

SET search_path = phase_rollback_02_split_status;
UPDATE bookings SET booking_status = 'attended', registered = true WHERE id = 14;
UPDATE expected_rows SET status = 'attended_registered' WHERE id = 14;
UPDATE bookings SET booking_status = 'attended' WHERE id = 5;               -- backfilled, booked
UPDATE expected_rows SET status = 'attended' WHERE id = 5;
UPDATE bookings SET registered = true WHERE id = 7;                         -- un-backfilled, attended
UPDATE expected_rows SET status = 'attended_registered' WHERE id = 7;
UPDATE bookings SET studio = 'Salsa' WHERE id = 12;                         -- un-backfilled
UPDATE expected_rows SET studio = 'Salsa' WHERE id = 12;
SET search_path = phase_rollback;
UPDATE bookings SET status = 'attended' WHERE id = 11;
UPDATE expected_rows SET status = 'attended' WHERE id = 11;
DELETE FROM bookings WHERE id = 10;
DELETE FROM expected_rows WHERE id = 10;

-- Both versions side by side, just before the rollback.
SELECT o.id, o.student, o.studio, o.status AS "old: status",
       n.booking_status AS "new: booking_status", n.registered AS "new: registered"
  FROM phase_rollback.bookings o
  JOIN phase_rollback_02_split_status.bookings n USING (id)
 ORDER BY o.id;

--------------------------------------------------------------------------------
-- Roll back.
--------------------------------------------------------------------------------
SELECT expand_contract.rollback('phase_rollback');

-- Nothing of the migration is left: no version schema, no _ec_ columns or
-- constraints, no trigger, no history, no backfill bookkeeping.
SELECT count(*) AS left_behind FROM pg_temp.migration_objects();
SELECT count(*) AS status_rows FROM expand_contract.status('phase_rollback');

-- The old shape, exactly.
SELECT column_name, data_type, is_nullable, column_default
  FROM information_schema.columns
 WHERE table_schema = 'phase_rollback' AND table_name = 'bookings'
 ORDER BY ordinal_position;
SELECT conname, pg_get_constraintdef(oid) AS definition
  FROM pg_constraint WHERE conrelid = 'phase_rollback.bookings'::regclass ORDER BY conname;

-- All data intact, including every write of the new app, in the old terms.
SELECT id, student, studio, status FROM bookings ORDER BY id;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE e IS NOT DISTINCT FROM b) AS as_expected
  FROM expected_rows e
  FULL JOIN (SELECT id, student, studio, status FROM bookings) b USING (id);

-- The old app goes on as before the migration.
INSERT INTO bookings (student, studio, status) VALUES ('Katherine', 'Salsa', 'booked')
RETURNING id, student, studio, status;
UPDATE bookings SET status = 'attended' WHERE id = 15 RETURNING id, status;
-- The new app's version schema is gone.
SET search_path = phase_rollback_02_split_status;
SELECT pg_temp.sqlstate_of($$SELECT booking_status FROM bookings$$);
SET search_path = phase_rollback;

-- No open migration any more: complete and rollback raise 55000.
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.rollback('phase_rollback')$$);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.complete('phase_rollback')$$);
-- Likewise on a schema that never had a migration, and on one that does not
-- exist at all.
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.rollback('expand_contract')$$);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.complete('phase_rollback_nowhere')$$);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.rollback(NULL)$$);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.complete(NULL)$$);

-- The rolled back name is free again: the same migration starts afresh and
-- sees the data as it is now.
SELECT expand_contract.start('02_split_status', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                  "up": "CASE status WHEN ''attended_registered'' THEN ''attended'' ELSE status END"}},
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}},
  {"drop_column": {"table": "bookings", "column": "status",
                   "down": "CASE WHEN registered THEN ''attended_registered'' ELSE booking_status END"}}]}',
  'phase_rollback') AS version_schema;
SELECT count(*) AS batches FROM expand_contract.backfill('phase_rollback');
SELECT o.id, o.status AS "old: status",
       n.booking_status AS "new: booking_status", n.registered AS "new: registered"
  FROM phase_rollback.bookings o
  JOIN phase_rollback_02_split_status.bookings n USING (id)
 ORDER BY o.id;
-- Rolled back again, after a full backfill this time.
SELECT expand_contract.rollback('phase_rollback');
SELECT count(*) AS left_behind FROM pg_temp.migration_objects();
SELECT id, student, studio, status FROM bookings ORDER BY id;

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA phase_rollback CASCADE;
