-- phase_story: the acceptance story from start to complete, with the old and
-- the new version of the booking app writing side by side at every stage.
--
--   old app: search_path = phase_story                       (status)
--   new app: search_path = phase_story_02_split_status       (booking_status, registered)
--
-- After each stage, every row is compared through both versions: the old
-- status must equal down(new columns) and the new columns must equal
-- up(status), unless the row predates start and the backfill has not reached
-- it yet (its new columns are still empty).
-- Both versions write here while rows still wait for the backfill, so the
-- new version opens at start (by default it opens once the backfill is done).
SET expand_contract.open_new_version = at_start;

CREATE FUNCTION pg_temp.sqlstate_of(sql text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN EXECUTE sql; RETURN 'no error'; EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM; END $$;

CREATE SCHEMA phase_story;
SET search_path = phase_story;

CREATE TABLE bookings (
    id      bigserial PRIMARY KEY,
    student text NOT NULL,
    studio  text NOT NULL,
    status  text NOT NULL   -- booked, cancelled, attended, attended_registered
);
-- 24 bookings: ids 1, 5, 9, ... booked; 2, 6, ... cancelled; 3, 7, ...
-- attended; 4, 8, ... attended_registered.
INSERT INTO bookings (student, studio, status)
SELECT 'student ' || lpad(i::text, 2, '0'),
       (ARRAY['Pottery', 'Yoga', 'Salsa'])[1 + (i - 1) % 3],
       (ARRAY['booked', 'cancelled', 'attended', 'attended_registered'])[1 + (i - 1) % 4]
  FROM generate_series(1, 24) AS i;
SELECT status, count(*) FROM bookings GROUP BY status ORDER BY status;

-- up and down of the migration, as the test's own reference.
CREATE FUNCTION pg_temp.up_booking_status(status text) RETURNS text LANGUAGE sql
    AS $$ SELECT CASE status WHEN 'attended_registered' THEN 'attended' ELSE status END $$;
CREATE FUNCTION pg_temp.up_registered(status text) RETURNS boolean LANGUAGE sql
    AS $$ SELECT status = 'attended_registered' $$;
CREATE FUNCTION pg_temp.down_status(booking_status text, registered boolean) RETURNS text LANGUAGE sql
    AS $$ SELECT CASE WHEN registered THEN 'attended_registered' ELSE booking_status END $$;

--------------------------------------------------------------------------------
-- 1. Expand.
--------------------------------------------------------------------------------
SELECT expand_contract.start('02_split_status', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                  "up": "CASE status WHEN ''attended_registered'' THEN ''attended'' ELSE status END"}},
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}},
  {"drop_column": {"table": "bookings", "column": "status",
                   "down": "CASE WHEN registered THEN ''attended_registered'' ELSE booking_status END"}}]}',
  'phase_story') AS version_schema;

-- Every row through both versions: how many agree, how many still wait for
-- the backfill (new columns empty, row untouched since start), and how many
-- disagree (must always be 0).
CREATE VIEW pg_temp.agreement AS
SELECT count(*) AS total,
       count(*) FILTER (WHERE o.status = pg_temp.down_status(n.booking_status, n.registered)
                          AND n.booking_status = pg_temp.up_booking_status(o.status)
                          AND n.registered = pg_temp.up_registered(o.status)) AS agree,
       count(*) FILTER (WHERE n.booking_status IS NULL AND o._ec_needs_backfill) AS awaiting_backfill,
       count(*) FILTER (WHERE NOT (o.status IS NOT DISTINCT FROM pg_temp.down_status(n.booking_status, n.registered)
                                   AND n.booking_status IS NOT DISTINCT FROM pg_temp.up_booking_status(o.status)
                                   AND n.registered IS NOT DISTINCT FROM pg_temp.up_registered(o.status))
                          AND NOT (n.booking_status IS NULL AND o._ec_needs_backfill)) AS disagree
  FROM phase_story.bookings o
  FULL JOIN phase_story_02_split_status.bookings n USING (id);

-- The same rows side by side.
CREATE VIEW pg_temp.side_by_side AS
SELECT o.id, o.student, o.studio, o.status AS "old: status",
       n.booking_status AS "new: booking_status", n.registered AS "new: registered"
  FROM phase_story.bookings o
  JOIN phase_story_02_split_status.bookings n USING (id);

SELECT * FROM pg_temp.agreement;

--------------------------------------------------------------------------------
-- 2. Both apps write before any backfill.
--------------------------------------------------------------------------------

-- Old app: a registered attendance.
SET search_path = phase_story;
INSERT INTO bookings (student, studio, status)
VALUES ('Ada (old app)', 'Pottery', 'attended_registered')
RETURNING id, student, status;

