--
-- alter_column: an orders table stores amounts as text, lets notes be
-- empty, and has defaults and names the new app wants changed. The new app
-- gets a numeric amount, a mandatory note, a new default and comment for
-- status, and "customer_name" instead of "customer"; the old app keeps the
-- old definitions until complete.
--
-- Both versions write here while rows still wait for the backfill, so the
-- new version opens at start (by default it opens once the backfill is done).
SET expand_contract.open_new_version = at_start;
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_alter_column;
SET search_path = op_alter_column;

SET ec_test.schema = 'op_alter_column';
\i sql/include/op_helpers.psql

-- Version 1 of the app.
CREATE TABLE orders (id integer PRIMARY KEY, amount text NOT NULL, note text,
                     status text DEFAULT 'new', customer text);
COMMENT ON COLUMN orders.amount IS 'amount as typed by the clerk';
INSERT INTO orders VALUES (1, '12.50', 'first', 'new', 'ann'), (2, '7', NULL, 'paid', NULL),
                          (3, '3.333', 'rush', 'paid', 'cy'), (4, '20', NULL, 'new', 'dee');
CREATE TABLE stock (id integer PRIMARY KEY, sku text NOT NULL UNIQUE, qty integer NOT NULL DEFAULT 0,
                    shelf text DEFAULT 'A1', memo text);
COMMENT ON COLUMN stock.shelf IS 'shelf code';
INSERT INTO stock VALUES (1, 'P-1', 5, 'B2', 'fragile'), (2, 'P-2', 0, DEFAULT, NULL);

--------------------------------------------------------------------------
-- Documents that start() must refuse. Each leaves nothing behind.
--------------------------------------------------------------------------
-- the table or column does not fit the schema
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stocks",
    "column": "qty", "type": "bigint"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "quantity", "type": "bigint"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "name": "sku"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "name": "_ec_qty"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "type": "bigbigint"}}]}$$);
-- nothing to change ("up"/"down" on a change that copies nothing, as
-- pgroll's files give them, are accepted and unused)
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty"}}]}$$);
-- NOT NULL without "up" to give existing NULLs a value (as pgroll)
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "memo", "nullable": false}}]}$$);
-- an index name the schema has
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "unique": {"name": "stock_pkey"}}}]}$$);
-- a new constraint's name must be free
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "check": {"name": "stock_pkey", "constraint": "qty > 0"}}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"alter_column": {"table": "stock", "column": "qty", "type": "bigint"}},
    {"alter_column": {"table": "stock", "column": "qty", "nullable": true}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"add_column": {"table": "stock", "column": {"name": "bin", "type": "text", "nullable": true}}},
    {"alter_column": {"table": "stock", "column": "bin", "type": "varchar(8)"}}]}$$);
-- unknown fields and wrong field types
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "type": "bigint", "nulable": true}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "nullable": "true"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "default": 0}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "comment": ["count"]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "type": "bigint", "up": false}}]}$$);
-- a bad new default
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "type": "bigint", "default": "'many'"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "default": "'many'"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "default": "no_such_function()"}}]}$$);
-- bad "up"/"down": syntax error, unknown column, wrong version's names,
-- type mismatch
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "type": "text", "up": "qty::text", "down": "qty::integer +"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "type": "text", "up": "qtty::text", "down": "qty::integer"}}]}$$);

SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "name": "quantity", "type": "bigint", "down": "qty"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "qty", "type": "text", "up": "qty::text", "down": "qty"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"alter_column": {"table": "stock",
    "column": "memo", "type": "integer", "up": "memo", "down": "memo::text"}}]}$$);

SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.schemas();

--------------------------------------------------------------------------
-- Scenario 1: expand, write through both versions, backfill, complete.
--------------------------------------------------------------------------
SELECT expand_contract.start('01_typed_orders', $${"operations": [
    {"alter_column": {"table": "orders", "column": "amount", "type": "numeric(10,2)",
                      "up": "amount::numeric", "down": "amount::text"}},
    {"alter_column": {"table": "orders", "column": "note", "nullable": false,
                      "up": "coalesce(note, '(none)')", "down": "note"}},
    {"alter_column": {"table": "orders", "column": "status", "default": "'open'",
                      "comment": "order state"}},
    {"alter_column": {"table": "orders", "column": "customer", "name": "customer_name",
                      "default": "'guest'"}}]}$$,
    'op_alter_column');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.schemas();
-- Type and nullability changes get a staged copy of the column; default,
-- comment and name changes show in the new version's view only.
SELECT * FROM pg_temp.columns('op_alter_column.orders');
SELECT * FROM pg_temp.constraints('op_alter_column.orders');
SELECT * FROM pg_temp.leftovers();
SELECT * FROM pg_temp.columns('op_alter_column_01_typed_orders.orders');

