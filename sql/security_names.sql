--
-- security_names: every name in a document is resolved once, at start, with
-- the caller's own search_path; everything run later (sync rules, the steps
-- of complete and rollback, backfill batches) can only mean what it meant
-- then, whatever objects appear in the meantime and whatever search_path the
-- runner has. Also: row-level security and SECURITY DEFINER writers.
--
-- Both versions write here while rows still wait for the backfill, so the
-- new version opens at start (by default it opens once the backfill is done).
SET expand_contract.open_new_version = at_start;
\set SHOW_CONTEXT never
\pset null '(null)'
SET ec_test.schema = 'security_names';
\i sql/include/security_helpers.psql

CREATE ROLE regress_names_owner;
CREATE ROLE regress_names_intruder;
CREATE ROLE regress_names_app;
DO $$ BEGIN
    EXECUTE format('GRANT CREATE ON DATABASE %I TO regress_names_owner', current_database());
END $$;
CREATE SCHEMA security_names AUTHORIZATION regress_names_owner;
-- The intruder may create objects in the migrated schema.
GRANT USAGE, CREATE ON SCHEMA security_names TO regress_names_intruder, regress_names_app;
CREATE SCHEMA names_ext;
CREATE EXTENSION citext SCHEMA names_ext;
GRANT USAGE ON SCHEMA names_ext TO PUBLIC;

CREATE TABLE security_names.spied (who name, what text);
GRANT INSERT ON security_names.spied TO PUBLIC;

SET ROLE regress_names_owner;
CREATE TABLE security_names.people (id integer PRIMARY KEY, name varchar(40) NOT NULL, label text);
INSERT INTO security_names.people SELECT g, 'Person ' || g FROM generate_series(1, 10) g;
GRANT SELECT, INSERT, UPDATE ON security_names.people TO regress_names_app;
RESET ROLE;

-- The intruder's look-alikes: a better match for lower(varchar) than
-- pg_catalog.lower(text), and <= / > for integers.
SET ROLE regress_names_intruder;
CREATE FUNCTION security_names.lower(varchar) RETURNS text LANGUAGE sql AS
$$ INSERT INTO security_names.spied VALUES (current_user, 'lower'); SELECT 'spied' $$;
CREATE FUNCTION security_names.spy_le(integer, integer) RETURNS boolean LANGUAGE sql AS
$$ INSERT INTO security_names.spied VALUES (current_user, '<='); SELECT $1 OPERATOR(pg_catalog.<=) $2 $$;
CREATE FUNCTION security_names.spy_gt(integer, integer) RETURNS boolean LANGUAGE sql AS
$$ INSERT INTO security_names.spied VALUES (current_user, '>'); SELECT $1 OPERATOR(pg_catalog.>) $2 $$;
CREATE OPERATOR security_names.<= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = security_names.spy_le);
CREATE OPERATOR security_names.> (LEFTARG = integer, RIGHTARG = integer, FUNCTION = security_names.spy_gt);
RESET ROLE;

--------------------------------------------------------------------------------
-- The owner starts with search_path = pg_catalog: "lower" is pg_catalog's,
-- though the migrated schema has a better match. A default and an alter_column
-- default mean at complete what they meant at start.
--------------------------------------------------------------------------------
CREATE FUNCTION pg_temp.lower_doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [
      {"add_column": {"table": "people", "column": {"name": "handle", "type": "text", "nullable": true,
                                                    "default": "lower(''GUEST''::varchar)"},
                      "up": "lower(name)"}},
      {"alter_column": {"table": "people", "column": "label", "default": "lower(''NONE''::varchar)"}}]}'::jsonb
