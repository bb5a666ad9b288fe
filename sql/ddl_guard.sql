--
-- ddl_guard: DDL behind the extension's back. While a migration is open,
-- changing the columns of one of its tables, renaming or dropping it, or
-- dropping the extension is refused (55000, naming the migration): the plan
-- describes the tables as start left them. Constraints, indexes, triggers
-- and owners (what pg_restore replays) go through; a superuser may turn
-- the guard off on purpose; after complete or rollback, anything goes.
--
\pset null '(null)'
CREATE SCHEMA ddl_guard;
SET search_path = ddl_guard;
SET ec_test.schema = 'ddl_guard';
\i sql/include/phase_helpers.psql

CREATE TABLE bookings (id integer PRIMARY KEY, status text NOT NULL);
CREATE TABLE other (id integer PRIMARY KEY);
INSERT INTO bookings VALUES (1, 'booked');
SELECT expand_contract.start('02_registered', '{"operations": [{"add_column": {"table": "bookings",
  "column": {"name": "registered", "type": "boolean", "nullable": true}, "up": "status = ''attended''"}}]}',
  'ddl_guard') AS version_schema;

-- Refused while it is open:
SELECT pg_temp.sqlstate_of('ALTER TABLE ddl_guard.bookings ADD COLUMN note text');
SELECT pg_temp.sqlstate_of('ALTER TABLE ddl_guard.bookings ALTER COLUMN status TYPE varchar(20)');
SELECT pg_temp.sqlstate_of('ALTER TABLE ddl_guard.bookings RENAME COLUMN status TO state');
SELECT pg_temp.sqlstate_of('ALTER TABLE ddl_guard.bookings RENAME TO reservations');
SELECT pg_temp.sqlstate_of('DROP TABLE ddl_guard.other, ddl_guard.bookings');
SELECT pg_temp.sqlstate_of('DROP EXTENSION expand_contract CASCADE');
-- ... but not what leaves the columns alone, nor other tables:
ALTER TABLE bookings ADD CONSTRAINT status_known CHECK (status <> '') NOT VALID;
CREATE INDEX bookings_status_idx ON bookings (status);
ALTER TABLE bookings OWNER TO CURRENT_USER;
ALTER TABLE other ADD COLUMN note text;
-- A GRANT or REVOKE on the table reaches the version view (table and
-- column privileges, for the columns the view has).
CREATE ROLE regress_guard_reader;
GRANT SELECT ON bookings TO regress_guard_reader;
GRANT UPDATE (status) ON bookings TO regress_guard_reader;
SELECT grantee, privilege_type FROM information_schema.role_table_grants
 WHERE table_schema = 'ddl_guard_02_registered' AND grantee = 'regress_guard_reader';
SELECT grantee, column_name, privilege_type FROM information_schema.column_privileges
 WHERE table_schema = 'ddl_guard_02_registered' AND grantee = 'regress_guard_reader'
   AND privilege_type = 'UPDATE';
REVOKE SELECT ON bookings FROM regress_guard_reader;
SELECT count(*) AS select_grants_left FROM information_schema.role_table_grants
 WHERE table_schema = 'ddl_guard_02_registered' AND grantee = 'regress_guard_reader' AND privilege_type = 'SELECT';
-- A superuser may, on purpose.
SET expand_contract.guard_ddl = off;
ALTER TABLE bookings ADD COLUMN note text;
ALTER TABLE bookings DROP COLUMN note;
RESET expand_contract.guard_ddl;
-- The phases themselves are the extension's own DDL.
SELECT expand_contract.rollback('ddl_guard');
ALTER TABLE bookings ADD COLUMN note text;
SELECT expand_contract.start('02_registered', '{"operations": [{"add_column": {"table": "bookings",
  "column": {"name": "registered", "type": "boolean", "nullable": true}, "up": "status = ''attended''"}}]}',
  'ddl_guard') AS version_schema;
SELECT * FROM expand_contract.backfill('ddl_guard') \g /dev/null
SELECT expand_contract.complete('ddl_guard');
ALTER TABLE bookings DROP COLUMN note;
SELECT * FROM bookings;

-- What would stop complete from dropping a column is found at start: a
-- user view, a generated column, a policy, another table's foreign key.
CREATE TABLE members (id integer PRIMARY KEY, nick text NOT NULL, email text,
                      nick_upper text GENERATED ALWAYS AS (upper(nick)) STORED);
CREATE TABLE posts (id integer PRIMARY KEY, author integer REFERENCES members (id));
CREATE VIEW member_emails AS SELECT id, email FROM members;
ALTER TABLE members ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_email ON members USING (email IS NOT NULL);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start('x', '{"operations": [
  {"drop_column": {"table": "members", "column": "email"}}]}', 'ddl_guard')$$);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start('x', '{"operations": [
  {"alter_column": {"table": "members", "column": "nick", "type": "varchar(40)"}}]}', 'ddl_guard')$$);
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start('x', '{"operations": [
  {"drop_column": {"table": "members", "column": "id", "down": "0"}}]}', 'ddl_guard')$$);
-- ... and a publication's column list.
ALTER TABLE members ADD COLUMN phone text;
SET client_min_messages = error;
CREATE PUBLICATION ddl_guard_phones FOR TABLE members (id, phone);
RESET client_min_messages;
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.start('x', '{"operations": [
  {"drop_column": {"table": "members", "column": "phone"}}]}', 'ddl_guard')$$);
DROP PUBLICATION ddl_guard_phones;
SELECT * FROM pg_temp.migration_objects();

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA ddl_guard, ddl_guard_02_registered CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'ddl_guard';
DROP ROLE regress_guard_reader;