-- The old app writes text amounts and may leave the note empty.
SET search_path = op_alter_column;
INSERT INTO orders (id, amount, note) VALUES (5, '99.999', NULL);
UPDATE orders SET amount = '8.25' WHERE id = 2;
SELECT id, amount, note, status, customer FROM orders ORDER BY id;

-- The new app writes numbers, must give a note, and gets the new defaults.
SET search_path = op_alter_column_01_typed_orders;
INSERT INTO orders (id, amount, note) VALUES (6, 5.5, 'via the new app');
SELECT pg_temp.error_of($$INSERT INTO orders (id, amount) VALUES (7, 1)$$);
SELECT pg_temp.error_of($$INSERT INTO orders (id, amount, note) VALUES (7, 'lots', 'x')$$);
UPDATE orders SET amount = 100 WHERE id = 1;
UPDATE orders SET customer_name = 'bo' WHERE id = 3;   -- amount and note keep their values
SELECT * FROM orders ORDER BY id;

-- Both versions read the same rows, each in its own shape.
SELECT o.id, o.amount AS old_amount, n.amount AS new_amount, o.note AS old_note,
       n.note AS new_note, o.status AS old_status, n.status AS new_status,
       o.customer, n.customer_name
  FROM op_alter_column.orders o JOIN op_alter_column_01_typed_orders.orders n USING (id)
 ORDER BY id;

-- Backfill part of the table; complete() finishes the rest itself.
SET search_path = op_alter_column;
SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('op_alter_column', 2, 1);
SELECT * FROM pg_temp.status();
SELECT expand_contract.complete('op_alter_column');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.columns('op_alter_column.orders');
SELECT * FROM pg_temp.constraints('op_alter_column.orders');
SELECT * FROM pg_temp.leftovers();
SELECT id, amount, note, status, customer_name FROM orders ORDER BY id;
INSERT INTO orders (id, amount, note) VALUES (7, 1, 'after complete');
SELECT id, amount, note, status, customer_name FROM orders WHERE id = 7;
SELECT pg_temp.error_of($$INSERT INTO orders (id, amount) VALUES (8, 1)$$);

--------------------------------------------------------------------------
-- Scenario 2: expand, write through both versions, roll back.
--------------------------------------------------------------------------
SELECT expand_contract.start('02_stock_quantity', $${"operations": [
    {"alter_column": {"table": "stock", "column": "qty", "name": "quantity", "type": "bigint",
                      "nullable": true, "up": "qty", "down": "coalesce(quantity, 0)"}},
    {"alter_column": {"table": "stock", "column": "shelf", "default": null, "comment": null}},
    {"alter_column": {"table": "stock", "column": "memo", "nullable": false,
                      "up": "coalesce(memo, '')", "down": "nullif(memo, '')"}}]}$$,
    'op_alter_column');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.columns('op_alter_column.stock');
SELECT * FROM pg_temp.columns('op_alter_column_02_stock_quantity.stock');

SET search_path = op_alter_column;
INSERT INTO stock (id, sku, qty) VALUES (3, 'P-3', 7);
SET search_path = op_alter_column_02_stock_quantity;
INSERT INTO stock (id, sku, quantity, memo) VALUES (4, 'P-4', NULL, 'new app');
SELECT pg_temp.error_of($$UPDATE stock SET quantity = 9000000000 WHERE id = 1$$);
UPDATE stock SET quantity = 12 WHERE id = 1;
UPDATE stock SET memo = '' WHERE id = 2;
SELECT * FROM stock ORDER BY id;
SET search_path = op_alter_column;
UPDATE stock SET memo = 'heavy' WHERE id = 3;
SELECT id, sku, qty, shelf, memo FROM stock ORDER BY id;
SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('op_alter_column', 1, 2);

SELECT expand_contract.rollback('op_alter_column');
-- the old definitions, with every row written through either version
SELECT * FROM pg_temp.columns('op_alter_column.stock');
SELECT * FROM pg_temp.constraints('op_alter_column.stock');
SELECT * FROM stock ORDER BY id;
SELECT * FROM pg_temp.leftovers();
SELECT * FROM pg_temp.schemas();
SELECT * FROM pg_temp.status();

