--
-- drop_multicolumn_constraint and drop_constraint (pgroll's deprecated
-- one-column form): the new app is rid of a check the old one is still held
-- to. The columns go to copies without it; "down" brings what the new version
-- writes back into line for the old one; complete drops the old columns and
-- the constraint with them. Other constraints on those columns are carried
-- over to the copies.
--
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_drop_constraint;
SET search_path = op_drop_constraint;
SET ec_test.schema = 'op_drop_constraint';
\i sql/include/op_helpers.psql
-- Both versions write here while rows still wait for the backfill.
SET expand_contract.open_new_version = at_start;

CREATE TABLE posts (id integer PRIMARY KEY,
                    title text NOT NULL CONSTRAINT title_length CHECK (length(title) > 3)
                                        CONSTRAINT title_not_shouted CHECK (title <> upper(title)));
CREATE TABLE tickets (id integer PRIMARY KEY, sellers_name text NOT NULL, sellers_zip integer NOT NULL,
                      CONSTRAINT check_zip_name CHECK (sellers_name = 'alice' OR sellers_zip > 0));
INSERT INTO posts VALUES (1, 'Hello world');
INSERT INTO tickets VALUES (1, 'alice', -1), (2, 'bob', 5);

-- Refused, leaving nothing behind: no such constraint; the one-column form
-- on a constraint over two columns.
SELECT * FROM pg_temp.start_fails('{"operations": [{"drop_constraint": {"table": "posts", "name": "nope", "up": "title", "down": "title"}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"drop_constraint": {"table": "tickets", "name": "check_zip_name", "up": "sellers_zip", "down": "sellers_zip"}}]}');

CREATE FUNCTION pg_temp.doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [
      {"drop_constraint": {"table": "posts", "name": "title_length", "up": "title",
        "down": "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, ''-'') ELSE title END"}},
      {"drop_multicolumn_constraint": {"table": "tickets", "name": "check_zip_name",
        "up": {"sellers_name": "sellers_name", "sellers_zip": "sellers_zip"},
        "down": {"sellers_name": "sellers_name",
                 "sellers_zip": "SELECT CASE WHEN sellers_name != ''alice'' AND sellers_zip <= 0 THEN 1 ELSE sellers_zip END"}}}]}'::jsonb
$$;
SELECT expand_contract.start('02_fewer_rules', pg_temp.doc(), 'op_drop_constraint') AS version_schema;
SELECT name, validated, definition FROM pg_temp.constraints('op_drop_constraint.posts');
-- The new version may write what the old one may not; "down" fixes it for
-- the old one. The check that stays holds both.
INSERT INTO op_drop_constraint_02_fewer_rules.posts VALUES (2, 'Hi');
INSERT INTO op_drop_constraint_02_fewer_rules.posts VALUES (3, 'HI');
INSERT INTO posts VALUES (4, 'Hi');
INSERT INTO op_drop_constraint_02_fewer_rules.tickets VALUES (3, 'bob', -2);
SELECT * FROM posts ORDER BY id;
SELECT * FROM op_drop_constraint_02_fewer_rules.posts ORDER BY id;
SELECT * FROM tickets ORDER BY id;
SELECT * FROM op_drop_constraint_02_fewer_rules.tickets ORDER BY id;
SELECT expand_contract.rollback('op_drop_constraint');
SELECT * FROM pg_temp.leftovers();
SELECT name FROM pg_temp.constraints('op_drop_constraint.posts');
SELECT expand_contract.start('02_fewer_rules', pg_temp.doc(), 'op_drop_constraint') AS version_schema;
SET client_min_messages = warning;
CALL expand_contract.run_backfill('op_drop_constraint');
RESET client_min_messages;
SELECT expand_contract.complete('op_drop_constraint');
SELECT name, validated, definition FROM pg_temp.constraints('op_drop_constraint.posts');
SELECT name FROM pg_temp.constraints('op_drop_constraint.tickets');
INSERT INTO posts VALUES (5, 'Yo');
INSERT INTO tickets VALUES (4, 'carol', -9);
SELECT * FROM posts ORDER BY id;

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA op_drop_constraint, op_drop_constraint_02_fewer_rules CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'op_drop_constraint';
