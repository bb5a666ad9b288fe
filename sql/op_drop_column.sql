--
-- drop_column: a members table carries a "nickname" the new app no longer
-- uses (it shows the e-mail's local part instead) and a "fax" nobody needs.
-- The old app still writes both while the new one runs without them.
--
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_drop_column;
SET search_path = op_drop_column;

SET ec_test.schema = 'op_drop_column';
\i sql/include/op_helpers.psql

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
-- (A column added earlier in the same migration may be dropped, as in
-- pgroll: it was never any version's and goes at once.)
SELECT expand_contract.start('01_phone_after_all', $${"operations": [
    {"add_column": {"table": "members", "column": {"name": "phone", "type": "text", "nullable": true}}},
    {"drop_column": {"table": "members", "column": "phone"}}]}$$, 'op_drop_column') AS version_schema;
SELECT * FROM pg_temp.leftovers();
SELECT expand_contract.rollback('op_drop_column');
-- unknown fields and wrong field types
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "members",
    "column": "fax", "up": "NULL"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "members",
    "column": ["fax", "nickname"]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "members"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_column": {"table": "members",
    "column": "nickname", "down": {"sql": "email"}}}]}$$);
-- bad "down": syntax error, unknown column, the dropped column itself (the
-- new version has no such column), type mismatch, aggregate, a subquery
-- returning two columns
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
    "column": "legacy_code", "down": "(SELECT 0, 1)"}}]}$$);

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
