-- backfill_by_position: a table with no primary key and no non-null unique
-- key is backfilled by physical position, a range of pages per batch. Rows
-- the applications write meanwhile go through the sync trigger wherever they
-- move; a VACUUM FULL half-way moves unfilled rows behind the cursor, so the
-- pass starts over, and in the end every row is filled exactly as `up` says.
-- Both versions write here while rows still wait for the backfill, so the
-- new version opens at start (by default it opens once the backfill is done).
SET expand_contract.open_new_version = at_start;

CREATE SCHEMA backfill_by_position;
SET search_path = backfill_by_position;

-- A log of studio visits: no key of any kind, and two rows may be identical.
-- (Autovacuum stays away so that only this story moves rows.)
CREATE TABLE visits (
    student text NOT NULL,
    studio  text NOT NULL,
    status  text NOT NULL
) WITH (autovacuum_enabled = false);
INSERT INTO visits
SELECT 'student ' || g, CASE WHEN g % 3 = 0 THEN 'Pottery' ELSE 'Weaving' END,
       (ARRAY['booked', 'cancelled', 'attended', 'attended_registered'])[1 + g % 4]
  FROM generate_series(1, 3000) AS g;
INSERT INTO visits VALUES ('walk-in', 'Pottery', 'attended'), ('walk-in', 'Pottery', 'attended');
SELECT count(*) AS rows, pg_relation_size('visits') / current_setting('block_size')::int AS pages
  FROM visits;

-- The migration splits status into booking_status and registered.
SELECT expand_contract.start('02_split_status', '{"operations": [
  {"add_column": {"table": "visits", "column": {"name": "booking_status", "type": "text", "nullable": true},
                  "up": "CASE status WHEN ''attended_registered'' THEN ''attended'' ELSE status END"}},
  {"add_column": {"table": "visits", "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
                  "up": "status = ''attended_registered''"}},
  {"drop_column": {"table": "visits", "column": "status",
                   "down": "CASE WHEN registered THEN ''attended_registered'' ELSE booking_status END"}}]}',
  'backfill_by_position') AS version_schema;

-- No key: the backfill goes by position. Nothing is visited yet.
SELECT table_name, key_columns, high_water, cursor, rows_total, rows_done, done
  FROM expand_contract.backfill_progress WHERE schema_name = 'backfill_by_position';

-- Two batches of batch_size 200, in this transaction. A batch covers as many
-- whole pages as hold batch_size rows at the table's average (3002 rows on 24
-- pages: 125 a page), here one page; its `rows` is that estimate. The high
-- water is the number of pages when the first batch began and the file they
-- are in (a rewrite gives the table another), the cursor the next page to
-- visit.
BEGIN;
SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('backfill_by_position', 200, 2);
COMMIT;
SELECT high_water[1] AS end_page,
       high_water[2]::oid = pg_relation_filenode(format('%I.%I', schema_name, table_name)::regclass)
         AS in_the_tables_file,
       cursor, rows_done, batches, done
  FROM expand_contract.backfill_progress WHERE schema_name = 'backfill_by_position';
SELECT high_water[1] AS first_high_water
  FROM expand_contract.backfill_progress WHERE schema_name = 'backfill_by_position' \gset
-- The rows of pages 0 and 1 are filled (their new versions moved to other
-- pages; the first pages hold more rows than average, their names being
-- shorter); the others still carry the marker.
SELECT count(*) FILTER (WHERE NOT _ec_needs_backfill) AS filled,
       count(*) FILTER (WHERE _ec_needs_backfill) AS waiting
  FROM visits;
SELECT student, status, _ec_new_booking_status AS booking_status, _ec_new_registered AS registered,
       _ec_needs_backfill AS waiting
  FROM visits WHERE student IN ('student 1', 'student 2', 'student 2000', 'student 2002')
 ORDER BY student;

-- The applications keep writing. The old app registers two attended visits,
-- one already filled (student 2) and one not yet (student 2002); the new app
-- registers student 2000 and cancels student 2004. The rows move to other
-- pages, and the sync rules fill them on the way.
UPDATE visits SET status = 'attended_registered' WHERE student IN ('student 2', 'student 2002');
UPDATE backfill_by_position_02_split_status.visits
   SET booking_status = 'attended', registered = true WHERE student = 'student 2000';