$$;
SET ROLE regress_names_owner;
SET search_path = pg_catalog;
SELECT expand_contract.start('02_handle', pg_temp.lower_doc(), 'security_names');
RESET search_path;
RESET ROLE;
-- Writes of both versions, from a session whose search_path has the intruder's
-- schema first.
SET ROLE regress_names_app;
SET search_path = security_names, pg_catalog;
INSERT INTO security_names.people (id, name) VALUES (11, 'Old App');
INSERT INTO security_names_02_handle.people (id, name) VALUES (12, 'New App');
UPDATE security_names.people SET name = 'Old App Again' WHERE id OPERATOR(pg_catalog.=) 11;
RESET search_path;
SELECT id, name, handle, label FROM security_names_02_handle.people WHERE id > 10 ORDER BY id;
RESET ROLE;
-- The backfill runs with the intruder's operators on the caller's path.
SET search_path = security_names, pg_catalog;
SET client_min_messages = warning;   -- progress notices carry timings
CALL expand_contract.run_backfill('security_names', 3);
RESET client_min_messages;
RESET search_path;
SELECT count(*) FILTER (WHERE handle IS NULL) AS unfilled FROM security_names_02_handle.people;
SELECT expand_contract.rollback('security_names');
SET ROLE regress_names_owner;
SET search_path = pg_catalog;
SELECT expand_contract.start('02_handle', pg_temp.lower_doc(), 'security_names');
RESET search_path;
RESET ROLE;
-- A superuser completes with the intruder's schema first on its path, then
-- inserts through the contracted table.
SET search_path = security_names, pg_catalog;
SELECT expand_contract.complete('security_names');
INSERT INTO security_names.people (id, name) VALUES (13, 'After Complete');
RESET search_path;
SELECT id, name, handle, label FROM security_names.people WHERE id IN (1, 11, 12, 13) ORDER BY id;
SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) AS "default"
  FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
 WHERE d.adrelid = 'security_names.people'::regclass ORDER BY 1;
SELECT who, what, count(*) FROM security_names.spied GROUP BY 1, 2 ORDER BY 1, 2;

--------------------------------------------------------------------------------
-- Keys of an extension type: the backfill compares them with the key index's
-- own operators (citext's, not text's), found whatever the search_path.
--------------------------------------------------------------------------------
SET ROLE regress_names_owner;
CREATE TABLE security_names.codes (code names_ext.citext PRIMARY KEY, n integer NOT NULL);
INSERT INTO security_names.codes VALUES ('alpha', 1), ('Bravo', 2), ('charlie', 3), ('Delta', 4),
    ('echo', 5), ('FOXTROT', 6), ('golf', 7);
SELECT expand_contract.start('03_double', '{"operations": [
  {"add_column": {"table": "codes", "column": {"name": "double", "type": "integer", "nullable": true},
                  "up": "n * 2"}}]}', 'security_names');
RESET ROLE;
SET search_path = pg_catalog;
SET client_min_messages = warning;
CALL expand_contract.run_backfill('security_names', 2);
RESET client_min_messages;
RESET search_path;
SELECT code, n, double FROM security_names_03_double.codes ORDER BY n;
SELECT expand_contract.complete('security_names');

--------------------------------------------------------------------------------
-- Row-level security: the backfill fills every row whatever the runner may
-- see. The application role, which sees one tenant, may neither backfill nor
-- verify (verify evaluates the owner's code, and would see one tenant); the
-- owner's backfill and verify cover every row even under FORCE.
--------------------------------------------------------------------------------
SET ROLE regress_names_owner;
CREATE TABLE security_names.invoices (id integer PRIMARY KEY, tenant text NOT NULL, amount integer NOT NULL);
INSERT INTO security_names.invoices SELECT g, 'tenant ' || (g % 4), g FROM generate_series(1, 200) g;
ALTER TABLE security_names.invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE security_names.invoices FORCE ROW LEVEL SECURITY;   -- binds the owner too
CREATE POLICY one_tenant ON security_names.invoices
    USING (tenant = current_setting('app.tenant', true));
GRANT SELECT, UPDATE ON security_names.invoices TO regress_names_app;
SELECT expand_contract.start('04_cents', '{"operations": [
  {"add_column": {"table": "invoices", "column": {"name": "cents", "type": "integer", "nullable": true},
                  "up": "amount * 100"}}]}', 'security_names');
