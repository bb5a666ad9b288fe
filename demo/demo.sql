-- demo.sql — the acceptance story of expand_contract, end to end.
--
-- Run it with scripts/demo.sh (throwaway cluster), or by hand:
--   psql -X -v ON_ERROR_STOP=1 --echo-queries -f demo/demo.sql
-- in an empty database where the extension is installed but not created.
--
-- A studio booking app stores one `status` column with four values. The new
-- app splits it into `booking_status` plus a `registered` flag. Both apps keep
-- running during the change; then the old shape is contracted away.
--
-- Every step ends with a check: pg_temp.expect() raises an error (and, with
-- ON_ERROR_STOP, stops the demo) when the database does not behave as told.
-- The checks themselves are not echoed; each prints one `ok: ...` line.

\set ON_ERROR_STOP on
\set QUIET on
\set ECHO none
\pset null '(null)'
\pset footer off
CREATE FUNCTION pg_temp.expect(ok boolean, what text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'demo check failed: %', what;
    END IF;
    RETURN 'ok: ' || what;
END $$;
-- The error a statement raises (SQLSTATE and message), for the steps that show one.
CREATE FUNCTION pg_temp.error_of(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
\set QUIET off
\set ECHO queries

\echo
\echo '=================================================================='
\echo ' 1. Install the extension'
\echo '    It brings its own schema, expand_contract, with the functions'
\echo '    start / backfill / status / complete / rollback.'
\echo '=================================================================='
CREATE EXTENSION expand_contract;
SELECT extname, extversion, extnamespace::regnamespace AS schema
  FROM pg_extension WHERE extname = 'expand_contract';

\echo
\echo '=================================================================='
\echo ' 2. Version 1 of the app: one status column'
\echo '    booked | cancelled | attended | attended_registered'
\echo '=================================================================='
CREATE TABLE bookings (
    id      bigserial PRIMARY KEY,
    student text NOT NULL,
    studio  text NOT NULL,
    status  text NOT NULL   -- 'booked','cancelled','attended','attended_registered'
);

INSERT INTO bookings (student, studio, status)
SELECT 'student ' || i,
       (ARRAY['Pottery', 'Yoga', 'Life drawing', 'Salsa'])[1 + i % 4],
       (ARRAY['booked', 'cancelled', 'attended', 'attended_registered'])[1 + (i / 4) % 4]
  FROM generate_series(1, 4000) AS i;

SELECT status, count(*) FROM bookings GROUP BY status ORDER BY status;
\set ECHO none
SELECT pg_temp.expect(count(DISTINCT status) = 4 AND count(*) = 4000,
                      '4000 bookings with all four statuses')
  FROM bookings
\g (tuples_only=on)
\set ECHO queries

\echo
\echo '=================================================================='
\echo ' 3. Expand: start migration 02_split_status'
\echo '    - add booking_status, computed from status by the "up" expression'
\echo '    - add registered (NOT NULL DEFAULT false), computed from status'
\echo '    - drop status: the new version no longer sees it; the "down"'
\echo '      expression keeps it filled for the old app'
\echo '    start() returns the version schema the new app should use.'
\echo '=================================================================='
SELECT expand_contract.start('02_split_status', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "booking_status", "type": "text", "nullable": true},
                  "up": "CASE status WHEN ''attended_registered'' THEN ''attended'' ELSE status END"}},
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}},
  {"drop_column": {"table": "bookings", "column": "status",
                   "down": "CASE WHEN registered THEN ''attended_registered'' ELSE booking_status END"}}]}')
       AS version_schema
\gset
\echo 'start() returned:' :version_schema
\set ECHO none
SELECT pg_temp.expect(:'version_schema' = 'public_02_split_status',
                      'start returned the version schema public_02_split_status')
\g (tuples_only=on)
\set ECHO queries

SELECT schema_name, migration, phase, version_schema, previous_version_schema
  FROM expand_contract.status();

\echo
\echo 'The new version is a schema of views over the same table:'
\dv public_02_split_status.*
\echo 'Columns of bookings: the new version (view) and the table underneath,'
\echo 'which is what the old app reads and writes:'
SELECT table_schema || '.' || table_name AS relation,
       string_agg(column_name, ', ' ORDER BY ordinal_position) AS columns
  FROM information_schema.columns
 WHERE table_name = 'bookings' AND table_schema IN ('public', 'public_02_split_status')
 GROUP BY table_schema, table_name ORDER BY table_schema DESC;
\set ECHO none
SELECT pg_temp.expect(NOT EXISTS (SELECT 1 FROM information_schema.columns
                                   WHERE table_schema = 'public_02_split_status'
                                     AND table_name = 'bookings' AND column_name = 'status'),
                      'the new version does not show status')