-- New app: reads it split in two, and books in its own terms.
SET search_path = phase_story_02_split_status;
SELECT id, student, booking_status, registered FROM bookings WHERE id = 25;
INSERT INTO bookings (student, studio, booking_status, registered)
VALUES ('Grace (new app)', 'Yoga', 'attended', true)
RETURNING id, student, booking_status, registered;

-- Old app: reads Grace as one status.
SET search_path = phase_story;
SELECT id, student, status FROM bookings WHERE id = 26;

-- New app, on rows that predate start and were not backfilled yet. It still
-- sees their new columns empty.
SET search_path = phase_story_02_split_status;
SELECT id, student, booking_status, registered FROM bookings WHERE id IN (1, 3, 4, 8) ORDER BY id;
-- Only the student changes: status must stay attended_registered, and the new
-- columns are computed from it on the way.
UPDATE bookings SET student = 'Hedy (renamed by new app)' WHERE id = 4;
-- Only registered changes: booking_status comes from status (attended), then
-- status from both.
UPDATE bookings SET registered = false WHERE id = 8;
-- Only booking_status changes (from booked).
UPDATE bookings SET booking_status = 'cancelled' WHERE id = 1;
-- Both new columns change.
UPDATE bookings SET booking_status = 'attended', registered = true WHERE id = 3;
-- Several un-backfilled rows at once, none of the migrated columns.
UPDATE bookings SET studio = 'Yoga' WHERE id BETWEEN 17 AND 20;
-- The old app's fresh row.
UPDATE bookings SET booking_status = 'booked', registered = false WHERE id = 25;
DELETE FROM bookings WHERE id = 5;

-- Old app, on un-backfilled rows and on the new app's row.
SET search_path = phase_story;
UPDATE bookings SET status = 'attended' WHERE id = 2;
UPDATE bookings SET studio = 'Life drawing' WHERE id = 12;
UPDATE bookings SET status = 'attended_registered' WHERE id BETWEEN 13 AND 16 AND status = 'attended';
UPDATE bookings SET status = 'cancelled' WHERE id = 26;
DELETE FROM bookings WHERE id = 6;

-- What each app reads now.
SELECT id, student, studio, status FROM bookings
 WHERE id IN (1, 2, 3, 4, 8, 12, 15, 17, 18, 19, 20, 25, 26) ORDER BY id;
SET search_path = phase_story_02_split_status;
SELECT id, student, studio, booking_status, registered FROM bookings
 WHERE id IN (1, 2, 3, 4, 8, 12, 15, 17, 18, 19, 20, 25, 26) ORDER BY id;
SELECT * FROM pg_temp.side_by_side WHERE "new: booking_status" IS NOT NULL ORDER BY id;
SELECT * FROM pg_temp.agreement;

--------------------------------------------------------------------------------
-- 3. A partial backfill: two batches of 5 rows.
--------------------------------------------------------------------------------
SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('phase_story', batch_size => 5, max_batches => 2);
SELECT schema_name, migration, phase, backfill_rows_left FROM expand_contract.status('phase_story');
SELECT rows_done, batches, done FROM expand_contract.backfill_progress WHERE schema_name = 'phase_story';
-- The first ten remaining rows by id are synced; the rest still wait.
SELECT * FROM pg_temp.side_by_side WHERE id <= 12 ORDER BY id;
SELECT id FROM phase_story.bookings WHERE _ec_needs_backfill ORDER BY id;
SELECT * FROM pg_temp.agreement;

--------------------------------------------------------------------------------
-- 4. More writes through both versions, on backfilled and on waiting rows.
--------------------------------------------------------------------------------
SET search_path = phase_story;
UPDATE bookings SET status = 'attended_registered' WHERE id = 10;     -- backfilled
SET search_path = phase_story_02_split_status;
UPDATE bookings SET student = 'Mary (renamed by new app)' WHERE id = 16;  -- waiting, attended_registered
UPDATE bookings SET registered = true WHERE id = 11;                  -- backfilled, attended
SET search_path = phase_story;
INSERT INTO bookings (student, studio, status) VALUES ('Katherine (old app)', 'Salsa', 'booked')
RETURNING id, student, status;
UPDATE bookings SET status = 'cancelled' WHERE id = 24;               -- waiting
SET search_path = phase_story_02_split_status;
INSERT INTO bookings (student, studio, booking_status) VALUES ('Radia (new app)', 'Pottery', 'cancelled')
RETURNING id, student, booking_status, registered;
UPDATE bookings SET booking_status = 'attended' WHERE id = 28;
-- The new version's NOT NULL registered is already enforced for new writes.
SELECT pg_temp.sqlstate_of($$UPDATE bookings SET registered = NULL WHERE id = 28$$);
SET search_path = phase_story;
-- An old write that leaves status NULL is refused as before the migration.
SELECT pg_temp.sqlstate_of($$UPDATE bookings SET status = NULL WHERE id = 27$$);

