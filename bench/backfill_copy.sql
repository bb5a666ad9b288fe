-- bench/backfill_copy.sql — one fresh table for one measurement of
-- bench/backfill.sh. psql variables: schema, rows, variant.
--
-- <schema>.bookings gets the first <rows> rows of bench.source (loaded, then
-- the primary key built), then what the variant needs before its timed run:
--
--   floor   ALTER TABLE ADD COLUMN registered boolean: a plain table that has
--           the column (NULL everywhere); no trigger, no migration. The timed
--           run is one UPDATE statement (bench/backfill.sh).
--   ec      expand_contract.start('m', add_column registered, up: status =
--           'attended_registered') on <schema>: the staged column, the sync
--           rules and the version schema <schema>_m. The timed run is
--           CALL expand_contract.run_backfill('<schema>').
--   pgroll  what pgroll's start does for the same add_column, by hand:
--           the new column, a _pgroll_needs_backfill boolean DEFAULT true flag
--           (true for every existing row), and a PL/pgSQL BEFORE INSERT OR
--           UPDATE row trigger written the way pgroll generates it (every
--           column of NEW copied into a %TYPE local, search_path compared with
--           the new version schema, the up expression evaluated over the
--           locals, the flag cleared). The timed run is the client-driven
--           batch loop in bench/backfill.sh.
--
-- The columns are added after the load in every variant, so all three heaps
-- have the same tuples (4 attributes stored, the added ones read as NULL or
-- as the fast default). bench/backfill.sh runs VACUUM ANALYZE and CHECKPOINT
-- afterwards, before the timed run.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT :'variant' = 'floor' AS is_floor, :'variant' = 'ec' AS is_ec, :'variant' = 'pgroll' AS is_pgroll \gset

CREATE SCHEMA :"schema";
SET search_path = :"schema";
CREATE TABLE bookings (id bigint NOT NULL, student text, studio text, status text);
INSERT INTO bookings SELECT id, student, studio, status FROM bench.source WHERE id <= :rows ORDER BY id;
ALTER TABLE bookings ADD PRIMARY KEY (id);

\if :is_floor
ALTER TABLE bookings ADD COLUMN registered boolean;
\elif :is_ec
SELECT expand_contract.start('m', $doc$
{"operations": [
  {"add_column": {"table": "bookings",
                  "column": {"name": "registered", "type": "boolean", "nullable": true},
                  "up": "status = 'attended_registered'"}}
]}
$doc$::jsonb, :'schema') AS version_schema;
\elif :is_pgroll
ALTER TABLE bookings ADD COLUMN registered boolean,
                     ADD COLUMN _pgroll_needs_backfill boolean DEFAULT true;
-- The function body names the table's columns through <schema>.bookings,
-- so it is built with format() and run with \gexec.
SELECT format($create$
CREATE FUNCTION %1$I.bookings_registered_up() RETURNS trigger
LANGUAGE plpgsql AS $body$
DECLARE
    id         %1$I.bookings.id%%TYPE         := NEW.id;
    student    %1$I.bookings.student%%TYPE    := NEW.student;
    studio     %1$I.bookings.studio%%TYPE     := NEW.studio;
    status     %1$I.bookings.status%%TYPE     := NEW.status;
    registered %1$I.bookings.registered%%TYPE := NEW.registered;
    latest_schema text;
    search_path   text;
BEGIN
    SELECT current_setting INTO search_path FROM current_setting('search_path');
    IF search_path != %2$L THEN
        -- a write of the old version (and the backfill): compute the new column
        NEW.registered = (status = 'attended_registered');
        NEW._pgroll_needs_backfill = false;
    END IF;
    RETURN NEW;
END $body$
$create$, :'schema', :'schema' || '_m') \gexec
CREATE TRIGGER _pgroll_trigger_bookings_registered
    BEFORE INSERT OR UPDATE ON bookings
    FOR EACH ROW EXECUTE FUNCTION bookings_registered_up();
\else
\echo 'backfill_copy.sql: unknown variant' :'variant'
DO $$ BEGIN RAISE EXCEPTION 'unknown variant'; END $$;
\endif
