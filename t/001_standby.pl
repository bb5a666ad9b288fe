# A hot standby during a migration: the version schemas, views and rows match
# the primary's, and the read-only functions (status, verify, backfill_status,
# index_build_status) work there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', q{
    CREATE EXTENSION expand_contract;
    CREATE TABLE bookings (id integer PRIMARY KEY, status text NOT NULL);
    INSERT INTO bookings SELECT g, CASE WHEN g % 3 = 0 THEN 'attended_registered' ELSE 'booked' END
      FROM generate_series(1, 300) g;
    SELECT expand_contract.start('02_registered', '{"operations": [{"add_column": {"table": "bookings",
      "column": {"name": "registered", "type": "boolean", "nullable": true},
      "up": "status = ''attended_registered''"}}]}');
});
$primary->safe_psql('postgres', 'CALL expand_contract.run_backfill()');

$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;
$primary->safe_psql('postgres', q{INSERT INTO bookings VALUES (301, 'attended_registered')});
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');
is($standby->safe_psql('postgres',
    'SELECT count(*) FILTER (WHERE registered) FROM public_02_registered.bookings'),
   '101', 'the new version reads the same rows on the standby');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM expand_contract.verify()'),
   '0', 'verify() works on the standby and finds nothing');
is($standby->safe_psql('postgres', q{SELECT migration || ' ' || phase FROM expand_contract.status('public')}),
   '02_registered active', 'status() works on the standby');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM expand_contract.index_build_status'),
   '0', 'index_build_status works on the standby');

$primary->safe_psql('postgres', 'SELECT expand_contract.complete()');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', q{SELECT phase FROM expand_contract.status('public')}),
   'completed', 'the completed migration shows on the standby');
is($standby->safe_psql('postgres', 'SELECT count(*) FILTER (WHERE registered) FROM bookings'),
   '101', 'the contracted table on the standby');

$standby->stop;
$primary->stop;
done_testing();