--------------------------------------------------------------------------
-- Scenario 3: a type change, then a rename of the same column in a later
-- operation of the same migration. Without "down", the old column is filled
-- from the new one under whatever name the new version gives it.
--------------------------------------------------------------------------
CREATE TABLE readings (id integer PRIMARY KEY, temp integer NOT NULL);
INSERT INTO readings VALUES (1, 20), (2, 21);
SELECT expand_contract.start('03_precise_temperature', $${"operations": [
    {"alter_column": {"table": "readings", "column": "temp", "type": "numeric(4,1)"}},
    {"rename_column": {"table": "readings", "from": "temp", "to": "celsius"}}]}$$,
    'op_alter_column');
INSERT INTO readings VALUES (3, 22);
SET search_path = op_alter_column_03_precise_temperature;
INSERT INTO readings VALUES (4, 23.4);
SET search_path = op_alter_column;
SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('op_alter_column');
SELECT * FROM op_alter_column_03_precise_temperature.readings ORDER BY id;
SELECT id, temp FROM readings ORDER BY id;
SELECT expand_contract.complete('op_alter_column');
SELECT * FROM pg_temp.columns('op_alter_column.readings');
SELECT * FROM readings ORDER BY id;

--------------------------------------------------------------------------
-- Scenario 4: the copy keeps the column's constraints. Checks and foreign
-- keys are added to the copy NOT VALID (the old column goes on enforcing
-- them for the old version), validated by complete and given their own names
-- back once the old column is gone.
--------------------------------------------------------------------------
CREATE TABLE suppliers (id integer PRIMARY KEY);
INSERT INTO suppliers VALUES (1), (2);
CREATE TABLE parts (id integer PRIMARY KEY,
                    weight integer NOT NULL CONSTRAINT weight_positive CHECK (weight > 0),
                    supplier integer CONSTRAINT parts_supplier_fk REFERENCES suppliers ON DELETE CASCADE,
                    CONSTRAINT light_or_supplied CHECK (weight < 1000 OR supplier IS NOT NULL));
INSERT INTO parts VALUES (1, 10, 1), (2, 2000, 2);
CREATE FUNCTION pg_temp.parts_doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [
      {"alter_column": {"table": "parts", "column": "weight", "type": "bigint"}},
      {"alter_column": {"table": "parts", "column": "supplier", "type": "bigint"}}]}'::jsonb
$$;
SELECT expand_contract.start('04_wider_parts', pg_temp.parts_doc(), 'op_alter_column') AS version_schema;
SELECT * FROM pg_temp.constraints('op_alter_column.parts');
-- Both versions are held to them.
INSERT INTO parts VALUES (3, 0, 1);
INSERT INTO op_alter_column_04_wider_parts.parts VALUES (3, 0, 1);
INSERT INTO op_alter_column_04_wider_parts.parts VALUES (3, 5, 9);
INSERT INTO op_alter_column_04_wider_parts.parts VALUES (3, 5000, NULL);
INSERT INTO op_alter_column_04_wider_parts.parts VALUES (3, 5, 2);
INSERT INTO parts VALUES (4, 7, NULL);
SELECT expand_contract.rollback('op_alter_column');
SELECT * FROM pg_temp.constraints('op_alter_column.parts');
SELECT expand_contract.start('04_wider_parts', pg_temp.parts_doc(), 'op_alter_column') AS version_schema;
SET client_min_messages = warning;
CALL expand_contract.run_backfill('op_alter_column');
RESET client_min_messages;
SELECT expand_contract.complete('op_alter_column');
SELECT * FROM pg_temp.columns('op_alter_column.parts');
SELECT * FROM pg_temp.constraints('op_alter_column.parts');
DELETE FROM suppliers WHERE id = 2;
SELECT * FROM parts ORDER BY id;

--------------------------------------------------------------------------
-- Scenario 5: new constraints for the new version (pgroll's examples 21 and
-- 22). The column goes to a copy that carries them NOT VALID; "up" brings
-- the old version's rows and writes into line, which need not meet them;
-- complete validates them.
--------------------------------------------------------------------------
CREATE TABLE authors (id integer PRIMARY KEY);
INSERT INTO authors VALUES (1);
CREATE TABLE posts (id integer PRIMARY KEY, title text NOT NULL, author integer);
INSERT INTO posts VALUES (1, 'hi', 1), (2, 'hello', 7);
CREATE FUNCTION pg_temp.posts_doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [
      {"alter_column": {"table": "posts", "column": "title",
                        "check": {"name": "title_length", "constraint": "length(title) > 3"},
                        "up": "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, ''-'') ELSE title END",
                        "down": "title"}},
      {"alter_column": {"table": "posts", "column": "author",
                        "references": {"name": "posts_author_fk", "table": "authors", "column": "id",
                                       "on_delete": "SET NULL"},
                        "up": "SELECT CASE WHEN EXISTS (SELECT 1 FROM authors WHERE authors.id = author) THEN author END",
                        "down": "author"}}]}'::jsonb
