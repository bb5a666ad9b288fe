--
-- security_roles: who may start, complete, roll back and steer a migration,
-- and whose rights the migration's own code runs with.
--
-- A migration belongs to the role that started it (its owner). Starting one
-- needs membership in the schema owner's role and ownership of every table it
-- changes. complete, rollback and backfill need membership in the migration
-- owner's role; and whoever runs them, the migration's SQL (sql operations,
-- up/down in backfill batches) runs as the migration owner, as a
-- security-restricted operation.
--
-- Both versions write here while rows still wait for the backfill, so the
-- new version opens at start (by default it opens once the backfill is done).
SET expand_contract.open_new_version = at_start;
\set SHOW_CONTEXT never
\pset null '(null)'
SET ec_test.schema = 'security_roles';
\i sql/include/security_helpers.psql

CREATE ROLE regress_sec_owner;       -- owns the schema and the app's tables
CREATE ROLE regress_sec_neighbour;   -- owns one table in it, not the schema
CREATE ROLE regress_sec_intruder;    -- may CREATE in the schema, owns nothing
CREATE ROLE regress_sec_app;         -- the application: reads and writes
CREATE ROLE regress_sec_nobody;      -- no rights at all
DO $$ BEGIN
    EXECUTE format('GRANT CREATE ON DATABASE %I TO regress_sec_owner, regress_sec_neighbour, regress_sec_intruder', current_database());
END $$;
CREATE SCHEMA security_roles AUTHORIZATION regress_sec_owner;
GRANT USAGE, CREATE ON SCHEMA security_roles TO regress_sec_neighbour, regress_sec_intruder;
GRANT USAGE ON SCHEMA security_roles TO regress_sec_app, regress_sec_nobody;

SET ROLE regress_sec_owner;
CREATE TABLE security_roles.accounts (id integer PRIMARY KEY, status text NOT NULL);
INSERT INTO security_roles.accounts SELECT g, CASE WHEN g % 2 = 0 THEN 'gold' ELSE 'basic' END
  FROM generate_series(1, 20) g;
-- what the migration's code did, and as whom
CREATE TABLE security_roles.audit (step text, run_as name);
GRANT SELECT, INSERT, UPDATE ON security_roles.accounts TO regress_sec_app;
GRANT INSERT ON security_roles.audit TO PUBLIC;
-- The owner's "up" function: records who runs it, and tries to use rights
-- the owner does not have.
CREATE FUNCTION security_roles.grade(status text) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO security_roles.audit VALUES ('grade', current_user);
    BEGIN
        ALTER ROLE regress_sec_owner SUPERUSER;
    EXCEPTION WHEN insufficient_privilege THEN
        NULL;
    END;
    RETURN CASE status WHEN 'gold' THEN 2 ELSE 1 END;
END $$;
SET ROLE regress_sec_neighbour;
CREATE TABLE security_roles.ledger (id integer PRIMARY KEY, amount numeric NOT NULL);
GRANT SELECT ON security_roles.ledger TO regress_sec_app;
RESET ROLE;

--------------------------------------------------------------------------------
-- Starting: only members of the schema owner's role, and only on tables they
-- own. Nobody else can hold the schema open, or own views of others' tables.
--------------------------------------------------------------------------------
SET ROLE regress_sec_intruder;
SELECT pg_temp.error_of($$SELECT expand_contract.start('01_hold', '{"operations": [
  {"create_table": {"name": "mine", "columns": [{"name": "id", "type": "integer", "pk": true}]}}]}',
  'security_roles')$$);
SET ROLE regress_sec_neighbour;
SELECT pg_temp.error_of($$SELECT expand_contract.start('01_ledger_note', '{"operations": [
  {"add_column": {"table": "ledger", "column": {"name": "note", "type": "text", "nullable": true}}}]}',
  'security_roles')$$);
SET ROLE regress_sec_owner;
SELECT pg_temp.error_of($$SELECT expand_contract.start('01_ledger_note', '{"operations": [
  {"add_column": {"table": "ledger", "column": {"name": "note", "type": "text", "nullable": true}}}]}',
  'security_roles')$$);
