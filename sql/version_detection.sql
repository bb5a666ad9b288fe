-- version_detection: how the sync trigger decides whether a write comes from
-- the OLD or the NEW version of the app.
--
--   1. the view the statement writes through: a view of the new version
--      schema means the new version, whatever the session's setting says;
--   2. for a statement that writes the table itself, the session setting
--      expand_contract.version, when it names the new version (its version
--      schema or migration name) or the old one (the base schema or the
--      previous version schema); but a statement that assigns a column only
--      the old version has is the old version's;
--   3. otherwise (the statement writes the base table) the old version.
--
-- Rule 1 needs no session state, so it holds for schema-qualified names, for
-- any search_path, and behind transaction-pooling poolers, where a setting
-- one client made may reach another's transactions.

CREATE SCHEMA version_detection;
SET search_path = version_detection;

CREATE TABLE bookings (
    id      bigserial PRIMARY KEY,
    student text NOT NULL,
    studio  text NOT NULL,
    status  text NOT NULL   -- booked, cancelled, attended, attended_registered
);
INSERT INTO bookings (student, studio, status) VALUES
    ('Ada',   'Pottery', 'booked'),
    ('Grace', 'Yoga',    'attended'),
    ('Hedy',  'Salsa',   'attended');

SELECT expand_contract.start('02_split_status', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                  "up": "CASE status WHEN ''attended_registered'' THEN ''attended'' ELSE status END"}},
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}},
  {"drop_column": {"table": "bookings", "column": "status",
                   "down": "CASE WHEN registered THEN ''attended_registered'' ELSE booking_status END"}}]}',
  'version_detection') AS version_schema;
SELECT count(*) AS batches FROM expand_contract.backfill('version_detection');

-- How a probe row was written. A probe leaves status = booked and the staged
-- booking_status = cancelled disagreeing, unless the trigger reconciles them:
-- a new-version write recomputes status from booking_status ("down", both
-- cancelled); an old-version write keeps status booked.
CREATE VIEW probes AS
SELECT student AS situation,
       CASE WHEN status = 'cancelled' AND _ec_new_booking_status = 'cancelled' THEN 'new'
            WHEN status = 'booked' THEN 'old'
            ELSE 'neither: ' || status || '/' || _ec_new_booking_status END AS written_as
  FROM version_detection.bookings WHERE studio = 'probe';

-- Probe A writes the BASE table by its qualified name, with status = booked
-- and the staged column = cancelled.
PREPARE base_write(text) AS
INSERT INTO version_detection.bookings (student, studio, status, _ec_new_booking_status, _ec_new_registered)
VALUES ($1, 'probe', 'booked', 'cancelled', false);
-- Probe B inserts a booked row into the table, then updates it, by some
-- route, assigning booking_status = cancelled: a new-version write makes
-- status follow (cancelled/cancelled); an old-version write leaves it booked.

--------------------------------------------------------------------------------
-- The view written through decides, whatever search_path says
--------------------------------------------------------------------------------
SHOW expand_contract.version;
SET search_path = public;
EXECUTE base_write('A: base table by qualified name, search_path = public');
SET search_path = version_detection_02_split_status;
EXECUTE base_write('A: base table by qualified name, search_path = version schema');

SET search_path = public;
INSERT INTO version_detection.bookings (student, studio, status) VALUES
    ('B: view by qualified name, search_path = public', 'probe', 'booked'),
    ('B: view by unqualified name, search_path = version schema', 'probe', 'booked'),
    ('B: view by unqualified name, search_path = version schema, base schema', 'probe', 'booked'),
    ('B: table by unqualified name, search_path = base schema, version schema', 'probe', 'booked');
SET search_path = public;
UPDATE version_detection_02_split_status.bookings SET booking_status = 'cancelled'
 WHERE student = 'B: view by qualified name, search_path = public';
SET search_path = version_detection_02_split_status;
UPDATE bookings SET booking_status = 'cancelled'
 WHERE student = 'B: view by unqualified name, search_path = version schema';
SET search_path = version_detection_02_split_status, version_detection;
UPDATE bookings SET booking_status = 'cancelled'
 WHERE student = 'B: view by unqualified name, search_path = version schema, base schema';
