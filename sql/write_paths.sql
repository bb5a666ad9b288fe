-- write_paths: every way of writing a table keeps both versions in step, and
-- the common ones do it inside the statement's own plan, as PostgreSQL
-- computes a stored generated column: INSERT (one row, many rows,
-- INSERT ... SELECT), INSERT ... ON CONFLICT and MERGE, from either version.
-- For those the sync trigger does not fire (EXPLAIN ANALYZE lists no
-- trigger); COPY, and a rule that reads a volatile value, keep the trigger.
-- Either way verify() finds no row that disagrees with its rules.

CREATE SCHEMA write_paths;
SET search_path = write_paths;

-- How a statement's synced columns were computed: 'plan', or the triggers
-- that fired with their call counts. It runs the statement.
CREATE FUNCTION pg_temp.synced_by(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    fired text[] := '{}';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || statement LOOP
        IF line LIKE 'Trigger %' THEN
            fired := fired || line;
        END IF;
    END LOOP;
    RETURN coalesce(nullif(array_to_string(fired, '; '), ''), 'plan');
END $$;

CREATE TABLE bookings (id int PRIMARY KEY, status text NOT NULL, price int NOT NULL);
INSERT INTO bookings SELECT g, (ARRAY['booked', 'attended_registered'])[1 + g % 2], 10 * g
  FROM generate_series(1, 4) g;

-- One migration with both directions: registered and price_cents are
-- computed for the old version's writes, price for the new version's.
SELECT expand_contract.start('01_cents', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true},
                  "up": "status = ''attended_registered''"}},
  {"alter_column": {"table": "bookings", "column": "price", "type": "bigint",
                    "up": "price * 100", "down": "price / 100"}}]}', 'write_paths') AS version_schema;

-- The old version writes the table.
SELECT pg_temp.synced_by($$INSERT INTO bookings VALUES (11, 'booked', 1)$$) AS one_row;
SELECT pg_temp.synced_by($$INSERT INTO bookings VALUES (12, 'attended_registered', 2), (13, 'booked', 3)$$) AS many_rows;
SELECT pg_temp.synced_by($$INSERT INTO bookings SELECT 20 + g, 'attended_registered', g FROM generate_series(1, 3) g$$)
    AS insert_select;
SELECT pg_temp.synced_by($$INSERT INTO bookings VALUES (11, 'attended_registered', 7), (14, 'booked', 4)
    ON CONFLICT (id) DO UPDATE SET status = excluded.status, price = bookings.price + excluded.price$$) AS on_conflict;
SELECT pg_temp.synced_by($$INSERT INTO bookings VALUES (12, 'booked', 99) ON CONFLICT DO NOTHING$$) AS do_nothing;
SELECT pg_temp.synced_by($$MERGE INTO bookings b USING (VALUES (1, 'attended_registered', 5), (15, 'booked', 6)) v(id, status, price)
    ON b.id = v.id
    WHEN MATCHED THEN UPDATE SET status = v.status, price = v.price
    WHEN NOT MATCHED THEN INSERT VALUES (v.id, v.status, v.price)$$) AS merge;
-- A row-by-row path PostgreSQL gives no plan to: the trigger.
COPY bookings (id, status, price) FROM stdin;
16	attended_registered	8
\.
SELECT id, status, price, registered, price_cents
  FROM (SELECT id, status, price, _ec_new_registered AS registered, _ec_new_price AS price_cents
          FROM bookings) b ORDER BY id;

-- The new version opens once the rows from before start are filled, and
-- writes through its views.
SET client_min_messages = warning;  -- the backfill's rate notice
CALL expand_contract.run_backfill('write_paths');
RESET client_min_messages;
SET search_path = write_paths_01_cents;
SELECT pg_temp.synced_by($$INSERT INTO bookings VALUES (31, 'booked', 3100, true)$$) AS one_row;
SELECT pg_temp.synced_by($$INSERT INTO bookings (id, status, price) VALUES (32, 'booked', 3200), (33, 'booked', 3350)$$) AS many_rows;
SELECT pg_temp.synced_by($$INSERT INTO bookings (id, status, price) SELECT 40 + g, 'booked', 100 * g FROM generate_series(1, 2) g$$)
    AS insert_select;