RESET ROLE;
SELECT count(*) AS migrations FROM expand_contract.migrations WHERE schema_name = 'security_roles';

-- The owner's migration: its version schema shows every table, and each view
-- belongs to the owner of the table behind it.
CREATE FUNCTION pg_temp.grade_doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [
      {"add_column": {"table": "accounts", "column": {"name": "grade", "type": "integer", "nullable": true},
                      "up": "security_roles.grade(status)"}}]}'::jsonb
$$;
SET ROLE regress_sec_owner;
SELECT expand_contract.start('02_grade', pg_temp.grade_doc(), 'security_roles');
RESET ROLE;
SELECT owner FROM expand_contract.migrations WHERE schema_name = 'security_roles';
SELECT c.relname, c.relowner::regrole AS owner FROM pg_class c
 WHERE c.relnamespace = 'security_roles_02_grade'::regnamespace ORDER BY 1;
-- The neighbour cannot put code on the owner's view, nor the owner on the
-- neighbour's.
SET ROLE regress_sec_neighbour;
SELECT pg_temp.error_of($$CREATE RULE sneaky AS ON INSERT TO security_roles_02_grade.accounts DO INSTEAD NOTHING$$);
SET ROLE regress_sec_owner;
SELECT pg_temp.error_of($$CREATE RULE sneaky AS ON INSERT TO security_roles_02_grade.ledger DO INSTEAD NOTHING$$);
RESET ROLE;

-- Both versions write as the application; the sync rule runs as the writer.
SET ROLE regress_sec_app;
INSERT INTO security_roles.accounts VALUES (21, 'gold');
UPDATE security_roles_02_grade.accounts SET grade = 5 WHERE id = 2;
SELECT id, status, grade FROM security_roles_02_grade.accounts WHERE id IN (1, 2, 21) ORDER BY id;
RESET ROLE;

-- Nobody but the owner (or a superuser) may steer, complete or roll back.
SET ROLE regress_sec_app;
SELECT pg_temp.error_of($$SELECT * FROM expand_contract.backfill('security_roles')$$);
SELECT pg_temp.error_of($$SELECT expand_contract.start_backfill('security_roles', 1, 100)$$);
SELECT pg_temp.error_of($$SELECT expand_contract.cancel_backfill('security_roles')$$);
SELECT pg_temp.error_of($$SELECT expand_contract.complete('security_roles')$$);
SELECT pg_temp.error_of($$SELECT expand_contract.rollback('security_roles')$$);
SET ROLE regress_sec_intruder;
SELECT pg_temp.error_of($$SELECT expand_contract.start_backfill('security_roles', 1, 100)$$);
SELECT pg_temp.error_of($$SELECT expand_contract.rollback('security_roles')$$);
-- Even the owner cannot park a worker on the schema with an absurd delay.
SET ROLE regress_sec_owner;
SELECT pg_temp.error_of($$SELECT expand_contract.start_backfill('security_roles', 1, 60000)$$);
RESET ROLE;
SELECT count(*) AS runners FROM expand_contract.backfill_runs WHERE schema_name = 'security_roles';

-- A superuser completes while rows are still to be backfilled: the owner's
-- "up" runs as the owner, never as the superuser.
TRUNCATE security_roles.audit;
SELECT current_user;
SELECT expand_contract.complete('security_roles');
SELECT run_as, count(*) FROM security_roles.audit GROUP BY run_as ORDER BY run_as;
SELECT pg_temp.is_superuser('regress_sec_owner') AS owner_became_superuser;
SELECT id, status, grade FROM security_roles.accounts WHERE id IN (1, 2, 3, 21) ORDER BY id;

