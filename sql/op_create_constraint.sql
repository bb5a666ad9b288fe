--
-- create_constraint: the ticket office adds rules the new app keeps and the
-- old one never knew: a check over two columns and a foreign key to the
-- sellers table (pgroll's examples 45 and 47). The columns go to copies that
-- carry the constraint NOT VALID; "up" brings the old version's rows and
-- writes into line; complete validates it.
--
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_create_constraint;
SET search_path = op_create_constraint;
SET ec_test.schema = 'op_create_constraint';
\i sql/include/op_helpers.psql
-- Both versions write here while rows still wait for the backfill.
SET expand_contract.open_new_version = at_start;

CREATE TABLE sellers (name text, zip integer, PRIMARY KEY (name, zip));
INSERT INTO sellers VALUES ('alice', 1), ('bob', 123);
CREATE TABLE tickets (id integer PRIMARY KEY, sellers_name text NOT NULL, sellers_zip integer NOT NULL);
INSERT INTO tickets VALUES (1, 'alice', 1), (2, 'bob', -5);

-- Refused, leaving nothing behind: a second primary key, an unknown type, a
-- taken name, an "up" for a column the constraint is not on, a check that
-- does not analyse.
SELECT * FROM pg_temp.start_fails('{"operations": [{"create_constraint": {"table": "tickets", "name": "u",
  "type": "primary_key", "columns": ["sellers_name"]}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"create_constraint": {"table": "tickets", "name": "u",
  "type": "exclusive", "columns": ["sellers_name"]}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"create_constraint": {"table": "tickets", "name": "tickets_pkey",
  "type": "check", "columns": ["sellers_zip"], "check": "sellers_zip > 0"}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"create_constraint": {"table": "tickets", "name": "c",
  "type": "check", "columns": ["sellers_zip"], "check": "sellers_zip > 0", "up": {"id": "id"}}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"create_constraint": {"table": "tickets", "name": "c",
  "type": "check", "columns": ["sellers_zip"], "check": "zip > 0"}}]}');

CREATE FUNCTION pg_temp.doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [
      {"create_constraint": {"type": "check", "table": "tickets", "name": "check_zip_name",
        "columns": ["sellers_name", "sellers_zip"], "check": "sellers_name = ''alice'' OR sellers_zip > 0",
        "up": {"sellers_zip": "SELECT CASE WHEN sellers_name != ''alice'' AND sellers_zip <= 0 THEN 123 ELSE sellers_zip END"},
        "down": {"sellers_name": "sellers_name", "sellers_zip": "sellers_zip"}}},
      {"create_constraint": {"type": "foreign_key", "table": "tickets", "name": "fk_sellers",
        "columns": ["sellers_name", "sellers_zip"],
        "references": {"table": "sellers", "columns": ["name", "zip"], "on_delete": "CASCADE"}}}]}'::jsonb
$$;
SELECT expand_contract.start('02_ticket_rules', pg_temp.doc(), 'op_create_constraint') AS version_schema;
SELECT name, validated FROM pg_temp.constraints('op_create_constraint.tickets');
-- The old version is not held to them; "up" fixes what it writes.
INSERT INTO tickets VALUES (3, 'bob', 0);
INSERT INTO op_create_constraint_02_ticket_rules.tickets VALUES (4, 'bob', 0);
INSERT INTO op_create_constraint_02_ticket_rules.tickets VALUES (4, 'carol', 5);
INSERT INTO op_create_constraint_02_ticket_rules.tickets VALUES (4, 'alice', 1);
SELECT * FROM op_create_constraint_02_ticket_rules.tickets ORDER BY id;
SELECT * FROM tickets ORDER BY id;
SELECT expand_contract.rollback('op_create_constraint');
SELECT * FROM pg_temp.leftovers();
SELECT * FROM pg_temp.constraints('op_create_constraint.tickets');
SELECT expand_contract.start('02_ticket_rules', pg_temp.doc(), 'op_create_constraint') AS version_schema;
SET client_min_messages = warning;
CALL expand_contract.run_backfill('op_create_constraint');
RESET client_min_messages;
SELECT * FROM expand_contract.verify('op_create_constraint');
SELECT expand_contract.complete('op_create_constraint');
SELECT * FROM pg_temp.constraints('op_create_constraint.tickets');
SELECT * FROM pg_temp.columns('op_create_constraint.tickets');
SELECT * FROM tickets ORDER BY id;
DELETE FROM sellers WHERE name = 'bob';
SELECT * FROM tickets ORDER BY id;

-- Unique and primary key constraints: the copies get a unique index, built
-- online after start; complete makes it the constraint. On a table the
-- migration creates, constraints are added at once.
CREATE TABLE seats (row_label text NOT NULL, num integer NOT NULL, holder text);
INSERT INTO seats VALUES ('A', 1, 'Ada'), ('A', 2, NULL);
CREATE FUNCTION pg_temp.seats_doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [
      {"create_constraint": {"type": "primary_key", "table": "seats", "name": "seats_pk", "columns": ["row_label", "num"]}},
      {"create_constraint": {"type": "unique", "table": "seats", "name": "one_seat_per_holder", "columns": ["holder"],
        "nulls_not_distinct": false, "index_parameters": {"include_columns": ["num"]}}},
      {"create_table": {"name": "rows", "columns": [{"name": "label", "type": "text"}]}},
      {"create_constraint": {"type": "primary_key", "table": "rows", "name": "rows_pk", "columns": ["label"]}}]}'::jsonb
$$;
SELECT expand_contract.start('03_seat_keys', pg_temp.seats_doc(), 'op_create_constraint') AS version_schema;
SET client_min_messages = warning;
CALL expand_contract.run_backfill('op_create_constraint');
CALL expand_contract.wait_for_index_builds('op_create_constraint');
RESET client_min_messages;
-- Held by the unique index on the copies, through either version.
INSERT INTO op_create_constraint_03_seat_keys.seats VALUES ('A', 1, 'Hedy');
INSERT INTO seats VALUES ('B', 1, 'Ada');
INSERT INTO seats VALUES ('B', 1, 'Grace');
SELECT expand_contract.rollback('op_create_constraint');
SELECT * FROM pg_temp.leftovers();
SELECT expand_contract.start('03_seat_keys', pg_temp.seats_doc(), 'op_create_constraint') AS version_schema;
SET client_min_messages = warning;
CALL expand_contract.run_backfill('op_create_constraint');
CALL expand_contract.wait_for_index_builds('op_create_constraint');
RESET client_min_messages;
SELECT expand_contract.complete('op_create_constraint');
SELECT * FROM pg_temp.constraints('op_create_constraint.seats');
SELECT * FROM pg_temp.constraints('op_create_constraint.rows');
SELECT * FROM pg_temp.columns('op_create_constraint.seats');

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS op_create_constraint, op_create_constraint_02_ticket_rules,
    op_create_constraint_03_seat_keys CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'op_create_constraint';
