-- sync_engine: what the native sync trigger computes, and when.
--
-- Expressions are analysed once at start and compiled once per backend.
-- Plain expressions are evaluated against the row; expressions with
-- subqueries run a plan made once per backend, with the row's columns as
-- parameters. On UPDATE, an output is recomputed only when the statement
-- assigned one of its inputs and recomputing could not give another result
-- (immutable functions, no subquery); everything else is recomputed on every
-- write. Replacing a function or changing a table an expression reads makes
-- every backend compile again.

CREATE SCHEMA sync_engine;
SET search_path = sync_engine;

CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO users VALUES (1, 'ada'), (2, 'grace');
CREATE VIEW active_users AS SELECT id, name FROM users WHERE name <> 'nobody';
CREATE SEQUENCE touches;
CREATE FUNCTION shout(t text) RETURNS text IMMUTABLE LANGUAGE sql AS $$ SELECT upper(t) $$;

CREATE TABLE posts (id int PRIMARY KEY, user_id int, title text NOT NULL);
INSERT INTO posts VALUES (1, 1, 'hello'), (2, 99, 'orphan'), (3, 2, 'again');

SELECT expand_contract.start('02_authors', '{"operations": [
  {"add_column": {"table": "posts", "column": {"name": "author_id", "type": "int", "nullable": true},
                  "up": "SELECT CASE WHEN EXISTS (SELECT 1 FROM users WHERE users.id = user_id) THEN user_id END"}},
  {"add_column": {"table": "posts", "column": {"name": "author", "type": "text", "nullable": true},
                  "up": "(SELECT name FROM active_users a WHERE a.id = user_id)"}},
  {"add_column": {"table": "posts", "column": {"name": "headline", "type": "text", "nullable": true},
                  "up": "shout(title)"}},
  {"add_column": {"table": "posts", "column": {"name": "touch", "type": "bigint", "nullable": true},
                  "up": "nextval(''touches'')"}}]}', 'sync_engine') AS version_schema;
SELECT table_name, rows, rows_left FROM expand_contract.backfill('sync_engine');
SELECT * FROM sync_engine_02_authors.posts ORDER BY id;

-- Old-version writes. The subquery columns and the volatile one are computed
-- on every write; headline only when title is assigned.
INSERT INTO posts VALUES (4, 2, 'new post'), (5, 7, 'no such user');
UPDATE posts SET user_id = 1 WHERE id = 2;           -- the orphan gets an author
UPDATE users SET name = 'Ada Lovelace' WHERE id = 1;  -- another table changes...
UPDATE posts SET title = title WHERE id IN (1, 3);    -- ...and rows are written again
SELECT * FROM sync_engine_02_authors.posts ORDER BY id;

-- Replacing a function an expression calls takes effect at once, in this
-- backend too: the compiled expressions are dropped and made again.
CREATE OR REPLACE FUNCTION shout(t text) RETURNS text IMMUTABLE LANGUAGE sql AS $$ SELECT upper(t) || '!' $$;
UPDATE posts SET title = 'hello again' WHERE id = 1;
SELECT id, headline FROM sync_engine_02_authors.posts WHERE id = 1;

-- Changing a table a subquery reads re-plans it: the view now hides 'grace'.
CREATE OR REPLACE VIEW active_users AS SELECT id, name FROM users WHERE name <> 'grace';
UPDATE posts SET title = title WHERE id = 3;
SELECT id, author FROM sync_engine_02_authors.posts WHERE id = 3;

-- What the expressions read cannot change under them.
ALTER TABLE users DROP COLUMN name;
ALTER TABLE posts DROP COLUMN title;
ALTER TABLE posts ALTER COLUMN user_id TYPE bigint;
DROP FUNCTION shout(text);

SELECT expand_contract.complete('sync_engine');
SELECT * FROM posts ORDER BY id;

-- An expression with a subquery is checked at start like any other.
SELECT expand_contract.start('03_bad', '{"operations": [
  {"add_column": {"table": "posts", "column": {"name": "x", "type": "int", "nullable": true},
                  "up": "(SELECT id, name FROM users LIMIT 1)"}}]}', 'sync_engine');
SELECT expand_contract.start('03_bad', '{"operations": [
  {"add_column": {"table": "posts", "column": {"name": "x", "type": "int", "nullable": true},
                  "up": "(SELECT name FROM no_such_table)"}}]}', 'sync_engine');
SELECT expand_contract.start('03_bad', '{"operations": [
  {"add_column": {"table": "posts", "column": {"name": "x", "type": "int", "nullable": true},
                  "up": "(SELECT name FROM users WHERE id = user_id)"}}]}', 'sync_engine');