--------------------------------------------------------------------------------
-- sql operations run as the migration owner at start, rollback and complete,
-- whoever runs the phase.
--------------------------------------------------------------------------------
CREATE FUNCTION pg_temp.audit_doc(name text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('operations', jsonb_build_array(
      jsonb_build_object('sql', jsonb_build_object(
          'up', format('INSERT INTO security_roles.audit VALUES (%L, current_user)', name || ' up'),
          'down', format('INSERT INTO security_roles.audit VALUES (%L, current_user)', name || ' down'))),
      jsonb_build_object('sql', jsonb_build_object(
          'up', format('INSERT INTO security_roles.audit VALUES (%L, current_user)', name || ' on complete'),
          'onComplete', true))))
$$;
TRUNCATE security_roles.audit;
SET ROLE regress_sec_owner;
SELECT expand_contract.start('03_audit', pg_temp.audit_doc('03'), 'security_roles');
SET ROLE regress_sec_nobody;
SELECT pg_temp.error_of($$SELECT expand_contract.complete('security_roles')$$);
SELECT pg_temp.error_of($$SELECT expand_contract.rollback('security_roles')$$);
RESET ROLE;
SELECT expand_contract.rollback('security_roles');
SET ROLE regress_sec_owner;
SELECT expand_contract.start('03_audit', pg_temp.audit_doc('03 again'), 'security_roles');
RESET ROLE;
SELECT expand_contract.complete('security_roles');
SELECT step, run_as FROM security_roles.audit ORDER BY step;

-- An intruder's "down" cannot borrow the superuser's rights: it fails, and
-- the rollback with it.
SET ROLE regress_sec_owner;
SELECT expand_contract.start('04_escalate', '{"operations": [
  {"sql": {"up": "SELECT 1", "down": "ALTER ROLE regress_sec_owner SUPERUSER"}}]}', 'security_roles');
RESET ROLE;
SELECT pg_temp.error_of($$SELECT expand_contract.rollback('security_roles')$$);
SELECT pg_temp.is_superuser('regress_sec_owner') AS owner_became_superuser;
SELECT expand_contract.complete('security_roles');

-- What a security-restricted operation refuses, said clearly: temporary
-- tables, SET ROLE.
SET ROLE regress_sec_owner;
SELECT pg_temp.error_of($$SELECT expand_contract.start('05_temp', '{"operations": [
  {"sql": {"up": "CREATE TEMP TABLE scratch (id int)"}}]}', 'security_roles')$$);
SELECT pg_temp.error_of($$SELECT expand_contract.start('05_role', '{"operations": [
  {"sql": {"up": "SET ROLE regress_sec_neighbour"}}]}', 'security_roles')$$);
RESET ROLE;

--------------------------------------------------------------------------------
-- Any member of the schema owner's role may migrate the schema. The version
-- schema belongs to the schema's owner, so whichever member runs the next
-- migration can drop it at complete.
--------------------------------------------------------------------------------
CREATE ROLE regress_sec_deployer IN ROLE regress_sec_owner;
SET ROLE regress_sec_deployer;
SELECT expand_contract.start('06_note', '{"operations": [
  {"add_column": {"table": "accounts", "column": {"name": "note", "type": "text", "nullable": true}}}]}',
  'security_roles');
RESET ROLE;
SELECT nspname, nspowner::regrole AS owner FROM pg_namespace WHERE nspname = 'security_roles_06_note';
-- The migration is the deployer's: the schema's owner role is not a member
-- of it (start as the shared role, SET ROLE regress_sec_owner, to share it).
SET ROLE regress_sec_owner;
SELECT pg_temp.error_of($$SELECT expand_contract.complete('security_roles')$$);
SET ROLE regress_sec_deployer;
SELECT expand_contract.complete('security_roles');
SET ROLE regress_sec_owner;

-- A deferred constraint trigger on a backfilled table fires at the end of
-- each batch (a security-restricted operation may not leave it pending),
-- as the owner.
CREATE FUNCTION security_roles.note_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO security_roles.audit VALUES ('deferred check', current_user);
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER checked_later AFTER UPDATE ON security_roles.accounts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION security_roles.note_change();
SELECT expand_contract.start('07_flag', '{"operations": [
  {"add_column": {"table": "accounts", "column": {"name": "gold", "type": "boolean", "nullable": true},
                  "up": "status = ''gold''"}}]}', 'security_roles');
