-- pgTAP: phase rules — one open migration per schema, complete/rollback need one.
BEGIN;
-- pgTAP runs in one transaction: let the phases run inside it.
SET LOCAL expand_contract.phase_in_transaction_block = on;
SELECT plan(27);

CREATE SCHEMA ec_tap;
CREATE TABLE ec_tap.items (id integer PRIMARY KEY, label text NOT NULL);
INSERT INTO ec_tap.items VALUES (1, 'one'), (2, 'two');

-- Nothing is open yet.
SELECT throws_ok($$SELECT expand_contract.complete('ec_tap')$$, '55000', NULL,
                 'complete without an open migration raises 55000');
SELECT throws_ok($$SELECT expand_contract.rollback('ec_tap')$$, '55000', NULL,
                 'rollback without an open migration raises 55000');
SELECT is_empty($$SELECT * FROM expand_contract.status('ec_tap')$$,
                'status has no row for a schema without history');

-- start: expand phase.
SELECT is(expand_contract.start('01_note',
            '{"operations": [{"add_column": {"table": "items",
              "column": {"name": "note", "type": "text", "nullable": true}}}]}', 'ec_tap'),
          'ec_tap_01_note'::name, 'start returns the version schema <schema>_<name>');
SELECT has_schema('ec_tap_01_note', 'start created the version schema');
SELECT has_view('ec_tap_01_note', 'items', 'the version schema exposes the table as a view');
SELECT results_eq($$SELECT migration, phase, version_schema, previous_version_schema, completed_at IS NULL
                      FROM expand_contract.status('ec_tap')$$,
                  $$VALUES ('01_note'::text, 'active'::text, 'ec_tap_01_note'::name, NULL::name, true)$$,
                  'status shows the open migration');
SELECT ok((SELECT count(*) FROM expand_contract.status() WHERE schema_name = 'ec_tap') = 1,
          'status() without argument lists every schema, once');

SELECT throws_ok($$SELECT expand_contract.start('02_other',
                     '{"operations": [{"add_column": {"table": "items",
                       "column": {"name": "other", "type": "text", "nullable": true}}}]}', 'ec_tap')$$,
                 '55000', NULL, 'a second start on the same schema raises 55000');
SELECT is((SELECT count(*)::int FROM expand_contract.migrations WHERE schema_name = 'ec_tap'),
          1, 'the refused start recorded nothing');

-- Both versions read the existing rows.
SELECT results_eq($$SELECT id, label FROM ec_tap.items ORDER BY id$$,
                  $$VALUES (1, 'one'), (2, 'two')$$, 'the old version still reads the table');
SELECT results_eq($$SELECT id, label, note FROM ec_tap_01_note.items ORDER BY id$$,
                  $$VALUES (1, 'one', NULL::text), (2, 'two', NULL::text)$$,
                  'the new version reads the table with the new column');

-- rollback: the version schema goes away, the data stays.
SELECT lives_ok($$SELECT expand_contract.rollback('ec_tap')$$, 'rollback succeeds');
SELECT hasnt_schema('ec_tap_01_note', 'rollback dropped the version schema');
SELECT is_empty($$SELECT * FROM expand_contract.migrations WHERE schema_name = 'ec_tap'$$,
                'a rolled back migration leaves no history');
SELECT hasnt_column('ec_tap', 'items', 'note', 'rollback removed the new column');
SELECT results_eq($$SELECT id, label FROM ec_tap.items ORDER BY id$$,
                  $$VALUES (1, 'one'), (2, 'two')$$, 'rollback kept the rows');
SELECT throws_ok($$SELECT expand_contract.rollback('ec_tap')$$, '55000', NULL,
                 'a second rollback raises 55000');

-- start again, then complete: contract phase.
SELECT is(expand_contract.start('01_note',
            '{"operations": [{"add_column": {"table": "items",
              "column": {"name": "note", "type": "text", "nullable": true}}}]}', 'ec_tap'),
          'ec_tap_01_note'::name, 'start works again after a rollback');
SELECT lives_ok($$SELECT expand_contract.complete('ec_tap')$$, 'complete succeeds');
SELECT has_column('ec_tap', 'items', 'note', 'after complete the table has the new column');
SELECT results_eq($$SELECT phase, completed_at IS NOT NULL FROM expand_contract.status('ec_tap')$$,
                  $$VALUES ('completed'::text, true)$$, 'status shows the completed migration');
SELECT throws_ok($$SELECT expand_contract.complete('ec_tap')$$, '55000', NULL,
                 'complete after complete raises 55000');

-- The next migration chains to the previous version; "version_schema" names it.
SELECT is(expand_contract.start('02_tag',
            '{"version_schema": "ec_tap_v2",
              "operations": [{"add_column": {"table": "items",
              "column": {"name": "tag", "type": "text", "nullable": true}}}]}', 'ec_tap'),
          'ec_tap_v2'::name, 'the document''s "version_schema" key names the version schema');
SELECT results_eq($$SELECT migration, version_schema, previous_version_schema
                      FROM expand_contract.status('ec_tap')$$,
                  $$VALUES ('02_tag'::text, 'ec_tap_v2'::name, 'ec_tap_01_note'::name)$$,
                  'status links the open migration to the previous version');
SELECT lives_ok($$SELECT expand_contract.complete('ec_tap')$$, 'the second migration completes');
SELECT results_eq($$SELECT id, label, note, tag FROM ec_tap.items ORDER BY id$$,
                  $$VALUES (1, 'one', NULL::text, NULL::text), (2, 'two', NULL, NULL)$$,
                  'the rows survived both migrations');

SELECT * FROM finish();
ROLLBACK;
