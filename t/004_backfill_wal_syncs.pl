# The adaptive backfill (expand_contract.backfill_max_wal_sync_ms): on a
# durable cluster, where every commit waits for a WAL sync, a backfill slows
# down while the cluster's syncs (pg_stat_wal, with track_wal_io_timing) take
# longer on average than the setting, and finishes all the same. Without
# track_wal_io_timing it warns and runs unthrottled. (The regression tests'
# cluster runs with fsync off, which counts no syncs at all.)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('durable');
$node->init;
$node->append_conf('postgresql.conf', "fsync = on\nsynchronous_commit = on\n");
$node->start;
$node->safe_psql('postgres', q{
    CREATE EXTENSION expand_contract;
    CREATE TABLE readings (id integer PRIMARY KEY, celsius numeric NOT NULL);
    INSERT INTO readings SELECT g, g % 40 FROM generate_series(1, 3000) g;
    CREATE FUNCTION start() RETURNS void LANGUAGE sql AS $$
        SELECT FROM expand_contract.start('02_fahrenheit', '{"operations": [{"add_column": {"table": "readings",
          "column": {"name": "fahrenheit", "type": "numeric", "nullable": true}, "up": "celsius * 9 / 5 + 32"}}]}')
    $$;
});

# Batches of 50 rows, 30 ms apart: about 2 s unthrottled, so the runner reads
# pg_stat_wal at least twice.
my $backfill = q{CALL expand_contract.run_backfill('public', 50, 30)};
my $run = q{SELECT max_wal_sync_ms || CASE WHEN throttled_ms > 0 THEN ' paused' ELSE ' never paused' END
               FROM expand_contract.backfill_runners};

$node->safe_psql('postgres', 'SELECT start()');
my ($stdout, $stderr) = ('', '');
$node->psql('postgres', "SET expand_contract.backfill_max_wal_sync_ms = 0.001; $backfill",
    stdout => \$stdout, stderr => \$stderr, on_error_die => 1);
like($stderr, qr/backfill_max_wal_sync_ms needs track_wal_io_timing = on/,
     'without track_wal_io_timing the runner warns');
is($node->safe_psql('postgres', $run), '0.001 never paused', 'and does not slow down');
$node->safe_psql('postgres', 'SELECT expand_contract.rollback()');

# Every process must time its syncs (the backfill's own commits do not wait
# for theirs: the WAL writer syncs them), so it is set for the cluster.
$node->safe_psql('postgres', 'ALTER SYSTEM SET track_wal_io_timing = on');
$node->reload;
$node->safe_psql('postgres', 'SELECT start()');
$node->psql('postgres', "SET expand_contract.backfill_max_wal_sync_ms = 0.001; $backfill",
    stdout => \$stdout, stderr => \$stderr, on_error_die => 1);
like($stderr, qr/backfill slows to \d+ rows\/s: WAL syncs took [\d.]+ ms on average/,
     'with it, syncs longer than the setting slow the backfill down');
is($node->safe_psql('postgres', $run), '0.001 paused', 'the runner paused for it (throttled_ms)');
is($node->safe_psql('postgres',
    'SELECT count(*) FILTER (WHERE fahrenheit = celsius * 9 / 5 + 32) FROM public_02_fahrenheit.readings'),
   '3000', 'and filled every row');

# A generous setting never slows it.
$node->safe_psql('postgres', 'SELECT expand_contract.rollback()');
$node->safe_psql('postgres', 'SELECT start()');
$node->psql('postgres', "SET expand_contract.backfill_max_wal_sync_ms = 5000; $backfill",
    stdout => \$stdout, stderr => \$stderr, on_error_die => 1);
unlike($stderr, qr/backfill slows/, 'syncs shorter than the setting leave it alone');
is($node->safe_psql('postgres', $run), '5000 never paused', 'no pause');
$node->safe_psql('postgres', 'SELECT expand_contract.complete()');
is($node->safe_psql('postgres', 'SELECT count(*) FROM readings WHERE fahrenheit IS NULL'),
   '0', 'completed with every row filled');

$node->stop;
done_testing();
