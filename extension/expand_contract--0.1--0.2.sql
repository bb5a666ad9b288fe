-- expand_contract 0.1 -> 0.2: migrations that survive a dump and restore
-- (also one run by the database owner), pg_upgrade and this update.
\echo Use "ALTER EXTENSION expand_contract UPDATE TO '0.2'" to load this file. \quit

-- Sync triggers keep their rules as text that names every object it uses
-- (format 2), not as node trees holding the OIDs and column numbers of the
-- database they were made in. The triggers 0.1 attached are rewritten in
-- place; writers keep writing meanwhile.
CREATE FUNCTION @extschema@.rewrite_sync_triggers_v1()
RETURNS integer
LANGUAGE C STRICT
AS 'MODULE_PATHNAME', 'ec_rewrite_sync_triggers_v1';
SELECT @extschema@.rewrite_sync_triggers_v1();
DROP FUNCTION @extschema@.rewrite_sync_triggers_v1();

-- A restore re-creates the sync triggers with CREATE TRIGGER, which needs
-- EXECUTE on the function; format 2 rules are bound like any expression, as
-- the writer, so any role may attach one to a table of its own.
GRANT EXECUTE ON FUNCTION @extschema@.sync_trigger() TO PUBLIC;

-- The owner of a database may restore the migration catalog, but only rows
-- of migrations whose owner's (and schemas' owners') rights it has.
CREATE FUNCTION @extschema@.catalog_row_guard()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'ec_catalog_row_guard';
REVOKE ALL ON FUNCTION @extschema@.catalog_row_guard() FROM PUBLIC;
CREATE TRIGGER guard_loaded_rows BEFORE INSERT ON @extschema@.migrations
    FOR EACH ROW EXECUTE FUNCTION @extschema@.catalog_row_guard();
CREATE TRIGGER guard_loaded_rows BEFORE INSERT ON @extschema@.backfill_progress
    FOR EACH ROW EXECUTE FUNCTION @extschema@.catalog_row_guard();
CREATE TRIGGER guard_loaded_rows BEFORE INSERT ON @extschema@.index_builds
    FOR EACH ROW EXECUTE FUNCTION @extschema@.catalog_row_guard();
GRANT INSERT ON @extschema@.migrations, @extschema@.backfill_progress, @extschema@.index_builds
    TO pg_database_owner;

-- A table attached to a partitioned table during a migration needs the
-- migration's columns, and its rows their new values, before ATTACH.
CREATE FUNCTION @extschema@.prepare_partition(partition regclass, partitioned regclass)
RETURNS bigint
LANGUAGE C
AS 'MODULE_PATHNAME', 'ec_prepare_partition';
COMMENT ON FUNCTION @extschema@.prepare_partition(regclass, regclass) IS
    'Before ALTER TABLE partitioned ATTACH PARTITION partition during a migration: add the migration''s staged columns and checks to partition and compute its rows'' new columns; returns the rows computed';

-- DDL as a migration document, read by the server's own parser.
CREATE FUNCTION @extschema@.convert(sql text)
RETURNS jsonb
LANGUAGE C STRICT STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_convert';
COMMENT ON FUNCTION @extschema@.convert(text) IS
    'DDL (CREATE TABLE, ALTER TABLE ..., CREATE/DROP INDEX, DROP TABLE, RENAME, COMMENT ON COLUMN) as a pgroll migration document; up/down left as TODO where pgroll leaves them, anything else kept as an sql operation with a WARNING';

-- Logical replication: the publisher's phases are applied on a subscriber
-- when its row of the migration arrives (in the apply worker, hence ENABLE
-- ALWAYS); the subscriber's catalog keeps only its own rows.
CREATE FUNCTION @extschema@.replicated_phase()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'ec_replicated_phase';
REVOKE ALL ON FUNCTION @extschema@.replicated_phase() FROM PUBLIC;
CREATE TRIGGER replicated_phase BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.migrations
    FOR EACH ROW EXECUTE FUNCTION @extschema@.replicated_phase();
