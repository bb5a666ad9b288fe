-- bench/pgbench_update.sql — one single-row UPDATE of a random existing
-- booking. bench/run.sh passes -D rows=N and sets search_path to the variant's
-- schema, so the same script drives every variant.
\set id random(1, :rows)
UPDATE bookings
   SET status = CASE status WHEN 'booked' THEN 'cancelled'
                            WHEN 'cancelled' THEN 'attended'
                            WHEN 'attended' THEN 'attended_registered'
                            ELSE 'booked' END
 WHERE id = :id;
