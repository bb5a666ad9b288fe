-- phase_chain: two migrations in sequence on one schema. Once 02_split_status
-- is complete, its version schema is what the app uses; the next migration
-- treats that schema's clients as the OLD version, and completing it drops
-- that schema.
-- Both versions write here while rows still wait for the backfill, so the
-- new version opens at start (by default it opens once the backfill is done).
SET expand_contract.open_new_version = at_start;

CREATE FUNCTION pg_temp.sqlstate_of(sql text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN EXECUTE sql; RETURN 'no error'; EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM; END $$;

CREATE SCHEMA phase_chain;
SET search_path = phase_chain;

CREATE TABLE bookings (
    id      bigserial PRIMARY KEY,
    student text NOT NULL,
    studio  text NOT NULL,
    status  text NOT NULL   -- booked, cancelled, attended, attended_registered
);
INSERT INTO bookings (student, studio, status) VALUES
    ('Ada',   'Pottery', 'booked'),
    ('Grace', 'Yoga',    'cancelled'),
    ('Hedy',  'Salsa',   'attended'),
    ('Radia', 'Pottery', 'attended_registered');

-- The version schemas of this file, with their views.
CREATE VIEW pg_temp.version_schemas AS
SELECT n.nspname AS schema, string_agg(c.relname, ', ' ORDER BY c.relname) AS views
  FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid
 WHERE n.nspname LIKE 'phase\_chain\_%'
 GROUP BY n.nspname ORDER BY n.nspname;

--------------------------------------------------------------------------------
-- Migration 1: 02_split_status, all the way to complete.
--------------------------------------------------------------------------------
SELECT expand_contract.start('02_split_status', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                  "up": "CASE status WHEN ''attended_registered'' THEN ''attended'' ELSE status END"}},
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}},
  {"drop_column": {"table": "bookings", "column": "status",
                   "down": "CASE WHEN registered THEN ''attended_registered'' ELSE booking_status END"}}]}',
  'phase_chain') AS version_schema;
SELECT table_name, batch, rows, rows_done, rows_left FROM expand_contract.backfill('phase_chain');
SELECT expand_contract.complete('phase_chain');
SELECT schema_name, migration, phase, version_schema, previous_version_schema
  FROM expand_contract.status('phase_chain');
-- The app now runs on the version schema of 02_split_status.
SELECT * FROM pg_temp.version_schemas;

--------------------------------------------------------------------------------
-- Migration 2: 03_studio_room replaces studio by a lower-case room, under a
-- version schema named by the document.
--------------------------------------------------------------------------------
SELECT expand_contract.start('03_studio_room', '{
  "name": "03_studio_room",
  "version_schema": "phase_chain_v3",
  "operations": [
    {"add_column": {"table": "bookings", "column": {"name": "room", "type": "text", "nullable": true},
                    "up": "lower(studio)"}},
    {"drop_column": {"table": "bookings", "column": "studio", "down": "initcap(room)"}}]}',
  'phase_chain') AS version_schema;

-- The open migration records the version it comes from.
SELECT schema_name, migration, phase, version_schema, previous_version_schema
  FROM expand_contract.status('phase_chain');
SELECT name, phase, version_schema, previous_version_schema, parent
  FROM expand_contract.migrations WHERE schema_name = 'phase_chain' ORDER BY started_at;
SELECT * FROM pg_temp.version_schemas;
-- Each version schema shows its own shape.
SELECT table_schema, string_agg(column_name, ', ' ORDER BY ordinal_position) AS columns
  FROM information_schema.columns
 WHERE table_schema IN ('phase_chain', 'phase_chain_02_split_status', 'phase_chain_v3')
   AND table_name = 'bookings'
 GROUP BY table_schema ORDER BY table_schema;

