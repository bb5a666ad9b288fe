--
-- drop_index: the shop drops the index on product names it no longer
-- searches by. The old app may still rely on the index while it runs, so it
-- stays until complete() drops it; rollback keeps it.
--
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_drop_index;
SET search_path = op_drop_index;
SET ec_test.schema = 'op_drop_index';
\i sql/include/op_helpers.psql

CREATE TABLE products (id integer PRIMARY KEY, name text NOT NULL, sku text NOT NULL UNIQUE);
CREATE INDEX products_name_idx ON products (name);
INSERT INTO products VALUES (1, 'kettle', 'K-1'), (2, 'teapot', 'T-1');
CREATE FUNCTION pg_temp.indexes() RETURNS SETOF name LANGUAGE sql AS $$
    SELECT indexrelid::regclass::name FROM pg_index WHERE indrelid = 'op_drop_index.products'::regclass ORDER BY 1
$$;

-- Refused, leaving nothing behind: no such index; an index that backs a
-- constraint (drop the constraint instead); a field pgroll does not have.
SELECT * FROM pg_temp.start_fails('{"operations": [{"drop_index": {"name": "no_such_idx"}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"drop_index": {"name": "products_sku_key"}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"drop_index": {"name": "products_name_idx", "table": "products"}}]}');

CREATE FUNCTION pg_temp.doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [{"drop_index": {"name": "products_name_idx"}}]}'::jsonb
$$;
SELECT expand_contract.start('02_drop_name_index', pg_temp.doc(), 'op_drop_index') AS version_schema;
-- Both versions read and write; the index is still there.
INSERT INTO products VALUES (3, 'mug', 'M-1');
INSERT INTO op_drop_index_02_drop_name_index.products VALUES (4, 'cup', 'C-1');
SELECT * FROM op_drop_index_02_drop_name_index.products ORDER BY id;
SELECT * FROM pg_temp.indexes();
SELECT expand_contract.rollback('op_drop_index');
SELECT * FROM pg_temp.indexes();
SELECT expand_contract.start('02_drop_name_index', pg_temp.doc(), 'op_drop_index') AS version_schema;
SELECT expand_contract.complete('op_drop_index');
SELECT * FROM pg_temp.indexes();
SELECT count(*) FROM products;

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA op_drop_index, op_drop_index_02_drop_name_index CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'op_drop_index';