ALTER TABLE @extschema@.migrations ENABLE ALWAYS TRIGGER replicated_phase;

CREATE FUNCTION @extschema@.local_catalog_row()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'ec_local_catalog_row';
REVOKE ALL ON FUNCTION @extschema@.local_catalog_row() FROM PUBLIC;
CREATE TRIGGER local_catalog_row BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.backfill_progress
    FOR EACH ROW EXECUTE FUNCTION @extschema@.local_catalog_row();
ALTER TABLE @extschema@.backfill_progress ENABLE ALWAYS TRIGGER local_catalog_row;
CREATE TRIGGER local_catalog_row BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.backfill_runs
    FOR EACH ROW EXECUTE FUNCTION @extschema@.local_catalog_row();
ALTER TABLE @extschema@.backfill_runs ENABLE ALWAYS TRIGGER local_catalog_row;
CREATE TRIGGER local_catalog_row BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.index_builds
    FOR EACH ROW EXECUTE FUNCTION @extschema@.local_catalog_row();
ALTER TABLE @extschema@.index_builds ENABLE ALWAYS TRIGGER local_catalog_row;

CREATE FUNCTION @extschema@.publish_catalog(publication name)
RETURNS boolean
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_publish_catalog';
COMMENT ON FUNCTION @extschema@.publish_catalog(name) IS
    'Add the migration catalog to a publication, so that its subscribers apply each migration of the tables it publishes when it arrives; returns whether it was added';

-- Rate limits of a backfill (backfill_max_rows_per_second and
-- backfill_max_wal_per_second, carried to its worker) and how long they
-- made it pause (backfill_runners shows them; it is redefined below).
ALTER TABLE @extschema@.backfill_runs
    ADD COLUMN max_rows_per_second integer NOT NULL DEFAULT 0,
    ADD COLUMN max_wal_kb_per_second integer NOT NULL DEFAULT 0,
    ADD COLUMN throttled_ms bigint NOT NULL DEFAULT 0,
    -- backfill_max_wal_sync_ms: slow down while WAL syncs take longer.
    ADD COLUMN max_wal_sync_ms real NOT NULL DEFAULT 0;

-- Parallel backfill: start_backfill(..., workers => N) splits what is left
-- of each table into N parts (a progress row each), and
-- worker i of N takes the parts whose number modulo N is i.
ALTER TABLE @extschema@.backfill_progress ADD COLUMN part integer NOT NULL DEFAULT 0;
ALTER TABLE @extschema@.backfill_progress DROP CONSTRAINT backfill_progress_pkey,
    ADD PRIMARY KEY (schema_name, migration, table_name, part);
ALTER TABLE @extschema@.backfill_runs
    ADD COLUMN worker integer NOT NULL DEFAULT 0,
    ADD COLUMN workers integer NOT NULL DEFAULT 1,
    -- A worker vacuums its table after this many rows (backfill_vacuum_every).
    ADD COLUMN vacuum_every_rows integer NOT NULL DEFAULT 0;
ALTER TABLE @extschema@.backfill_runs DROP CONSTRAINT backfill_runs_pkey,
    ADD PRIMARY KEY (schema_name, worker);
CREATE OR REPLACE VIEW @extschema@.backfill_runners AS
SELECT r.schema_name, r.migration, r.runner, r.pid, r.backend_start, r.role_name, r.request,
       r.state, r.current_table, r.error, r.writer_waits, r.batch_size, r.batch_delay_ms,
       r.batch_target_ms, r.lock_timeout_ms, r.max_replication_lag_kb, r.started_at, r.updated_at,
       EXISTS (SELECT FROM pg_catalog.pg_stat_activity a
                WHERE a.pid = r.pid
                  AND (r.backend_start IS NULL OR a.backend_start = r.backend_start)
                  AND (r.runner = 'worker'
                       OR (a.state = 'active' AND a.query_start <= r.updated_at))) AS alive,
       r.max_rows_per_second, r.max_wal_kb_per_second, r.throttled_ms, r.worker, r.workers,
       r.vacuum_every_rows, r.max_wal_sync_ms
  FROM @extschema@.backfill_runs r;