SELECT pg_temp.synced_by($$INSERT INTO bookings (id, status, price) VALUES (31, 'booked', 9900)
    ON CONFLICT (id) DO UPDATE SET price = excluded.price$$) AS on_conflict;
-- PostgreSQL 15 cannot MERGE into a view: the new version merges into the
-- table, saying which version it is.
SET expand_contract.version = 'write_paths_01_cents';
SELECT pg_temp.synced_by($$MERGE INTO write_paths.bookings b USING (VALUES (2, 700), (34, 800)) v(id, price)
    ON b.id = v.id
    WHEN MATCHED THEN UPDATE SET _ec_new_price = v.price
    WHEN NOT MATCHED THEN INSERT (id, status, _ec_new_price) VALUES (v.id, 'booked', v.price)$$) AS merge;
RESET expand_contract.version;
SELECT * FROM bookings WHERE id IN (2, 31, 32, 33, 34, 41, 42) ORDER BY id;
SET search_path = write_paths;
SELECT id, price FROM bookings WHERE id IN (2, 31, 32, 33, 34, 41, 42) ORDER BY id;
SELECT * FROM expand_contract.verify('write_paths');

-- The whole cycle: roll back, start again, write from both versions, complete.
SELECT expand_contract.rollback('write_paths');
SELECT expand_contract.start('01_cents', '{"operations": [
  {"alter_column": {"table": "bookings", "column": "price", "type": "bigint",
                    "up": "price * 100", "down": "price / 100"}}]}', 'write_paths') AS version_schema;
SELECT pg_temp.synced_by($$INSERT INTO bookings VALUES (50, 'booked', 5) ON CONFLICT (id) DO UPDATE SET price = 0$$) AS old_insert;
SELECT table_name, rows_left FROM expand_contract.backfill('write_paths');
SELECT pg_temp.synced_by($$INSERT INTO write_paths_01_cents.bookings VALUES (51, 'booked', 5100)$$) AS new_insert;
SELECT * FROM expand_contract.verify('write_paths');
SELECT expand_contract.complete('write_paths');
SELECT id, price FROM bookings WHERE id IN (1, 2, 50, 51) ORDER BY id;

-- A rule that reads a value drawn afresh for each use (a sequence default, a
-- random() assignment) cannot be computed from a copy of it: such writes keep
-- the trigger, which reads the value once, from the row.
CREATE TABLE tickets (id serial PRIMARY KEY, seat int NOT NULL);
INSERT INTO tickets (seat) VALUES (1), (2);
SELECT expand_contract.start('02_ticket_code', '{"operations": [
  {"add_column": {"table": "tickets", "column": {"name": "code", "type": "text", "nullable": true},
                  "up": "id::text || ''-'' || seat::text"}}]}', 'write_paths') AS version_schema;
SELECT pg_temp.synced_by($$INSERT INTO tickets (seat) VALUES (3)$$) AS sequence_default;
SELECT pg_temp.synced_by($$INSERT INTO tickets (id, seat) VALUES (100, 4)$$) AS given_id;
SELECT pg_temp.synced_by($$UPDATE tickets SET seat = (random() * 1000)::int + 10 WHERE id = 1$$) AS random_update;
SELECT pg_temp.synced_by($$UPDATE tickets SET seat = seat + 1 WHERE id = 2$$) AS plain_update;
SELECT count(*) AS codes_that_disagree FROM tickets WHERE _ec_new_code IS DISTINCT FROM id || '-' || seat;
SELECT * FROM expand_contract.verify('write_paths');
SELECT expand_contract.rollback('write_paths');

SET client_min_messages = warning;
DROP SCHEMA write_paths CASCADE;
