--
-- add_column: a shop stores prices in cents. The new version of the app
-- wants a decimal "price" computed from "price_cents", a "label" with a
-- default, and an optional link to the shop that sells the item. The old app
-- keeps running on the base schema the whole time.
--
-- Both versions write here while rows still wait for the backfill, so the
-- new version opens at start (by default it opens once the backfill is done).
SET expand_contract.open_new_version = at_start;
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_add_column;
SET search_path = op_add_column;

SET ec_test.schema = 'op_add_column';
\i sql/include/op_helpers.psql

-- Version 1 of the app.
CREATE TABLE shops (id integer PRIMARY KEY, city text NOT NULL);
INSERT INTO shops VALUES (1, 'Lyon'), (2, 'Gent');
CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, price_cents integer NOT NULL);
INSERT INTO items VALUES (1, 'pen', 150), (2, 'book', 1299), (3, 'mug', 800), (4, 'lamp', 4500);

--------------------------------------------------------------------------
-- Documents that start() must refuse. Each leaves nothing behind.
--------------------------------------------------------------------------
-- the table or column does not fit the schema
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "itemz",
    "column": {"name": "price", "type": "numeric", "nullable": true}}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "name", "type": "text", "nullable": true}}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"add_column": {"table": "items", "column": {"name": "price", "type": "numeric", "nullable": true}}},
    {"add_column": {"table": "items", "column": {"name": "price", "type": "numeric", "nullable": true}}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "_ec_price", "type": "numeric", "nullable": true}}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "price", "type": "money_in_euros", "nullable": true}}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "price", "type": "integer", "nullable": true, "default": "'free'"}}}]}$$);
-- unknown fields and wrong field types
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "colunm": {"name": "price", "type": "numeric", "nullable": true}}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "price", "type": "numeric", "nullable": true, "size": 10}}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "price", "type": "numeric"}}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": ["items"],
    "column": {"name": "price", "type": "numeric", "nullable": true}}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": "price numeric"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "price", "type": "numeric", "nullable": "yes"}}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "price", "type": "numeric", "nullable": true}, "up": 150}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "price", "type": "numeric", "nullable": true,
               "references": {"name": "items_shop_fk", "table": "shops", "column": "id",
                              "on_delete": "EXPLODE"}}}}]}$$);
-- NOT NULL without a default needs "up" for the rows that already exist
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "price", "type": "numeric", "nullable": false}}}]}$$);
-- not supported yet
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "code", "type": "text", "generated": {"expression": "upper(name)"}}}}]}$$);
-- bad "up": syntax error, unknown column, new-shape name, type mismatch, not an expression
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "price", "type": "numeric"}, "up": "price_cents / "}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "price", "type": "numeric"}, "up": "price_in_cents / 100.0"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "price", "type": "numeric"}, "up": "coalesce(price, 0)"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "price", "type": "numeric"}, "up": "price_cents > 100"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "price", "type": "numeric"}, "up": "1; DROP TABLE items"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "price", "type": "numeric"}, "up": "sum(price_cents)"}}]}$$);
-- bad column check: it is written in the new version's names
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "items",
    "column": {"name": "price", "type": "numeric", "nullable": true,
               "check": {"name": "price_positive", "constraint": "cost > 0"}}}}]}$$);

SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.schemas();

--------------------------------------------------------------------------
-- Scenario 1: expand, write through both versions, backfill, complete.
--------------------------------------------------------------------------
SELECT expand_contract.start('01_prices', $${"operations": [
    {"add_column": {"table": "items",
                    "column": {"name": "price", "type": "numeric(10,2)", "nullable": false,
                               "comment": "price in euros",
                               "check": {"name": "price_not_negative", "constraint": "price >= 0"}},
                    "up": "price_cents / 100.0"}},
    {"add_column": {"table": "items",
                    "column": {"name": "label", "type": "text", "nullable": false, "default": "'plain'"}}},
    {"add_column": {"table": "items",
                    "column": {"name": "shop_id", "type": "integer", "nullable": true,
                               "references": {"name": "items_shop_fk", "table": "shops", "column": "id",
                                              "on_delete": "SET NULL"}}}}]}$$,
    'op_add_column');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.schemas();
-- The base table carries the new columns under staged names; the new
-- version's view shows them under their real names.
SELECT * FROM pg_temp.columns('op_add_column.items');
SELECT * FROM pg_temp.constraints('op_add_column.items');
SELECT * FROM pg_temp.leftovers();
SELECT * FROM pg_temp.columns('op_add_column_01_prices.items');

-- The old app knows nothing of the new columns and goes on as before.
SET search_path = op_add_column;
INSERT INTO items (id, name, price_cents) VALUES (5, 'cup', 450);
UPDATE items SET price_cents = 199 WHERE id = 1;   -- a row from before start
SELECT id, name, price_cents FROM items ORDER BY id;