$$;
SELECT expand_contract.start('05_posts_rules', pg_temp.posts_doc(), 'op_alter_column') AS version_schema;
SELECT name, validated FROM pg_temp.constraints('op_alter_column.posts');
-- The old version may still write what the new one may not; "up" fixes it.
INSERT INTO posts VALUES (3, 'yo', 9);
INSERT INTO op_alter_column_05_posts_rules.posts VALUES (4, 'no', NULL);
INSERT INTO op_alter_column_05_posts_rules.posts VALUES (4, 'fine', 9);
INSERT INTO op_alter_column_05_posts_rules.posts VALUES (4, 'fine', 1);
SELECT * FROM op_alter_column_05_posts_rules.posts WHERE id >= 3 ORDER BY id;
SELECT expand_contract.rollback('op_alter_column');
SELECT * FROM pg_temp.constraints('op_alter_column.posts');
SELECT expand_contract.start('05_posts_rules', pg_temp.posts_doc(), 'op_alter_column') AS version_schema;
SET client_min_messages = warning;
CALL expand_contract.run_backfill('op_alter_column');
RESET client_min_messages;
SELECT expand_contract.complete('op_alter_column');
SELECT * FROM pg_temp.constraints('op_alter_column.posts');
SELECT * FROM posts ORDER BY id;

--------------------------------------------------------------------------
-- Scenario 6: a copied column keeps its indexes, and gets a new unique
-- constraint (pgroll's examples 15 and 49). Each is built again on the copy,
-- online, after start; complete gives it back its name, or makes it the
-- constraint it backed. A later "up" may use a name an earlier operation
-- gave (pgroll's documents do).
--------------------------------------------------------------------------
CREATE TABLE badges (id integer PRIMARY KEY, code text NOT NULL CONSTRAINT badges_code_key UNIQUE,
                     holder text, level integer NOT NULL);
CREATE INDEX badges_holder_idx ON badges (lower(holder) DESC NULLS LAST) WHERE level > 1;
INSERT INTO badges VALUES (1, 'A1', 'Ada', 2), (2, 'B2', 'Grace', 1);
CREATE FUNCTION pg_temp.badges_doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [
      {"rename_column": {"table": "badges", "from": "holder", "to": "owner"}},
      {"alter_column": {"table": "badges", "column": "code", "type": "varchar(8)"}},
      {"alter_column": {"table": "badges", "column": "owner", "nullable": false, "up": "coalesce(owner, ''nobody'')",
                        "unique": {"name": "badges_owner_unique"}}}]}'::jsonb
$$;
CREATE FUNCTION pg_temp.badge_indexes() RETURNS SETOF text LANGUAGE sql AS $$
    SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'op_alter_column.badges'::regclass
     ORDER BY indexrelid::regclass::text
$$;
SELECT expand_contract.start('06_badges', pg_temp.badges_doc(), 'op_alter_column') AS version_schema;
SET client_min_messages = warning;
CALL expand_contract.run_backfill('op_alter_column');
CALL expand_contract.wait_for_index_builds('op_alter_column');
RESET client_min_messages;
SELECT index_name, state FROM expand_contract.index_build_status WHERE migration = '06_badges' ORDER BY 1;
SELECT * FROM pg_temp.badge_indexes();
-- The new version is held to the new unique constraint already; the old
-- version's NULL goes through "up".
INSERT INTO badges VALUES (3, 'C3', NULL, 1);
INSERT INTO op_alter_column_06_badges.badges VALUES (4, 'D4', 'Ada', 1);
INSERT INTO op_alter_column_06_badges.badges VALUES (4, 'D4', 'Hedy', 1);
SELECT expand_contract.rollback('op_alter_column');
SELECT * FROM pg_temp.badge_indexes();
SELECT expand_contract.start('06_badges', pg_temp.badges_doc(), 'op_alter_column') AS version_schema;
SET client_min_messages = warning;
CALL expand_contract.run_backfill('op_alter_column');
CALL expand_contract.wait_for_index_builds('op_alter_column');
RESET client_min_messages;
SELECT expand_contract.complete('op_alter_column');
SELECT * FROM pg_temp.badge_indexes();
SELECT name, definition FROM pg_temp.constraints('op_alter_column.badges');
SELECT * FROM badges ORDER BY id;

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS op_alter_column, op_alter_column_01_typed_orders,
    op_alter_column_03_precise_temperature, op_alter_column_04_wider_parts,
    op_alter_column_05_posts_rules, op_alter_column_06_badges CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'op_alter_column';
RESET client_min_messages;
