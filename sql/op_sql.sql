--
-- sql: an events table gets a lookup table of event kinds, built by raw SQL
-- with a "down" that undoes it, and an index that only complete() creates.
-- Raw SQL runs as written, as the migration's owner, under the search_path
-- of the session that started the migration (as pgroll, which connects with
-- search_path set to the schema); "down" statements run at rollback, newest
-- first, and "onComplete" ones at complete, under that same search_path
-- whatever the session running them has.
--
-- Both versions write here while rows still wait for the backfill, so the
-- new version opens at start (by default it opens once the backfill is done).
SET expand_contract.open_new_version = at_start;
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_sql;
SET search_path = op_sql;

SET ec_test.schema = 'op_sql';
\i sql/include/op_helpers.psql

-- Version 1 of the app.
CREATE TABLE events (id integer PRIMARY KEY, kind text NOT NULL, at date NOT NULL);
INSERT INTO events VALUES (1, 'login', '2024-01-01'), (2, 'logout', '2024-01-02'),
                          (3, 'login', '2024-01-03');

--------------------------------------------------------------------------
-- Documents that start() must refuse. Each leaves nothing behind.
--------------------------------------------------------------------------
-- missing or malformed fields
SELECT * FROM pg_temp.start_fails($${"operations": [{"sql": {"down": "DROP TABLE event_kinds"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"sql": {"up": ""}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"sql": {"up": ["SELECT 1"]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"sql": {"up": "SELECT 1", "on_complete": true}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"sql": {"up": "SELECT 1", "onComplete": "yes"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"sql": {"up": "SELECT 1", "down": 1}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"sql": "SELECT 1"}]}$$);
-- SQL that complete() runs is never undone, so it cannot have a "down"
SELECT * FROM pg_temp.start_fails($${"operations": [{"sql": {"up": "CREATE INDEX ON events (at)",
    "down": "DROP INDEX events_at_idx", "onComplete": true}}]}$$);
-- "up" runs at start: its errors are start's errors
SELECT * FROM pg_temp.start_fails($${"operations": [{"sql": {"up": "CREATE TABEL event_kinds (kind text)"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"sql": {"up": "INSERT INTO evnts VALUES (9, 'x', now())"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"sql": {"up": "SELECT 1 / 0"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"sql": {"up": "CREATE TABLE events (id integer)"}}]}$$);
-- what an earlier "up" did is undone when a later operation fails
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"sql": {"up": "CREATE TABLE event_kinds (kind text PRIMARY KEY)", "down": "DROP TABLE event_kinds"}},
    {"add_column": {"table": "event", "column": {"name": "kind_id", "type": "integer", "nullable": true}}}]}$$);
-- a transaction statement in "up" is a user error, not an internal one
SELECT left(error, 2) <> 'XX' AS user_error, left_behind
  FROM pg_temp.start_fails($${"operations": [{"sql": {"up": "COMMIT"}}]}$$);
-- a "down" that cannot even be parsed is refused at start, not found out
-- at rollback
SELECT left(error, 5) AS sqlstate, left_behind
  FROM pg_temp.start_fails($${"operations": [{"sql": {"up": "CREATE TABLE event_kinds (kind text)",
    "down": "DROP TABEL event_kinds"}}]}$$);

SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.schemas();

--------------------------------------------------------------------------
-- Scenario 1: expand, write through both versions, backfill, complete.
--------------------------------------------------------------------------
-- start from a session whose search_path is the schema
SELECT expand_contract.start('01_event_kinds', $${"operations": [
    {"sql": {"up": "CREATE TABLE event_kinds (kind text PRIMARY KEY, label text NOT NULL); INSERT INTO event_kinds SELECT DISTINCT kind, initcap(kind) FROM events",
             "down": "DROP TABLE event_kinds"}},
    {"sql": {"up": "CREATE INDEX events_at_idx ON events (at)", "onComplete": true}}]}$$,
    'op_sql');
SHOW search_path;
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.schemas();
-- "up" ran at start: the table exists, and the new version has a view of it;
-- the "onComplete" index does not exist yet.
SELECT c.relname, c.relkind FROM pg_class c
 WHERE c.relnamespace IN ('op_sql'::regnamespace, 'op_sql_01_event_kinds'::regnamespace)
   AND c.relkind IN ('r', 'v', 'i')
 ORDER BY c.relnamespace::regnamespace::text, c.relname;
SELECT * FROM pg_temp.leftovers();

-- Both versions write events and kinds.
SET search_path = op_sql;
INSERT INTO events VALUES (4, 'purchase', '2024-01-04');
INSERT INTO event_kinds VALUES ('purchase', 'Purchase');
SET search_path = op_sql_01_event_kinds;
INSERT INTO event_kinds VALUES ('refund', 'Refund');
INSERT INTO events VALUES (5, 'refund', '2024-01-05');
UPDATE event_kinds SET label = 'Log in' WHERE kind = 'login';
SELECT * FROM event_kinds ORDER BY kind;
SET search_path = op_sql;
SELECT * FROM event_kinds ORDER BY kind;
SELECT e.id, e.kind, k.label FROM events e JOIN event_kinds k USING (kind) ORDER BY e.id;

SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('op_sql');

-- Contract: the "onComplete" SQL runs now.
-- completed from a session whose search_path does not include the schema:
-- the onComplete SQL still finds "events" there
RESET search_path;
SELECT expand_contract.complete('op_sql');
SET search_path = op_sql;
SELECT * FROM pg_temp.status();
SELECT pg_get_indexdef('op_sql.events_at_idx'::regclass);
SELECT * FROM pg_temp.leftovers();
SELECT * FROM event_kinds ORDER BY kind;

--------------------------------------------------------------------------
-- Scenario 2: expand, write through both versions, roll back. Each "down"
-- undoes its "up", newest first (the view goes before the table it reads);
-- the "onComplete" SQL never runs.
--------------------------------------------------------------------------
SELECT expand_contract.start('02_sources', $${"operations": [
    {"sql": {"up": "CREATE TABLE sources (name text PRIMARY KEY)", "down": "DROP TABLE sources"}},
    {"sql": {"up": "CREATE VIEW source_names AS SELECT upper(name) AS name FROM sources",
             "down": "DROP VIEW source_names"}},
    {"sql": {"up": "ALTER TABLE events ADD COLUMN source text NOT NULL DEFAULT 'web'",
             "down": "ALTER TABLE events DROP COLUMN source"}},
    {"sql": {"up": "CREATE TABLE never_created (id integer)", "onComplete": true}}]}$$,
    'op_sql');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.columns('op_sql.events');
SELECT * FROM pg_temp.columns('op_sql_02_sources.events');

SET search_path = op_sql_02_sources;
INSERT INTO events (id, kind, at, source) VALUES (6, 'login', '2024-02-01', 'mobile');
INSERT INTO sources VALUES ('mobile'), ('web');
SET search_path = op_sql;
INSERT INTO events (id, kind, at) VALUES (7, 'logout', '2024-02-02');
SELECT * FROM source_names ORDER BY name;
SELECT id, kind, at, source FROM events ORDER BY id;

SELECT expand_contract.rollback('op_sql');
SELECT c.relname, c.relkind FROM pg_class c
 WHERE c.relnamespace = 'op_sql'::regnamespace AND c.relkind IN ('r', 'v') ORDER BY c.relname;
SELECT * FROM pg_temp.columns('op_sql.events');
SELECT * FROM events ORDER BY id;
SELECT * FROM pg_temp.leftovers();
SELECT * FROM pg_temp.schemas();
SELECT * FROM pg_temp.status();

--------------------------------------------------------------------------
-- Scenario 3: a table created by raw SQL gets a column in a later operation
-- of the same migration. Rollback undoes the operations newest first: the
-- column, then the table.
--------------------------------------------------------------------------
SELECT expand_contract.start('03_kind_groups', $${"operations": [
    {"sql": {"up": "CREATE TABLE kind_groups (id integer PRIMARY KEY, name text NOT NULL); INSERT INTO kind_groups VALUES (1, 'session')",
             "down": "DROP TABLE kind_groups"}},
    {"add_column": {"table": "kind_groups", "column": {"name": "label", "type": "text"},
                    "up": "initcap(name)"}}]}$$,
    'op_sql');
SELECT * FROM op_sql_03_kind_groups.kind_groups ORDER BY id;
SELECT expand_contract.rollback('op_sql');
SELECT * FROM pg_temp.status();
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'op_sql'::regnamespace AND c.relkind = 'r' ORDER BY c.relname;

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS op_sql, op_sql_01_event_kinds, op_sql_03_kind_groups CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'op_sql';
RESET client_min_messages;
