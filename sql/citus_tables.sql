-- Citus: a distributed or reference table cannot be migrated yet (its rows
-- live in shards on the workers), so start refuses it with 0A000 before it
-- changes anything; a table Citus does not manage is migrated as usual.
-- Citus is not installed here: its metadata table is made as Citus makes it.
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA citus_tables;
SET search_path = citus_tables;
SET ec_test.schema = 'citus_tables';
\i sql/include/op_helpers.psql

CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL);
CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);
CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL);
SET allow_system_table_mods = on;
CREATE TABLE pg_catalog.pg_dist_partition (
    logicalrelid regclass NOT NULL, partmethod "char" NOT NULL, repmodel "char" NOT NULL);
RESET allow_system_table_mods;
INSERT INTO pg_catalog.pg_dist_partition VALUES ('events', 'h', 's'), ('countries', 'n', 't');

-- A hash-distributed table, then a reference table.
SELECT * FROM pg_temp.start_fails('{"operations": [{"add_column": {"table": "events",
  "column": {"name": "source", "type": "text", "nullable": true}}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"rename_column": {"table": "countries",
  "from": "name", "to": "country_name"}}]}');
-- Refused even when an earlier operation changed another table first.
SELECT * FROM pg_temp.start_fails('{"operations": [
  {"add_column": {"table": "notes", "column": {"name": "title", "type": "text", "nullable": true}}},
  {"add_column": {"table": "events", "column": {"name": "source", "type": "text", "nullable": true}}}]}');

-- A table Citus does not manage: the whole cycle.
SELECT expand_contract.start('02_titles', '{"operations": [{"add_column": {"table": "notes",
  "column": {"name": "title", "type": "text", "nullable": true}, "up": "left(body, 10)"}}]}',
  'citus_tables');
INSERT INTO notes VALUES (1, 'written by the old version');
SELECT expand_contract.rollback('citus_tables');
SELECT expand_contract.start('02_titles', '{"operations": [{"add_column": {"table": "notes",
  "column": {"name": "title", "type": "text", "nullable": true}, "up": "left(body, 10)"}}]}',
  'citus_tables');
SET client_min_messages = warning;   -- its NOTICE reports a rate
CALL expand_contract.run_backfill('citus_tables');
RESET client_min_messages;
INSERT INTO citus_tables_02_titles.notes VALUES (2, 'written by the new version', 'new');
SELECT expand_contract.complete('citus_tables');
SELECT * FROM notes ORDER BY id;

-- Clean up.
SET allow_system_table_mods = on;
DROP TABLE pg_catalog.pg_dist_partition;
RESET allow_system_table_mods;
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA citus_tables, citus_tables_02_titles CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'citus_tables';
