--
-- create_index: the shop searches products by name and wants it fast.
-- CREATE INDEX CONCURRENTLY builds without blocking writers but cannot run
-- in start's transaction, so start records the build and a background
-- worker runs it once start has committed: complete refuses until the index
-- is valid (CALL wait_for_index_builds waits for it), rollback drops it, an
-- invalid one left by a failed build included. A long reader delays the
-- build (it waits for older snapshots), never a writer.
--
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_create_index;
SET search_path = op_create_index;
SET ec_test.schema = 'op_create_index';
\i sql/include/op_helpers.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink SCHEMA op_create_index;
RESET client_min_messages;

CREATE TABLE products (id integer PRIMARY KEY, name text NOT NULL, sku text, price integer NOT NULL);
INSERT INTO products SELECT g, 'product ' || (g % 100), 'SKU-' || g, g FROM generate_series(1, 2000) g;
CREATE FUNCTION pg_temp.indexes() RETURNS SETOF text LANGUAGE sql AS $$
    SELECT pg_get_indexdef(indexrelid) || CASE WHEN indisvalid THEN '' ELSE ' (invalid)' END
      FROM pg_index WHERE indrelid = 'op_create_index.products'::regclass ORDER BY indexrelid::regclass::text
$$;
-- The builds of the open migration (which duplicate a failed unique build
-- meets first is not told).
CREATE FUNCTION pg_temp.builds() RETURNS TABLE (index_name name, state text, phase text, error text)
LANGUAGE sql AS $$
    SELECT b.index_name, b.state, b.phase, regexp_replace(b.error, '=\(.*\)', '=(...)') FROM expand_contract.index_build_status b
      JOIN expand_contract.migrations m ON m.schema_name = b.schema_name AND m.name = b.migration
     WHERE b.schema_name = 'op_create_index' AND m.phase = 'active' ORDER BY index_name
$$;
-- Waits for the open migration's builds (whether it had to wait is timing).
\set wait_for_builds 'SET client_min_messages = warning; CALL expand_contract.wait_for_index_builds(''op_create_index''); RESET client_min_messages;'
CREATE FUNCTION pg_temp.sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE stmt; RETURN 'no error'; EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM; END $$;

-- Refused at start, leaving nothing behind.
SELECT * FROM pg_temp.start_fails('{"operations": [{"create_index": {"name": "i", "table": "products",
  "columns": [{"column": "name"}], "method": "rtree"}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"create_index": {"name": "i", "table": "products",
  "columns": [{"column": "nom"}]}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"create_index": {"name": "i", "table": "products",
  "columns": [{"column": "name", "sort": "UP"}]}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"create_index": {"name": "i", "table": "products",
  "columns": [{"column": "name", "opclass": {"name": "no_such_ops"}}]}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"create_index": {"name": "i", "table": "products",
  "columns": [{"column": "name", "collate": "no_such_collation"}]}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"create_index": {"name": "products_pkey", "table": "products",
  "columns": [{"column": "name"}]}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"create_index": {"name": "i", "table": "products",
  "columns": [{"column": "name"}], "predicate": "price > 10; DROP TABLE products"}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"create_index": {"name": "i", "table": "products",
  "columns": [{"column": "name"}], "storage_parameters": "fillfactor=70) TABLESPACE pg_global"}}]}');

-- Expand: the build runs after start commits; both versions write meanwhile.
CREATE FUNCTION pg_temp.doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [
      {"create_index": {"name": "products_name_idx", "table": "products",
        "columns": [{"column": "name", "collate": "C", "opclass": {"name": "text_pattern_ops"},
                     "sort": "DESC", "nulls": "LAST"}],
        "predicate": "price > 10", "storage_parameters": "fillfactor=70"}},
      {"create_index": {"name": "products_price_idx", "table": "products", "method": "brin",
        "columns": [{"column": "price"}]}}]}'::jsonb
$$;
SELECT expand_contract.start('02_search', pg_temp.doc(), 'op_create_index') AS version_schema;
INSERT INTO products VALUES (2001, 'kettle', 'K-1', 30);
INSERT INTO op_create_index_02_search.products VALUES (2002, 'teapot', 'T-1', 40);
:wait_for_builds
SELECT * FROM pg_temp.builds();
SELECT * FROM pg_temp.indexes();
SELECT expand_contract.rollback('op_create_index');
SELECT * FROM pg_temp.indexes();
SELECT count(*) AS builds_left FROM expand_contract.index_builds WHERE schema_name = 'op_create_index';
SELECT expand_contract.start('02_search', pg_temp.doc(), 'op_create_index') AS version_schema;
:wait_for_builds
SELECT expand_contract.complete('op_create_index');
SELECT * FROM pg_temp.indexes();

-- A long reader delays the build (it waits for older snapshots); complete
-- refuses meanwhile, and the writers never wait.
SELECT dblink_connect('reader', format('host=%s port=%s dbname=%s',
    split_part(current_setting('unix_socket_directories'), ',', 1),
    current_setting('port'), current_database())) AS reader_connected;
