-- bench/backfill_setup.sql — the source rows of bench/backfill.sh.
-- psql variables: source_rows (the largest table any measurement copies).
--
-- bench.source holds source_rows deterministic bookings, ordered by id. Every
-- measured table is a fresh copy of its first N rows (bench/backfill_copy.sql),
-- so every variant, round and size starts from exactly the same rows. The
-- rows are derived from the id with hashint8: the same on every run.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE EXTENSION IF NOT EXISTS expand_contract;

CREATE SCHEMA bench;

-- Names, studios and a status mix of 40% booked, 15% cancelled, 30% attended
-- and 15% attended_registered (the same shape as bench/setup.sql's bookings).
CREATE FUNCTION bench.pick(options text[], seed bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN options[1 + abs(hashint8(seed)) % cardinality(options)];

CREATE UNLOGGED TABLE bench.source AS
SELECT g AS id,
       bench.pick('{Alice,Bruno,Chiara,Dmitri,Elena,Farid,Greta,Hiro,Ines,Jonas,Kemal,Lena,Marta,Nils,Olga,Pablo,Quinn,Rosa,Sven,Tariq,Uma,Viktor,Wen,Xenia,Yusuf,Zoe,Amir,Bea,Carlos,Dana,Emil,Fatima,Gustav,Hana,Ivan,Julia,Kofi,Lucia,Malik,Noor}', g)
       || ' ' ||
       bench.pick('{Andersen,Bauer,Costa,Dubois,Eriksen,Fischer,Garcia,Horvat,Ito,Jansen,Kowalski,Larsen,Moreau,Novak,Okafor,Petrov,Quintero,Rossi,Schmidt,Tanaka,Ueda,Vargas,Weber,Xu,Yilmaz,Zimmermann,Almeida,Berg,Cohen,Dalton,Engel,Ferrari,Gomez,Hansen,Iqbal,Jovanovic,Kim,Lopez,Meyer,Nakamura,Olsen,Park,Quist,Richter,Silva,Torres,Ulrich,Vogel,Wagner,Young}', g + 7919)
           AS student,
       'Studio ' ||
       bench.pick('{Kreuzberg,Mitte,Neukoelln,"Prenzlauer Berg",Friedrichshain,Schoeneberg,Wedding,Moabit,Charlottenburg,Pankow,Steglitz,Treptow}', g + 104729)
       || ' / Room ' || (1 + abs(hashint8(g + 1299709)) % 4) AS studio,
       CASE WHEN abs(hashint8(g + 15485863)) % 100 < 40 THEN 'booked'
            WHEN abs(hashint8(g + 15485863)) % 100 < 55 THEN 'cancelled'
            WHEN abs(hashint8(g + 15485863)) % 100 < 85 THEN 'attended'
            ELSE 'attended_registered' END AS status
FROM generate_series(1, :source_rows) AS g
ORDER BY g;

CREATE UNIQUE INDEX source_id ON bench.source (id);
VACUUM ANALYZE bench.source;
