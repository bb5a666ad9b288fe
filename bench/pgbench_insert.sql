-- bench/pgbench_insert.sql — one single-row INSERT of a new booking (new id
-- from the variant's sequence). bench/run.sh sets search_path to the variant's
-- schema, so the same script drives every variant.
\set first random(1, 40)
\set last random(1, 50)
\set room random(1, 4)
\set k random(0, 99)
INSERT INTO bookings (id, student, studio, status)
VALUES (nextval('bookings_bench_id'),
        'Student ' || :first || '-' || :last,
        'Studio ' || :room,
        CASE WHEN :k < 40 THEN 'booked'
             WHEN :k < 55 THEN 'cancelled'
             WHEN :k < 85 THEN 'attended'
             ELSE 'attended_registered' END);
