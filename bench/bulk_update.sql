-- bench/bulk_update.sql — the measured bulk UPDATE: every row's status moves
-- one step along booked -> cancelled -> attended -> attended_registered ->
-- booked, so every row changes (and so does "status = 'attended_registered'").
-- bench/run.sh sets search_path to the variant's schema first.
UPDATE bookings
   SET status = CASE status WHEN 'booked' THEN 'cancelled'
                            WHEN 'cancelled' THEN 'attended'
                            WHEN 'attended' THEN 'attended_registered'
                            ELSE 'booked' END;
