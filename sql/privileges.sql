-- privileges: who may migrate a table. Starting a migration takes membership
-- in the schema owner's role and ownership of every table it changes; only
-- members of the role that started it (or a superuser) may complete or roll
-- it back; anyone else gets 42501 (see also security_roles). A table owner needs no superuser rights (only CREATE
-- on the database, for the version schema), and the grants on a table carry
-- over to its view in the version schema.
-- Both versions write here while rows still wait for the backfill, so the
-- new version opens at start (by default it opens once the backfill is done).
SET expand_contract.open_new_version = at_start;

CREATE FUNCTION pg_temp.sqlstate_of(sql text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN EXECUTE sql; RETURN 'no error'; EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM; END $$;

-- regress_ec_owner owns the app's tables; regress_ec_other is another user of
-- the database; regress_ec_clerk may read and insert bookings, nothing more;
-- regress_ec_auditor may read some columns of bookings.
CREATE ROLE regress_ec_owner;
CREATE ROLE regress_ec_other;
CREATE ROLE regress_ec_clerk;
CREATE ROLE regress_ec_auditor;
DO $$
BEGIN
    EXECUTE format('GRANT CREATE ON DATABASE %I TO regress_ec_owner, regress_ec_other', current_database());
END $$;
GRANT regress_ec_clerk TO regress_ec_other;   -- not enough to migrate

SET ROLE regress_ec_owner;
CREATE SCHEMA privileges;
SET search_path = privileges;
CREATE TABLE bookings (
    id      bigserial PRIMARY KEY,
    student text NOT NULL,
    studio  text NOT NULL,
    status  text NOT NULL   -- booked, cancelled, attended, attended_registered
);
INSERT INTO bookings (student, studio, status) VALUES
    ('Ada',   'Pottery', 'booked'),
    ('Grace', 'Yoga',    'attended_registered');
GRANT USAGE ON SCHEMA privileges TO regress_ec_clerk;
GRANT SELECT, INSERT ON bookings TO regress_ec_clerk;
GRANT USAGE ON SEQUENCE bookings_id_seq TO regress_ec_clerk;
GRANT USAGE ON SCHEMA privileges TO regress_ec_auditor;
GRANT SELECT (id, student, studio) ON bookings TO regress_ec_auditor;
RESET ROLE;

SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname LIKE 'regress\_ec\_%' ORDER BY rolname;

--------------------------------------------------------------------------------
-- Someone else may not start a migration of the owner's table.
--------------------------------------------------------------------------------
-- Without CREATE on the schema, nobody may migrate it at all (else anyone could
-- hold it open with an empty migration).
SET ROLE regress_ec_other;
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start('00_empty', '{"operations": []}', 'privileges')$$);
RESET ROLE;
-- With CREATE on the schema, still not: only members of the schema owner's
-- role may change what every client of the schema sees.
SET ROLE regress_ec_owner;
GRANT CREATE ON SCHEMA privileges TO regress_ec_other;
SET ROLE regress_ec_other;
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start('02_split_status', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                  "up": "CASE status WHEN ''attended_registered'' THEN ''attended'' ELSE status END"}},
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}},
  {"drop_column": {"table": "bookings", "column": "status",
                   "down": "CASE WHEN registered THEN ''attended_registered'' ELSE booking_status END"}}]}', 'privileges')$$);
-- Not even an operation that only reads the table's shape.
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start('02_note', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "note", "type": "text", "nullable": true}}}]}', 'privileges')$$);
SET ROLE regress_ec_owner;
REVOKE CREATE ON SCHEMA privileges FROM regress_ec_other;
RESET ROLE;
SELECT count(*) AS migrations FROM expand_contract.migrations WHERE schema_name = 'privileges';
SELECT count(*) AS version_schemas FROM pg_namespace WHERE nspname LIKE 'privileges\_%';

