# WAL segment files made ahead of the backfill's WAL. The process that first
# writes into a segment file that does not exist yet fills it with zeros and
# syncs it while every commit in the cluster waits (WALWriteLock); a
# backfill writes far more WAL than the segments a checkpoint recycled, so
# its runner makes the next ones itself, between batches, and writers only
# open them. On a fresh cluster no segment lies ahead of the insert position;
# after a backfill at least two do.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('fresh');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
    CREATE EXTENSION expand_contract;
    CREATE TABLE readings (id integer PRIMARY KEY, celsius numeric NOT NULL);
    INSERT INTO readings SELECT g, g % 40 FROM generate_series(1, 20000) g;
    SELECT FROM expand_contract.start('02_fahrenheit', '{"operations": [{"add_column": {"table": "readings",
      "column": {"name": "fahrenheit", "type": "numeric", "nullable": true}, "up": "celsius * 9 / 5 + 32"}}]}');
});

my $segments_ahead = q{SELECT count(*) FROM pg_ls_waldir()
                        WHERE name ~ '^[0-9A-F]{24}$' AND name > pg_walfile_name(pg_current_wal_insert_lsn())};
cmp_ok($node->safe_psql('postgres', $segments_ahead), '<', 2,
       'a fresh cluster has fewer than two segment files ahead of its WAL');

$node->safe_psql('postgres', 'CALL expand_contract.run_backfill()');
cmp_ok($node->safe_psql('postgres', $segments_ahead), '>=', 2,
       'after a backfill at least two are ready');

# The worker does the same, once the WAL has used up the segments made so
# far (each switch starts the next segment), and the migration goes through.
$node->safe_psql('postgres', 'SELECT expand_contract.rollback()');
$node->safe_psql('postgres', 'CREATE TABLE scratch (n integer)');
$node->safe_psql('postgres', "INSERT INTO scratch VALUES ($_); SELECT pg_switch_wal()") for 1 .. 4;
cmp_ok($node->safe_psql('postgres', $segments_ahead), '<', 2, 'WAL switches used them up');
$node->safe_psql('postgres', q{SELECT FROM expand_contract.start('02_fahrenheit', '{"operations": [{"add_column":
    {"table": "readings", "column": {"name": "fahrenheit", "type": "numeric", "nullable": true},
     "up": "celsius * 9 / 5 + 32"}}]}')});
$node->safe_psql('postgres', 'SELECT expand_contract.start_backfill()');
$node->poll_query_until('postgres',
    q{SELECT bool_and(done) FROM expand_contract.backfill_progress}) or die 'backfill did not finish';
cmp_ok($node->safe_psql('postgres', $segments_ahead), '>=', 2, 'the worker keeps them ready too');
$node->safe_psql('postgres', 'SELECT expand_contract.complete()');
is($node->safe_psql('postgres', 'SELECT count(*) FROM readings WHERE fahrenheit IS DISTINCT FROM celsius * 9 / 5 + 32'),
   '0', 'completed with every row filled');

$node->stop;
done_testing();
