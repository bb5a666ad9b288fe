-- expand_contract 0.1: catalog of migration state and the SQL interface.
\echo Use "CREATE EXTENSION expand_contract" to load this file. \quit

-- History of every migration that was started and not rolled back. The row of
-- the open migration also carries the DDL that finishes it (complete_steps) or
-- undoes it (rollback_steps), planned once at start so both phases replay
-- exactly what start decided.
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
    touched_tables          name[]      NOT NULL DEFAULT '{}',
    complete_steps          text[]      NOT NULL DEFAULT '{}',
    rollback_steps          text[]      NOT NULL DEFAULT '{}',
    PRIMARY KEY (schema_name, name),
    CHECK ((phase = 'completed') = (completed_at IS NOT NULL))
);
-- One open migration per schema.
CREATE UNIQUE INDEX migrations_one_active
    ON @extschema@.migrations (schema_name) WHERE phase = 'active';

-- Backfill progress of each table whose new columns must be computed for the
-- rows that existed before start.
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
    PRIMARY KEY (schema_name, migration, table_name),
    FOREIGN KEY (schema_name, migration)
        REFERENCES @extschema@.migrations (schema_name, name) ON DELETE CASCADE
);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.migrations', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.backfill_progress', '');

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
GRANT SELECT ON @extschema@.migrations, @extschema@.backfill_progress TO PUBLIC;

CREATE FUNCTION @extschema@.start(name text, migration jsonb, schema name DEFAULT 'public')
RETURNS name
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_start';
COMMENT ON FUNCTION @extschema@.start(text, jsonb, name) IS
    'Expand phase: apply a pgroll-style migration document and create its version schema';

CREATE FUNCTION @extschema@.complete(schema name DEFAULT 'public', verify boolean DEFAULT false)
RETURNS void
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'ec_complete';
COMMENT ON FUNCTION @extschema@.complete(name, boolean) IS
    'Contract phase: drop the old shape and keep only the new one (with verify, refuse if any row is inconsistent)';

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

CREATE FUNCTION @extschema@.status(schema name DEFAULT NULL)
RETURNS TABLE (schema_name name, migration text, phase text, version_schema name,
               previous_version_schema name, started_at timestamptz,
               completed_at timestamptz, backfill_rows_left bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT DISTINCT ON (m.schema_name)
           m.schema_name, m.name, m.phase, m.version_schema,
           m.previous_version_schema, m.started_at, m.completed_at,
           CASE WHEN m.phase = 'active' THEN
               -- NULL while any table's row count is still unknown
               (SELECT CASE WHEN bool_or(NOT b.done AND b.rows_total IS NULL) THEN NULL
                            ELSE coalesce(sum(CASE WHEN b.done THEN 0
                                              ELSE greatest(b.rows_total - b.rows_done, 0) END), 0)
                       END::bigint
                  FROM @extschema@.backfill_progress b
                 WHERE b.schema_name = m.schema_name AND b.migration = m.name)
           ELSE 0 END
      FROM @extschema@.migrations m
     WHERE $1 IS NULL OR m.schema_name = $1
     ORDER BY m.schema_name, (m.phase = 'active') DESC, m.started_at DESC
$$;
COMMENT ON FUNCTION @extschema@.status(name) IS
    'One row per schema with a migration history: the open (or last completed) migration';