--------------------------------------------------------------------------------
-- The owner, without superuser rights, runs the story.
--------------------------------------------------------------------------------
SET ROLE regress_ec_owner;
SELECT expand_contract.start('02_split_status', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                  "up": "CASE status WHEN ''attended_registered'' THEN ''attended'' ELSE status END"}},
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}},
  {"drop_column": {"table": "bookings", "column": "status",
                   "down": "CASE WHEN registered THEN ''attended_registered'' ELSE booking_status END"}}]}',
  'privileges') AS version_schema;
RESET ROLE;

-- The version schema and its view belong to the owner; the clerk's grants
-- came along (schema USAGE, SELECT and INSERT on the view, no UPDATE).
SELECT nspname, nspowner::regrole AS owner FROM pg_namespace WHERE nspname = 'privileges_02_split_status';
SELECT relname, relowner::regrole AS owner
  FROM pg_class WHERE relnamespace = 'privileges_02_split_status'::regnamespace;
SELECT has_schema_privilege('regress_ec_clerk', 'privileges_02_split_status', 'USAGE') AS clerk_usage,
       has_table_privilege('regress_ec_clerk', 'privileges_02_split_status.bookings', 'SELECT') AS clerk_select,
       has_table_privilege('regress_ec_clerk', 'privileges_02_split_status.bookings', 'INSERT') AS clerk_insert,
       has_table_privilege('regress_ec_clerk', 'privileges_02_split_status.bookings', 'UPDATE') AS clerk_update,
       has_table_privilege('regress_ec_other', 'privileges_02_split_status.bookings', 'UPDATE') AS other_update;
SELECT grantee, privilege_type
  FROM information_schema.role_table_grants
 WHERE table_schema = 'privileges_02_split_status' AND table_name = 'bookings'
   AND grantee <> 'regress_ec_owner'
 ORDER BY grantee, privilege_type;

-- Column grants carry over to the view's columns too. But a security_invoker
-- view reads every column of its definition with the caller's rights, and the
-- auditor was never granted the new columns (just as after a plain ALTER TABLE
-- ADD COLUMN), so the new version stays closed to it until it is.
SET ROLE regress_ec_auditor;
SELECT id, student, studio FROM privileges.bookings ORDER BY id;
SELECT pg_temp.sqlstate_of($$SELECT id, student, studio FROM privileges_02_split_status.bookings$$);
RESET ROLE;
SELECT grantee, column_name, privilege_type
  FROM information_schema.column_privileges
 WHERE table_schema = 'privileges_02_split_status' AND table_name = 'bookings'
   AND grantee = 'regress_ec_auditor'
 ORDER BY column_name, privilege_type;

-- The clerk uses the new version through the view.
SET ROLE regress_ec_clerk;
SET search_path = privileges_02_split_status;
INSERT INTO bookings (student, studio, booking_status, registered)
VALUES ('Hedy (clerk, new app)', 'Salsa', 'attended', true) RETURNING id, student, booking_status, registered;
SELECT id, student, booking_status, registered FROM bookings ORDER BY id;
SELECT pg_temp.sqlstate_of($$UPDATE bookings SET registered = false WHERE id = 1$$);
-- ... and the old version through the table.
SET search_path = privileges;
INSERT INTO bookings (student, studio, status)
VALUES ('Radia (clerk, old app)', 'Yoga', 'cancelled') RETURNING id, student, status;
SELECT id, student, status FROM bookings ORDER BY id;
RESET search_path;
RESET ROLE;

-- Someone else may neither complete nor roll back the owner's migration.
SET ROLE regress_ec_other;
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.complete('privileges')$$);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.rollback('privileges')$$);
-- Starting another one on the schema is refused anyway while this one is open.
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start('03_other', '{"operations": []}', 'privileges')$$);
-- Anyone can watch.
SELECT schema_name, migration, phase, version_schema FROM expand_contract.status('privileges');
SELECT name, phase FROM expand_contract.migrations WHERE schema_name = 'privileges';
RESET ROLE;
SELECT schema_name, migration, phase FROM expand_contract.status('privileges');

