--
-- security_fields: no field of a migration document can smuggle SQL. Every
-- field is parsed as what it stands for (a type name, one expression, a list
-- of sequence options, one identifier) and the statements that start(),
-- complete() and rollback() run are built from the parsed result, so a field
-- that carries a second statement is refused with a syntax error and the
-- smuggled statement never runs.
--
-- Both versions write here while rows still wait for the backfill, so the
-- new version opens at start (by default it opens once the backfill is done).
SET expand_contract.open_new_version = at_start;
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA security_fields;
SET search_path = security_fields;
SET ec_test.schema = 'security_fields';
\i sql/include/security_helpers.psql

CREATE TABLE victim (id integer);
CREATE TABLE accounts (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO accounts VALUES (1, 'Ada'), (2, 'Grace');

--------------------------------------------------------------------------------
-- add_column: type and default
--------------------------------------------------------------------------------
SELECT * FROM pg_temp.smuggle($${"operations": [{"add_column": {"table": "accounts",
    "column": {"name": "score", "type": "int; DROP TABLE victim", "nullable": true}}}]}$$);
SELECT * FROM pg_temp.smuggle($${"operations": [{"add_column": {"table": "accounts",
    "column": {"name": "score", "type": "int", "nullable": true, "default": "0; DROP TABLE victim"}}}]}$$);
-- a comment cannot swallow the rest of a generated statement either
SELECT * FROM pg_temp.smuggle($${"operations": [{"add_column": {"table": "accounts",
    "column": {"name": "score", "type": "int --", "nullable": false, "default": "0"}}}]}$$);
SELECT * FROM pg_temp.smuggle($${"operations": [{"add_column": {"table": "accounts",
    "column": {"name": "score", "type": "int", "nullable": true,
               "check": {"name": "score_ok", "constraint": "score > 0) NOT VALID; DROP TABLE victim; SELECT (1"}}}}]}$$);

--------------------------------------------------------------------------------
-- create_table: column type, default, check, generated expression, identity
-- options, and a table constraint's check
--------------------------------------------------------------------------------
SELECT * FROM pg_temp.smuggle($${"operations": [{"create_table": {"name": "zz",
    "columns": [{"name": "a", "type": "int); DROP TABLE victim; CREATE TABLE zz2 (a int"}]}}]}$$);
SELECT * FROM pg_temp.smuggle($${"operations": [{"create_table": {"name": "zz",
    "columns": [{"name": "a", "type": "int", "default": "0); DROP TABLE victim; CREATE TABLE zz2 (a int"}]}}]}$$);
SELECT * FROM pg_temp.smuggle($${"operations": [{"create_table": {"name": "zz",
    "columns": [{"name": "a", "type": "int",
                 "check": {"name": "a_ok", "constraint": "a > 0)); DROP TABLE victim; CREATE TABLE zz2 (a int, CHECK (true"}}]}}]}$$);
SELECT * FROM pg_temp.smuggle($${"operations": [{"create_table": {"name": "zz",
    "columns": [{"name": "a", "type": "int"},
                {"name": "b", "type": "int", "generated": {"expression": "a) STORED); DROP TABLE victim; CREATE TABLE zz2 (b int GENERATED ALWAYS AS (1"}}]}}]}$$);
SELECT * FROM pg_temp.smuggle($${"operations": [{"create_table": {"name": "zz",
    "columns": [{"name": "a", "type": "int",
                 "generated": {"identity": {"sequence_options": "START 1)); DROP TABLE victim; CREATE TABLE zz2 (a int GENERATED ALWAYS AS IDENTITY (START 1"}}}]}}]}$$);
SELECT * FROM pg_temp.smuggle($${"operations": [{"create_table": {"name": "zz",
    "columns": [{"name": "a", "type": "int"}],
    "constraints": [{"name": "a_ok", "type": "check",
                     "check": "a > 0)); DROP TABLE victim; CREATE TABLE zz (a int, CHECK (true"}]}}]}$$);
SELECT to_regclass('security_fields.zz2') AS smuggled_table;

--------------------------------------------------------------------------------
-- alter_column: type, default, up and down are one thing each
--------------------------------------------------------------------------------
SELECT * FROM pg_temp.smuggle($${"operations": [{"alter_column": {"table": "accounts", "column": "name",
    "type": "varchar(20); DROP TABLE victim"}}]}$$);
SELECT * FROM pg_temp.smuggle($${"operations": [{"alter_column": {"table": "accounts", "column": "name",
    "default": "'x'; DROP TABLE victim"}}]}$$);
SELECT * FROM pg_temp.smuggle($${"operations": [{"alter_column": {"table": "accounts", "column": "name",
    "type": "varchar(20)", "up": "name; DROP TABLE victim", "down": "name"}}]}$$);

--------------------------------------------------------------------------------
-- A default accepted under standard_conforming_strings = off is the same
-- string when a superuser completes with it on: what complete() runs was
-- built at start from the parsed default, not re-read from its text.
--------------------------------------------------------------------------------
CREATE ROLE regress_sec_fields_owner;
DO $$ BEGIN
    EXECUTE format('GRANT CREATE ON DATABASE %I TO regress_sec_fields_owner', current_database());
END $$;
CREATE SCHEMA fields_owned AUTHORIZATION regress_sec_fields_owner;
SET ROLE regress_sec_fields_owner;
CREATE TABLE fields_owned.notes (id integer PRIMARY KEY, body text);
INSERT INTO fields_owned.notes VALUES (1, 'first');
SET standard_conforming_strings = off;
SET escape_string_warning = off;
SELECT expand_contract.start('02_body_default', $${"operations": [{"alter_column": {"table": "notes",
    "column": "body", "default": "'\\'; ALTER ROLE regress_sec_fields_owner SUPERUSER; --'"}}]}$$,
    'fields_owned');
RESET standard_conforming_strings;
RESET escape_string_warning;
RESET ROLE;
-- The new version's view shows the default the owner meant.
INSERT INTO fields_owned_02_body_default.notes (id) VALUES (2);
SELECT id, body FROM fields_owned.notes ORDER BY id;
SELECT expand_contract.complete('fields_owned');
SELECT pg_temp.is_superuser('regress_sec_fields_owner') AS owner_became_superuser;
INSERT INTO fields_owned.notes (id) VALUES (3);
SELECT id, body FROM fields_owned.notes ORDER BY id;

--------------------------------------------------------------------------------
-- Names: identifiers longer than 63 bytes are refused (42622), never
-- truncated; staged names fit whatever legal name a column has.
--------------------------------------------------------------------------------
SELECT * FROM pg_temp.smuggle(format($${"operations": [{"create_table": {"name": "%s",
    "columns": [{"name": "a", "type": "int"}]}}]}$$, repeat('t', 70))::jsonb);
SELECT * FROM pg_temp.smuggle(format($${"operations": [{"rename_table": {"from": "accounts", "to": "%s"}}]}$$,
    repeat('t', 70))::jsonb);
SELECT * FROM pg_temp.smuggle(format($${"operations": [{"add_column": {"table": "accounts",
    "column": {"name": "%s", "type": "int", "nullable": true}}}]}$$, repeat('c', 64))::jsonb);
SELECT * FROM pg_temp.smuggle(format($${"operations": [{"rename_column": {"table": "accounts",
    "from": "name", "to": "%s"}}]}$$, repeat('c', 64))::jsonb);

-- A 63-byte column added, and a 60-byte one retyped, go through the whole
-- cycle: start, both versions write, rollback, start again, complete.
ALTER TABLE accounts RENAME COLUMN name TO account_holder_name_as_printed_on_the_monthly_statement_xyz;
SELECT length('account_holder_name_as_printed_on_the_monthly_statement_xyz') AS retyped_name_bytes;
CREATE FUNCTION pg_temp.long_names_doc() RETURNS jsonb LANGUAGE sql AS $f$
    SELECT format($${"operations": [
      {"add_column": {"table": "accounts", "column": {"name": "%s", "type": "integer", "nullable": true},
                      "up": "id * 10"}},
      {"alter_column": {"table": "accounts", "column": "account_holder_name_as_printed_on_the_monthly_statement_xyz",
                        "type": "varchar(40)", "nullable": false,
                        "up": "COALESCE(account_holder_name_as_printed_on_the_monthly_statement_xyz, 'unknown')",
                        "down": "account_holder_name_as_printed_on_the_monthly_statement_xyz"}}]}$$,
                  repeat('s', 63))::jsonb
$f$;
SELECT expand_contract.start('02_long_names', pg_temp.long_names_doc(), 'security_fields');
SELECT attname, length(attname) AS bytes FROM pg_attribute
 WHERE attrelid = 'accounts'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
INSERT INTO accounts VALUES (3, 'old app');
INSERT INTO security_fields_02_long_names.accounts (id, account_holder_name_as_printed_on_the_monthly_statement_xyz)
VALUES (4, 'new app');
SELECT * FROM security_fields_02_long_names.accounts ORDER BY id;
SELECT expand_contract.rollback('security_fields');
SELECT attname FROM pg_attribute
 WHERE attrelid = 'accounts'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT expand_contract.start('02_long_names', pg_temp.long_names_doc(), 'security_fields');
SELECT * FROM expand_contract.verify('security_fields');
SELECT expand_contract.complete('security_fields');
SELECT * FROM accounts ORDER BY id;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'accounts'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;

-- Clean up.
SET client_min_messages = warning;
DROP SCHEMA security_fields CASCADE;
DROP SCHEMA security_fields_02_long_names CASCADE;
DROP SCHEMA fields_owned CASCADE;
DROP SCHEMA IF EXISTS fields_owned_02_body_default CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name IN ('security_fields', 'fields_owned');
DROP OWNED BY regress_sec_fields_owner;
DROP ROLE regress_sec_fields_owner;
