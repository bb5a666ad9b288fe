-- bench/setup.sql — builds the four variants of the bookings table for
-- bench/run.sh. psql variables: rows (row count of each table).
--
-- Every variant lives in its own schema, because expand_contract allows one
-- open migration per schema:
--
--   v_none       registered boolean present, nothing computes it
--   v_ec         expand_contract migration adding registered (native trigger)
--   v_plpgsql    PL/pgSQL BEFORE ROW trigger in the style pgroll generates
--   v_generated  registered boolean GENERATED ALWAYS AS (...) STORED
--   v_floor      reference, not one of the four: PostgreSQL's built-in C
--                trigger suppress_redundant_updates_trigger() BEFORE UPDATE
--                FOR EACH ROW, i.e. what any row trigger costs at the least
--
-- The data is deterministic: it is derived from the row id with hashint8, so
-- every run (and every variant) holds exactly the same rows.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE EXTENSION IF NOT EXISTS expand_contract;

CREATE SCHEMA bench;

-- Deterministic "realistic" bookings: first and last names, studios, and a
-- status mix of 40% booked, 15% cancelled, 30% attended, 15% attended_registered.
CREATE FUNCTION bench.bookings_source(first_id bigint, last_id bigint)
RETURNS TABLE (id bigint, student text, studio text, status text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
    SELECT g,
           (ARRAY['Alice','Bruno','Chiara','Dmitri','Elena','Farid','Greta','Hiro',
                  'Ines','Jonas','Kemal','Lena','Marta','Nils','Olga','Pablo',
                  'Quinn','Rosa','Sven','Tariq','Uma','Viktor','Wen','Xenia',
                  'Yusuf','Zoe','Amir','Bea','Carlos','Dana','Emil','Fatima',
                  'Gustav','Hana','Ivan','Julia','Kofi','Lucia','Malik','Noor'])
               [1 + (abs(hashint8(g)) % 40)]
           || ' ' ||
           (ARRAY['Andersen','Bauer','Costa','Dubois','Eriksen','Fischer','Garcia',
                  'Horvat','Ito','Jansen','Kowalski','Larsen','Moreau','Novak',
                  'Okafor','Petrov','Quintero','Rossi','Schmidt','Tanaka','Ueda',
                  'Vargas','Weber','Xu','Yilmaz','Zimmermann','Almeida','Berg',
                  'Cohen','Dalton','Engel','Ferrari','Gomez','Hansen','Iqbal',
                  'Jovanovic','Kim','Lopez','Meyer','Nakamura','Olsen','Park',
                  'Quist','Richter','Silva','Torres','Ulrich','Vogel','Wagner','Young'])
               [1 + (abs(hashint8(g + 7919)) % 50)],
           'Studio ' ||
           (ARRAY['Kreuzberg','Mitte','Neukoelln','Prenzlauer Berg','Friedrichshain',
                  'Schoeneberg','Wedding','Moabit','Charlottenburg','Pankow',
                  'Steglitz','Treptow'])[1 + (abs(hashint8(g + 104729)) % 12)]
           || ' / Room ' || (1 + abs(hashint8(g + 1299709)) % 4),
           CASE
               WHEN abs(hashint8(g + 15485863)) % 100 < 40 THEN 'booked'
               WHEN abs(hashint8(g + 15485863)) % 100 < 55 THEN 'cancelled'
               WHEN abs(hashint8(g + 15485863)) % 100 < 85 THEN 'attended'
               ELSE 'attended_registered'
           END
    FROM generate_series(first_id, last_id) AS g
$fn$;

CREATE UNLOGGED TABLE bench.source AS
    SELECT * FROM bench.bookings_source(1, :rows) ORDER BY id;

-- (a) no trigger: the column exists, nothing computes it.
CREATE SCHEMA v_none;
CREATE TABLE v_none.bookings (id bigint PRIMARY KEY, student text, studio text, status text,
                              registered boolean);
INSERT INTO v_none.bookings
    SELECT id, student, studio, status, status = 'attended_registered' FROM bench.source ORDER BY id;

-- (b) expand_contract: an open migration adding registered, backfilled below
-- by run.sh (so its duration is measured).
CREATE SCHEMA v_ec;
CREATE TABLE v_ec.bookings (id bigint PRIMARY KEY, student text, studio text, status text);
INSERT INTO v_ec.bookings SELECT id, student, studio, status FROM bench.source ORDER BY id;
SELECT expand_contract.start('02_registered', $doc$
{"operations": [
  {"add_column": {"table": "bookings",
                  "column": {"name": "registered", "type": "boolean", "nullable": true},
                  "up": "status = 'attended_registered'"}}
]}
$doc$::jsonb, 'v_ec') AS ec_version_schema;

-- (c) a PL/pgSQL trigger written the way pgroll generates its sync triggers:
-- every column copied out of NEW into a local variable, the writer's version
-- decided by comparing search_path with the new version schema, then the up
-- expression evaluated over the locals.
CREATE SCHEMA v_plpgsql;
CREATE TABLE v_plpgsql.bookings (id bigint PRIMARY KEY, student text, studio text, status text,
                                 registered boolean);
INSERT INTO v_plpgsql.bookings
    SELECT id, student, studio, status, status = 'attended_registered' FROM bench.source ORDER BY id;

CREATE FUNCTION v_plpgsql.bookings_registered_sync() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    id         bigint  := NEW.id;
    student    text    := NEW.student;
    studio     text    := NEW.studio;
    status     text    := NEW.status;
    registered boolean := NEW.registered;
BEGIN
    IF current_setting('search_path') = 'v_plpgsql_02_registered' THEN
        -- A write of the new version: it sets registered itself.
        NULL;
    ELSE
        -- A write of the old version: compute the new column.
        NEW.registered := (status = 'attended_registered');
    END IF;
    RETURN NEW;
END
$fn$;

CREATE TRIGGER bookings_registered_sync
    BEFORE INSERT OR UPDATE ON v_plpgsql.bookings
    FOR EACH ROW EXECUTE FUNCTION v_plpgsql.bookings_registered_sync();

-- (d) a stored generated column.
CREATE SCHEMA v_generated;
CREATE TABLE v_generated.bookings (id bigint PRIMARY KEY, student text, studio text, status text,
                                   registered boolean GENERATED ALWAYS AS (status = 'attended_registered') STORED);
INSERT INTO v_generated.bookings (id, student, studio, status)
    SELECT id, student, studio, status FROM bench.source ORDER BY id;

-- (reference) the cheapest BEFORE UPDATE row trigger there is: a built-in C
-- function that compares the old and the new row (they always differ here)
-- and returns the new one. It computes nothing; registered stays as loaded.
CREATE SCHEMA v_floor;
CREATE TABLE v_floor.bookings (id bigint PRIMARY KEY, student text, studio text, status text,
                               registered boolean);
INSERT INTO v_floor.bookings
    SELECT id, student, studio, status, status = 'attended_registered' FROM bench.source ORDER BY id;
CREATE TRIGGER bookings_floor
    BEFORE UPDATE ON v_floor.bookings
    FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();

-- pgbench's single-row INSERTs take new ids from a sequence per variant.
CREATE SEQUENCE v_none.bookings_bench_id START WITH :rows;
CREATE SEQUENCE v_ec.bookings_bench_id START WITH :rows;
CREATE SEQUENCE v_plpgsql.bookings_bench_id START WITH :rows;
CREATE SEQUENCE v_generated.bookings_bench_id START WITH :rows;
SELECT setval(format('%I.bookings_bench_id', s), :rows) FROM unnest(ARRAY['v_none','v_ec','v_plpgsql','v_generated']) AS s;

DROP TABLE bench.source;
