-- pgTAP: the SQL interface — exact signatures, return types, settings, grants.
BEGIN;
-- pgTAP runs in one transaction: let the phases run inside it.
SET LOCAL expand_contract.phase_in_transaction_block = on;
SELECT plan(63);

-- start ------------------------------------------------------------------------
SELECT has_function('expand_contract', 'start', ARRAY['text', 'jsonb', 'name'],
                    'start(text, jsonb, name) exists');
SELECT function_returns('expand_contract', 'start', ARRAY['text', 'jsonb', 'name'], 'name',
                        'start returns name');
SELECT is(pg_get_function_arguments(to_regprocedure('expand_contract.start(text,jsonb,name)')),
          'name text, migration jsonb, schema name DEFAULT ''public''::name',
          'start(name text, migration jsonb, schema name DEFAULT ''public'')');

-- complete ---------------------------------------------------------------------
SELECT has_function('expand_contract', 'complete', ARRAY['name', 'boolean', 'boolean'], 'complete(name, boolean, boolean) exists');
SELECT function_returns('expand_contract', 'complete', ARRAY['name', 'boolean', 'boolean'], 'void', 'complete returns void');
SELECT is(pg_get_function_arguments(to_regprocedure('expand_contract.complete(name,boolean,boolean)')),
          'schema name DEFAULT ''public''::name, verify boolean DEFAULT false, force boolean DEFAULT false',
          'complete(schema name DEFAULT ''public'', verify boolean DEFAULT false, force boolean DEFAULT false)');

-- rollback ---------------------------------------------------------------------
SELECT has_function('expand_contract', 'rollback', ARRAY['name'], 'rollback(name) exists');
SELECT function_returns('expand_contract', 'rollback', ARRAY['name'], 'void', 'rollback returns void');
SELECT is(pg_get_function_arguments(to_regprocedure('expand_contract.rollback(name)')),
          'schema name DEFAULT ''public''::name',
          'rollback(schema name DEFAULT ''public'')');

-- backfill ---------------------------------------------------------------------
SELECT has_function('expand_contract', 'backfill', ARRAY['name', 'integer', 'integer'],
                    'backfill(name, integer, integer) exists');
SELECT is(pg_get_function_arguments(to_regprocedure('expand_contract.backfill(name,integer,integer)')),
          'schema name DEFAULT ''public''::name, batch_size integer DEFAULT 1000, max_batches integer DEFAULT NULL::integer',
          'backfill(schema name DEFAULT ''public'', batch_size integer DEFAULT 1000, max_batches integer DEFAULT NULL)');
SELECT is(pg_get_function_result(to_regprocedure('expand_contract.backfill(name,integer,integer)')),
          'TABLE(table_name name, batch bigint, rows bigint, rows_done bigint, rows_left bigint, elapsed_ms double precision)',
          'backfill returns TABLE(table_name, batch, rows, rows_done, rows_left, elapsed_ms)');
SELECT isnt_strict('expand_contract', 'backfill', ARRAY['name', 'integer', 'integer'],
                 'backfill is not strict (a NULL max_batches means no limit)');

-- status -----------------------------------------------------------------------
SELECT has_function('expand_contract', 'status', ARRAY['name'], 'status(name) exists');
SELECT is(pg_get_function_arguments(to_regprocedure('expand_contract.status(name)')),
          'schema name DEFAULT NULL::name',
          'status(schema name DEFAULT NULL)');
SELECT is(pg_get_function_result(to_regprocedure('expand_contract.status(name)')),
          'TABLE(schema_name name, migration text, phase text, version_schema name, previous_version_schema name, started_at timestamp with time zone, completed_at timestamp with time zone, backfill_rows_left bigint, table_name name, backfill_state text, backfill_rows_done bigint, rows_per_second numeric, eta interval, error text, old_version_last_write timestamp with time zone, old_version_writers integer, new_version_open boolean, old_version_last_read timestamp with time zone, old_version_readers integer, index_builds_left integer)',
          'status returns TABLE(schema_name, migration, phase, version_schema, previous_version_schema, started_at, completed_at, backfill_rows_left, table_name, backfill_state, backfill_rows_done, rows_per_second, eta, error, old_version_last_write, old_version_writers, new_version_open, old_version_last_read, old_version_readers, index_builds_left)');
