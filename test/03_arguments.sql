-- pgTAP: NULL arguments are errors (SQLSTATE 22004), never NULL results.
BEGIN;
-- pgTAP runs in one transaction: let the phases run inside it.
SET LOCAL expand_contract.phase_in_transaction_block = on;
SELECT plan(9);

CREATE SCHEMA ec_tap_args;
CREATE TABLE ec_tap_args.items (id integer PRIMARY KEY, label text);

SELECT throws_ok($$SELECT expand_contract.start(NULL::text,
                     '{"operations": [{"add_column": {"table": "items",
                       "column": {"name": "note", "type": "text", "nullable": true}}}]}'::jsonb,
                     'ec_tap_args')$$,
                 '22004', NULL, 'start: NULL name raises 22004');
SELECT throws_ok($$SELECT expand_contract.start('01_note', NULL::jsonb, 'ec_tap_args')$$,
                 '22004', NULL, 'start: NULL migration raises 22004');
SELECT throws_ok($$SELECT expand_contract.start('01_note',
                     '{"operations": [{"add_column": {"table": "items",
                       "column": {"name": "note", "type": "text", "nullable": true}}}]}'::jsonb,
                     NULL::name)$$,
                 '22004', NULL, 'start: NULL schema raises 22004');
SELECT throws_ok($$SELECT expand_contract.complete(NULL::name)$$,
                 '22004', NULL, 'complete: NULL schema raises 22004');
SELECT throws_ok($$SELECT expand_contract.rollback(NULL::name)$$,
                 '22004', NULL, 'rollback: NULL schema raises 22004');
SELECT throws_ok($$SELECT * FROM expand_contract.backfill(NULL::name)$$,
                 '22004', NULL, 'backfill: NULL schema raises 22004');
SELECT throws_ok($$SELECT * FROM expand_contract.backfill('ec_tap_args', NULL::integer)$$,
                 '22004', NULL, 'backfill: NULL batch_size raises 22004');

-- None of the refused calls left anything behind.
SELECT is((SELECT count(*)::int FROM expand_contract.migrations WHERE schema_name = 'ec_tap_args'),
          0, 'refused calls recorded no migration');
SELECT hasnt_schema('ec_tap_args_01_note', 'refused calls created no version schema');

SELECT * FROM finish();
ROLLBACK;