-- Here the unqualified name resolves to the base table: the old version.
SET search_path = version_detection, version_detection_02_split_status;
UPDATE bookings SET _ec_new_booking_status = 'cancelled'
 WHERE student = 'B: table by unqualified name, search_path = base schema, version schema';
SET search_path = version_detection;
SELECT * FROM probes ORDER BY situation;
DELETE FROM bookings WHERE studio = 'probe';

-- An insert through the new view by qualified name, search_path elsewhere:
-- status is computed from the new columns.
SET search_path = public;
INSERT INTO version_detection_02_split_status.bookings (student, studio, booking_status, registered)
VALUES ('Mary (qualified new-app insert)', 'Pottery', 'attended', true);
-- Reading a version view while writing the base table is a base-table write.
INSERT INTO version_detection.bookings (student, studio, status, _ec_new_booking_status, _ec_new_registered)
SELECT 'A: insert into table selecting from the view', 'probe', 'booked', 'cancelled', false
  FROM version_detection_02_split_status.bookings WHERE student = 'Mary (qualified new-app insert)';
-- A view of the user's own over the new version's view writes as the new version.
CREATE VIEW version_detection.new_app_bookings AS
SELECT id, student, studio, booking_status FROM version_detection_02_split_status.bookings;
INSERT INTO version_detection.bookings (student, studio, status)
VALUES ('B: through a user view over the new view', 'probe', 'booked');
UPDATE version_detection.new_app_bookings SET booking_status = 'cancelled'
 WHERE student = 'B: through a user view over the new view';
SET search_path = version_detection;
SELECT id, student, status, _ec_new_booking_status, _ec_new_registered
  FROM bookings WHERE studio <> 'probe' ORDER BY id;
SELECT * FROM probes ORDER BY situation;
DELETE FROM bookings WHERE studio = 'probe';

