--
-- drop_column: a members table carries a "nickname" the new app no longer
-- uses (it shows the e-mail's local part instead) and a "fax" nobody needs.
-- The old app still writes both while the new one runs without them.
--
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_drop_column;
SET search_path = op_drop_column;

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
     WHERE c.relnamespace = 'op_drop_column'::regnamespace
       AND a.attname LIKE '\_ec\_%' AND NOT a.attisdropped
    UNION ALL
    SELECT 'constraint', c.relname || '.' || k.conname
      FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
     WHERE c.relnamespace = 'op_drop_column'::regnamespace AND k.conname LIKE '\_ec\_%'
    UNION ALL
    SELECT 'trigger', c.relname || '.' || t.tgname
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = 'op_drop_column'::regnamespace AND NOT t.tgisinternal
    ORDER BY 1, 2
$$;
CREATE FUNCTION pg_temp.schemas()
RETURNS SETOF name LANGUAGE sql AS $$
    SELECT nspname FROM pg_namespace WHERE nspname LIKE 'op\_drop\_column%' ORDER BY 1
$$;
CREATE FUNCTION pg_temp.status()
RETURNS TABLE (migration text, phase text, version_schema name,
               previous_version_schema name, backfill_rows_left bigint)
LANGUAGE sql AS $$
    SELECT migration, phase, version_schema, previous_version_schema, backfill_rows_left
      FROM expand_contract.status('op_drop_column')
$$;
-- Everything a failed start could leave behind, as one string.
CREATE FUNCTION pg_temp.footprint()
RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(' / ',
        (SELECT string_agg(s, ',') FROM pg_temp.schemas() s),
        (SELECT string_agg(c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod),
                           ',' ORDER BY c.relname, a.attnum)
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          WHERE c.relnamespace = 'op_drop_column'::regnamespace AND c.relkind IN ('r', 'p', 'v')
            AND a.attnum > 0 AND NOT a.attisdropped),
        (SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint
          WHERE connamespace = 'op_drop_column'::regnamespace),
        (SELECT string_agg(kind || ' ' || name, ',') FROM pg_temp.leftovers()),
        (SELECT string_agg(name || ':' || phase, ',' ORDER BY name) FROM expand_contract.migrations
          WHERE schema_name = 'op_drop_column'))
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
        PERFORM expand_contract.start('bad', doc, 'op_drop_column');
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
CREATE TABLE members (id integer PRIMARY KEY, email text NOT NULL, nickname text NOT NULL,
                      plan text NOT NULL DEFAULT 'free', fax text);
INSERT INTO members VALUES (1, 'ann@example.org', 'Annie', 'gold', '+33 1 23'),
                           (2, 'bob@example.org', 'Bobby', 'free', NULL);
CREATE TABLE products (id integer PRIMARY KEY, name text NOT NULL, sku text NOT NULL,
                       legacy_code integer);
INSERT INTO products VALUES (1, 'kettle', 'KET-1', 17), (2, 'toaster', 'TOA-2', NULL);

--------------------------------------------------------------------------
-- Documents that start() must refuse. Each leaves nothing behind.
--------------------------------------------------------------------------
-- the table or column does not fit the schema
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "member",
    "column": "fax"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "members",
    "column": "telefax"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"drop_column": {"table": "members", "column": "fax"}},
    {"drop_column": {"table": "members", "column": "fax"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"drop_column": {"table": "products", "column": "name", "down": "'?'"}},
    {"drop_column": {"table": "products", "column": "sku", "down": "'?'"}},
    {"drop_column": {"table": "products", "column": "legacy_code"}},
    {"drop_column": {"table": "products", "column": "id"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"add_column": {"table": "members", "column": {"name": "phone", "type": "text", "nullable": true}}},
    {"drop_column": {"table": "members", "column": "phone"}}]}$$);
-- unknown fields and wrong field types
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "members",
    "column": "fax", "up": "NULL"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "members",
    "column": ["fax", "nickname"]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "members"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "members",
    "column": "nickname", "down": {"sql": "email"}}}]}$$);
