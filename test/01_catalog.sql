-- pgTAP: the extension's schema and catalog tables.
BEGIN;
SELECT plan(21);

SELECT has_extension('expand_contract', 'expand_contract is installed');
SELECT has_schema('expand_contract', 'schema expand_contract exists');
SELECT is((SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
            WHERE e.extname = 'expand_contract'),
          'expand_contract', 'the extension lives in schema expand_contract');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'expand_contract'),
          false, 'the extension is not relocatable');

SELECT has_table('expand_contract', 'migrations', 'table expand_contract.migrations exists');
SELECT has_table('expand_contract', 'backfill_progress', 'table expand_contract.backfill_progress exists');

-- The columns the interface relies on (internal bookkeeping may add more).
SELECT ok(ARRAY(SELECT attname::text FROM pg_attribute
                 WHERE attrelid = to_regclass('expand_contract.migrations')
                   AND attnum > 0 AND NOT attisdropped)
          @> ARRAY['schema_name', 'name', 'version_schema', 'previous_version_schema',
                   'document', 'phase', 'started_at', 'completed_at',
                   'complete_steps', 'rollback_steps'],
          'migrations has the documented columns');
SELECT col_type_is('expand_contract', 'migrations', 'document', 'jsonb', 'migrations.document is jsonb');
SELECT col_type_is('expand_contract', 'migrations', 'version_schema', 'name', 'migrations.version_schema is name');
-- Every migration has an owner, whose rights its code runs with, and the
-- search_path its sql operations run under.
SELECT col_not_null('expand_contract', 'migrations', 'owner', 'migrations.owner is required');
SELECT col_not_null('expand_contract', 'migrations', 'sql_search_path', 'migrations.sql_search_path is required');
SELECT col_type_is('expand_contract', 'migrations', 'complete_steps', 'jsonb',
                   'migrations.complete_steps is jsonb ([{"ddl": ...} | {"sql": ...}])');
SELECT col_is_pk('expand_contract', 'migrations', ARRAY['schema_name', 'name'],
                 'migrations is keyed by (schema_name, name)');
SELECT has_index('expand_contract', 'migrations', 'migrations_one_active',
                 'a partial unique index allows one open migration per schema');

SELECT ok(ARRAY(SELECT attname::text FROM pg_attribute
                 WHERE attrelid = to_regclass('expand_contract.backfill_progress')
                   AND attnum > 0 AND NOT attisdropped)
          @> ARRAY['schema_name', 'migration', 'table_name', 'key_columns',
                   'rows_total', 'rows_done', 'batches', 'done'],
          'backfill_progress has the documented columns');
SELECT fk_ok('expand_contract', 'backfill_progress', ARRAY['schema_name', 'migration'],
             'expand_contract', 'migrations', ARRAY['schema_name', 'name'],
             'backfill_progress rows belong to a migration');

SELECT has_table('expand_contract', 'backfill_runs', 'table expand_contract.backfill_runs exists');
SELECT col_is_pk('expand_contract', 'backfill_runs', ARRAY['schema_name', 'worker'],
                 'one backfill run per schema and worker (a parallel backfill has several)');

-- These tables hold user state, so pg_dump must dump their rows;
-- backfill_runs describes processes and is left out.
SELECT is((SELECT array_agg(c::regclass::text ORDER BY c::regclass::text)
             FROM pg_extension e, unnest(e.extconfig) AS c
            WHERE e.extname = 'expand_contract'),
          ARRAY['expand_contract.backfill_progress', 'expand_contract.index_builds', 'expand_contract.migrations'],
          'migrations, backfill_progress and index_builds are marked for pg_dump (pg_extension_config_dump)');

SELECT ok(has_schema_privilege('public', 'expand_contract', 'USAGE'),
          'PUBLIC may use schema expand_contract');
SELECT ok(has_table_privilege('public', 'expand_contract.migrations', 'SELECT')
          AND has_table_privilege('public', 'expand_contract.backfill_progress', 'SELECT'),
          'PUBLIC may read the catalog tables');

SELECT * FROM finish();
ROLLBACK;
