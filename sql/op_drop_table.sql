--
-- drop_table: a blog counted page hits in "legacy_hits". The new app reads
-- its numbers elsewhere and no longer has the table; the old app keeps
-- writing to it until complete drops it for good.
--
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_drop_table;
SET search_path = op_drop_table;

SET ec_test.schema = 'op_drop_table';
\i sql/include/op_helpers.psql

-- Version 1 of the app.
CREATE TABLE posts (id integer PRIMARY KEY, title text NOT NULL);
CREATE TABLE legacy_hits (id integer PRIMARY KEY, post_id integer NOT NULL, hits integer NOT NULL);
CREATE TABLE audit_log (id integer PRIMARY KEY, message text NOT NULL);
CREATE TABLE authors (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE books (id integer PRIMARY KEY, author_id integer REFERENCES authors (id));
CREATE VIEW post_titles AS SELECT title FROM posts;
INSERT INTO posts VALUES (1, 'hello'), (2, 'goodbye');
INSERT INTO legacy_hits VALUES (1, 1, 10), (2, 2, 3);
INSERT INTO audit_log VALUES (1, 'created posts');
INSERT INTO authors VALUES (1, 'Le Guin');
INSERT INTO books VALUES (1, 1);

--------------------------------------------------------------------------
-- Documents that start() must refuse. Each leaves nothing behind.
--------------------------------------------------------------------------
-- the table does not fit the schema
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_table": {"name": "legacy_hit"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_table": {"name": "post_titles"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"drop_table": {"name": "legacy_hits"}},
    {"drop_table": {"name": "legacy_hits"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"drop_table": {"name": "legacy_hits"}},
    {"add_column": {"table": "legacy_hits", "column": {"name": "day", "type": "date", "nullable": true}}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"drop_table": {"name": "legacy_hits"}},
    {"rename_table": {"from": "legacy_hits", "to": "old_hits"}}]}$$);
-- unknown fields and wrong field types
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_table": {"table": "legacy_hits"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_table": {"name": "legacy_hits",
    "cascade": true}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_table": {"name": 42}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_table": {}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"drop_table": "legacy_hits"}]}$$);
-- A table other tables still reference cannot be dropped by complete(), so
-- start() refuses it (dependent objects still exist).
SELECT left(error, 5) AS sqlstate, left_behind
  FROM pg_temp.start_fails($${"operations": [{"drop_table": {"name": "authors"}}]}$$);
-- A table changed earlier in the same migration cannot be dropped by it: its
-- staged NOT NULL column would otherwise block the old app's inserts.
SELECT left(error, 5) AS sqlstate, left_behind
  FROM pg_temp.start_fails($${"operations": [
    {"add_column": {"table": "legacy_hits", "column": {"name": "day", "type": "date"},
                    "up": "current_date"}},
    {"drop_table": {"name": "legacy_hits"}}]}$$);

SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.schemas();

--------------------------------------------------------------------------
-- Scenario 1: expand, write through both versions, backfill, complete.
--------------------------------------------------------------------------
SELECT expand_contract.start('01_no_hits', $${"operations": [
    {"drop_table": {"name": "legacy_hits"}}]}$$,
    'op_drop_table');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.schemas();
-- The new version has no view for the table; the base schema still has it.
SELECT c.relname, c.relkind FROM pg_class c
 WHERE c.relnamespace = 'op_drop_table_01_no_hits'::regnamespace ORDER BY c.relname;
SELECT * FROM pg_temp.leftovers();

-- The old app goes on counting hits ...
SET search_path = op_drop_table;
INSERT INTO legacy_hits VALUES (3, 1, 1);
UPDATE legacy_hits SET hits = hits + 1 WHERE post_id = 2;
-- ... the new app works without the table.
SET search_path = op_drop_table_01_no_hits;
SELECT pg_temp.error_of($$SELECT count(*) FROM legacy_hits$$);
INSERT INTO posts VALUES (3, 'new post');
SELECT * FROM posts ORDER BY id;
SET search_path = op_drop_table;
SELECT * FROM legacy_hits ORDER BY id;
SELECT * FROM posts ORDER BY id;

SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('op_drop_table');

-- Contract: the table is dropped.
SELECT expand_contract.complete('op_drop_table');
SELECT * FROM pg_temp.status();
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'op_drop_table'::regnamespace AND c.relkind IN ('r', 'v') ORDER BY c.relname;
SELECT pg_temp.error_of($$SELECT count(*) FROM legacy_hits$$);
SELECT * FROM pg_temp.leftovers();