SELECT volatility_is('expand_contract', 'status', ARRAY['name'], 'stable', 'status is stable');

-- sync_trigger -----------------------------------------------------------------
SELECT has_function('expand_contract', 'sync_trigger', ARRAY[]::text[], 'sync_trigger() exists');
SELECT function_returns('expand_contract', 'sync_trigger', ARRAY[]::text[], 'trigger',
                        'sync_trigger returns trigger');
-- Its rules are text bound as the writer (0.2): anyone may attach it, a
-- restore by the database owner included.
SELECT ok(has_function_privilege('public', 'expand_contract.sync_trigger()', 'EXECUTE'),
          'PUBLIC may execute sync_trigger');
-- The catalog's row guard is a trigger of the extension's own tables.
SELECT ok(to_regprocedure('expand_contract.catalog_row_guard()') IS NOT NULL
          AND NOT has_function_privilege('public', 'expand_contract.catalog_row_guard()', 'EXECUTE'),
          'PUBLIC may not execute catalog_row_guard');
-- So are the triggers that apply a publisher's phases on a subscriber.
SELECT ok(NOT has_function_privilege('public', 'expand_contract.replicated_phase()', 'EXECUTE')
          AND NOT has_function_privilege('public', 'expand_contract.local_catalog_row()', 'EXECUTE'),
          'PUBLIC may not execute replicated_phase or local_catalog_row');

-- C implementations live in the extension's library ----------------------------
SELECT is((SELECT array_agg(p.proname::text || ':' || l.lanname ORDER BY p.proname)
             FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
            WHERE p.pronamespace = 'expand_contract'::regnamespace),
          ARRAY['backfill:c', 'baseline:c', 'cancel_backfill:c', 'catalog_row_guard:c', 'complete:c', 'convert:c', 'guard_ddl:c', 'local_catalog_row:c', 'mirror_grants:c', 'new_version_open:c', 'pause_backfill:c', 'prepare_partition:c', 'publish_catalog:c', 'replicated_phase:c', 'resume_backfill:c',
                'rollback:c', 'run_backfill:c', 'start:c', 'start_backfill:c', 'start_index_builds:c', 'status:sql',
                'sync_trigger:c', 'validate:c', 'verify:c', 'version_use:c', 'wait_for_index_builds:c'],
          'the interface is exactly baseline, catalog_row_guard, convert, guard_ddl, local_catalog_row, mirror_grants, prepare_partition, publish_catalog, replicated_phase, start, complete, rollback, backfill, run_backfill, start/pause/resume/cancel_backfill, start_index_builds, wait_for_index_builds, validate, verify, version_use, new_version_open, status, sync_trigger');
SELECT is((SELECT count(*)::int FROM pg_proc p
            WHERE p.pronamespace = 'expand_contract'::regnamespace
              AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
              AND p.probin <> '$libdir/expand_contract'),
          0, 'every C function is loaded from $libdir/expand_contract');

-- search_path is pinned ---------------------------------------------------------
-- start reads the document with the caller's own search_path, so it has no
-- SET clause; it pins pg_catalog, pg_temp itself for everything else.
SELECT is((SELECT proconfig FROM pg_proc WHERE oid = to_regprocedure('expand_contract.start(text,jsonb,name)')),
          NULL, 'start has no SET clause: the caller''s search_path resolves the document');
SELECT is((SELECT proconfig FROM pg_proc WHERE oid = to_regprocedure('expand_contract.complete(name,boolean,boolean)')),
          ARRAY['search_path=pg_catalog, pg_temp'], 'complete pins search_path');
SELECT is((SELECT proconfig FROM pg_proc WHERE oid = to_regprocedure('expand_contract.rollback(name)')),
          ARRAY['search_path=pg_catalog, pg_temp'], 'rollback pins search_path');