\g (tuples_only=on)
\set ECHO queries

\echo
\echo '=================================================================='
\echo ' 4. The old app keeps running; the new version waits for its backfill'
\echo '    Until the rows that existed before start are backfilled, the new'
\echo '    version would read stale values for them, so its views refuse'
\echo '    every statement with a clear error: it is never wrong.'
\echo '=================================================================='

\echo
\echo '--- old app inserts a registered attendance ---'
SET search_path = public;
INSERT INTO bookings (student, studio, status)
VALUES ('Ada (old app)', 'Pottery', 'attended_registered')
RETURNING id AS old_app_id, student, studio, status
\gset
SELECT id, student, studio, status FROM bookings WHERE id = :old_app_id;

\echo '--- the new app is not let in yet ---'
SELECT pg_temp.error_of('SELECT * FROM public_02_split_status.bookings WHERE id = 1') AS new_app_reads;
SELECT DISTINCT migration, new_version_open FROM expand_contract.status();
\set ECHO none
SELECT pg_temp.expect(pg_temp.error_of('SELECT * FROM public_02_split_status.bookings')
                      LIKE '55000: the new version "public_02_split_status" is not open yet%',
                      'the new version refuses to read before the backfill (55000)')
\g (tuples_only=on)
\set ECHO queries

\echo
\echo '=================================================================='
\echo ' 5. Backfill: compute the new columns for the rows that existed'
\echo '    before start, in a background worker that commits short,'
\echo '    key-ordered batches. Resumable: after a crash or a cancel, the'
\echo '    next run continues after the last committed batch.'
\echo '=================================================================='
SELECT table_name, backfill_state, backfill_rows_done, backfill_rows_left
  FROM expand_contract.status();
SELECT expand_contract.start_backfill(batch_size => 500) > 0 AS worker_started;
\echo 'Waiting for the worker (it shows in backfill_status and pg_stat_activity):'
DO $$
BEGIN
    FOR i IN 1..600 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM expand_contract.backfill_status
                               WHERE schema_name = 'public' AND state <> 'done');
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT table_name, state, rows_done, rows_left, batches, error
  FROM expand_contract.backfill_status;
SELECT table_name, backfill_state, backfill_rows_done, backfill_rows_left
  FROM expand_contract.status();
\echo 'verify() lists rows whose versions disagree; none:'
SELECT * FROM expand_contract.verify();
\set ECHO none
SELECT pg_temp.expect(backfill_rows_left = 0, 'status reports nothing left to backfill')
  FROM expand_contract.status('public')
\g (tuples_only=on)
\set ECHO queries

\echo 'The backfill opened the new version:'
SELECT DISTINCT migration, new_version_open FROM expand_contract.status();
\set ECHO none
SELECT pg_temp.expect(bool_and(new_version_open), 'the backfill opened the new version')
  FROM expand_contract.status('public')
\g (tuples_only=on)
\set ECHO queries

\echo
\echo '=================================================================='
\echo ' 6. Both apps run side by side'
\echo '    old app: search_path = public                  (reads/writes status)'
\echo '    new app: search_path = public_02_split_status  (booking_status, registered)'
\echo '=================================================================='

\echo '--- the new app reads the old app''s booking split in two ---'
SET search_path = public_02_split_status;
SELECT id, student, studio, booking_status, registered FROM bookings WHERE id = :old_app_id;
\set ECHO none
SELECT pg_temp.expect(booking_status = 'attended' AND registered,
                      'old-app insert reads as attended + registered in the new version')
  FROM public_02_split_status.bookings WHERE id = :old_app_id
\g (tuples_only=on)
\set ECHO queries

\echo
\echo '--- new app inserts a booking in its own terms ---'
SET search_path = public_02_split_status;
INSERT INTO bookings (student, studio, booking_status, registered)
VALUES ('Grace (new app)', 'Yoga', 'attended', true)
RETURNING id AS new_app_id, student, studio, booking_status, registered
\gset
SELECT id, student, studio, booking_status, registered FROM bookings WHERE id = :new_app_id;

\echo '--- ... and the old app reads it as one status ---'
SET search_path = public;
SELECT id, student, studio, status FROM bookings WHERE id = :new_app_id;
\set ECHO none
SELECT pg_temp.expect(status = 'attended_registered',
                      'new-app insert reads as attended_registered in the old version')
  FROM public.bookings WHERE id = :new_app_id
\g (tuples_only=on)
\set ECHO queries

