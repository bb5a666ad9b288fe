--
-- rename_table: the sales team calls clients "customers" now, and the new
-- app does too; it also flags VIP customers. The old app keeps using
-- "clients" until complete. Invoices reference the table throughout.
--
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_rename_table;
SET search_path = op_rename_table;

-- Helpers, private to this session.
-- The columns of a table or view, as a user would check them.
CREATE FUNCTION pg_temp.columns(rel regclass)
RETURNS TABLE (col name, type text, not_null boolean, "default" text, comment text)
LANGUAGE sql AS $$
    SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
           CASE WHEN a.attidentity <> '' THEN 'identity'
                WHEN a.attgenerated <> '' THEN 'generated: ' || pg_get_expr(d.adbin, d.adrelid)
                ELSE pg_get_expr(d.adbin, d.adrelid) END,
           col_description(a.attrelid, a.attnum)
      FROM pg_attribute a
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum
$$;
CREATE FUNCTION pg_temp.constraints(rel regclass)
RETURNS TABLE (name name, validated boolean, definition text)
LANGUAGE sql AS $$
    SELECT conname, convalidated, pg_get_constraintdef(oid)
      FROM pg_constraint WHERE conrelid = rel ORDER BY conname
$$;
-- Whatever the extension adds to the base schema while a migration is open:
-- staged columns, markers, its constraints and triggers.
CREATE FUNCTION pg_temp.leftovers()
RETURNS TABLE (kind text, name text)
LANGUAGE sql AS $$
    SELECT 'column', c.relname || '.' || a.attname
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
     WHERE c.relnamespace = 'op_rename_table'::regnamespace
       AND a.attname LIKE '\_ec\_%' AND NOT a.attisdropped
    UNION ALL
    SELECT 'constraint', c.relname || '.' || k.conname
      FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
     WHERE c.relnamespace = 'op_rename_table'::regnamespace AND k.conname LIKE '\_ec\_%'
    UNION ALL
    SELECT 'trigger', c.relname || '.' || t.tgname
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = 'op_rename_table'::regnamespace AND NOT t.tgisinternal
    ORDER BY 1, 2
$$;
CREATE FUNCTION pg_temp.schemas()
RETURNS SETOF name LANGUAGE sql AS $$
    SELECT nspname FROM pg_namespace WHERE nspname LIKE 'op\_rename\_table%' ORDER BY 1
$$;
CREATE FUNCTION pg_temp.status()
RETURNS TABLE (migration text, phase text, version_schema name,
               previous_version_schema name, backfill_rows_left bigint)
LANGUAGE sql AS $$
    SELECT migration, phase, version_schema, previous_version_schema, backfill_rows_left
      FROM expand_contract.status('op_rename_table')
$$;
-- Everything a failed start could leave behind, as one string.
CREATE FUNCTION pg_temp.footprint()
RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(' / ',
        (SELECT string_agg(s, ',') FROM pg_temp.schemas() s),
        (SELECT string_agg(c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod),
                           ',' ORDER BY c.relname, a.attnum)
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          WHERE c.relnamespace = 'op_rename_table'::regnamespace AND c.relkind IN ('r', 'p', 'v')
            AND a.attnum > 0 AND NOT a.attisdropped),
        (SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint
          WHERE connamespace = 'op_rename_table'::regnamespace),
        (SELECT string_agg(kind || ' ' || name, ',') FROM pg_temp.leftovers()),
        (SELECT string_agg(name || ':' || phase, ',' ORDER BY name) FROM expand_contract.migrations
          WHERE schema_name = 'op_rename_table'))
$$;
-- Runs start() with a document that must be refused: shows the SQLSTATE and
-- message, and whether anything was left behind. A start that wrongly
-- succeeds is undone, so the cases after it still run in a clean state.
CREATE FUNCTION pg_temp.start_fails(doc jsonb)
RETURNS TABLE (error text, left_behind text)
LANGUAGE plpgsql AS $$
DECLARE
    before text := pg_temp.footprint();