SELECT is((SELECT proconfig FROM pg_proc WHERE oid = to_regprocedure('expand_contract.backfill(name,integer,integer)')),
          ARRAY['search_path=pg_catalog, pg_temp'], 'backfill pins search_path');
SELECT is((SELECT proconfig FROM pg_proc WHERE oid = to_regprocedure('expand_contract.status(name)')),
          ARRAY['search_path=pg_catalog, pg_temp'], 'status pins search_path');

SELECT is((SELECT proconfig FROM pg_proc WHERE oid = to_regprocedure('expand_contract.verify(name)')),
          ARRAY['search_path=pg_catalog, pg_temp'], 'verify pins search_path');
-- A procedure that commits cannot carry a SET clause; run_backfill pins
-- search_path itself in each of its steps.
SELECT is((SELECT proconfig FROM pg_proc WHERE oid = to_regprocedure('expand_contract.run_backfill(name,integer,integer)')),
          NULL, 'run_backfill has no SET clause, so it may commit');

-- the background worker and its controls ------------------------------------------
SELECT is(pg_get_function_arguments(to_regprocedure('expand_contract.start_backfill(name,integer,integer,integer)')),
          'schema name DEFAULT ''public''::name, batch_size integer DEFAULT NULL::integer, batch_delay_ms integer DEFAULT 0, workers integer DEFAULT 1',
          'start_backfill(schema name DEFAULT ''public'', batch_size integer DEFAULT NULL, batch_delay_ms integer DEFAULT 0, workers integer DEFAULT 1)');
SELECT function_returns('expand_contract', 'start_backfill', ARRAY['name', 'integer', 'integer', 'integer'], 'integer',
                        'start_backfill returns the (first) worker''s pid');
SELECT is(pg_get_function_arguments(to_regprocedure('expand_contract.pause_backfill(name)')),
          'schema name DEFAULT ''public''::name', 'pause_backfill(schema name DEFAULT ''public'')');
SELECT is(pg_get_function_arguments(to_regprocedure('expand_contract.resume_backfill(name)')),
          'schema name DEFAULT ''public''::name', 'resume_backfill(schema name DEFAULT ''public'')');
SELECT is(pg_get_function_arguments(to_regprocedure('expand_contract.cancel_backfill(name)')),
          'schema name DEFAULT ''public''::name', 'cancel_backfill(schema name DEFAULT ''public'')');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname)
             FROM pg_proc p
            WHERE p.pronamespace = 'expand_contract'::regnamespace
              AND p.proname IN ('start_backfill', 'pause_backfill', 'resume_backfill', 'cancel_backfill')
              AND p.proconfig = ARRAY['search_path=pg_catalog, pg_temp']),
          ARRAY['cancel_backfill', 'pause_backfill', 'resume_backfill', 'start_backfill'],
          'start/pause/resume/cancel_backfill pin search_path');
SELECT has_view('expand_contract', 'backfill_status', 'view expand_contract.backfill_status exists');
SELECT is(ARRAY(SELECT attname::text FROM pg_attribute
                 WHERE attrelid = to_regclass('expand_contract.backfill_status') AND attnum > 0
                 ORDER BY attnum),
          ARRAY['schema_name', 'migration', 'table_name', 'state', 'rows_done', 'rows_left',
                'rows_total', 'rows_per_second', 'eta', 'batches', 'started_at', 'updated_at',
                'error', 'runner', 'pid'],
          'backfill_status shows state, rows done and left, rate, ETA and error per table');
SELECT has_view('expand_contract', 'backfill_runners', 'view expand_contract.backfill_runners exists');
SELECT ok(has_table_privilege('public', 'expand_contract.backfill_status', 'SELECT')
          AND has_table_privilege('public', 'expand_contract.backfill_runners', 'SELECT'),
          'PUBLIC may read the monitoring views');