-- A table's parts summed; its state is that of the runner at it (a live
-- one first).
CREATE OR REPLACE VIEW @extschema@.backfill_status AS
SELECT b.schema_name, b.migration, b.table_name,
       CASE
           WHEN b.done THEN 'done'
           WHEN r.schema_name IS NULL OR r.state = 'done' THEN 'waiting'
           WHEN r.state IN ('failed', 'cancelled')
               THEN CASE WHEN r.current_table IS NULL OR r.current_table = b.table_name
                         THEN r.state ELSE 'waiting' END
           WHEN NOT r.alive THEN 'interrupted'
           WHEN r.state IN ('paused', 'throttled') THEN r.state
           WHEN r.current_table IS NOT NULL AND r.current_table <> b.table_name THEN 'waiting'
           WHEN r.state = 'starting' THEN 'running'
           ELSE r.state
       END AS state,
       b.rows_done,
       CASE WHEN b.done THEN 0
            WHEN b.rows_total IS NULL THEN NULL   -- not counted yet
            ELSE GREATEST(b.rows_total - b.rows_done, 0) END AS rows_left,
       b.rows_total,
       CASE WHEN NOT b.done THEN pg_catalog.round(b.rows_per_second::numeric, 1) END
           AS rows_per_second,
       CASE WHEN NOT b.done AND b.rows_per_second > 0
            THEN pg_catalog.make_interval(secs =>
                     pg_catalog.round(GREATEST(b.rows_total - b.rows_done, 0)
                                      / b.rows_per_second)::double precision)
       END AS eta,
       b.batches, b.started_at, b.updated_at,
       CASE WHEN r.current_table IS NULL OR r.current_table = b.table_name THEN r.error END AS error,
       r.runner,
       CASE WHEN r.alive THEN r.pid END AS pid
  FROM (SELECT p.schema_name, p.migration, p.table_name, pg_catalog.bool_and(p.done) AS done,
               pg_catalog.sum(p.rows_done)::bigint AS rows_done,
               CASE WHEN pg_catalog.bool_or(p.rows_total IS NULL) THEN NULL
                    ELSE pg_catalog.sum(p.rows_total)::bigint END AS rows_total,
               pg_catalog.sum(p.rows_per_second) FILTER (WHERE NOT p.done) AS rows_per_second,
               pg_catalog.sum(p.batches)::bigint AS batches,
               pg_catalog.min(p.started_at) AS started_at, pg_catalog.max(p.updated_at) AS updated_at
          FROM @extschema@.backfill_progress p
         GROUP BY p.schema_name, p.migration, p.table_name) b
  JOIN @extschema@.migrations m
    ON m.schema_name = b.schema_name AND m.name = b.migration AND m.phase = 'active'
  LEFT JOIN LATERAL (
        SELECT * FROM @extschema@.backfill_runners w
         WHERE w.schema_name = b.schema_name AND w.migration = b.migration
         ORDER BY w.current_table IS NOT DISTINCT FROM b.table_name DESC, w.alive DESC,
                  w.state <> 'done' DESC, w.worker
         LIMIT 1) r ON true;
DROP FUNCTION @extschema@.start_backfill(name, integer, integer);
CREATE FUNCTION @extschema@.start_backfill(schema name DEFAULT 'public',
                                           batch_size integer DEFAULT NULL,
                                           batch_delay_ms integer DEFAULT 0,
                                           workers integer DEFAULT 1)
RETURNS integer
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_start_backfill';
COMMENT ON FUNCTION @extschema@.start_backfill(name, integer, integer, integer) IS
    'Run the committed-batch backfill in background workers as the calling role (workers > 1: each table''s key range split between them); returns the first worker''s pid';

-- The gate of the new version's views runs for every row written through
-- them: it reads the catalog once per statement under a search_path it pins
-- itself, instead of paying a SET on every call.
ALTER FUNCTION @extschema@.new_version_open(name) RESET search_path;
