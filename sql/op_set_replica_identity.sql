--
-- set_replica_identity (deprecated in pgroll, still in its examples): the
-- orders table is published, and the subscriber wants whole old rows. The
-- replica identity is not part of either version's shape: it changes at
-- start, and rollback() puts back the one the table had.
--
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_set_replica_identity;
SET search_path = op_set_replica_identity;
SET ec_test.schema = 'op_set_replica_identity';
\i sql/include/op_helpers.psql

CREATE TABLE orders (id integer PRIMARY KEY, code text NOT NULL, note text);
CREATE UNIQUE INDEX orders_code_idx ON orders (code);
CREATE INDEX orders_note_idx ON orders (note);
INSERT INTO orders VALUES (1, 'A', NULL);
ALTER TABLE orders REPLICA IDENTITY USING INDEX orders_code_idx;
CREATE FUNCTION pg_temp.replica_identity() RETURNS text LANGUAGE sql AS $$
    SELECT relreplident::text || coalesce(' ' || (SELECT indexrelid::regclass::text FROM pg_index
                                             WHERE indrelid = c.oid AND indisreplident), '')
      FROM pg_class c WHERE oid = 'op_set_replica_identity.orders'::regclass
$$;

-- Refused, leaving nothing behind: an unknown type, type index without an
-- index, an index PostgreSQL cannot use (not unique).
SELECT * FROM pg_temp.start_fails('{"operations": [{"set_replica_identity": {"table": "orders", "identity": {"type": "some"}}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"set_replica_identity": {"table": "orders", "identity": {"type": "index"}}}]}');
SELECT * FROM pg_temp.start_fails('{"operations": [{"set_replica_identity": {"table": "orders", "identity": {"type": "index", "index": "orders_note_idx"}}}]}');

SELECT pg_temp.replica_identity() AS before;
CREATE FUNCTION pg_temp.doc() RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"operations": [{"set_replica_identity": {"table": "orders", "identity": {"type": "full", "index": ""}}}]}'::jsonb
$$;
SELECT expand_contract.start('02_full', pg_temp.doc(), 'op_set_replica_identity') AS version_schema;
SELECT pg_temp.replica_identity() AS during;
INSERT INTO orders VALUES (2, 'B', 'old app');
INSERT INTO op_set_replica_identity_02_full.orders VALUES (3, 'C', 'new app');
SELECT * FROM op_set_replica_identity_02_full.orders ORDER BY id;
SELECT expand_contract.rollback('op_set_replica_identity');
SELECT pg_temp.replica_identity() AS after_rollback;
SELECT expand_contract.start('02_full', pg_temp.doc(), 'op_set_replica_identity') AS version_schema;
SELECT expand_contract.complete('op_set_replica_identity');
SELECT pg_temp.replica_identity() AS after_complete;
-- The index form, as pgroll's example writes it.
SELECT expand_contract.start('03_pkey', '{"operations": [{"set_replica_identity": {"table": "orders",
  "identity": {"type": "index", "index": "orders_pkey"}}}]}', 'op_set_replica_identity') AS version_schema;
SELECT expand_contract.complete('op_set_replica_identity');
SELECT pg_temp.replica_identity() AS index_identity;

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS op_set_replica_identity, op_set_replica_identity_02_full, op_set_replica_identity_03_pkey CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'op_set_replica_identity';
