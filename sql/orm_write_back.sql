--
-- orm_write_back: an ORM that saves the whole row it read (Django's save())
-- through the new version, on a row the backfill has not reached yet. By
-- default the new version opens only once the backfill is done, so no such
-- row can be read (new_version_opens); this story opts into
-- open_new_version = at_start, where it can. The
-- row showed stale new columns (NULL, the default); written back unchanged
-- they are brought up to date from the old ones instead of being taken as
-- meant, so the write works and the row ends consistent. If the application
-- changed one of them, what it wrote stands. By both paths: an UPDATE whose
-- plan computes the synced columns, and the trigger. (Reads before the
-- backfill still show the stale values: backfill before the new version
-- reads.)
--
SET expand_contract.open_new_version = at_start;
\pset null '(null)'
CREATE SCHEMA orm_write_back;
SET search_path = orm_write_back;
CREATE TABLE bookings (id int PRIMARY KEY, student text NOT NULL, status text NOT NULL);
INSERT INTO bookings VALUES (1, 'Ada', 'attended_registered'), (2, 'Grace', 'attended_registered'),
                            (3, 'Hedy', 'cancelled'), (4, 'Radia', 'attended_registered');
CREATE FUNCTION pg_temp.doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [
      {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                      "up": "CASE status WHEN ''attended_registered'' THEN ''attended'' ELSE status END"}},
      {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false,
                                                      "default": "false"},
                      "up": "status = ''attended_registered''"}},
      {"drop_column": {"table": "bookings", "column": "status",
                       "down": "CASE WHEN registered THEN ''attended_registered'' ELSE booking_status END"}}]}'::jsonb
$$;
SELECT expand_contract.start('02_split_status', pg_temp.doc(), 'orm_write_back') AS version_schema;
SET search_path = orm_write_back_02_split_status;
-- What the ORM reads before the backfill:
SELECT * FROM bookings ORDER BY id;
-- save(): every column written back as read, one changed (the student's name).
UPDATE bookings SET student = 'Ada L.', booking_status = NULL, registered = false WHERE id = 1;
-- ... and one whose new column the application really set.
UPDATE bookings SET student = 'Grace H.', booking_status = 'cancelled', registered = false WHERE id = 2;
-- The same through the trigger (another BEFORE UPDATE trigger keeps the
-- UPDATE from computing the columns in its plan).
CREATE FUNCTION orm_write_back.keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER a_keep BEFORE UPDATE ON orm_write_back.bookings FOR EACH ROW EXECUTE FUNCTION orm_write_back.keep();
UPDATE bookings SET student = 'Hedy L.', booking_status = NULL, registered = false WHERE id = 3;
UPDATE bookings SET student = 'Radia P.', booking_status = NULL, registered = false WHERE id = 4;
DROP TRIGGER a_keep ON orm_write_back.bookings;
SELECT * FROM bookings ORDER BY id;
SELECT id, student, status FROM orm_write_back.bookings ORDER BY id;
SELECT * FROM expand_contract.verify('orm_write_back');

-- The whole cycle: rollback keeps every write, start again, complete.
RESET search_path;
SELECT expand_contract.rollback('orm_write_back');
SELECT * FROM orm_write_back.bookings ORDER BY id;
SELECT expand_contract.start('02_split_status', pg_temp.doc(), 'orm_write_back') AS version_schema;
UPDATE orm_write_back_02_split_status.bookings SET student = 'Ada', booking_status = NULL, registered = false
 WHERE id = 1;
SELECT expand_contract.complete('orm_write_back');
SELECT * FROM orm_write_back.bookings ORDER BY id;

-- A stale text default written back through the trigger compares by its
-- value, whatever the stored form (the default's own copy has a longer
-- header than a fresh tuple's).
CREATE TABLE orm_write_back.tickets (id int PRIMARY KEY, status text NOT NULL);
INSERT INTO orm_write_back.tickets VALUES (1, 'open'), (2, 'closed');
SELECT expand_contract.start('03_state', '{"operations": [
  {"add_column": {"table": "tickets", "column": {"name": "state", "type": "text", "nullable": false,
                                                 "default": "''unknown''"},
                  "up": "upper(status)"}}]}', 'orm_write_back') AS version_schema;
CREATE TRIGGER a_keep BEFORE UPDATE ON orm_write_back.tickets FOR EACH ROW EXECUTE FUNCTION orm_write_back.keep();
SELECT * FROM orm_write_back_03_state.tickets ORDER BY id;
UPDATE orm_write_back_03_state.tickets SET status = status, state = 'unknown' WHERE id = 1;
DROP TRIGGER a_keep ON orm_write_back.tickets;
UPDATE orm_write_back_03_state.tickets SET status = status, state = 'unknown' WHERE id = 2;
SELECT * FROM orm_write_back_03_state.tickets ORDER BY id;
SELECT expand_contract.rollback('orm_write_back');

SET client_min_messages = warning;
DROP SCHEMA orm_write_back, orm_write_back_02_split_status CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'orm_write_back';
