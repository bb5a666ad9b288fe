--
-- user_triggers: a table with an audit trigger of its own. PL/pgSQL builds
-- NEW from the table's whole row, staged columns included, so a trigger
-- that uses it by position (INSERT INTO audit VALUES (NEW.*)) breaks from
-- start until complete; nothing can hide those columns from it. start warns,
-- naming the table's row triggers; a trigger that names its columns goes on
-- working through the whole cycle.
--
\pset null '(null)'
CREATE SCHEMA user_triggers;
SET search_path = user_triggers;
SET ec_test.schema = 'user_triggers';
\i sql/include/phase_helpers.psql

CREATE TABLE orders (id integer PRIMARY KEY, total integer NOT NULL);
CREATE TABLE audit (id integer, total integer);
CREATE TABLE audit_named (id integer, total integer);
CREATE FUNCTION user_triggers.audit_by_position() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO user_triggers.audit VALUES (NEW.*); RETURN NEW; END $$;
CREATE FUNCTION user_triggers.audit_by_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO user_triggers.audit_named (id, total) VALUES (NEW.id, NEW.total); RETURN NEW; END $$;
CREATE TRIGGER audit_positional AFTER INSERT OR UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION audit_by_position();
CREATE TRIGGER audit_named AFTER INSERT OR UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION audit_by_name();
INSERT INTO orders VALUES (1, 10);

CREATE FUNCTION pg_temp.doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [{"add_column": {"table": "orders",
      "column": {"name": "total_cents", "type": "integer", "nullable": true}, "up": "total * 100"}}]}'::jsonb
$$;
-- start warns about both (it cannot tell what a trigger does).
SELECT expand_contract.start('02_cents', pg_temp.doc(), 'user_triggers') AS version_schema;
-- The positional one now fails every write: NEW has the staged columns.
SELECT pg_temp.sqlstate_of($$INSERT INTO user_triggers.orders VALUES (2, 20)$$);
-- Without it, both versions write, and the named one keeps auditing (the
-- backfill's own updates fire it too: it audits every row it fills).
DROP TRIGGER audit_positional ON orders;
INSERT INTO orders VALUES (2, 20);
SET client_min_messages = warning;
CALL expand_contract.run_backfill('user_triggers');
RESET client_min_messages;
INSERT INTO user_triggers_02_cents.orders (id, total, total_cents) VALUES (3, 30, 3000);
SELECT expand_contract.rollback('user_triggers');
SELECT expand_contract.start('02_cents', pg_temp.doc(), 'user_triggers') AS version_schema;
SET client_min_messages = warning;
CALL expand_contract.run_backfill('user_triggers');
RESET client_min_messages;
SELECT expand_contract.complete('user_triggers');
INSERT INTO orders VALUES (4, 40, 4000);
SELECT * FROM audit_named ORDER BY id;

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA user_triggers, user_triggers_02_cents CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'user_triggers';
