-- write_paths_memory: a writer's backend does not grow while a migration is
-- open. An application's connection lives for hours and writes millions of
-- single-row statements through the sync rules: whatever they compile once
-- per backend (the plan path's expressions, the trigger's bound rules) must
-- not be compiled again, nor kept, per statement. Each write path runs a
-- few hundred statements to warm the backend's caches, then two thousand
-- more, each its own top-level statement; the bytes in use in the
-- backend's memory contexts (pg_backend_memory_contexts) are the same before
-- and after.
-- bench/write_paths.sh shows the same over one 10M-row statement.

CREATE SCHEMA write_paths_memory;
SET search_path = write_paths_memory;

CREATE TABLE bookings (id int PRIMARY KEY, status text NOT NULL, price int NOT NULL);
INSERT INTO bookings SELECT g, (ARRAY['booked', 'attended_registered'])[1 + g % 2], g
  FROM generate_series(1, 1000) g;

-- Both directions: registered and price_cents for the old version's writes,
-- price for the new version's.
CREATE FUNCTION pg_temp.start() RETURNS name LANGUAGE sql AS $$
    SELECT expand_contract.start('01_cents', '{"operations": [
      {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true},
                      "up": "status = ''attended_registered''"}},
      {"alter_column": {"table": "bookings", "column": "price", "type": "bigint",
                        "up": "price * 100", "down": "price / 100"}}]}', 'write_paths_memory')
$$;

-- The bytes in use in this backend's memory contexts (not their blocks:
-- a context grows by blocks of up to megabytes, which a leak fills unseen).
CREATE FUNCTION pg_temp.backend_bytes() RETURNS bigint LANGUAGE sql AS $$
    SELECT sum(used_bytes)::bigint FROM pg_backend_memory_contexts
$$;

-- Statement i of a write path, on row 1 + i % 1000 (or a new key).
CREATE FUNCTION pg_temp.statement(path text, i int) RETURNS text LANGUAGE sql AS $$
    SELECT format(CASE path
        WHEN 'update' THEN 'UPDATE write_paths_memory.bookings SET price = price + 1 WHERE id = %1$s'
        WHEN 'insert' THEN 'INSERT INTO write_paths_memory.bookings VALUES (%2$s, ''booked'', 1)'
        WHEN 'on_conflict' THEN 'INSERT INTO write_paths_memory.bookings VALUES (%1$s, ''booked'', 2) '
                             || 'ON CONFLICT (id) DO UPDATE SET price = excluded.price'
        WHEN 'merge' THEN 'MERGE INTO write_paths_memory.bookings b USING (VALUES (%1$s, 3)) v(id, price) '
                       || 'ON b.id = v.id WHEN MATCHED THEN UPDATE SET price = v.price'
        WHEN 'trigger' THEN 'UPDATE write_paths_memory.bookings SET price = (random() * 10)::int WHERE id = %1$s'
        WHEN 'new_update' THEN 'UPDATE write_paths_memory_01_cents.bookings SET price = price + 100 WHERE id = %1$s'
        WHEN 'new_insert' THEN 'INSERT INTO write_paths_memory_01_cents.bookings (id, status, price) '
                            || 'VALUES (%2$s, ''booked'', 500)'
        END, 1 + i % 1000, 100000 * (1 + length(path)) + i)
$$;

CREATE TABLE memory (path text, step text, bytes bigint);
CREATE FUNCTION pg_temp.note(path text, step text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO write_paths_memory.memory VALUES (path, step, pg_temp.backend_bytes())
$$;

SELECT pg_temp.start() AS version_schema;
SET client_min_messages = warning;  -- the backfill's rate notice
CALL expand_contract.run_backfill('write_paths_memory');
RESET client_min_messages;

-- Each path in turn: 300 statements to warm up, a note of the backend's
-- bytes, 2000 more, another note. Neither the statements (psql echoes what
-- \gexec runs) nor their output goes to the test's output.
CREATE FUNCTION pg_temp.script(paths text[]) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT command FROM unnest(paths) WITH ORDINALITY AS p(path, n),
        LATERAL (SELECT i, pg_temp.statement(path, i) FROM generate_series(1, 300) i
                 UNION ALL SELECT 301, format('SELECT pg_temp.note(%L, ''warm'')', path)
                 UNION ALL SELECT i + 1, pg_temp.statement(path, i) FROM generate_series(301, 2300) i
                 UNION ALL SELECT 2302, format('SELECT pg_temp.note(%L, ''after'')', path)) AS s(i, command)
     ORDER BY n, i
$$;
\set ECHO none
\o /dev/null
SELECT pg_temp.script(ARRAY['update', 'insert', 'on_conflict', 'merge', 'trigger', 'new_update', 'new_insert']) \gexec
\o
\set ECHO all

-- Growth of under 32 kB over 2000 statements: under 17 bytes a statement.
-- (Measured: within -14 kB and +8 bytes; with a 64-byte allocation per
-- statement left in CacheMemoryContext on purpose, 147-480 kB; compiling a
-- rule again would cost kilobytes.)
SELECT path, after.bytes - warm.bytes < 32768 AS flat
  FROM memory warm JOIN memory after USING (path)
 WHERE warm.step = 'warm' AND after.step = 'after'
 ORDER BY path;
SELECT * FROM expand_contract.verify('write_paths_memory');

-- The whole cycle: roll back, start again, both versions write, complete.
SELECT expand_contract.rollback('write_paths_memory');
SELECT pg_temp.start() AS version_schema;
SELECT table_name, rows_left FROM expand_contract.backfill('write_paths_memory', 10000);
UPDATE bookings SET price = 7 WHERE id = 1;
UPDATE write_paths_memory_01_cents.bookings SET price = 800 WHERE id = 2;
SELECT * FROM expand_contract.verify('write_paths_memory');
SELECT expand_contract.complete('write_paths_memory');
SELECT id, price FROM bookings WHERE id IN (1, 2) ORDER BY id;

SET client_min_messages = warning;
DROP SCHEMA write_paths_memory CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'write_paths_memory';