UPDATE backfill_by_position_02_split_status.visits
   SET booking_status = 'cancelled' WHERE student = 'student 2004';
-- The new app moves a visit to another studio, not touching the migrated
-- columns: the row is filled on the way all the same.
UPDATE backfill_by_position_02_split_status.visits
   SET studio = 'Pottery (upstairs)' WHERE student = 'student 2500';
-- Visits deleted, filled (student 5) or not (student 2005) ...
DELETE FROM visits WHERE student IN ('student 5', 'student 2005');
-- ... and new ones, through either version.
INSERT INTO visits (student, studio, status) VALUES ('newcomer (old app)', 'Weaving', 'attended_registered');
INSERT INTO backfill_by_position_02_split_status.visits (student, studio, booking_status, registered)
VALUES ('newcomer (new app)', 'Pottery', 'attended', true);
SELECT student, studio, status, _ec_new_booking_status AS booking_status,
       _ec_new_registered AS registered, _ec_needs_backfill AS waiting
  FROM visits
 WHERE student IN ('student 2', 'student 2000', 'student 2002', 'student 2004', 'student 2500',
                   'student 5', 'student 2005')
    OR student LIKE 'newcomer%'
 ORDER BY student;
-- Rows still waiting are pending, not inconsistent.
SELECT * FROM expand_contract.verify('backfill_by_position');

-- VACUUM FULL rewrites the table: it drops the dead row versions and packs
-- the live rows from page 0 on, so rows still waiting now sit on pages the
-- cursor has passed.
VACUUM FULL visits;
SELECT count(*) FILTER (WHERE _ec_needs_backfill
                          AND (visits.ctid::text::point)[0] < p.cursor[1]::int) > 0 AS waiting_behind_cursor
  FROM visits, expand_contract.backfill_progress p
 WHERE p.schema_name = 'backfill_by_position';

-- The rest, committed batch by batch. The page pass ends with rows still
-- waiting, so it starts again from page 0 over the table as it is now: its
-- last page is no longer the one of the first pass.
SET client_min_messages = warning;   -- progress notices carry timings
CALL expand_contract.run_backfill('backfill_by_position', 200);
RESET client_min_messages;
SELECT done, cursor[1] = high_water[1] AS reached_high_water,
       high_water[1] <> :'first_high_water' AS pass_restarted,
       rows_done = rows_total AS all_rows_done
  FROM expand_contract.backfill_progress WHERE schema_name = 'backfill_by_position';
SELECT table_name, state, rows_left, runner
  FROM expand_contract.backfill_status WHERE schema_name = 'backfill_by_position';
SELECT backfill_rows_left FROM expand_contract.status('backfill_by_position');

-- No row waits any more, verify finds nothing, and every row reads the same
-- through both versions: its new columns are what up gives for its status,
-- and its status what down gives for its new columns.
SELECT count(*) AS rows,
       count(*) FILTER (WHERE _ec_needs_backfill IS NOT FALSE) AS waiting,
       count(*) FILTER (WHERE _ec_new_booking_status IS NOT DISTINCT FROM
                                CASE status WHEN 'attended_registered' THEN 'attended' ELSE status END
                          AND _ec_new_registered IS NOT DISTINCT FROM (status = 'attended_registered')
                          AND status IS NOT DISTINCT FROM
                                CASE WHEN _ec_new_registered THEN 'attended_registered'
                                     ELSE _ec_new_booking_status END) AS consistent
  FROM visits;
SELECT * FROM expand_contract.verify('backfill_by_position');

-- Contract: visits has only the new shape.
SELECT expand_contract.complete('backfill_by_position', verify => true);
SELECT string_agg(attname, ', ' ORDER BY attnum) AS columns
  FROM pg_attribute WHERE attrelid = 'visits'::regclass AND attnum > 0 AND NOT attisdropped;
SELECT booking_status, registered, count(*) FROM visits GROUP BY 1, 2 ORDER BY 1, 2;
SELECT * FROM visits
 WHERE student IN ('student 1', 'student 2', 'student 2000', 'student 2002', 'student 2004',
                   'student 2500', 'walk-in')
    OR student LIKE 'newcomer%'
 ORDER BY student;

SET client_min_messages = warning;
DROP SCHEMA backfill_by_position, backfill_by_position_02_split_status CASCADE;