-- bad "down": syntax error, unknown column, the dropped column itself (the
-- new version has no such column), type mismatch, aggregate, subquery
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "members",
    "column": "nickname", "down": "split_part(email, '@', 1"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "members",
    "column": "nickname", "down": "split_part(e_mail, '@', 1)"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "members",
    "column": "nickname", "down": "coalesce(nickname, email)"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "products",
    "column": "legacy_code", "down": "name"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "products",
    "column": "legacy_code", "down": "max(id)"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "products",
    "column": "legacy_code", "down": "(SELECT 0)"}}]}$$);

SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.schemas();

--------------------------------------------------------------------------
-- Scenario 1: expand, write through both versions, backfill, complete.
--------------------------------------------------------------------------
SELECT expand_contract.start('01_slim_members', $${"operations": [
    {"drop_column": {"table": "members", "column": "nickname",
                     "down": "split_part(email, '@', 1)"}},
    {"drop_column": {"table": "members", "column": "fax"}}]}$$,
    'op_drop_column');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.schemas();
-- The base table is unchanged (the old app still uses every column); the new
-- version does not see the dropped ones.
SELECT * FROM pg_temp.columns('op_drop_column.members');
SELECT * FROM pg_temp.leftovers();
SELECT * FROM pg_temp.columns('op_drop_column_01_slim_members.members');

-- The old app writes the columns as before.
SET search_path = op_drop_column;
INSERT INTO members VALUES (3, 'cy@example.org', 'Cyrus', 'free', '+49 30 1');
UPDATE members SET nickname = 'Bob', fax = '+32 2 55' WHERE id = 2;

-- The new app writes without them: "down" fills nickname, fax stays empty.
SET search_path = op_drop_column_01_slim_members;
INSERT INTO members (id, email) VALUES (4, 'dee@example.org');
UPDATE members SET email = 'ann@example.net' WHERE id = 1;   -- nickname follows the e-mail
UPDATE members SET plan = 'gold' WHERE id = 3;               -- nickname is left alone
SELECT * FROM members ORDER BY id;

-- Both versions read the same rows, each in its own shape.
SET search_path = op_drop_column;
SELECT id, email, nickname, plan, fax FROM members ORDER BY id;

-- Nothing to backfill: no column of the new version is computed from the old.
SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('op_drop_column');
SELECT * FROM pg_temp.status();

-- Contract: the columns are gone for good.
SELECT expand_contract.complete('op_drop_column');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.columns('op_drop_column.members');
SELECT * FROM pg_temp.leftovers();
SELECT * FROM members ORDER BY id;
SET search_path = op_drop_column_01_slim_members;
INSERT INTO members (id, email) VALUES (5, 'eve@example.org');
SELECT * FROM members ORDER BY id;

--------------------------------------------------------------------------
-- Scenario 2: expand, write through both versions, roll back.
--------------------------------------------------------------------------
SELECT expand_contract.start('02_no_sku', $${"operations": [
    {"drop_column": {"table": "products", "column": "sku",
                     "down": "upper(left(name, 3)) || '-' || id"}}]}$$,
    'op_drop_column');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.columns('op_drop_column_02_no_sku.products');

SET search_path = op_drop_column;
INSERT INTO products VALUES (3, 'blender', 'BLE-OLD', 5);
SET search_path = op_drop_column_02_no_sku;
INSERT INTO products (id, name) VALUES (4, 'grill');
UPDATE products SET name = 'water kettle' WHERE id = 1;
UPDATE products SET legacy_code = 99 WHERE id = 2;
SELECT * FROM products ORDER BY id;
SET search_path = op_drop_column;
SELECT id, name, sku, legacy_code FROM products ORDER BY id;

SELECT expand_contract.rollback('op_drop_column');
-- the old shape, with every row written through either version
SELECT * FROM pg_temp.columns('op_drop_column.products');
SELECT * FROM products ORDER BY id;
SELECT * FROM pg_temp.leftovers();
SELECT * FROM pg_temp.schemas();
SELECT * FROM pg_temp.status();
INSERT INTO products VALUES (5, 'mixer', 'MIX-5', NULL);
SELECT * FROM products ORDER BY id;

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA op_drop_column, op_drop_column_01_slim_members CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'op_drop_column';
RESET client_min_messages;