BEGIN
    BEGIN
        PERFORM expand_contract.start('bad', doc, 'op_rename_table');
        error := 'no error';
        left_behind := 'start succeeded (undone)';
        RAISE EXCEPTION USING ERRCODE = 'EC000';
    EXCEPTION WHEN OTHERS THEN
        IF SQLSTATE <> 'EC000' THEN
            error := SQLSTATE || ': ' || SQLERRM;
            left_behind := CASE WHEN pg_temp.footprint() IS NOT DISTINCT FROM before
                                THEN 'nothing' ELSE pg_temp.footprint() END;
        END IF;
    END;
    RETURN NEXT;
END
$$;
-- Runs a statement that must fail; shows the SQLSTATE and message.
CREATE FUNCTION pg_temp.error_of(stmt text)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- Version 1 of the app.
CREATE TABLE clients (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                      name text NOT NULL, tier text);
CREATE TABLE invoices (id integer PRIMARY KEY, client_id integer NOT NULL REFERENCES clients (id),
                       total integer NOT NULL);
INSERT INTO clients (name, tier) VALUES ('acme', 'gold'), ('globex', NULL);
INSERT INTO invoices VALUES (1, 1, 100), (2, 2, 50);
GRANT SELECT ON clients TO PUBLIC;
CREATE VIEW client_names AS SELECT name FROM clients;
CREATE TABLE tickets (id integer PRIMARY KEY, title text NOT NULL);
INSERT INTO tickets VALUES (1, 'printer on fire'), (2, 'coffee machine empty');

--------------------------------------------------------------------------
-- Documents that start() must refuse. Each leaves nothing behind.
--------------------------------------------------------------------------
-- the tables do not fit the schema
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_table": {"from": "client",
    "to": "customers"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_table": {"from": "clients",
    "to": "invoices"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_table": {"from": "clients",
    "to": "clients"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_table": {"from": "clients",
    "to": "client_names"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_table": {"from": "client_names",
    "to": "customer_names"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"rename_table": {"from": "clients", "to": "customers"}},
    {"rename_table": {"from": "clients", "to": "accounts"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"rename_table": {"from": "clients", "to": "customers"}},
    {"add_column": {"table": "clients", "column": {"name": "vip", "type": "boolean", "nullable": true}}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"rename_table": {"from": "clients", "to": "customers"}},
    {"rename_table": {"from": "tickets", "to": "customers"}}]}$$);
-- unknown fields and wrong field types
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_table": {"from": "clients",
    "to": "customers", "schema": "sales"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_table": {"table": "clients",
    "to": "customers"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_table": {"from": "clients"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_table": {"from": "clients",
    "to": ""}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_table": {"from": "clients",
    "to": 7}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_table": ["clients", "customers"]}]}$$);

SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.schemas();

--------------------------------------------------------------------------
-- Scenario 1: expand, write through both versions, backfill, complete.
--------------------------------------------------------------------------
SELECT expand_contract.start('01_customers', $${"operations": [
    {"rename_table": {"from": "clients", "to": "customers"}},
    {"add_column": {"table": "customers",
                    "column": {"name": "vip", "type": "boolean", "nullable": false, "default": "false"},
                    "up": "coalesce(tier = 'gold', false)"}}]}$$,
    'op_rename_table');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.schemas();
-- The base schema keeps "clients"; the new version has a "customers" view,
-- with the table's grants, next to the views of the untouched tables.
SELECT c.relname, c.relkind,
       (SELECT string_agg(a.privilege_type, ',') FROM aclexplode(c.relacl) a
         WHERE a.grantee = 0) AS public_may
  FROM pg_class c WHERE c.relnamespace = 'op_rename_table_01_customers'::regnamespace
 ORDER BY c.relname;
SELECT * FROM pg_temp.columns('op_rename_table_01_customers.customers');