-- settings (defined when the library loads) ----------------------------------------
LOAD 'expand_contract';
SELECT is(current_setting('expand_contract.lock_timeout'), '1s', 'expand_contract.lock_timeout defaults to 1 s');
SELECT is(current_setting('expand_contract.max_replication_lag'), '-1', 'expand_contract.max_replication_lag is off by default');
SELECT is(current_setting('expand_contract.batch_target_ms'), '100ms', 'expand_contract.batch_target_ms defaults to 100 ms');
SELECT is((SELECT unit FROM pg_settings WHERE name = 'expand_contract.max_replication_lag'), 'kB',
          'expand_contract.max_replication_lag is a size');
-- The phases' lock discipline and the old-client gate.
SELECT is(current_setting('expand_contract.phase_lock_timeout'), '200ms',
          'expand_contract.phase_lock_timeout defaults to 200 ms (below deadlock_timeout)');
SELECT is(current_setting('expand_contract.phase_lock_deadline'), '30s',
          'expand_contract.phase_lock_deadline defaults to 30 s');
SELECT is((SELECT boot_val FROM pg_settings WHERE name = 'expand_contract.phase_in_transaction_block'), 'off',
          'phases refuse transaction blocks by default (this file opts in)');
SELECT is(current_setting('expand_contract.complete_backfill_limit'), '1000',
          'complete backfills at most 1000 rows itself by default');
SELECT is(current_setting('expand_contract.old_version_grace'), '1min',
          'expand_contract.old_version_grace defaults to a minute');

-- baseline and version_use ----------------------------------------------------------
SELECT is(pg_get_function_arguments(to_regprocedure('expand_contract.baseline(text,name)')),
          'name text, schema name DEFAULT ''public''::name',
          'baseline(name text, schema name DEFAULT ''public'')');
SELECT function_returns('expand_contract', 'baseline', ARRAY['text', 'name'], 'name',
                        'baseline returns the version schema');
SELECT is(pg_get_function_result(to_regprocedure('expand_contract.version_use(name)')),
          'TABLE(version text, last_write timestamp with time zone, writers integer, last_read timestamp with time zone, readers integer)',
          'version_use returns TABLE(version, last_write, writers, last_read, readers)');
-- Without shared_preload_libraries nothing is recorded.
SELECT is_empty($$SELECT * FROM expand_contract.version_use('no_such_version')$$,
                'version_use has no rows without shared_preload_libraries');
SELECT ok(has_function_privilege('public', 'expand_contract.baseline(text,name)', 'EXECUTE'),
          'PUBLIC may call baseline (it checks the schema owner itself)');

-- run_backfill and verify ---------------------------------------------------------
SELECT is((SELECT prokind::text FROM pg_proc WHERE oid = to_regprocedure('expand_contract.run_backfill(name,integer,integer)')),
          'p', 'run_backfill is a procedure');
SELECT is(pg_get_function_arguments(to_regprocedure('expand_contract.run_backfill(name,integer,integer)')),
          'IN schema name DEFAULT ''public''::name, IN batch_size integer DEFAULT NULL::integer, IN batch_delay_ms integer DEFAULT 0',
          'run_backfill(schema name DEFAULT ''public'', batch_size integer DEFAULT NULL, batch_delay_ms integer DEFAULT 0)');
SELECT is(pg_get_function_arguments(to_regprocedure('expand_contract.verify(name)')),
          'schema name DEFAULT ''public''::name', 'verify(schema name DEFAULT ''public'')');
SELECT is(pg_get_function_result(to_regprocedure('expand_contract.verify(name)')),
          'TABLE(table_name name, key text, column_name name, expected text, actual text)',
          'verify returns TABLE(table_name, key, column_name, expected, actual)');

-- volatility of the state-changing functions -----------------------------------
SELECT volatility_is('expand_contract', 'start', ARRAY['text', 'jsonb', 'name'], 'volatile', 'start is volatile');
SELECT volatility_is('expand_contract', 'complete', ARRAY['name', 'boolean', 'boolean'], 'volatile', 'complete is volatile');
SELECT volatility_is('expand_contract', 'rollback', ARRAY['name'], 'volatile', 'rollback is volatile');
SELECT volatility_is('expand_contract', 'backfill', ARRAY['name', 'integer', 'integer'], 'volatile', 'backfill is volatile');

SELECT * FROM finish();
ROLLBACK;
