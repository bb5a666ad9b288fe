# Autovacuum in a phase's way: after a backfill has rewritten every row,
# autovacuum works on the table for a long while, holding a lock that
# conflicts with the ACCESS EXCLUSIVE a phase needs. PostgreSQL cancels such
# an autovacuum for a lock request that has waited deadlock_timeout, but a
# phase gives up sooner (phase_lock_timeout) and retries, so it would never
# be cancelled and the phase would fail at its deadline. The phase cancels
# it itself, says so, and goes on; autovacuum comes back later.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('autovacuum');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum_naptime = 1s\n");
$node->start;
# A table autovacuum visits at once and slowly: 100 ms after every page.
$node->safe_psql('postgres', q{
    CREATE EXTENSION expand_contract;
    CREATE TABLE readings (id integer PRIMARY KEY, celsius numeric NOT NULL)
      WITH (autovacuum_vacuum_threshold = 0, autovacuum_vacuum_scale_factor = 0,
            autovacuum_vacuum_cost_delay = 100, autovacuum_vacuum_cost_limit = 1);
    INSERT INTO readings SELECT g, g % 40 FROM generate_series(1, 50000) g;
    DELETE FROM readings WHERE id % 2 = 0;
    CREATE FUNCTION autovacuum_on_readings() RETURNS boolean LANGUAGE sql AS $$
        SELECT EXISTS (SELECT FROM pg_stat_activity
                        WHERE backend_type = 'autovacuum worker' AND query LIKE '%readings%')
    $$;
});

my $options = q{SET expand_contract.phase_lock_deadline = '10s'; SET expand_contract.open_new_version = at_start; };
my $start = q{SELECT FROM expand_contract.start('02_fahrenheit', '{"operations": [{"add_column": {"table": "readings",
  "column": {"name": "fahrenheit", "type": "numeric", "nullable": true}, "up": "celsius * 9 / 5 + 32"}}]}')};

# Runs phase (SQL) once autovacuum works on readings: it must succeed and
# say that it cancelled the autovacuum.
sub phase_past_autovacuum
{
	my ($phase, $sql) = @_;
	ok($node->poll_query_until('postgres', 'SELECT autovacuum_on_readings()'),
		"$phase: autovacuum works on readings");
	my ($stdout, $stderr) = ('', '');
	my $ret = $node->psql('postgres', $options . $sql, stdout => \$stdout, stderr => \$stderr);
	is($ret, 0, "$phase succeeds within its deadline") or diag($stderr);
	like($stderr, qr/\Q$phase\E\(\) cancelled the autovacuum of "readings" \(pid \d+\), which held a lock it needs/,
		"$phase says it cancelled the autovacuum");
}

phase_past_autovacuum('start', $start);
is($node->safe_psql('postgres', q{SELECT phase FROM expand_contract.migrations}), 'active',
	'the migration is open');
$node->safe_psql('postgres', q{
    INSERT INTO readings VALUES (100001, 10);
    INSERT INTO public_02_fahrenheit.readings VALUES (100002, 20, 68);
});
phase_past_autovacuum('rollback', q{SELECT expand_contract.rollback()});

phase_past_autovacuum('start', $start);
$node->safe_psql('postgres', q{CALL expand_contract.run_backfill()});
phase_past_autovacuum('complete', q{SELECT expand_contract.complete()});
is($node->safe_psql('postgres',
	q{SELECT count(*) FILTER (WHERE fahrenheit IS DISTINCT FROM celsius * 9 / 5 + 32) FROM readings}),
	'0', 'every row is filled');

# A reporting transaction is not an autovacuum: the phase waits for it and,
# past its deadline, gives up as before, cancelling nobody.
$node->safe_psql('postgres', q{ALTER TABLE readings SET (autovacuum_enabled = false)});
my $reader = $node->background_psql('postgres');
$reader->query_safe(q{BEGIN; SELECT count(*) FROM readings;});
my ($stdout, $stderr) = ('', '');
$node->psql('postgres', q{SET expand_contract.phase_lock_deadline = '1s';
    SELECT FROM expand_contract.start('03_kelvin', '{"operations": [{"add_column": {"table": "readings",
      "column": {"name": "kelvin", "type": "numeric", "nullable": true}, "up": "celsius + 273.15"}}]}')},
	stdout => \$stdout, stderr => \$stderr);
like($stderr, qr/could not lock the tables of schema "public" within expand_contract.phase_lock_deadline/,
	'behind a reader, the phase gives up at its deadline');
unlike($stderr, qr/cancelled/, 'and cancels nobody');
$reader->query_safe('COMMIT');
$reader->quit;

done_testing();