-- The old app writes to "clients" ...
SET search_path = op_rename_table;
INSERT INTO clients (name, tier) VALUES ('initech', 'gold');
INSERT INTO invoices VALUES (3, 3, 75);
-- ... the new app to "customers"; the identity still numbers new rows.
SET search_path = op_rename_table_01_customers;
INSERT INTO customers (name, vip) VALUES ('umbrella', true);
INSERT INTO invoices VALUES (4, 4, 20);
UPDATE customers SET tier = 'silver' WHERE name = 'acme';
SELECT pg_temp.error_of($$INSERT INTO invoices VALUES (5, 99, 1)$$);
SELECT * FROM customers ORDER BY id;
SELECT pg_temp.error_of($$SELECT count(*) FROM clients$$);

-- Both versions read the same rows under their own table names.
SET search_path = op_rename_table;
SELECT id, name, tier FROM clients ORDER BY id;
SELECT * FROM invoices ORDER BY id;
SELECT pg_temp.error_of($$SELECT count(*) FROM customers$$);

SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('op_rename_table');

-- Contract: the table is renamed; the foreign key and the grant follow it.
SELECT expand_contract.complete('op_rename_table');
SELECT * FROM pg_temp.status();
SELECT c.relname, c.relkind,
       (SELECT string_agg(a.privilege_type, ',') FROM aclexplode(c.relacl) a
         WHERE a.grantee = 0) AS public_may
  FROM pg_class c WHERE c.relnamespace = 'op_rename_table'::regnamespace AND c.relkind IN ('r', 'v')
 ORDER BY c.relname;
SELECT * FROM pg_temp.columns('op_rename_table.customers');
SELECT * FROM pg_temp.constraints('op_rename_table.invoices');
SELECT * FROM pg_temp.leftovers();
SELECT * FROM customers ORDER BY id;
INSERT INTO customers (name) VALUES ('hooli');
SELECT * FROM customers ORDER BY id;
SELECT * FROM client_names ORDER BY name;
SET search_path = op_rename_table_01_customers;
SELECT * FROM customers ORDER BY id;

--------------------------------------------------------------------------
-- Scenario 2: expand, write through both versions, roll back.
--------------------------------------------------------------------------
SET search_path = op_rename_table;
SELECT expand_contract.start('02_issues', $${"operations": [
    {"rename_table": {"from": "tickets", "to": "issues"}}]}$$,
    'op_rename_table');
SELECT * FROM pg_temp.status();
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'op_rename_table_02_issues'::regnamespace ORDER BY c.relname;

INSERT INTO tickets VALUES (3, 'old app ticket');
SET search_path = op_rename_table_02_issues;
INSERT INTO issues VALUES (4, 'new app issue');
UPDATE issues SET title = 'printer fixed' WHERE id = 1;
DELETE FROM issues WHERE id = 2;
SELECT * FROM issues ORDER BY id;
SET search_path = op_rename_table;
SELECT * FROM tickets ORDER BY id;

SELECT expand_contract.rollback('op_rename_table');
-- the old name, with every row written through either version
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'op_rename_table'::regnamespace AND c.relkind = 'r' ORDER BY c.relname;
SELECT * FROM tickets ORDER BY id;
SELECT * FROM pg_temp.leftovers();
SELECT * FROM pg_temp.schemas();
SELECT * FROM pg_temp.status();

--------------------------------------------------------------------------
-- Scenario 3: two tables swap names through a temporary one.
--------------------------------------------------------------------------
CREATE TABLE red (id integer PRIMARY KEY, note text);
CREATE TABLE blue (id integer PRIMARY KEY, note text);
INSERT INTO red VALUES (1, 'was red');
INSERT INTO blue VALUES (1, 'was blue');
SELECT expand_contract.start('03_swap_colours', $${"operations": [
    {"rename_table": {"from": "red", "to": "tmp"}},
    {"rename_table": {"from": "blue", "to": "red"}},
    {"rename_table": {"from": "tmp", "to": "blue"}}]}$$,
    'op_rename_table');
SELECT * FROM op_rename_table_03_swap_colours.red;
SELECT * FROM op_rename_table_03_swap_colours.blue;
SELECT expand_contract.complete('op_rename_table');
SELECT * FROM pg_temp.status();
SELECT * FROM red;
SELECT * FROM blue;

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS op_rename_table, op_rename_table_01_customers,
    op_rename_table_03_swap_colours CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'op_rename_table';
RESET client_min_messages;
