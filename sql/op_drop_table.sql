--
-- drop_table: a blog counted page hits in "legacy_hits". The new app reads
-- its numbers elsewhere and no longer has the table; the old app keeps
-- writing to it until complete drops it for good.
--
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_drop_table;
SET search_path = op_drop_table;

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
     WHERE c.relnamespace = 'op_drop_table'::regnamespace
       AND a.attname LIKE '\_ec\_%' AND NOT a.attisdropped
    UNION ALL
    SELECT 'constraint', c.relname || '.' || k.conname
      FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
     WHERE c.relnamespace = 'op_drop_table'::regnamespace AND k.conname LIKE '\_ec\_%'
    UNION ALL
    SELECT 'trigger', c.relname || '.' || t.tgname
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = 'op_drop_table'::regnamespace AND NOT t.tgisinternal
    ORDER BY 1, 2
$$;
CREATE FUNCTION pg_temp.schemas()
RETURNS SETOF name LANGUAGE sql AS $$
    SELECT nspname FROM pg_namespace WHERE nspname LIKE 'op\_drop\_table%' ORDER BY 1
$$;
CREATE FUNCTION pg_temp.status()
RETURNS TABLE (migration text, phase text, version_schema name,
               previous_version_schema name, backfill_rows_left bigint)
LANGUAGE sql AS $$
    SELECT migration, phase, version_schema, previous_version_schema, backfill_rows_left
      FROM expand_contract.status('op_drop_table')
$$;
-- Everything a failed start could leave behind, as one string.
CREATE FUNCTION pg_temp.footprint()
RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(' / ',
        (SELECT string_agg(s, ',') FROM pg_temp.schemas() s),
        (SELECT string_agg(c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod),
                           ',' ORDER BY c.relname, a.attnum)
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          WHERE c.relnamespace = 'op_drop_table'::regnamespace AND c.relkind IN ('r', 'p', 'v')
            AND a.attnum > 0 AND NOT a.attisdropped),
        (SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint
          WHERE connamespace = 'op_drop_table'::regnamespace),
        (SELECT string_agg(kind || ' ' || name, ',') FROM pg_temp.leftovers()),
        (SELECT string_agg(name || ':' || phase, ',' ORDER BY name) FROM expand_contract.migrations
          WHERE schema_name = 'op_drop_table'))
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
        PERFORM expand_contract.start('bad', doc, 'op_drop_table');
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
-- the physical table stays until complete, so its name is not free yet
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"drop_table": {"name": "legacy_hits"}},
    {"create_table": {"name": "legacy_hits", "columns": [{"name": "id", "type": "integer", "pk": true}]}}]}$$);
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

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS op_drop_table, op_drop_table_01_no_hits,
    op_drop_table_03_posts_are_articles CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'op_drop_table';
RESET client_min_messages;