-- Clients still on 02_split_status write as the OLD version of 03_studio_room:
-- room follows studio.
SET search_path = phase_chain_02_split_status;
INSERT INTO bookings (student, studio, booking_status, registered)
VALUES ('Katherine (v2 app)', 'Ceramics', 'booked', false) RETURNING id, student, studio;
UPDATE bookings SET studio = 'Yoga' WHERE id = 1;
UPDATE bookings SET booking_status = 'attended', registered = true WHERE id = 2;
-- Clients of 03_studio_room write as the NEW version: studio follows room.
SET search_path = phase_chain_v3;
INSERT INTO bookings (student, room, booking_status, registered)
VALUES ('Barbara (v3 app)', 'salsa', 'attended', false) RETURNING id, student, room;
UPDATE bookings SET room = 'pottery' WHERE id = 3;
-- A v3 client updating an un-backfilled row without touching room: room is
-- computed from studio, studio stays.
UPDATE bookings SET student = 'Radia (renamed by v3 app)' WHERE id = 4;
-- Base schema clients also count as the old version.
SET search_path = phase_chain;
UPDATE bookings SET studio = 'Yoga' WHERE id = 6;
-- So does a session that names the previous version schema in
-- expand_contract.version, whatever its search_path.
SET search_path = phase_chain_v3;
SET expand_contract.version = 'phase_chain_02_split_status';
UPDATE phase_chain_02_split_status.bookings SET studio = 'Salsa' WHERE id = 2;
RESET expand_contract.version;
SET search_path = phase_chain;

-- Every row, through the three views of the same table.
SELECT b.id, b.student, v2.studio AS "v2: studio", v3.room AS "v3: room",
       v2.booking_status, v2.registered
  FROM phase_chain.bookings b
  JOIN phase_chain_02_split_status.bookings v2 USING (id)
  JOIN phase_chain_v3.bookings v3 USING (id)
 ORDER BY b.id;

SELECT table_name, batch, rows, rows_done, rows_left FROM expand_contract.backfill('phase_chain');
SELECT count(*) AS disagree
  FROM phase_chain_02_split_status.bookings v2
  JOIN phase_chain_v3.bookings v3 USING (id)
 WHERE v3.room IS DISTINCT FROM lower(v2.studio)
    OR v2.studio IS DISTINCT FROM initcap(v3.room);

--------------------------------------------------------------------------------
-- Completing 03_studio_room drops the version schema of 02_split_status.
--------------------------------------------------------------------------------
SELECT expand_contract.complete('phase_chain');
SELECT * FROM pg_temp.version_schemas;
SELECT schema_name, migration, phase, version_schema, previous_version_schema
  FROM expand_contract.status('phase_chain');
SELECT name, phase, version_schema, previous_version_schema
  FROM expand_contract.migrations WHERE schema_name = 'phase_chain' ORDER BY started_at;
SELECT column_name, data_type, is_nullable
  FROM information_schema.columns
 WHERE table_schema = 'phase_chain' AND table_name = 'bookings'
 ORDER BY ordinal_position;
SELECT id, student, room, booking_status, registered FROM phase_chain.bookings ORDER BY id;

-- v3 clients keep working; v2 clients have nothing left to use.
SET search_path = phase_chain_v3;
INSERT INTO bookings (student, room, booking_status) VALUES ('Mary (v3 app)', 'yoga', 'booked')
RETURNING id, student, room, booking_status, registered;
SET search_path = phase_chain_02_split_status;
SELECT pg_temp.sqlstate_of($$SELECT studio FROM bookings$$);

--------------------------------------------------------------------------------
-- A third migration chains to phase_chain_v3; rolling it back keeps v3.
--------------------------------------------------------------------------------
SET search_path = phase_chain;
SELECT expand_contract.start('04_note', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "note", "type": "text", "nullable": true}}}]}',
  'phase_chain') AS version_schema;
SELECT schema_name, migration, phase, version_schema, previous_version_schema
  FROM expand_contract.status('phase_chain');
SELECT * FROM pg_temp.version_schemas;
SELECT expand_contract.rollback('phase_chain');
SELECT * FROM pg_temp.version_schemas;
SELECT schema_name, migration, phase, version_schema, previous_version_schema
  FROM expand_contract.status('phase_chain');
SELECT count(*) AS room_readers FROM phase_chain_v3.bookings;

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA phase_chain_v3 CASCADE;
DROP SCHEMA phase_chain CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'phase_chain';