-- The new app writes the new columns itself.
SET search_path = op_add_column_01_prices;
INSERT INTO items (id, name, price_cents, price, shop_id) VALUES (6, 'bag', 2000, 19.99, 1);
INSERT INTO items (id, name, price_cents, price) VALUES (7, 'toy', 300, 3);
SELECT pg_temp.error_of($$INSERT INTO items (id, name, price_cents, price) VALUES (8, 'debt', 1, -1)$$);
SELECT pg_temp.error_of($$INSERT INTO items (id, name, price_cents, price, shop_id) VALUES (8, 'gift', 1, 1, 99)$$);
SELECT pg_temp.error_of($$INSERT INTO items (id, name, price_cents) VALUES (8, 'gift', 1)$$);
-- rows from before start: a write through the new version first brings
-- their new columns up to date with "up" ...
UPDATE items SET name = 'notebook' WHERE id = 2;
-- ... except the ones it writes itself
UPDATE items SET price = 7.50, label = 'sale' WHERE id = 3;
SELECT * FROM items ORDER BY id;

-- Both versions read the same rows, each in its own shape.
SELECT o.id, o.name, o.price_cents, n.price, n.label, n.shop_id
  FROM op_add_column.items o JOIN op_add_column_01_prices.items n USING (id)
 ORDER BY id;

-- The old app changes a price after the new app set one: "up" recomputes it.
SET search_path = op_add_column;
UPDATE items SET price_cents = 2100 WHERE id = 6;
SELECT id, name, price_cents FROM items ORDER BY id;
SET search_path = op_add_column_01_prices;
SELECT * FROM items ORDER BY id;

-- Backfill: row 4 is the only one no write has synced yet. One batch of
-- two rows first, then the rest.
SET search_path = op_add_column;
SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('op_add_column', 2, 1);
SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('op_add_column', 2);
SELECT * FROM pg_temp.status();
SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('op_add_column', 2);
SELECT id, price FROM op_add_column_01_prices.items ORDER BY id;

-- Contract: only the new shape is left.
SELECT expand_contract.complete('op_add_column');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.columns('op_add_column.items');
SELECT * FROM pg_temp.constraints('op_add_column.items');
SELECT * FROM pg_temp.leftovers();
SELECT * FROM items ORDER BY id;
-- the new app's version schema stays usable after complete
SELECT * FROM pg_temp.schemas();
SET search_path = op_add_column_01_prices;
INSERT INTO items (id, name, price_cents, price) VALUES (8, 'gift', 500, 5);
SELECT * FROM items ORDER BY id;
SET search_path = op_add_column;
SELECT pg_temp.error_of($$INSERT INTO items (id, name, price_cents) VALUES (9, 'nothing', 0)$$);

--------------------------------------------------------------------------
-- Scenario 2: expand, write through both versions, roll back.
--------------------------------------------------------------------------
CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL);
INSERT INTO notes VALUES (1, 'hello'), (2, 'see you soon');

SELECT expand_contract.start('02_word_count', $${"operations": [
    {"add_column": {"table": "notes",
                    "column": {"name": "words", "type": "integer", "nullable": false},
                    "up": "array_length(string_to_array(body, ' '), 1)"}}]}$$,
    'op_add_column');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.columns('op_add_column_02_word_count.notes');

SET search_path = op_add_column;
INSERT INTO notes VALUES (3, 'written by the old app');
SET search_path = op_add_column_02_word_count;
INSERT INTO notes VALUES (4, 'written by the new app', 99);
UPDATE notes SET body = 'hello world' WHERE id = 1;
SET search_path = op_add_column;
UPDATE notes SET body = 'see you' WHERE id = 2;
DELETE FROM notes WHERE id = 4;
SET search_path = op_add_column_02_word_count;
INSERT INTO notes VALUES (5, 'new again', 2);
SELECT * FROM notes ORDER BY id;
SET search_path = op_add_column;
SELECT id, body FROM notes ORDER BY id;

SELECT expand_contract.rollback('op_add_column');
-- the old shape, with every row written through either version
SELECT * FROM pg_temp.columns('op_add_column.notes');
SELECT * FROM notes ORDER BY id;
SELECT * FROM pg_temp.leftovers();
SELECT * FROM pg_temp.schemas();
SELECT * FROM pg_temp.status();
-- the old app writes as before
INSERT INTO notes VALUES (6, 'after rollback');
SELECT * FROM notes ORDER BY id;

--------------------------------------------------------------------------
-- Scenario: a volatile default (pgroll's example 53). PostgreSQL would
-- rewrite the table under its lock to give every existing row its own value;
-- instead start adds a plain column with the default for new rows, and the
-- backfill gives each existing row its value, once: later writes of the old
-- version do not change it.
--------------------------------------------------------------------------
CREATE SEQUENCE op_add_column.ticket_numbers START 100;
CREATE FUNCTION pg_temp.ticket_doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [{"add_column": {"table": "notes",
      "column": {"name": "ticket", "type": "bigint", "nullable": false,
                 "default": "nextval(''op_add_column.ticket_numbers'')"}}}]}'::jsonb
