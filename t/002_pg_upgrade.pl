# pg_upgrade with a migration open: the cluster is upgraded in place (to the
# same major version, the one installed; pg_upgrade keeps the OIDs of
# relations and types but gives functions new ones), and the migration, whose
# rules call a user's function, cast to a user's enum and read another table,
# keeps syncing both versions, verifies clean, finishes its backfill and
# completes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $old = PostgreSQL::Test::Cluster->new('old');
$old->init;
$old->start;
$old->safe_psql('postgres', 'CREATE EXTENSION expand_contract');
# The fixture scenarios share (tap.sh copies test/fixtures next to t/).
$old->safe_psql('postgres', slurp_file("$ENV{TESTDIR}/test/fixtures/orders_with_user_rules.sql"));
$old->stop;

my $new = PostgreSQL::Test::Cluster->new('new');
$new->init;
my $bindir = $old->config_data('--bindir');
command_ok(
    [ 'pg_upgrade', '--no-sync', '-d', $old->data_dir, '-D', $new->data_dir,
      '-b', $bindir, '-B', $bindir, '-s', $new->host, '-p', $old->port, '-P', $new->port ],
    'pg_upgrade of a cluster with an open migration');
$new->start;

$new->safe_psql('postgres', q{
    INSERT INTO orders (id, state, carrier) VALUES (1000, ' Paid', 'dhl');
    UPDATE orders SET carrier = 'ups' WHERE id = 1;
    SET search_path = public_05_typed;
    INSERT INTO orders (id, state, carrier, carrier_label) VALUES (1001, 'shipped', 'ups', 'UPS');
    UPDATE orders SET state = 'new' WHERE id = 2;
});
is($new->safe_psql('postgres',
    q{SELECT string_agg(state || ' ' || carrier_label, ', ' ORDER BY id) FROM public_05_typed.orders WHERE id IN (1, 1000)}),
   'paid UPS, paid DHL', 'the new version sees the old version\'s writes after the upgrade');
is($new->safe_psql('postgres',
    q{SELECT string_agg(state, ', ' ORDER BY id) FROM public.orders WHERE id IN (2, 1001)}),
   'new, shipped', 'the old version sees the new version\'s writes after the upgrade');
is($new->safe_psql('postgres', 'SELECT count(*) FROM expand_contract.verify()'),
   '0', 'verify() finds nothing out of step');
$new->safe_psql('postgres', 'CALL expand_contract.run_backfill()');
$new->safe_psql('postgres', 'SELECT expand_contract.complete(force => true)');
is($new->safe_psql('postgres',
    q{SELECT count(*) FROM orders WHERE carrier_label IS DISTINCT FROM upper(carrier) OR state::text <> lower(btrim(state::text))}),
   '0', 'every row is in step after complete');
is($new->safe_psql('postgres', q{SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                                 WHERE attrelid = 'orders'::regclass AND attname = 'state'}),
   'stage', 'complete left the new type');

$new->stop;
done_testing();