RESET ROLE;
SET app.tenant = 'tenant 1';
SET ROLE regress_names_app;
SELECT pg_temp.error_of($$SELECT * FROM expand_contract.backfill('security_names')$$);
SELECT pg_temp.error_of($$SELECT * FROM expand_contract.verify('security_names')$$);
SET ROLE regress_names_owner;
SELECT count(*) AS rows_the_owner_sees FROM security_names.invoices;
SELECT table_name, sum(rows) AS rows FROM expand_contract.backfill('security_names') GROUP BY 1;
SELECT * FROM expand_contract.verify('security_names');
RESET ROLE;
RESET app.tenant;
SELECT count(*) AS rows, count(cents) AS filled FROM security_names_04_cents.invoices;
SELECT expand_contract.complete('security_names');
SELECT count(*) AS rows, count(cents) AS filled FROM security_names.invoices;

--------------------------------------------------------------------------------
-- A SECURITY DEFINER function writes the base table as the old version,
-- whatever version its caller's session claims.
--------------------------------------------------------------------------------
SET ROLE regress_names_owner;
CREATE TABLE security_names.scores (id integer PRIMARY KEY, score integer NOT NULL);
INSERT INTO security_names.scores VALUES (1, 10);
CREATE FUNCTION security_names.add_score(p_id integer, p_score integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    IF p_score NOT BETWEEN 0 AND 100 THEN
        RAISE EXCEPTION 'score out of range';
    END IF;
    INSERT INTO security_names.scores (id, score) VALUES (p_id, p_score);
END $$;
GRANT EXECUTE ON FUNCTION security_names.add_score(integer, integer) TO regress_names_app;
SELECT expand_contract.start('05_percent', '{"operations": [
  {"add_column": {"table": "scores", "column": {"name": "percent", "type": "integer", "nullable": true},
                  "up": "score"}},
  {"drop_column": {"table": "scores", "column": "score", "down": "COALESCE(percent, 1000)"}}]}', 'security_names');
RESET ROLE;
SET ROLE regress_names_app;
SET expand_contract.version = 'security_names_05_percent';
SELECT security_names.add_score(2, 50);
RESET expand_contract.version;
RESET ROLE;
SELECT id, score FROM security_names.scores ORDER BY id;
SELECT id, percent FROM security_names_05_percent.scores ORDER BY id;
SELECT expand_contract.rollback('security_names');

--------------------------------------------------------------------------------
-- What a migration's code sets stays in it: an sql operation's SET and an
-- "up" function's set_config(..., true) neither reach the SQL the extension
-- runs as the catalog's owner (a domain named like a built-in type would
-- run its check as a superuser) nor outlive the phase.
--------------------------------------------------------------------------------
SET ROLE regress_names_owner;
CREATE SCHEMA names_evil;
CREATE FUNCTION names_evil.pwn(value anyelement) RETURNS boolean LANGUAGE sql AS
$$ INSERT INTO security_names.spied VALUES (current_user, 'domain check'); SELECT true $$;
CREATE DOMAIN names_evil.jsonb AS pg_catalog.jsonb CHECK (names_evil.pwn(VALUE));
CREATE DOMAIN names_evil.float8 AS pg_catalog.float8 CHECK (names_evil.pwn(VALUE));
CREATE DOMAIN names_evil.int8 AS pg_catalog.int8 CHECK (names_evil.pwn(VALUE));
CREATE FUNCTION security_names.sneaky(n integer) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'names_evil, pg_catalog', true);
    RETURN n;
END $$;
CREATE TABLE security_names.gauges (id integer PRIMARY KEY, v integer NOT NULL);
INSERT INTO security_names.gauges SELECT g, g FROM generate_series(1, 5) g;
SELECT expand_contract.start('06_sneaky', '{"operations": [
  {"sql": {"up": "SET search_path = names_evil, pg_catalog"}},
  {"add_column": {"table": "gauges", "column": {"name": "w", "type": "integer", "nullable": true},
                  "up": "security_names.sneaky(v)"}},
  {"sql": {"up": "SET search_path = names_evil, pg_catalog", "onComplete": true}}]}', 'security_names');
