-- expand_contract 0.1: catalog of migration state and the SQL interface.
\echo Use "CREATE EXTENSION expand_contract" to load this file. \quit

-- History of every migration that was started and not rolled back. The row of
-- the open migration also carries the statements that finish it
-- (complete_steps) or undo it (rollback_steps), planned once at start so both
-- phases replay exactly what start decided: a JSON array of {"ddl": ...}
-- (generated, fully qualified, run under search_path pg_catalog, pg_temp) and
-- {"sql": ...} (an sql operation's own SQL, run as written under
-- sql_search_path, the search_path of whoever started it). owner is the role
-- that started it: later phases run its code with that role's rights.
CREATE TABLE @extschema@.migrations (
    schema_name             name        NOT NULL,
    name                    text        NOT NULL,
    version_schema          name        NOT NULL,
    previous_version_schema name,
    parent                  text,
    document                jsonb       NOT NULL,
    phase                   text        NOT NULL DEFAULT 'active'
                            CHECK (phase IN ('active', 'completed')),
    started_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    completed_at            timestamptz,
    owner                   name        NOT NULL,
    sql_search_path         text        NOT NULL,
    touched_tables          name[]      NOT NULL DEFAULT '{}',
    complete_steps          jsonb       NOT NULL DEFAULT '[]',
    rollback_steps          jsonb       NOT NULL DEFAULT '[]',
    open_steps              jsonb       NOT NULL DEFAULT '[]',  -- opens gated views (open_new_version)
    PRIMARY KEY (schema_name, name),
    CHECK ((phase = 'completed') = (completed_at IS NOT NULL))
);
-- One open migration per schema.
CREATE UNIQUE INDEX migrations_one_active
    ON @extschema@.migrations (schema_name) WHERE phase = 'active';

-- Backfill progress of each table whose new columns must be computed for the
-- rows that existed before start. key_columns is empty for a table visited by
-- physical position (no primary or non-null unique key); cursor and
-- high_water then hold page numbers.
CREATE TABLE @extschema@.backfill_progress (
    schema_name   name    NOT NULL,
    migration     text    NOT NULL,
    table_name    name    NOT NULL,
    key_columns   name[]  NOT NULL,
    marker_column name    NOT NULL,
    high_water    text[],
    cursor        text[],
    rows_total    bigint,          -- rows in the key range (an estimate until the first batch)
    rows_done     bigint  NOT NULL DEFAULT 0,
    batches       bigint  NOT NULL DEFAULT 0,
    done          boolean NOT NULL DEFAULT false,
    started_at    timestamptz,     -- first batch
    updated_at    timestamptz,     -- last batch
    rows_per_second double precision, -- smoothed over recent batches
    PRIMARY KEY (schema_name, migration, table_name),
    FOREIGN KEY (schema_name, migration)
        REFERENCES @extschema@.migrations (schema_name, name) ON DELETE CASCADE
);

-- The process driving a schema's backfill (CALL run_backfill or the worker of
-- start_backfill), what it was asked to do and what it is doing. Owning this
-- row is the runner's claim: a runner stops when the row names another pid.
-- It describes processes, so pg_dump leaves it out.
CREATE TABLE @extschema@.backfill_runs (
    schema_name    name        PRIMARY KEY,
    migration      text        NOT NULL,
    runner         text        NOT NULL CHECK (runner IN ('call', 'worker')),
    pid            integer     NOT NULL,
    backend_start  timestamptz,
    role_name      name        NOT NULL,
    request        text        NOT NULL DEFAULT 'run'
                               CHECK (request IN ('run', 'pause', 'cancel')),
    state          text        NOT NULL
                               CHECK (state IN ('starting', 'running', 'paused', 'throttled',
                                                'waiting_for_lock', 'done', 'failed', 'cancelled')),
    current_table  name,
    error          text,
    writer_waits   bigint      NOT NULL DEFAULT 0,  -- batches a writer had to wait for
    batch_size     integer,    -- NULL: adaptive
    batch_delay_ms integer     NOT NULL DEFAULT 0,
    batch_target_ms integer    NOT NULL,
    lock_timeout_ms integer    NOT NULL,
    max_replication_lag_kb integer NOT NULL,
    started_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    updated_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    FOREIGN KEY (schema_name, migration)
        REFERENCES @extschema@.migrations (schema_name, name) ON DELETE CASCADE
);

