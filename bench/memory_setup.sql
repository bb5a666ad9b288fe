-- bench/memory_setup.sql — one table for the memory measurement of bench/run.sh.
-- psql variables: variant (ec, plpgsql, floor or none), memory_rows.
--
--   ec       an open expand_contract migration (the same add_column as v_ec)
--            on an empty table, then the rows inserted through the sync
--            trigger, so every row is already in sync (no backfill needed);
--   plpgsql  the pgroll-style PL/pgSQL trigger of v_plpgsql on the same table;
--   floor    PostgreSQL's built-in C trigger suppress_redundant_updates_trigger()
--            BEFORE UPDATE (the server's row-trigger machinery alone);
--   none     no trigger.
-- The table is m_<variant>.bookings.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT :'variant' = 'ec' AS is_ec, :'variant' = 'plpgsql' AS is_plpgsql, :'variant' = 'floor' AS is_floor,
       :'variant' = 'none' AS is_none \gset
SELECT 'm_' || :'variant' AS schema \gset
CREATE SCHEMA :"schema";
SET search_path = :"schema";
\if :is_ec
CREATE TABLE bookings (id bigint PRIMARY KEY, student text, studio text, status text);
SELECT expand_contract.start('02_registered', $doc$
{"operations": [
  {"add_column": {"table": "bookings",
                  "column": {"name": "registered", "type": "boolean", "nullable": true},
                  "up": "status = 'attended_registered'"}}
]}
$doc$::jsonb, :'schema') AS ec_version_schema;
INSERT INTO bookings (id, student, studio, status)
    SELECT id, student, studio, status FROM bench.bookings_source(1, :memory_rows);
\elif :is_plpgsql
CREATE TABLE bookings (id bigint PRIMARY KEY, student text, studio text, status text, registered boolean);
CREATE TRIGGER bookings_registered_sync
    BEFORE INSERT OR UPDATE ON bookings
    FOR EACH ROW EXECUTE FUNCTION v_plpgsql.bookings_registered_sync();
INSERT INTO bookings (id, student, studio, status)
    SELECT id, student, studio, status FROM bench.bookings_source(1, :memory_rows);
\elif :is_floor
CREATE TABLE bookings (id bigint PRIMARY KEY, student text, studio text, status text, registered boolean);
CREATE TRIGGER bookings_floor
    BEFORE UPDATE ON bookings
    FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
INSERT INTO bookings (id, student, studio, status, registered)
    SELECT id, student, studio, status, status = 'attended_registered' FROM bench.bookings_source(1, :memory_rows);
\elif :is_none
CREATE TABLE bookings (id bigint PRIMARY KEY, student text, studio text, status text, registered boolean);
INSERT INTO bookings (id, student, studio, status, registered)
    SELECT id, student, studio, status, status = 'attended_registered' FROM bench.bookings_source(1, :memory_rows);
\else
\echo unknown variant :variant
SELECT 1/0;
\endif
VACUUM (ANALYZE) bookings;
