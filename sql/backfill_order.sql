-- backfill_order: how a backfill visits a table with a key. By key, every
-- batch is exactly batch_size rows and reads the key index; by page (TID
-- ranges) a batch costs what the same rows of one UPDATE cost. The setting
-- expand_contract.backfill_order (auto, key, page) is read when a table's
-- backfill begins: auto, the default, goes by page from 8 MB on. Once begun, a table
-- keeps its order, and workers follow what the session that started them
-- chose. A rewrite (VACUUM FULL) mid-pass gives the table another file; the
-- pass then looks for rows left, and only then.
\set SHOW_CONTEXT never
SET expand_contract.open_new_version = at_start;
CREATE SCHEMA backfill_order;
SET search_path = backfill_order;

-- posts is about 10 MB, authors a few pages. (Autovacuum stays away so that
-- only this story moves rows.)
CREATE TABLE posts (id integer PRIMARY KEY, body text NOT NULL, likes integer NOT NULL)
  WITH (autovacuum_enabled = false);
INSERT INTO posts SELECT g, repeat('p', 200), g % 50 FROM generate_series(1, 40000) g;
CREATE TABLE authors (id integer PRIMARY KEY, name text NOT NULL) WITH (autovacuum_enabled = false);
INSERT INTO authors SELECT g, 'author ' || g FROM generate_series(1, 3000) g;
SELECT relname, pg_relation_size(oid) / current_setting('block_size')::integer >= 1024 AS at_least_8_mb
  FROM pg_class WHERE relname IN ('posts', 'authors') AND relnamespace = 'backfill_order'::regnamespace
 ORDER BY 1;

CREATE FUNCTION pg_temp.start_migration() RETURNS void LANGUAGE sql AS $$
    SELECT FROM expand_contract.start('02_popular', '{"operations": [
      {"add_column": {"table": "posts", "column": {"name": "popular", "type": "boolean", "nullable": true},
                      "up": "likes >= 25"}},
      {"add_column": {"table": "authors", "column": {"name": "short_name", "type": "text", "nullable": true},
                      "up": "substr(name, 8)"}}]}', 'backfill_order');
$$;
-- How far each table is, and how it is visited ({} key columns: by page).
CREATE FUNCTION pg_temp.progress()
RETURNS TABLE (table_name name, part integer, key_columns name[], done boolean) LANGUAGE sql AS $$
    SELECT table_name, part, key_columns, done FROM expand_contract.backfill_progress
     WHERE schema_name = 'backfill_order' ORDER BY 1, 2;
$$;
-- Writes of both versions, also to rows the backfill has not reached. (The
-- new version's schema comes and goes with the migration.)
SET check_function_bodies = off;
CREATE FUNCTION pg_temp.write_both(first integer) RETURNS void LANGUAGE sql AS $$
    UPDATE backfill_order.posts SET likes = likes + 30 WHERE id % 1000 = first % 1000;
    INSERT INTO backfill_order.posts VALUES (first, 'old app', 40);
    INSERT INTO backfill_order_02_popular.posts VALUES (first + 1, 'new app', 1, false);
    UPDATE backfill_order_02_popular.authors SET name = 'author x' || id WHERE id % 500 = 0;
$$;
RESET check_function_bodies;
\i sql/include/backfill_workers.psql

-- auto: posts goes by page, authors by key. Two batches of each.
SELECT pg_temp.start_migration();
SET client_min_messages = debug1;
SELECT table_name, batch FROM expand_contract.backfill('backfill_order', 5000, 2);
SET client_min_messages = warning;
SELECT * FROM pg_temp.progress();
SELECT pg_temp.write_both(100000);

-- Once begun, a table keeps its order whatever the setting says now.
SET expand_contract.backfill_order = key;
SELECT table_name, batch FROM expand_contract.backfill('backfill_order', 5000, 1);
SELECT * FROM pg_temp.progress();
RESET expand_contract.backfill_order;

-- A rewrite mid-pass: VACUUM FULL may move rows still to fill behind the
-- cursor. The pass sees the table's new file when it reaches its end, looks
-- for rows left and goes over the table again.
VACUUM FULL posts;
SET client_min_messages = debug1;
SELECT count(*) > 0 AS batches FROM expand_contract.backfill('backfill_order', 20000);
SET client_min_messages = warning;
SELECT * FROM pg_temp.progress();
SELECT count(*) AS mismatches FROM expand_contract.verify('backfill_order');
SELECT FROM expand_contract.rollback('backfill_order');

-- Workers: under auto, posts is split into ranges of its pages, authors by
-- its key.
SELECT pg_temp.start_migration();
SET client_min_messages = debug1;
SELECT expand_contract.start_backfill('backfill_order', 5000, workers => 2) IS NOT NULL AS started;
SET client_min_messages = warning;
SELECT pg_temp.write_both(100005);
SELECT pg_temp.workers_reach('backfill_order', 'done');
SELECT * FROM pg_temp.progress();
SELECT count(*) AS mismatches FROM expand_contract.verify('backfill_order');
SELECT FROM expand_contract.rollback('backfill_order');

-- Workers follow the caller's setting: with key, posts is split by its key.
SELECT pg_temp.start_migration();
SET expand_contract.backfill_order = key;
SET client_min_messages = debug1;
SELECT expand_contract.start_backfill('backfill_order', 5000, workers => 2) IS NOT NULL AS started;
SET client_min_messages = warning;
SELECT pg_temp.workers_reach('backfill_order', 'done');
SELECT * FROM pg_temp.progress();
SELECT pg_temp.write_both(100010);
SELECT count(*) AS mismatches FROM expand_contract.verify('backfill_order');
SELECT FROM expand_contract.rollback('backfill_order');

-- With page, even the small table goes by page. Without a rewrite, the end
-- of a pass does not look for rows left.
SELECT pg_temp.start_migration();
SET expand_contract.backfill_order = page;
SET client_min_messages = debug1;
SELECT count(*) > 0 AS batches FROM expand_contract.backfill('backfill_order', 5000);
SET client_min_messages = warning;
SELECT pg_temp.write_both(100020);
SELECT * FROM pg_temp.progress();
RESET expand_contract.backfill_order;
SELECT count(*) AS mismatches FROM expand_contract.verify('backfill_order');
SELECT FROM expand_contract.complete('backfill_order');
SELECT count(*) AS posts, count(*) FILTER (WHERE popular IS DISTINCT FROM (likes >= 25)) AS wrong_posts
  FROM posts;
SELECT count(*) AS authors, count(*) FILTER (WHERE short_name IS DISTINCT FROM substr(name, 8)) AS wrong_authors
  FROM authors;

RESET client_min_messages;
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA backfill_order CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'backfill_order';