-- Indexes a migration builds online (CREATE INDEX CONCURRENTLY cannot run in
-- start's transaction): start records them, a background worker builds each
-- at top level once start has committed, complete requires them valid and
-- rollback drops them, an invalid one left by a failed build included.
CREATE TABLE @extschema@.index_builds (
    schema_name   name        NOT NULL,
    migration     text        NOT NULL,
    index_name    name        NOT NULL,
    table_name    name        NOT NULL,
    statement     text        NOT NULL,   -- CREATE ... INDEX CONCURRENTLY, fully qualified
    state         text        NOT NULL DEFAULT 'pending'
                              CHECK (state IN ('pending', 'building', 'valid', 'failed')),
    error         text,
    pid           integer,
    started_at    timestamptz,
    finished_at   timestamptz,
    PRIMARY KEY (schema_name, migration, index_name),
    FOREIGN KEY (schema_name, migration)
        REFERENCES @extschema@.migrations (schema_name, name) ON DELETE CASCADE
);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.migrations', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.index_builds', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.backfill_progress', '');

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
GRANT SELECT ON @extschema@.migrations, @extschema@.backfill_progress,
    @extschema@.backfill_runs, @extschema@.index_builds TO PUBLIC;

-- Each index build with what PostgreSQL reports of it while it runs
-- (pg_stat_progress_create_index: the phase, e.g. "waiting for old
-- snapshots" behind a long transaction, and blocks done of total).
CREATE VIEW @extschema@.index_build_status AS
SELECT i.schema_name, i.migration, i.index_name, i.table_name, i.state,
       p.phase, p.blocks_done, p.blocks_total, p.tuples_done, p.tuples_total,
       i.error, i.pid, i.started_at, i.finished_at
  FROM @extschema@.index_builds i
  LEFT JOIN pg_catalog.pg_stat_progress_create_index p
    ON i.state = 'building' AND p.pid = i.pid;
GRANT SELECT ON @extschema@.index_build_status TO PUBLIC;

-- No SET search_path here: start() resolves the document's names with the
-- caller's own search_path, and pins pg_catalog, pg_temp itself for
-- everything else it runs.
CREATE FUNCTION @extschema@.start(name text, migration jsonb, schema name DEFAULT 'public')
RETURNS name
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'ec_start';
COMMENT ON FUNCTION @extschema@.start(text, jsonb, name) IS
    'Expand phase: apply a pgroll-style migration document and create its version schema';

CREATE FUNCTION @extschema@.baseline(name text, schema name DEFAULT 'public')
RETURNS name
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_baseline';
COMMENT ON FUNCTION @extschema@.baseline(text, name) IS
    'A version schema of the current shape, recorded as a completed migration, for applications to use from the start';

CREATE FUNCTION @extschema@.complete(schema name DEFAULT 'public', verify boolean DEFAULT false,
                                     force boolean DEFAULT false)
RETURNS void
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_complete';
COMMENT ON FUNCTION @extschema@.complete(name, boolean, boolean) IS
    'Contract phase: drop the old shape and keep only the new one (with verify, refuse if any row is inconsistent; unless force, refuse while the old version still writes)';

CREATE FUNCTION @extschema@.rollback(schema name DEFAULT 'public')
RETURNS void
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_rollback';
COMMENT ON FUNCTION @extschema@.rollback(name) IS
    'Undo the open migration, keeping the old shape and all data written through either version';

CREATE FUNCTION @extschema@.backfill(schema name DEFAULT 'public',
                                     batch_size integer DEFAULT 1000,
                                     max_batches integer DEFAULT NULL)
RETURNS TABLE (table_name name, batch bigint, rows bigint, rows_done bigint,
               rows_left bigint, elapsed_ms double precision)
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_backfill';
COMMENT ON FUNCTION @extschema@.backfill(name, integer, integer) IS
    'Fill new columns of existing rows in key-ordered batches; resumable';

-- Commits after every batch, so it cannot pin search_path with a SET clause
-- (PostgreSQL forbids transaction control then); everything it runs is
-- schema-qualified instead.
CREATE PROCEDURE @extschema@.run_backfill(schema name DEFAULT 'public',
                                          batch_size integer DEFAULT NULL,
                                          batch_delay_ms integer DEFAULT 0)
LANGUAGE c
AS 'MODULE_PATHNAME', 'ec_run_backfill';
COMMENT ON PROCEDURE @extschema@.run_backfill(name, integer, integer) IS
    'Backfill in committed batches (NULL batch_size: sized to expand_contract.batch_target_ms)';

CREATE FUNCTION @extschema@.start_backfill(schema name DEFAULT 'public',
                                           batch_size integer DEFAULT NULL,
                                           batch_delay_ms integer DEFAULT 0)
RETURNS integer
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_start_backfill';
COMMENT ON FUNCTION @extschema@.start_backfill(name, integer, integer) IS
    'Run the committed-batch backfill in a background worker as the calling role; returns its pid';

-- Starts a worker for the open migration's index builds that are pending,
-- were cut off (their builder died) or, with retry_failed, failed; returns
-- its pid (NULL: nothing to build). start launches one itself.
CREATE FUNCTION @extschema@.start_index_builds(schema name DEFAULT 'public',
                                               retry_failed boolean DEFAULT false)
RETURNS integer
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_start_index_builds';
COMMENT ON FUNCTION @extschema@.start_index_builds(name, boolean) IS
    'Build the open migration''s indexes concurrently in a background worker; returns its pid';

-- Waits until no index of the open migration is pending or being built,
-- committing between its looks (a concurrent build waits for every older
-- transaction, so complete() cannot wait itself).
CREATE PROCEDURE @extschema@.wait_for_index_builds(schema name DEFAULT 'public')
LANGUAGE c
AS 'MODULE_PATHNAME', 'ec_wait_for_index_builds';
COMMENT ON PROCEDURE @extschema@.wait_for_index_builds(name) IS
    'Wait for the open migration''s index builds to finish';

-- A dry run of start: the same checks and errors, then everything undone;
-- returns the steps it planned.
CREATE FUNCTION @extschema@.validate(name text, migration jsonb, schema name DEFAULT 'public')
RETURNS TABLE (phase text, statement text)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'ec_validate';
COMMENT ON FUNCTION @extschema@.validate(text, jsonb, name) IS
    'Dry run of start: plans the migration, changes nothing, returns the planned steps';

-- DDL that changes the tables of an open migration outside it (columns,
-- renames, drops), and DROP EXTENSION while a migration is open, are refused.
CREATE FUNCTION @extschema@.guard_ddl()
RETURNS event_trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'ec_guard_ddl';
CREATE EVENT TRIGGER expand_contract_guard_ddl ON ddl_command_start
    WHEN TAG IN ('ALTER TABLE', 'DROP TABLE', 'DROP EXTENSION')
    EXECUTE FUNCTION @extschema@.guard_ddl();

-- A GRANT or REVOKE on a table of an open migration reaches its version views.
CREATE FUNCTION @extschema@.mirror_grants()
RETURNS event_trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'ec_mirror_grants';
CREATE EVENT TRIGGER expand_contract_mirror_grants ON ddl_command_end
    WHEN TAG IN ('GRANT', 'REVOKE')
    EXECUTE FUNCTION @extschema@.mirror_grants();

CREATE FUNCTION @extschema@.pause_backfill(schema name DEFAULT 'public')
RETURNS void
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_pause_backfill';
COMMENT ON FUNCTION @extschema@.pause_backfill(name) IS
    'Ask the running backfill to stop after its current batch until resume_backfill';

CREATE FUNCTION @extschema@.resume_backfill(schema name DEFAULT 'public')
RETURNS void
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_resume_backfill';
COMMENT ON FUNCTION @extschema@.resume_backfill(name) IS
    'Let a paused backfill go on';

CREATE FUNCTION @extschema@.cancel_backfill(schema name DEFAULT 'public')
RETURNS void
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_cancel_backfill';
COMMENT ON FUNCTION @extschema@.cancel_backfill(name) IS
    'Ask the running backfill to stop after its current batch; progress is kept';

CREATE FUNCTION @extschema@.verify(schema name DEFAULT 'public')
RETURNS TABLE (table_name name, key text, column_name name, expected text, actual text)
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_verify';
COMMENT ON FUNCTION @extschema@.verify(name) IS
    'Rows of the open migration whose synced columns match neither their up nor their down expressions';

-- The sync trigger is attached by start() only: its arguments hold analysed
-- expression trees, so nobody may attach it by hand.
CREATE FUNCTION @extschema@.sync_trigger()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'ec_sync_trigger';
REVOKE ALL ON FUNCTION @extschema@.sync_trigger() FROM PUBLIC;

-- Every runner with whether it is still at work: its process is there (same
-- pid, same backend start) and, for a CALL, still in the statement that last
-- wrote the row.
CREATE VIEW @extschema@.backfill_runners AS
SELECT r.*,
       EXISTS (SELECT FROM pg_catalog.pg_stat_activity a
                WHERE a.pid = r.pid
                  AND (r.backend_start IS NULL OR a.backend_start = r.backend_start)
                  AND (r.runner = 'worker'
                       OR (a.state = 'active' AND a.query_start <= r.updated_at))) AS alive
  FROM @extschema@.backfill_runs r;
GRANT SELECT ON @extschema@.backfill_runners TO PUBLIC;

-- Per table of every open migration: how far its backfill is and who drives
-- it. A runner that vanished without saying so (crash, terminated backend,
-- CALL cancelled) shows as interrupted.
CREATE VIEW @extschema@.backfill_status AS
SELECT b.schema_name, b.migration, b.table_name,
       -- Paused and throttled hold back every table left; the other states
       -- are those of the table the runner is at.
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
  FROM @extschema@.backfill_progress b
  JOIN @extschema@.migrations m
    ON m.schema_name = b.schema_name AND m.name = b.migration AND m.phase = 'active'
  LEFT JOIN @extschema@.backfill_runners r
    ON r.schema_name = b.schema_name AND r.migration = b.migration;
COMMENT ON VIEW @extschema@.backfill_status IS
    'Backfill of every table of the open migrations: state, rows done and left, rate, ETA';
GRANT SELECT ON @extschema@.backfill_status TO PUBLIC;

-- The gate of the new version's views under open_new_version =
-- 'when_backfilled': true once the migration's backfill is done, an ERROR
-- (55000) before.
CREATE FUNCTION @extschema@.new_version_open(version_schema name)
RETURNS boolean
LANGUAGE c STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_new_version_open';
COMMENT ON FUNCTION @extschema@.new_version_open(name) IS
    'Gate of a new version''s views: true once its backfill is done, else an error';

-- When each version of a migration was last written and read, and how many
-- sessions did so within expand_contract.old_version_grace (kept in shared
-- memory: no rows unless the library is in shared_preload_libraries).
CREATE FUNCTION @extschema@.version_use(version_schema name)
RETURNS TABLE (version text, last_write timestamptz, writers integer,
               last_read timestamptz, readers integer)
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_version_use';
COMMENT ON FUNCTION @extschema@.version_use(name) IS
    'Last write and read, and recent writers and readers, of the old and the new version of the migration with this version schema';

CREATE FUNCTION @extschema@.status(schema name DEFAULT NULL)
RETURNS TABLE (schema_name name, migration text, phase text, version_schema name,
               previous_version_schema name, started_at timestamptz,
               completed_at timestamptz, backfill_rows_left bigint,
               table_name name, backfill_state text, backfill_rows_done bigint,
               rows_per_second numeric, eta interval, error text,
               old_version_last_write timestamptz, old_version_writers integer,
               new_version_open boolean,
               old_version_last_read timestamptz, old_version_readers integer,
               index_builds_left integer)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH latest AS (
        SELECT DISTINCT ON (m.schema_name) m.*
          FROM @extschema@.migrations m
         WHERE $1 IS NULL OR m.schema_name = $1
         ORDER BY m.schema_name, (m.phase = 'active') DESC, m.started_at DESC
    )
    SELECT l.schema_name, l.name, l.phase, l.version_schema,
           l.previous_version_schema, l.started_at, l.completed_at,
           CASE WHEN l.phase = 'active' AND b.table_name IS NOT NULL
                THEN b.rows_left ELSE 0 END,
           b.table_name, b.state, b.rows_done, b.rows_per_second, b.eta, b.error,
           w.last_write, w.writers,
           CASE WHEN l.phase = 'active' THEN l.open_steps = '[]'::jsonb OR NOT EXISTS (
                SELECT FROM @extschema@.backfill_progress p
                 WHERE p.schema_name = l.schema_name AND p.migration = l.name AND NOT p.done) END,
           w.last_read, w.readers,
           CASE WHEN l.phase = 'active' THEN (
                SELECT pg_catalog.count(*)::integer FROM @extschema@.index_builds i
                 WHERE i.schema_name = l.schema_name AND i.migration = l.name AND i.state <> 'valid') END
      FROM latest l
      LEFT JOIN @extschema@.backfill_status b
        ON b.schema_name = l.schema_name AND b.migration = l.name
      LEFT JOIN LATERAL @extschema@.version_use(l.version_schema) w
        ON l.phase = 'active' AND w.version = 'old'
     ORDER BY l.schema_name, b.table_name
$$;
COMMENT ON FUNCTION @extschema@.status(name) IS
    'The open (or last completed) migration of each schema, one row per table it backfills';
