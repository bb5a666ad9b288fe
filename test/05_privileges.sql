-- pgTAP: only the owner of a table may migrate it (SQLSTATE 42501 otherwise).
BEGIN;
-- pgTAP runs in one transaction: let the phases run inside it.
SET LOCAL expand_contract.phase_in_transaction_block = on;
SELECT plan(10);

CREATE ROLE ec_tap_intruder NOLOGIN;
CREATE SCHEMA ec_tap_priv;
CREATE TABLE ec_tap_priv.accounts (id integer PRIMARY KEY, email text NOT NULL);
INSERT INTO ec_tap_priv.accounts VALUES (1, 'a@example.org');
GRANT USAGE ON SCHEMA ec_tap_priv TO ec_tap_intruder;
GRANT SELECT, INSERT, UPDATE, DELETE ON ec_tap_priv.accounts TO ec_tap_intruder;
-- A table the intruder does own, to try attaching the sync trigger by hand.
CREATE TABLE ec_tap_priv.own (id integer PRIMARY KEY);
ALTER TABLE ec_tap_priv.own OWNER TO ec_tap_intruder;

SELECT ok(NOT pg_has_role('ec_tap_intruder', 'postgres', 'MEMBER'),
          'the intruder is not a member of the table owner');

SET ROLE ec_tap_intruder;
SELECT throws_ok($$SELECT expand_contract.start('01_name',
                     '{"operations": [{"add_column": {"table": "accounts",
                       "column": {"name": "display_name", "type": "text", "nullable": true}}}]}',
                     'ec_tap_priv')$$,
                 '42501', NULL, 'start on a table the caller does not own raises 42501');
-- Anyone may attach sync_trigger to a table of their own (a restore by the
-- database owner does), but without rules it reads it refuses every write.
SELECT lives_ok($$CREATE TRIGGER by_hand BEFORE INSERT ON ec_tap_priv.own
                    FOR EACH ROW EXECUTE FUNCTION expand_contract.sync_trigger()$$,
                'sync_trigger may be attached by hand to a table of one''s own');
SELECT throws_ok($$INSERT INTO ec_tap_priv.own VALUES (1)$$,
                 '39P01', NULL, 'a sync trigger without rules refuses every write');
RESET ROLE;
SELECT hasnt_column('ec_tap_priv', 'accounts', 'display_name', 'the refused start changed nothing');

-- The owner opens a migration; the intruder may neither finish nor undo it.
SELECT is(expand_contract.start('01_name',
            '{"operations": [{"add_column": {"table": "accounts",
              "column": {"name": "display_name", "type": "text", "nullable": true}}}]}',
            'ec_tap_priv'),
          'ec_tap_priv_01_name'::name, 'the owner can start');
SET ROLE ec_tap_intruder;
SELECT throws_ok($$SELECT expand_contract.complete('ec_tap_priv')$$, '42501', NULL,
                 'complete by a non-owner raises 42501');
SELECT throws_ok($$SELECT expand_contract.rollback('ec_tap_priv')$$, '42501', NULL,
                 'rollback by a non-owner raises 42501');
RESET ROLE;
SELECT results_eq($$SELECT phase FROM expand_contract.status('ec_tap_priv')$$,
                  $$VALUES ('active'::text)$$, 'the migration is still open');
SELECT lives_ok($$SELECT expand_contract.rollback('ec_tap_priv')$$, 'the owner can roll back');

SELECT * FROM finish();
ROLLBACK;
