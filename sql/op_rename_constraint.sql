--
-- rename_constraint: the people table's check is renamed to the team's
-- naming convention. The name is nothing either version's statements use;
-- complete() renames it, rollback() leaves it as it was.
--
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_rename_constraint;
SET search_path = op_rename_constraint;
SET ec_test.schema = 'op_rename_constraint';
\i sql/include/op_helpers.psql

CREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL CONSTRAINT name_length CHECK (length(name) > 1),
                     email text CONSTRAINT people_email_key UNIQUE);
CREATE TABLE people_archive (id integer PRIMARY KEY);
INSERT INTO people VALUES (1, 'Ada', 'ada@example.com');

-- Refused, leaving nothing behind: no such constraint, a name taken on the
-- table, a unique constraint whose index would take a relation's name, the
-- reserved prefix.
SELECT * FROM pg_temp.start_fails('{"operations": [{"rename_constraint": {"table": "people", "from": "nope", "to": "x"}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"rename_constraint": {"table": "people", "from": "name_length", "to": "people_pkey"}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"rename_constraint": {"table": "people", "from": "people_email_key", "to": "people_archive"}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"rename_constraint": {"table": "people", "from": "name_length", "to": "_ec_x"}}]}');

CREATE FUNCTION pg_temp.doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [
      {"rename_constraint": {"table": "people", "from": "name_length", "to": "name_length_check"}},
      {"rename_constraint": {"table": "people", "from": "people_email_key", "to": "people_email_unique"}}]}'::jsonb
$$;
SELECT expand_contract.start('02_names', pg_temp.doc(), 'op_rename_constraint') AS version_schema;
-- Both versions write; the constraint holds under its old name until complete.
INSERT INTO people VALUES (2, 'Grace', 'grace@example.com');
INSERT INTO op_rename_constraint_02_names.people VALUES (3, 'Hedy', NULL);
INSERT INTO op_rename_constraint_02_names.people VALUES (4, 'X', NULL);
SELECT * FROM pg_temp.constraints('op_rename_constraint.people');
SELECT expand_contract.rollback('op_rename_constraint');
SELECT * FROM pg_temp.constraints('op_rename_constraint.people');
SELECT expand_contract.start('02_names', pg_temp.doc(), 'op_rename_constraint') AS version_schema;
SELECT expand_contract.complete('op_rename_constraint');
SELECT * FROM pg_temp.constraints('op_rename_constraint.people');
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'people'::regclass ORDER BY 1;
INSERT INTO people VALUES (5, 'Y', NULL);

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA op_rename_constraint, op_rename_constraint_02_names CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'op_rename_constraint';