SHOW search_path;
RESET ROLE;
SELECT table_name, sum(rows) AS rows FROM expand_contract.backfill('security_names', 2) GROUP BY 1;
SHOW search_path;
SELECT expand_contract.complete('security_names');
SHOW search_path;
SELECT who, what, count(*) FROM security_names.spied GROUP BY 1, 2 ORDER BY 1, 2;

--------------------------------------------------------------------------------
-- A look-alike sync trigger: the intruder copies a real sync trigger's
-- arguments onto a table of its own, with a function of its own choosing.
-- Only a trigger that runs expand_contract.sync_trigger counts as one.
--------------------------------------------------------------------------------
SET ROLE regress_names_owner;
CREATE TABLE security_names.answers (id integer PRIMARY KEY, v integer NOT NULL);
SELECT expand_contract.start('07_answer', '{"operations": [
  {"add_column": {"table": "answers", "column": {"name": "answer", "type": "integer", "nullable": true},
                  "up": "41 + 1"}}]}', 'security_names');
RESET ROLE;
SET ROLE regress_names_intruder;
CREATE TABLE security_names.mine (id integer, v integer, answer integer, _ec_needs_backfill boolean);
INSERT INTO security_names.mine VALUES (1, 1, 0, true);
DO $$
DECLARE
    args text[];
BEGIN
    SELECT (regexp_split_to_array(rtrim(encode(t.tgargs, 'escape'), '\000'), '\\000'))
      INTO args
      FROM pg_trigger t WHERE t.tgrelid = 'security_names.answers'::regclass AND NOT t.tgisinternal;
    EXECUTE format('CREATE TRIGGER zz_expand_contract_sync BEFORE UPDATE ON security_names.mine '
                   'FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger(%s)',
                   (SELECT string_agg(quote_literal(a), ', ') FROM unnest(args) a));
END $$;
SELECT tgnargs FROM pg_trigger WHERE tgrelid = 'security_names.mine'::regclass;
UPDATE security_names.mine SET v = 2;
SELECT id, v, answer FROM security_names.mine ORDER BY id;
RESET ROLE;
SELECT expand_contract.rollback('security_names');

--------------------------------------------------------------------------------
-- Anyone may attach sync_trigger itself (a restore run by the database owner
-- does), but its rules are text, bound as the writer like any expression:
-- a rule calling a function the writer may not execute fails as that call
-- would, and 0.1's node trees are not read once PUBLIC may execute it.
--------------------------------------------------------------------------------
SET ROLE regress_names_owner;
CREATE FUNCTION security_names.owner_only(n integer) RETURNS integer LANGUAGE sql AS $$ SELECT n $$;
REVOKE EXECUTE ON FUNCTION security_names.owner_only(integer) FROM PUBLIC;
RESET ROLE;
SET ROLE regress_names_intruder;
CREATE TABLE security_names.forged (id integer, v integer);
CREATE TRIGGER zz_expand_contract_sync BEFORE INSERT OR UPDATE ON security_names.forged
    FOR EACH ROW EXECUTE FUNCTION expand_contract.sync_trigger('expand_contract rules 2',
        'forged', 'security_names_x', 'security_names', '', '',
        'up', 'v', 'v', 'security_names.owner_only(id)');
INSERT INTO security_names.forged VALUES (1, 1);
DROP TRIGGER zz_expand_contract_sync ON security_names.forged;
CREATE TRIGGER zz_expand_contract_sync BEFORE INSERT OR UPDATE ON security_names.forged
    FOR EACH ROW EXECUTE FUNCTION expand_contract.sync_trigger('forged', 'security_names_x',
        'security_names', '', '', '({TARGETENTRY :expr {CONST :consttype 23} :resno 2})', '<>');
INSERT INTO security_names.forged VALUES (1, 1);
DROP TABLE security_names.forged;
RESET ROLE;