SELECT * FROM pg_temp.side_by_side WHERE id IN (10, 11, 16, 24, 27, 28) ORDER BY id;
SELECT * FROM pg_temp.agreement;

--------------------------------------------------------------------------------
-- 5. Backfill to the end, then once more: nothing is left.
--------------------------------------------------------------------------------
SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('phase_story', batch_size => 5);
SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('phase_story', batch_size => 5);
SELECT count(*) AS batches FROM expand_contract.backfill('phase_story');
SELECT rows_done, batches, done FROM expand_contract.backfill_progress WHERE schema_name = 'phase_story';
SELECT schema_name, migration, phase, version_schema, previous_version_schema,
       completed_at IS NULL AS open, backfill_rows_left
  FROM expand_contract.status('phase_story');
SELECT count(*) AS waiting FROM phase_story.bookings WHERE _ec_needs_backfill;
SELECT * FROM pg_temp.agreement;
SELECT "new: booking_status", "new: registered", "old: status", count(*)
  FROM pg_temp.side_by_side GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;

-- Writes after the backfill keep both versions in step.
SET search_path = phase_story_02_split_status;
UPDATE bookings SET registered = false WHERE id = 4;
SET search_path = phase_story;
UPDATE bookings SET status = 'booked' WHERE id = 7;
SELECT * FROM pg_temp.side_by_side WHERE id IN (4, 7) ORDER BY id;
SELECT * FROM pg_temp.agreement;

--------------------------------------------------------------------------------
-- 6. Contract.
--------------------------------------------------------------------------------
DROP VIEW pg_temp.agreement;
DROP VIEW pg_temp.side_by_side;
-- The data as the new version sees it, to compare after complete.
CREATE TEMP TABLE before_complete AS
SELECT id, student, studio, booking_status, registered
  FROM phase_story_02_split_status.bookings;

SELECT expand_contract.complete('phase_story');

SELECT schema_name, migration, phase, version_schema, previous_version_schema,
       completed_at IS NOT NULL AS completed, backfill_rows_left
  FROM expand_contract.status('phase_story');
SELECT name, phase, complete_steps, rollback_steps
  FROM expand_contract.migrations WHERE schema_name = 'phase_story';
SELECT count(*) AS backfill_rows FROM expand_contract.backfill_progress WHERE schema_name = 'phase_story';

-- The final table: exactly the new shape, registered NOT NULL, no trigger,
-- no helper columns or constraints.
SELECT column_name, data_type, is_nullable, column_default
  FROM information_schema.columns
 WHERE table_schema = 'phase_story' AND table_name = 'bookings'
 ORDER BY ordinal_position;
SELECT conname, pg_get_constraintdef(oid) AS definition
  FROM pg_constraint WHERE conrelid = 'phase_story.bookings'::regclass ORDER BY conname;
SELECT count(*) AS triggers FROM pg_trigger
 WHERE tgrelid = 'phase_story.bookings'::regclass AND NOT tgisinternal;

-- Same data as the new version saw before complete, row for row.
SELECT count(*) AS rows,
       count(*) FILTER (WHERE b IS NOT DISTINCT FROM a) AS unchanged
  FROM before_complete b
  FULL JOIN (SELECT id, student, studio, booking_status, registered
               FROM phase_story.bookings) a USING (id);
SELECT id, student, studio, booking_status, registered FROM phase_story.bookings ORDER BY id;

-- The new app keeps working through its version schema (kept until the next
-- migration completes).
SET search_path = phase_story_02_split_status;
INSERT INTO bookings (student, studio, booking_status, registered)
VALUES ('Barbara (new app)', 'Salsa', 'attended', true)
RETURNING id, student, booking_status, registered;
UPDATE bookings SET booking_status = 'cancelled', registered = false WHERE id = 29
RETURNING id, booking_status, registered;
-- The old app's writes no longer fit the table.
SET search_path = phase_story;
SELECT pg_temp.sqlstate_of($$INSERT INTO bookings (student, studio, status) VALUES ('late old app', 'Yoga', 'booked')$$);
SELECT pg_temp.sqlstate_of($$INSERT INTO bookings (student, studio, booking_status, registered) VALUES ('late', 'Yoga', 'booked', NULL)$$);
-- Nothing is left open.
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.complete('phase_story')$$);
SELECT pg_temp.sqlstate_of($$SELECT * FROM expand_contract.backfill('phase_story')$$);

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA phase_story_02_split_status CASCADE;
DROP SCHEMA phase_story CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'phase_story';
