-- bench/backfill_pgbench_update.sql — the writer of bench/backfill.sh's
-- latency measurement: one single-row UPDATE of a random existing booking.
-- bench/backfill.sh passes -D rows=N and connects with search_path and
-- expand_contract.version set to the version the writer uses.
\set id random(1, :rows)
UPDATE bookings
   SET status = CASE status WHEN 'booked' THEN 'cancelled'
                            WHEN 'cancelled' THEN 'attended'
                            WHEN 'attended' THEN 'attended_registered'
                            ELSE 'booked' END
 WHERE id = :id;