SELECT dblink_exec('reader', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT * FROM dblink('reader', 'SELECT count(*) FROM op_create_index.products') AS t(n bigint);
SELECT expand_contract.start('03_sku', '{"operations": [{"create_index": {"name": "products_sku_idx",
  "table": "products", "columns": [{"column": "sku"}]}}]}', 'op_create_index') AS version_schema;
DO $$
BEGIN
    FOR i IN 1..300 LOOP
        EXIT WHEN EXISTS (SELECT FROM expand_contract.index_build_status WHERE phase = 'waiting for old snapshots');
        PERFORM pg_sleep(0.02);
    END LOOP;
END $$;
SELECT * FROM pg_temp.builds();
UPDATE products SET price = price + 1 WHERE id = 1;
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.complete('op_create_index')$$);
SELECT dblink_exec('reader', 'COMMIT');
:wait_for_builds
SELECT expand_contract.complete('op_create_index');
SELECT dblink_disconnect('reader');

-- A build that fails (duplicates under a unique index): complete refuses,
-- saying why; rollback drops the invalid index; once the data is fixed, the
-- same migration goes through.
CREATE FUNCTION pg_temp.unique_doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [{"create_index": {"name": "products_name_key", "table": "products",
      "unique": true, "columns": [{"column": "name"}]}}]}'::jsonb
$$;
SELECT expand_contract.start('04_unique_names', pg_temp.unique_doc(), 'op_create_index') AS version_schema;
:wait_for_builds
SELECT * FROM pg_temp.builds();
SELECT i FROM pg_temp.indexes() i WHERE i LIKE '%products_name_key%';
SELECT pg_temp.sqlstate_of($$SELECT expand_contract.complete('op_create_index')$$);
SELECT expand_contract.rollback('op_create_index');
SELECT i FROM pg_temp.indexes() i WHERE i LIKE '%products_name_key%';
UPDATE products SET name = name || ' #' || id;
SELECT expand_contract.start('04_unique_names', pg_temp.unique_doc(), 'op_create_index') AS version_schema;
:wait_for_builds
SELECT expand_contract.complete('op_create_index');
SELECT i FROM pg_temp.indexes() i WHERE i LIKE '%products_name_key%';

-- A rollback while a build commits. CREATE INDEX CONCURRENTLY lets go of
-- its lock on the table before its last transaction commits, and no cancel
-- stops it there; a rollback that dropped the index in that moment failed
-- with "tuple concurrently updated". The event trigger below holds the
-- build in that moment for a second, deaf to the cancel rollback sends:
-- rollback waits for the build's end, then drops the index it made.
CREATE FUNCTION op_create_index.hold_build_commit() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
    held_until timestamptz := clock_timestamp() + interval '1 s';
BEGIN
    IF NOT EXISTS (SELECT FROM pg_event_trigger_ddl_commands()
                    WHERE object_identity = 'op_create_index.products_price_key') THEN
        RETURN;
    END IF;
    WHILE clock_timestamp() < held_until LOOP
        BEGIN
            PERFORM pg_sleep(0.02);
        EXCEPTION WHEN query_canceled THEN
            NULL;
        END;
    END LOOP;
END $$;
CREATE EVENT TRIGGER hold_build_commit ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
    EXECUTE FUNCTION op_create_index.hold_build_commit();
CREATE FUNCTION pg_temp.price_doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [{"create_index": {"name": "products_price_key", "table": "products",
      "columns": [{"column": "price"}]}}]}'::jsonb
$$;
SELECT expand_contract.start('05_prices', pg_temp.price_doc(), 'op_create_index') AS version_schema;
DO $$
BEGIN
    FOR i IN 1..500 LOOP
        EXIT WHEN EXISTS (SELECT FROM pg_stat_activity
                           WHERE backend_type = 'expand_contract index builds' AND wait_event = 'PgSleep');
        PERFORM pg_sleep(0.01);
    END LOOP;
END $$;
SELECT i FROM pg_temp.indexes() i WHERE i LIKE '%products_price_key%';
-- (a lock timeout longer than the hold, so that rollback waits it out in
-- one attempt, as it did when the moment was shorter than its timeout)
SET deadlock_timeout = '10s';
SET expand_contract.phase_lock_timeout = '5s';
SELECT expand_contract.rollback('op_create_index');
RESET expand_contract.phase_lock_timeout;
RESET deadlock_timeout;
SELECT i FROM pg_temp.indexes() i WHERE i LIKE '%products_price_key%';
DROP EVENT TRIGGER hold_build_commit;
SELECT expand_contract.start('05_prices', pg_temp.price_doc(), 'op_create_index') AS version_schema;
INSERT INTO products VALUES (2003, 'mug', 'M-1', 50);
INSERT INTO op_create_index_05_prices.products VALUES (2004, 'cup', 'C-1', 60);
:wait_for_builds
SELECT expand_contract.complete('op_create_index');
SELECT i FROM pg_temp.indexes() i WHERE i LIKE '%products_price_key%';

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS op_create_index, op_create_index_02_search, op_create_index_03_sku,
    op_create_index_04_unique_names, op_create_index_05_prices CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'op_create_index';