$$;
SELECT relfilenode AS file_before FROM pg_class WHERE oid = 'notes'::regclass \gset
SELECT expand_contract.start('03_tickets', pg_temp.ticket_doc(), 'op_add_column') AS version_schema;
SELECT relfilenode = :file_before AS not_rewritten FROM pg_class WHERE oid = 'notes'::regclass;
SELECT * FROM pg_temp.columns('op_add_column.notes');
-- new rows, by either version, get the default; existing ones wait
INSERT INTO notes VALUES (7, 'old app, new row');
INSERT INTO op_add_column_03_tickets.notes (id, body) VALUES (8, 'new app, new row');
SELECT id, ticket FROM op_add_column_03_tickets.notes ORDER BY id;
SELECT expand_contract.rollback('op_add_column');
SELECT * FROM pg_temp.leftovers();
SELECT expand_contract.start('03_tickets', pg_temp.ticket_doc(), 'op_add_column') AS version_schema;
SELECT sum(rows) AS backfilled FROM expand_contract.backfill('op_add_column');
SELECT id, ticket FROM op_add_column_03_tickets.notes ORDER BY id;
-- once filled, an old-version write leaves the value alone
UPDATE notes SET body = 'edited by the old app' WHERE id = 1;
SELECT id, ticket FROM op_add_column_03_tickets.notes WHERE id = 1;
SELECT * FROM expand_contract.verify('op_add_column');
SELECT expand_contract.complete('op_add_column');
SELECT * FROM pg_temp.columns('op_add_column.notes');
SELECT count(*) AS rows, count(DISTINCT ticket) AS distinct_tickets FROM notes;

--------------------------------------------------------------------------
-- Scenario: a serial column (the type asks for a sequence and a default, as
-- in CREATE TABLE). Without the rewrite ALTER TABLE would do: start creates
-- the sequence and a plain column defaulting to it, the backfill numbers the
-- existing rows, complete gives the sequence to the column, rollback drops it.
--------------------------------------------------------------------------
CREATE FUNCTION pg_temp.serial_doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [{"add_column": {"table": "notes",
      "column": {"name": "position", "type": "serial", "nullable": false}}}]}'::jsonb
$$;
SELECT expand_contract.start('04_positions', pg_temp.serial_doc(), 'op_add_column') AS version_schema;
SELECT * FROM pg_temp.columns('op_add_column_04_positions.notes') WHERE col = 'position';
INSERT INTO notes VALUES (9, 'old app, new row');
SELECT expand_contract.rollback('op_add_column');
SELECT to_regclass('op_add_column.notes_position_seq') AS sequence_after_rollback;
SELECT * FROM pg_temp.leftovers();
SELECT expand_contract.start('04_positions', pg_temp.serial_doc(), 'op_add_column') AS version_schema;
SELECT sum(rows) AS backfilled FROM expand_contract.backfill('op_add_column');
INSERT INTO op_add_column_04_positions.notes (id, body) VALUES (10, 'new app, new row');
SELECT count(*) AS rows, count(DISTINCT position) AS distinct_positions, min(position) AS first
  FROM op_add_column_04_positions.notes;
SELECT * FROM expand_contract.verify('op_add_column');
SELECT expand_contract.complete('op_add_column');
SELECT * FROM pg_temp.columns('op_add_column.notes') WHERE col = 'position';
SELECT pg_get_serial_sequence('op_add_column.notes', 'position') AS owned_sequence;
-- A serial column takes its default from its sequence.
SELECT expand_contract.start('05_bad', '{"operations": [{"add_column": {"table": "notes",
  "column": {"name": "n", "type": "bigserial", "default": "1"}}}]}', 'op_add_column');

--------------------------------------------------------------------------
-- Scenario: a unique column. Its unique index is built online after start
-- (on the staged column), and complete makes it the constraint, named as
-- PostgreSQL would name it.
--------------------------------------------------------------------------
CREATE FUNCTION pg_temp.code_doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [{"add_column": {"table": "notes",
      "column": {"name": "code", "type": "text", "unique": true, "nullable": true}, "up": "''N-'' || id"}}]}'::jsonb
$$;
SELECT expand_contract.start('06_codes', pg_temp.code_doc(), 'op_add_column') AS version_schema;
SET client_min_messages = warning;
CALL expand_contract.run_backfill('op_add_column');
CALL expand_contract.wait_for_index_builds('op_add_column');
RESET client_min_messages;
INSERT INTO op_add_column_06_codes.notes (id, body, code) VALUES (11, 'dup', 'N-1');
SELECT expand_contract.rollback('op_add_column');
SELECT * FROM pg_temp.leftovers();
SELECT expand_contract.start('06_codes', pg_temp.code_doc(), 'op_add_column') AS version_schema;
SET client_min_messages = warning;
CALL expand_contract.run_backfill('op_add_column');
CALL expand_contract.wait_for_index_builds('op_add_column');
RESET client_min_messages;
SELECT expand_contract.complete('op_add_column');
SELECT * FROM pg_temp.constraints('op_add_column.notes') WHERE name LIKE '%code%';

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS op_add_column, op_add_column_01_prices, op_add_column_03_tickets, op_add_column_04_positions,
    op_add_column_06_codes CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'op_add_column';
RESET client_min_messages;