\echo
\echo '--- old app updates: Ada cancels ---'
SET search_path = public;
UPDATE bookings SET status = 'cancelled' WHERE id = :old_app_id;
SET search_path = public_02_split_status;
SELECT id, student, booking_status, registered FROM bookings WHERE id = :old_app_id;
\set ECHO none
SELECT pg_temp.expect(booking_status = 'cancelled' AND NOT registered,
                      'old-app update is visible to the new version')
  FROM public_02_split_status.bookings WHERE id = :old_app_id
\g (tuples_only=on)
\set ECHO queries

\echo
\echo '--- new app updates: Grace turns out not to be registered ---'
SET search_path = public_02_split_status;
UPDATE bookings SET registered = false WHERE id = :new_app_id;
SET search_path = public;
SELECT id, student, status FROM bookings WHERE id = :new_app_id;
\set ECHO none
SELECT pg_temp.expect(status = 'attended',
                      'new-app update is visible to the old version')
  FROM public.bookings WHERE id = :new_app_id
\g (tuples_only=on)
\set ECHO queries

\echo
\echo '--- new app updates one of the original rows ---'
SET search_path = public_02_split_status;
UPDATE bookings SET booking_status = 'attended', registered = true WHERE id = 1;
SET search_path = public;
SELECT id, student, status FROM bookings WHERE id = 1;
\set ECHO none
SELECT pg_temp.expect(status = 'attended_registered',
                      'new-app update of an original row is visible to the old version')
  FROM public.bookings WHERE id = 1
\g (tuples_only=on)
\set ECHO queries

\echo
\echo '--- the same rows through both versions ---'
SELECT o.id, o.student, o.status AS "old: status",
       n.booking_status AS "new: booking_status", n.registered AS "new: registered"
  FROM public.bookings o
  JOIN public_02_split_status.bookings n USING (id)
 WHERE o.id IN (1, 2, 3, 4, 13, :old_app_id, :new_app_id)
 ORDER BY o.id;

\echo 'Every row now reads the same through both versions:'
SELECT n.booking_status, n.registered, o.status AS old_status, count(*)
  FROM public.bookings o
  JOIN public_02_split_status.bookings n USING (id)
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
\set ECHO none
SELECT pg_temp.expect(count(*) = 0, 'every row agrees between the old and the new version')
  FROM public.bookings o
  JOIN public_02_split_status.bookings n USING (id)
 WHERE n.booking_status IS NULL
    OR n.registered IS NULL
    OR o.status IS DISTINCT FROM
       CASE WHEN n.registered THEN 'attended_registered' ELSE n.booking_status END
    OR n.booking_status IS DISTINCT FROM
       CASE o.status WHEN 'attended_registered' THEN 'attended' ELSE o.status END
\g (tuples_only=on)
\set ECHO queries

\echo
\echo '=================================================================='
\echo ' 7. Contract: complete the migration'
\echo '    The old shape goes away; the table keeps only the new columns.'
\echo '    The old app must have been switched over before this step.'
\echo '=================================================================='
SELECT expand_contract.complete();
SELECT schema_name, migration, phase, version_schema, completed_at IS NOT NULL AS completed
  FROM expand_contract.status();
\set ECHO none
SELECT pg_temp.expect(phase = 'completed', 'status reports the migration completed')
  FROM expand_contract.status('public')
\g (tuples_only=on)
\set ECHO queries

\echo
\echo '--- the final table ---'
SET search_path = public;
\d bookings
\set ECHO none
SELECT pg_temp.expect(
         (SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
           WHERE attrelid = 'public.bookings'::regclass AND attnum > 0 AND NOT attisdropped)
         = ARRAY['id', 'student', 'studio', 'booking_status', 'registered'],
         'bookings has exactly id, student, studio, booking_status, registered')
\g (tuples_only=on)
\set ECHO queries

SELECT booking_status, registered, count(*)
  FROM bookings GROUP BY 1, 2 ORDER BY 1, 2;
SELECT id, student, studio, booking_status, registered
  FROM bookings WHERE id IN (1, 2, 3, 4, :old_app_id, :new_app_id) ORDER BY id;
\set ECHO none
SELECT pg_temp.expect(count(*) = 4002 AND count(*) FILTER (WHERE booking_status IS NULL) = 0,
                      'all 4002 bookings kept, each with a booking_status')
  FROM public.bookings
\g (tuples_only=on)
\set ECHO queries

\echo
\echo '--- the new app keeps working through its version schema ---'
SET search_path = public_02_split_status;
INSERT INTO bookings (student, studio, booking_status, registered)
VALUES ('Katherine (new app)', 'Salsa', 'booked', false)
RETURNING id, student, studio, booking_status, registered;
RESET search_path;

\echo
\echo 'Demo finished: every check passed.'