--------------------------------------------------------------------------------
-- Where the work happens: UPDATEs compute synced columns in their plan; the
-- trigger serves the rest with the same results.
--------------------------------------------------------------------------------
CREATE TABLE bookings (id int PRIMARY KEY, status text NOT NULL);
INSERT INTO bookings SELECT g, (ARRAY['booked', 'attended_registered'])[1 + g % 2]
  FROM generate_series(1, 6) g;
SELECT expand_contract.start('03_registered', '{"operations": [
  {"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true},
                  "up": "status = ''attended_registered''"}}]}', 'sync_engine') AS version_schema;
-- The plan assigns the synced column and clears the marker itself.
EXPLAIN (VERBOSE, COSTS OFF) UPDATE bookings SET status = 'booked' WHERE id = 1;
-- Rows not yet backfilled get their column when written, by either path.
UPDATE bookings SET status = status WHERE id = 2;
-- The first UPDATE of a fresh session is planned before the library loads:
-- the trigger computes it, with the same result.
\c
UPDATE sync_engine.bookings SET status = 'attended_registered' WHERE id = 3;
UPDATE sync_engine.bookings SET status = 'attended_registered' WHERE id = 4;
SET search_path = sync_engine;
SELECT id, status, _ec_new_registered AS registered, _ec_needs_backfill AS not_yet_synced
  FROM bookings ORDER BY id;

-- With another BEFORE UPDATE row trigger on the table, the sync trigger does
-- the work (it fires last, so it sees that trigger's changes).
CREATE FUNCTION shout_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.status := lower(NEW.status); RETURN NEW; END $$;
CREATE TRIGGER a_lower_status BEFORE UPDATE ON bookings FOR EACH ROW EXECUTE FUNCTION shout_status();
EXPLAIN (VERBOSE, COSTS OFF) UPDATE bookings SET status = 'ATTENDED_REGISTERED' WHERE id = 5;
UPDATE bookings SET status = 'ATTENDED_REGISTERED' WHERE id = 5;
SELECT id, status, _ec_new_registered AS registered FROM bookings WHERE id = 5;
DROP TRIGGER a_lower_status ON bookings;
-- An old application that reflects the base table may write the staged
-- column (and the marker) itself, by either path: the sync rule computes it
-- all the same, so no row is left disagreeing with its old columns.
UPDATE bookings SET _ec_new_registered = NOT _ec_new_registered WHERE id IN (1, 2);
UPDATE bookings SET _ec_new_registered = true, _ec_needs_backfill = false WHERE id = 6;
SELECT id, status, _ec_new_registered AS registered FROM bookings WHERE id IN (1, 2, 6) ORDER BY id;
CREATE TRIGGER a_lower_status BEFORE UPDATE ON bookings FOR EACH ROW EXECUTE FUNCTION shout_status();
UPDATE bookings SET _ec_new_registered = NOT _ec_new_registered WHERE id = 1;
DROP TRIGGER a_lower_status ON bookings;
SELECT id, status, _ec_new_registered AS registered FROM bookings WHERE id = 1;
SELECT * FROM expand_contract.verify('sync_engine');
-- Completing drops the previous version schema, sync_engine_02_authors.
SELECT expand_contract.complete('sync_engine');
SELECT * FROM bookings ORDER BY id;
SELECT nspname FROM pg_namespace WHERE nspname LIKE 'sync\_engine%' ORDER BY 1;

-- An error raised by a rule says which rule: migration, table, column and
-- direction (the CONTEXT line).
CREATE TABLE sync_engine.ratios (id integer PRIMARY KEY, n integer NOT NULL);
SELECT expand_contract.start('04_ratio', '{"operations": [
  {"add_column": {"table": "ratios", "column": {"name": "ratio", "type": "integer", "nullable": true},
                  "up": "100 / (n % 7)"}}]}', 'sync_engine') AS version_schema;
\set SHOW_CONTEXT always
-- COPY goes through the trigger, which knows the very rule.
COPY sync_engine.ratios (id, n) FROM stdin;
1	7
\.
INSERT INTO sync_engine.ratios VALUES (1, 7);
-- A write computes the rule in its own plan (statement_sync), where the
-- executor cannot tell which expression failed: the context names the
-- statement's table, migration and rules, when the plan runs and when the
-- planner folds a constant.
INSERT INTO sync_engine.ratios VALUES (2, 3);
UPDATE sync_engine.ratios SET n = n + 4 WHERE id = 2;
UPDATE sync_engine.ratios SET n = 14 WHERE id = 2;
\set SHOW_CONTEXT errors
SELECT expand_contract.rollback('sync_engine');

SET client_min_messages = warning;
DROP SCHEMA sync_engine, sync_engine_03_registered CASCADE;