--------------------------------------------------------------------------------
-- Overloads created later capture nothing: what complete() replays and what
-- verify() evaluates were deparsed with their implicit casts, so
-- security_names.tag(7), bound at start to tag(bigint), stays that call
-- after the intruder adds tag(integer) in the same schema.
--------------------------------------------------------------------------------
SET ROLE regress_names_owner;
CREATE FUNCTION security_names.tag(n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'tag ' || n $$;
CREATE TABLE security_names.labels (id integer PRIMARY KEY, n integer NOT NULL, label text);
INSERT INTO security_names.labels VALUES (1, 1, NULL);
SELECT expand_contract.start('08_tags', '{"operations": [
  {"alter_column": {"table": "labels", "column": "label", "default": "security_names.tag(7)"}},
  {"add_column": {"table": "labels", "column": {"name": "t", "type": "text", "nullable": true},
                  "up": "security_names.tag(n)"}}]}', 'security_names');
INSERT INTO security_names.labels (id, n) VALUES (2, 2);
RESET ROLE;
SET ROLE regress_names_intruder;
CREATE FUNCTION security_names.tag(n integer) RETURNS text LANGUAGE sql AS
$$ INSERT INTO security_names.spied VALUES (current_user, 'tag(integer)'); SELECT 'spied' $$;
RESET ROLE;
TRUNCATE security_names.spied;
SELECT * FROM expand_contract.verify('security_names');
SELECT expand_contract.complete('security_names');
INSERT INTO security_names.labels (id, n) VALUES (3, 3);
SELECT id, n, label, t FROM security_names.labels ORDER BY id;
SELECT who, what, count(*) FROM security_names.spied GROUP BY 1, 2 ORDER BY 1, 2;

--------------------------------------------------------------------------------
-- Writers in one backend get their own compiled sync rules: a subquery's plan
-- carries the row-level security of whoever planned it, so after a
-- superuser's write the application's write still sees only its tenant.
--------------------------------------------------------------------------------
SET ROLE regress_names_owner;
CREATE TABLE security_names.secrets (id integer PRIMARY KEY, tenant text NOT NULL);
INSERT INTO security_names.secrets SELECT g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END
  FROM generate_series(1, 10) g;
ALTER TABLE security_names.secrets ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_tenant ON security_names.secrets USING (tenant = current_setting('app.tenant', true));
GRANT SELECT ON security_names.secrets TO regress_names_app;
CREATE TABLE security_names.counters (id integer PRIMARY KEY, n integer NOT NULL);
GRANT SELECT, INSERT ON security_names.counters TO regress_names_app;
SELECT expand_contract.start('09_seen', '{"operations": [
  {"add_column": {"table": "counters", "column": {"name": "seen", "type": "integer", "nullable": true},
                  "up": "(SELECT count(*) FROM security_names.secrets)::integer"}}]}', 'security_names');
RESET ROLE;
BEGIN;
INSERT INTO security_names.counters VALUES (1, 1);
SET LOCAL app.tenant = 'a';
SET LOCAL ROLE regress_names_app;
INSERT INTO security_names.counters VALUES (2, 2);
COMMIT;
SELECT id, seen FROM security_names_09_seen.counters ORDER BY id;
SELECT expand_contract.rollback('security_names');

-- Clean up.
SET client_min_messages = warning;
DROP SCHEMA security_names CASCADE;
DROP SCHEMA IF EXISTS security_names_02_handle CASCADE;
DROP SCHEMA IF EXISTS security_names_03_double CASCADE;
DROP SCHEMA IF EXISTS security_names_04_cents CASCADE;
DROP SCHEMA IF EXISTS security_names_05_percent CASCADE;
DROP SCHEMA IF EXISTS security_names_06_sneaky, security_names_07_answer, security_names_08_tags CASCADE;
DROP SCHEMA names_evil CASCADE;
DROP EXTENSION citext;
DROP SCHEMA names_ext;
DELETE FROM expand_contract.migrations WHERE schema_name = 'security_names';
DROP OWNED BY regress_names_owner, regress_names_intruder, regress_names_app;
DROP ROLE regress_names_owner, regress_names_intruder, regress_names_app;