--------------------------------------------------------------------------
-- Scenario 2: expand, write through both versions, roll back.
--------------------------------------------------------------------------
SELECT expand_contract.start('02_no_audit', $${"operations": [
    {"drop_table": {"name": "audit_log"}}]}$$,
    'op_drop_table');
SELECT * FROM pg_temp.status();
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'op_drop_table_02_no_audit'::regnamespace ORDER BY c.relname;

INSERT INTO audit_log VALUES (2, 'old app was here');
SET search_path = op_drop_table_02_no_audit;
SELECT pg_temp.error_of($$INSERT INTO audit_log VALUES (3, 'new app')$$);
UPDATE posts SET title = 'hello again' WHERE id = 1;
SET search_path = op_drop_table;
INSERT INTO audit_log VALUES (3, 'old app again');
SELECT * FROM audit_log ORDER BY id;

SELECT expand_contract.rollback('op_drop_table');
-- the table is still there, with every row
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'op_drop_table'::regnamespace AND c.relkind = 'r' ORDER BY c.relname;
SELECT * FROM audit_log ORDER BY id;
SELECT * FROM posts ORDER BY id;
SELECT * FROM pg_temp.leftovers();
SELECT * FROM pg_temp.schemas();
SELECT * FROM pg_temp.status();

--------------------------------------------------------------------------
-- Scenario 3: a table replaces a dropped one under its name. "posts" gets
-- a new column, the old "articles" table goes, and "posts" takes its name.
--------------------------------------------------------------------------
CREATE TABLE articles (id integer PRIMARY KEY, body text NOT NULL);
INSERT INTO articles VALUES (1, 'an old article');
SELECT expand_contract.start('03_posts_are_articles', $${"operations": [
    {"add_column": {"table": "posts",
                    "column": {"name": "draft", "type": "boolean", "nullable": false, "default": "false"}}},
    {"drop_table": {"name": "articles"}},
    {"rename_table": {"from": "posts", "to": "articles"}}]}$$,
    'op_drop_table');
SELECT * FROM op_drop_table_03_posts_are_articles.articles ORDER BY id;
INSERT INTO articles VALUES (2, 'old app article');
SELECT expand_contract.complete('op_drop_table');
SELECT * FROM pg_temp.status();
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'op_drop_table'::regnamespace AND c.relkind = 'r' ORDER BY c.relname;
SELECT * FROM articles ORDER BY id;

--------------------------------------------------------------------------
-- A table dropped and created again under its name in one migration (as
-- pgroll allows): the old one keeps its name for the old version until
-- complete, so the new one waits under a staged name, and complete gives it
-- the name, and its index and sequence names too.
--------------------------------------------------------------------------
CREATE TABLE counters (id integer PRIMARY KEY, n integer NOT NULL);
INSERT INTO counters VALUES (1, 41);
CREATE FUNCTION pg_temp.counters_doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [
      {"drop_table": {"name": "counters"}},
      {"create_table": {"name": "counters", "columns": [{"name": "id", "type": "serial", "pk": true},
                                                      {"name": "label", "type": "text"}]}}]}'::jsonb
$$;
SELECT expand_contract.start('05_new_counters', pg_temp.counters_doc(), 'op_drop_table') AS version_schema;
INSERT INTO op_drop_table_05_new_counters.counters (label) VALUES ('new app');
SELECT * FROM op_drop_table_05_new_counters.counters;
SELECT * FROM counters;
SELECT expand_contract.rollback('op_drop_table');
SELECT relname FROM pg_class WHERE relnamespace = 'op_drop_table'::regnamespace AND relname LIKE '%counters%' ORDER BY 1;
SELECT expand_contract.start('05_new_counters', pg_temp.counters_doc(), 'op_drop_table') AS version_schema;
SELECT expand_contract.complete('op_drop_table');
SELECT relname FROM pg_class WHERE relnamespace = 'op_drop_table'::regnamespace AND relname LIKE '%counters%' ORDER BY 1;
SELECT * FROM counters;

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS op_drop_table, op_drop_table_01_no_hits,
    op_drop_table_03_posts_are_articles, op_drop_table_05_new_counters CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'op_drop_table';
RESET client_min_messages;
