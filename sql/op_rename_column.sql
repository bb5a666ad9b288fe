--
-- rename_column: a cities table was loaded with a cryptic "nm" column, and
-- its "lat" and "lon" columns were filled the wrong way round. The new app
-- uses "name" and swaps the two coordinate labels; the old app keeps the old
-- names until it is retired.
--
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_rename_column;
SET search_path = op_rename_column;

SET ec_test.schema = 'op_rename_column';
\i sql/include/op_helpers.psql

-- Version 1 of the app.
CREATE TABLE cities (id integer PRIMARY KEY, nm text NOT NULL, pop integer DEFAULT 0,
                     lat numeric(5,2), lon numeric(5,2));
COMMENT ON COLUMN cities.nm IS 'city name';
CREATE INDEX cities_nm_idx ON cities (nm);
-- lat holds longitudes and lon latitudes
INSERT INTO cities VALUES (1, 'Oslo', 700000, 10.75, 59.91), (2, 'Bergen', 285000, 5.32, 60.39);
CREATE TABLE staff (id integer PRIMARY KEY, fname text NOT NULL, lname text NOT NULL,
                    dept text NOT NULL DEFAULT 'ops');
INSERT INTO staff VALUES (1, 'Ada', 'Lovelace', 'research'), (2, 'Alan', 'Turing', 'ops');

--------------------------------------------------------------------------
-- Documents that start() must refuse. Each leaves nothing behind.
--------------------------------------------------------------------------
-- the table or column does not fit the schema
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_column": {"table": "city",
    "from": "nm", "to": "name"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_column": {"table": "cities",
    "from": "nme", "to": "name"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_column": {"table": "cities",
    "from": "nm", "to": "pop"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_column": {"table": "cities",
    "from": "nm", "to": "nm"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"rename_column": {"table": "cities", "from": "nm", "to": "name"}},
    {"rename_column": {"table": "cities", "from": "nm", "to": "title"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"rename_column": {"table": "cities", "from": "nm", "to": "name"}},
    {"rename_column": {"table": "cities", "from": "pop", "to": "name"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_column": {"table": "cities",
    "from": "nm", "to": "_ec_name"}}]}$$);
-- unknown fields and wrong field types
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_column": {"table": "cities",
    "column": "nm", "to": "name"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_column": {"table": "cities",
    "from": "nm", "to": "name", "up": "nm"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_column": {"table": "cities",
    "from": "nm"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_column": {"table": "cities",
    "from": "nm", "to": ""}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_column": {"table": "cities",
    "from": "nm", "to": true}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"rename_column": "cities.nm to name"}]}$$);

SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.schemas();

--------------------------------------------------------------------------
-- Scenario 1: expand, write through both versions, backfill, complete.
--------------------------------------------------------------------------
SELECT expand_contract.start('01_tidy_cities', $${"operations": [
    {"rename_column": {"table": "cities", "from": "nm", "to": "name"}},
    {"rename_column": {"table": "cities", "from": "lat", "to": "tmp"}},
    {"rename_column": {"table": "cities", "from": "lon", "to": "lat"}},
    {"rename_column": {"table": "cities", "from": "tmp", "to": "lon"}}]}$$,
    'op_rename_column');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.schemas();
-- A rename needs no copy and no trigger: the table is untouched, the view
-- shows the new names.
SELECT * FROM pg_temp.columns('op_rename_column.cities');
SELECT * FROM pg_temp.leftovers();
SELECT * FROM pg_temp.columns('op_rename_column_01_tidy_cities.cities');

-- The old app writes with the old names ...
SET search_path = op_rename_column;
INSERT INTO cities (id, nm, lat, lon) VALUES (3, 'Tromso', 18.96, 69.65);
UPDATE cities SET pop = 290000 WHERE nm = 'Bergen';
-- ... the new app with the new ones.
SET search_path = op_rename_column_01_tidy_cities;
INSERT INTO cities (id, name, lat, lon) VALUES (4, 'Bodo', 67.28, 14.40);
UPDATE cities SET name = 'Tromsø' WHERE name = 'Tromso';
UPDATE cities SET lat = 59.92 WHERE id = 1;
SELECT pg_temp.error_of($$INSERT INTO cities (id, lat) VALUES (5, 0)$$);
SELECT * FROM cities ORDER BY id;

-- Both versions read the same rows, each with its own names.
SET search_path = op_rename_column;
SELECT id, nm, pop, lat, lon FROM cities ORDER BY id;

SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('op_rename_column');

-- Contract: the table takes the new names; comment, default and index follow.
SELECT expand_contract.complete('op_rename_column');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.columns('op_rename_column.cities');
SELECT pg_get_indexdef('op_rename_column.cities_nm_idx'::regclass);
SELECT * FROM pg_temp.leftovers();
SELECT * FROM cities ORDER BY id;
SET search_path = op_rename_column_01_tidy_cities;
SELECT * FROM cities ORDER BY id;

--------------------------------------------------------------------------
-- Scenario 2: expand, write through both versions, roll back.
--------------------------------------------------------------------------
SELECT expand_contract.start('02_full_names', $${"operations": [
    {"rename_column": {"table": "staff", "from": "fname", "to": "first_name"}},
    {"rename_column": {"table": "staff", "from": "lname", "to": "last_name"}}]}$$,
    'op_rename_column');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.columns('op_rename_column_02_full_names.staff');

SET search_path = op_rename_column;
INSERT INTO staff (id, fname, lname) VALUES (3, 'Grace', 'Hopper');
SET search_path = op_rename_column_02_full_names;
INSERT INTO staff (id, first_name, last_name, dept) VALUES (4, 'Edsger', 'Dijkstra', 'research');
UPDATE staff SET last_name = 'Lovelace-King' WHERE first_name = 'Ada';
SELECT * FROM staff ORDER BY id;
SET search_path = op_rename_column;
UPDATE staff SET dept = 'research' WHERE fname = 'Grace';
SELECT id, fname, lname, dept FROM staff ORDER BY id;

SELECT expand_contract.rollback('op_rename_column');
-- the old names, with every row written through either version
SELECT * FROM pg_temp.columns('op_rename_column.staff');
SELECT * FROM staff ORDER BY id;
SELECT * FROM pg_temp.leftovers();
SELECT * FROM pg_temp.schemas();
SELECT * FROM pg_temp.status();

-- An identity column stays one: the new version inserts without it and gets
-- the next value, and after complete it is still an identity.
CREATE TABLE tickets (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n integer NOT NULL);
INSERT INTO tickets (n) VALUES (1);
SELECT expand_contract.start('02_ticket_number', '{"operations": [{"rename_column": {"table": "tickets",
  "from": "id", "to": "ticket_number"}}]}', 'op_rename_column') AS version_schema;
INSERT INTO op_rename_column_02_ticket_number.tickets (n) VALUES (2);
INSERT INTO tickets (n) VALUES (3);
SELECT * FROM op_rename_column_02_ticket_number.tickets ORDER BY ticket_number;
SELECT expand_contract.complete('op_rename_column');
INSERT INTO tickets (n) VALUES (4);
SELECT * FROM pg_temp.columns('op_rename_column.tickets');
SELECT * FROM tickets ORDER BY ticket_number;

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS op_rename_column, op_rename_column_01_tidy_cities, op_rename_column_02_ticket_number CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'op_rename_column';
RESET client_min_messages;