RESET ROLE;
TRUNCATE security_roles.audit;
SELECT table_name, sum(rows) AS rows FROM expand_contract.backfill('security_roles', 5) GROUP BY 1;
SELECT step, run_as, count(*) FROM security_roles.audit GROUP BY 1, 2;
-- The owner completes, dropping the version schema the deployer's migration
-- left.
SET ROLE regress_sec_owner;
SELECT expand_contract.complete('security_roles');
RESET ROLE;
SELECT nspname FROM pg_namespace WHERE nspname LIKE 'security\_roles\_%' ORDER BY 1;
SELECT count(*) FILTER (WHERE gold IS NULL) AS unfilled FROM security_roles.accounts;

-- The worker a superuser starts connects as the bootstrap superuser, yet
-- runs every batch as the owner.
CREATE FUNCTION pg_temp.backfill_done(schema text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    seen text;
BEGIN
    FOR i IN 1..600 LOOP
        SELECT string_agg(table_name || ': ' || state, ', ') INTO seen
          FROM expand_contract.backfill_status WHERE schema_name = schema;
        IF seen NOT LIKE '%: running%' AND seen NOT LIKE '%: waiting%' THEN
            RETURN seen;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN 'timed out: ' || seen;
END $$;
SET ROLE regress_sec_owner;
SELECT expand_contract.start('08_regrade', '{"operations": [
  {"add_column": {"table": "accounts", "column": {"name": "grade2", "type": "integer", "nullable": true},
                  "up": "security_roles.grade(status)"}}]}', 'security_roles');
RESET ROLE;
TRUNCATE security_roles.audit;
SELECT expand_contract.start_backfill('security_roles', 5) > 0 AS worker_started;
SELECT pg_temp.backfill_done('security_roles');
SELECT step, run_as, count(*) FROM security_roles.audit WHERE step = 'grade' GROUP BY 1, 2;
SELECT pg_temp.is_superuser('regress_sec_owner') AS owner_became_superuser;
SELECT expand_contract.complete('security_roles');

-- A runner started by one member may be stopped by the owner of the tables
-- it backfills, though that role is not a member of the runner's.
SET ROLE regress_sec_deployer;
SELECT expand_contract.start('09_parked', '{"operations": [
  {"add_column": {"table": "accounts", "column": {"name": "grade3", "type": "integer", "nullable": true},
                  "up": "security_roles.grade(status)"}}]}', 'security_roles');
SELECT expand_contract.start_backfill('security_roles', 1, 2000) > 0 AS worker_started;
SET ROLE regress_sec_app;
SELECT pg_temp.error_of($$SELECT expand_contract.cancel_backfill('security_roles')$$);
SET ROLE regress_sec_owner;
SELECT pg_temp.error_of($$SELECT expand_contract.rollback('security_roles')$$);
SELECT expand_contract.cancel_backfill('security_roles');
RESET ROLE;
SELECT pg_temp.backfill_done('security_roles');
SET ROLE regress_sec_deployer;
SELECT expand_contract.rollback('security_roles');
RESET ROLE;

-- Clean up.
SET client_min_messages = warning;
DROP SCHEMA security_roles CASCADE;
DROP SCHEMA IF EXISTS security_roles_02_grade CASCADE;
DROP SCHEMA IF EXISTS security_roles_03_audit CASCADE;
DROP SCHEMA IF EXISTS security_roles_04_escalate CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'security_roles';
DROP SCHEMA IF EXISTS security_roles_06_note, security_roles_07_flag, security_roles_08_regrade, security_roles_09_parked CASCADE;
DROP OWNED BY regress_sec_owner, regress_sec_neighbour, regress_sec_intruder, regress_sec_app, regress_sec_nobody, regress_sec_deployer;
DROP ROLE regress_sec_owner, regress_sec_neighbour, regress_sec_intruder, regress_sec_app, regress_sec_nobody, regress_sec_deployer;