-- The owner backfills and completes.
SET ROLE regress_ec_owner;
SELECT table_name, batch, rows, rows_done, rows_left FROM expand_contract.backfill('privileges');
SELECT expand_contract.complete('privileges');
SELECT schema_name, migration, phase FROM expand_contract.status('privileges');
SELECT id, student, studio, booking_status, registered FROM privileges.bookings ORDER BY id;
RESET ROLE;
SELECT column_name FROM information_schema.columns
 WHERE table_schema = 'privileges' AND table_name = 'bookings' ORDER BY ordinal_position;
SELECT count(*) AS triggers FROM pg_trigger
 WHERE tgrelid = 'privileges.bookings'::regclass AND NOT tgisinternal;

-- The owner starts the next migration and rolls it back.
SET ROLE regress_ec_owner;
SELECT expand_contract.start('03_note', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "note", "type": "text", "nullable": true},
                  "up": "student || '' at '' || studio"}}]}', 'privileges') AS version_schema;
SET search_path = privileges;
INSERT INTO bookings (student, studio, booking_status) VALUES ('Mary', 'Pottery', 'booked') RETURNING id;
SELECT id, note FROM privileges_03_note.bookings ORDER BY id;
RESET search_path;
SET ROLE regress_ec_other;
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.rollback('privileges')$$);
SET ROLE regress_ec_owner;
SELECT expand_contract.rollback('privileges');
SELECT schema_name, migration, phase FROM expand_contract.status('privileges');
SELECT column_name FROM information_schema.columns
 WHERE table_schema = 'privileges' AND table_name = 'bookings' ORDER BY ordinal_position;
RESET ROLE;

-- A superuser may act on anyone's migration.
SET ROLE regress_ec_owner;
SELECT expand_contract.start('03_note', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "note", "type": "text", "nullable": true}}}]}',
  'privileges') AS version_schema;
RESET ROLE;
SELECT current_user;
SELECT expand_contract.rollback('privileges');
SELECT schema_name, migration, phase FROM expand_contract.status('privileges');

-- The owner of a database may load catalog rows (a restore it runs does),
-- but only of migrations whose phases would run with rights it has: not a
-- migration owned by a superuser, not one naming a schema it does not own.
SELECT current_database() AS db \gset
ALTER DATABASE :"db" OWNER TO regress_ec_owner;
SET ROLE regress_ec_owner;
INSERT INTO expand_contract.migrations (schema_name, name, version_schema, document, owner, sql_search_path)
VALUES ('privileges', '09_forged', 'privileges_09_forged', '{}', 'postgres', 'public');
INSERT INTO expand_contract.migrations (schema_name, name, version_schema, document, owner, sql_search_path)
VALUES ('privileges', '09_forged', 'pg_catalog', '{}', 'regress_ec_owner', 'public');
BEGIN;
INSERT INTO expand_contract.migrations (schema_name, name, version_schema, document, owner, sql_search_path)
VALUES ('privileges', '09_restored', 'privileges_09_restored', '{}', 'regress_ec_owner', 'public');
SELECT name, owner FROM expand_contract.migrations WHERE name = '09_restored';
ROLLBACK;
-- Someone who is not the database owner may not load any.
RESET ROLE;
SET ROLE regress_ec_other;
INSERT INTO expand_contract.migrations (schema_name, name, version_schema, document, owner, sql_search_path)
VALUES ('privileges', '09_forged', 'privileges_09_forged', '{}', 'regress_ec_other', 'public');
RESET ROLE;
ALTER DATABASE :"db" OWNER TO postgres;

-- Clean up.
SET client_min_messages = warning;
DROP SCHEMA privileges_02_split_status CASCADE;
DROP SCHEMA privileges CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'privileges';
DROP OWNED BY regress_ec_owner, regress_ec_other, regress_ec_clerk, regress_ec_auditor;
DROP ROLE regress_ec_owner;
DROP ROLE regress_ec_other;
DROP ROLE regress_ec_clerk;
DROP ROLE regress_ec_auditor;
