--
-- add_column: a shop stores prices in cents. The new version of the app
-- wants a decimal "price" computed from "price_cents", a "label" with a
-- default, and an optional link to the shop that sells the item. The old app
-- keeps running on the base schema the whole time.
--
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_add_column;
SET search_path = op_add_column;

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
     WHERE c.relnamespace = 'op_add_column'::regnamespace
       AND a.attname LIKE '\_ec\_%' AND NOT a.attisdropped
    UNION ALL
    SELECT 'constraint', c.relname || '.' || k.conname
      FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
     WHERE c.relnamespace = 'op_add_column'::regnamespace AND k.conname LIKE '\_ec\_%'
    UNION ALL
    SELECT 'trigger', c.relname || '.' || t.tgname
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = 'op_add_column'::regnamespace AND NOT t.tgisinternal
    ORDER BY 1, 2
$$;
CREATE FUNCTION pg_temp.schemas()
RETURNS SETOF name LANGUAGE sql AS $$
    SELECT nspname FROM pg_namespace WHERE nspname LIKE 'op\_add\_column%' ORDER BY 1
$$;
CREATE FUNCTION pg_temp.status()
RETURNS TABLE (migration text, phase text, version_schema name,
               previous_version_schema name, backfill_rows_left bigint)
LANGUAGE sql AS $$
    SELECT migration, phase, version_schema, previous_version_schema, backfill_rows_left
      FROM expand_contract.status('op_add_column')
$$;
-- Everything a failed start could leave behind, as one string.
CREATE FUNCTION pg_temp.footprint()
RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(' / ',
        (SELECT string_agg(s, ',') FROM pg_temp.schemas() s),
        (SELECT string_agg(c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod),
                           ',' ORDER BY c.relname, a.attnum)
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          WHERE c.relnamespace = 'op_add_column'::regnamespace AND c.relkind IN ('r', 'p', 'v')
            AND a.attnum > 0 AND NOT a.attisdropped),
        (SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint
          WHERE connamespace = 'op_add_column'::regnamespace),
        (SELECT string_agg(kind || ' ' || name, ',') FROM pg_temp.leftovers()),
        (SELECT string_agg(name || ':' || phase, ',' ORDER BY name) FROM expand_contract.migrations
          WHERE schema_name = 'op_add_column'))
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
        PERFORM expand_contract.start('bad', doc, 'op_add_column');
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
CREATE TABLE shops (id integer PRIMARY KEY, city text NOT NULL);
INSERT INTO shops VALUES (1, 'Lyon'), (2, 'Gent');
CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, price_cents integer NOT NULL);
INSERT INTO items VALUES (1, 'pen', 150), (2, 'book', 1299), (3, 'mug', 800), (4, 'lamp', 4500);
CREATE TABLE keyless (name text NOT NULL, qty integer);   -- no key to backfill by

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
    "column": {"name": "code", "type": "text", "unique": true}, "up": "name"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"add_column": {"table": "keyless",
    "column": {"name": "double_qty", "type": "integer", "nullable": true}, "up": "qty * 2"}}]}$$);
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

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA op_add_column, op_add_column_01_prices CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'op_add_column';
RESET client_min_messages;