--------------------------------------------------------------------------------
-- Writes in nested function calls
--------------------------------------------------------------------------------
-- The statement inside the function is what counts, however it is called.
CREATE FUNCTION version_detection.new_app_cancel(who text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE version_detection_02_split_status.bookings SET booking_status = 'cancelled'
     WHERE student = who;
END $$;
CREATE FUNCTION version_detection.outer_call(who text) RETURNS void
LANGUAGE sql AS $$ SELECT version_detection.new_app_cancel(who) $$;
CREATE FUNCTION version_detection.old_app_insert(who text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO version_detection.bookings (student, studio, status, _ec_new_booking_status, _ec_new_registered)
    VALUES (who, 'probe', 'booked', 'cancelled', false)
$$;
INSERT INTO bookings (student, studio, status) VALUES
    ('B: function writing the view, called from SELECT', 'probe', 'booked'),
    ('B: function writing the view, two calls deep', 'probe', 'booked'),
    ('B: function writing the view, called by an UPDATE of the base table', 'probe', 'booked');
SET search_path = public;
SELECT version_detection.new_app_cancel('B: function writing the view, called from SELECT');
SELECT version_detection.outer_call('B: function writing the view, two calls deep');
SELECT version_detection.old_app_insert('A: function writing the table, called from SELECT');
-- The outer statement writes the base table (old); the function it calls
-- writes through the view (new): each row follows its own statement.
UPDATE version_detection.bookings SET studio = 'probe'
 WHERE student = 'Ada' AND version_detection.new_app_cancel('B: function writing the view, called by an UPDATE of the base table') IS NULL;
SET search_path = version_detection;
SELECT * FROM probes ORDER BY situation;
SELECT student, status, _ec_new_booking_status FROM bookings WHERE student = 'Ada';
UPDATE bookings SET studio = 'Pottery' WHERE student = 'Ada';
DELETE FROM bookings WHERE studio = 'probe';

--------------------------------------------------------------------------------
-- expand_contract.version decides for writes of the table itself
--------------------------------------------------------------------------------
-- Probe C: a booked row, then an UPDATE of the table itself that assigns
-- only the new version's staged column: the setting decides.
INSERT INTO bookings (student, studio, status) VALUES
    ('C: table, staged column only, version = version schema', 'probe', 'booked'),
    ('C: table, staged column only, version = migration name', 'probe', 'booked'),
    ('C: table, staged column only, version = unrelated name', 'probe', 'booked'),
    ('C: table, staged column only, SET LOCAL version', 'probe', 'booked'),
    ('C: table, staged column only, after that transaction', 'probe', 'booked');
PREPARE staged_write(text) AS
UPDATE version_detection.bookings SET _ec_new_booking_status = 'cancelled' WHERE student = $1;
SET expand_contract.version = 'version_detection_02_split_status';
EXECUTE staged_write('C: table, staged column only, version = version schema');
SET expand_contract.version = '02_split_status';
EXECUTE staged_write('C: table, staged column only, version = migration name');
SET expand_contract.version = 'some_other_schema';   -- names neither version: ignored
EXECUTE staged_write('C: table, staged column only, version = unrelated name');
BEGIN;
SET LOCAL expand_contract.version = 'version_detection_02_split_status';
EXECUTE staged_write('C: table, staged column only, SET LOCAL version');
COMMIT;
EXECUTE staged_write('C: table, staged column only, after that transaction');
-- A statement that assigns status, a column only the old version has (the
-- new version's writes compute it), is the old version's even when the
-- setting names the new one: a setting leaked to an old client of a pool
-- must not make its writes lose status.
SET expand_contract.version = 'version_detection_02_split_status';
EXECUTE base_write('A: table assigning status, version = new version schema');
-- The view written through wins over the setting in the other direction
-- too: naming the old version does not make a write through the new
-- version's view an old-version write.
INSERT INTO bookings (student, studio, status) VALUES ('B: new view, version = base schema', 'probe', 'booked');
SET expand_contract.version = 'version_detection';
UPDATE version_detection_02_split_status.bookings SET booking_status = 'cancelled'
 WHERE student = 'B: new view, version = base schema';
RESET expand_contract.version;
SELECT situation, written_as FROM probes ORDER BY situation;
DELETE FROM bookings WHERE studio = 'probe';

--------------------------------------------------------------------------------
-- COPY
--------------------------------------------------------------------------------
SET search_path = version_detection;
-- COPY writes the table: the old version.
COPY bookings (student, studio, status, _ec_new_booking_status, _ec_new_registered) FROM STDIN;
A: COPY into the table	probe	booked	cancelled	f
\.
SELECT * FROM probes ORDER BY situation;
DELETE FROM bookings WHERE studio = 'probe';

--------------------------------------------------------------------------------
-- A fresh session whose first statement writes: the library loads while that
-- statement runs. At top level the statement is still found.
--------------------------------------------------------------------------------
\c
INSERT INTO version_detection_02_split_status.bookings (student, studio, booking_status, registered)
VALUES ('Katherine (first statement of a session, through the view)', 'Salsa', 'attended', true);
\c
INSERT INTO version_detection.bookings (student, studio, status)
VALUES ('Dorothy (first statement of a session, base table)', 'Salsa', 'attended_registered');
-- Nested in a function, the first statement of a session cannot be seen;
-- search_path is the fallback (session_preload_libraries avoids this case).
\c
SET search_path = version_detection_02_split_status;
DO $$ BEGIN
    INSERT INTO bookings (student, studio, booking_status, registered)
    VALUES ('Barbara (first statement, nested, search_path = version schema)', 'Salsa', 'booked', false);
END $$;
SET search_path = version_detection;
SELECT student, status, _ec_new_booking_status AS booking_status, _ec_new_registered AS registered
  FROM bookings WHERE studio = 'Salsa' ORDER BY id;

-- Every row is consistent in both versions.
SELECT count(*) AS inconsistent FROM bookings
 WHERE _ec_new_booking_status IS DISTINCT FROM
           CASE status WHEN 'attended_registered' THEN 'attended' ELSE status END
    OR _ec_new_registered IS DISTINCT FROM (status = 'attended_registered');

-- Clean up. Views of the user's own over a version view or a staged column
-- hold them: rollback refuses, leaving everything as it was, until they go.
SELECT expand_contract.rollback('version_detection');
DROP VIEW new_app_bookings, probes;
SELECT expand_contract.rollback('version_detection');
SELECT schema_name, migration, phase FROM expand_contract.status('version_detection');
SET client_min_messages = warning;
DROP SCHEMA version_detection CASCADE;
