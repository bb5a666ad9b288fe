--
-- new_version_opens: the new version is right from its first read. By
-- default (expand_contract.open_new_version = 'when_backfilled') its views
-- of tables with rows to backfill refuse every statement (55000, saying why
-- and what to do) until the backfill is done, and open by themselves when it is; the old
-- version works throughout. status() says when the new version is open.
--
\pset null '(null)'
CREATE SCHEMA new_version_opens;
SET search_path = new_version_opens;
CREATE TABLE bookings (id int PRIMARY KEY, student text NOT NULL, status text NOT NULL);
INSERT INTO bookings SELECT g, 'student ' || g,
       (ARRAY['booked', 'attended', 'attended_registered'])[1 + g % 3] FROM generate_series(1, 30) g;
CREATE TABLE studios (id int PRIMARY KEY, name text NOT NULL);   -- not changed: not gated
INSERT INTO studios VALUES (1, 'Pottery');
CREATE FUNCTION pg_temp.doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [
      {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false,
                                                      "default": "false"},
                      "up": "status = ''attended_registered''"}},
      {"drop_column": {"table": "bookings", "column": "status",
                       "down": "CASE WHEN registered THEN ''attended_registered'' ELSE ''booked'' END"}}]}'::jsonb
$$;
SELECT expand_contract.start('02_registered', pg_temp.doc(), 'new_version_opens') AS version_schema;
SHOW expand_contract.open_new_version;
SELECT DISTINCT migration, new_version_open FROM expand_contract.status('new_version_opens');

-- The new version refuses, clearly, rather than read a stale "registered".
SET search_path = new_version_opens_02_registered;
SELECT * FROM bookings WHERE id = 2;
INSERT INTO bookings (id, student, registered) VALUES (100, 'new app', true);
UPDATE bookings SET registered = true WHERE id = 1;
-- A table the migration does not change is open already.
SELECT * FROM studios;
-- The old version works throughout.
SET search_path = new_version_opens;
INSERT INTO bookings VALUES (31, 'old app', 'attended_registered');
UPDATE bookings SET status = 'attended_registered' WHERE id = 1;

-- The backfill opens it.
SET client_min_messages = warning;
CALL expand_contract.run_backfill('new_version_opens', 7);
RESET client_min_messages;
SELECT DISTINCT migration, new_version_open FROM expand_contract.status('new_version_opens');
-- Opened means the view is a plain view again: no gate left to evaluate.
SELECT pg_get_viewdef('new_version_opens_02_registered.bookings'::regclass) LIKE '%new_version_open%' AS gated,
       (SELECT reloptions FROM pg_class WHERE oid = 'new_version_opens_02_registered.bookings'::regclass) AS options;
SET search_path = new_version_opens_02_registered;
SELECT * FROM bookings WHERE id IN (1, 2, 3, 31) ORDER BY id;
-- The whole row written back as read (an ORM's save()) keeps it right.
UPDATE bookings SET student = 'student 2 (renamed)', registered = true WHERE id = 2;
INSERT INTO bookings (id, student, registered) VALUES (100, 'new app', true);
SELECT * FROM bookings WHERE id IN (2, 100) ORDER BY id;
SET search_path = new_version_opens;
SELECT id, student, status FROM bookings WHERE id IN (2, 100) ORDER BY id;
SELECT * FROM expand_contract.verify('new_version_opens');

-- The whole cycle: rollback, start again (gated again), complete opens it.
SELECT expand_contract.rollback('new_version_opens');
SELECT expand_contract.start('02_registered', pg_temp.doc(), 'new_version_opens') AS version_schema;
SELECT count(*) FROM new_version_opens_02_registered.bookings;
SELECT sum(rows) AS backfilled FROM expand_contract.backfill('new_version_opens', 50);
SELECT count(*) FROM new_version_opens_02_registered.bookings;
SELECT expand_contract.complete('new_version_opens');
SELECT count(*), count(*) FILTER (WHERE registered) AS registered FROM new_version_opens_02_registered.bookings;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA new_version_opens, new_version_opens_02_registered CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'new_version_opens';
