# A publisher and its logical subscribers during migrations: each phase of
# the publisher (start, the new version opening, complete, rollback) is
# applied on the subscriber by its apply worker at the same point of the
# change stream, so the subscription never stops and every row written by
# either version arrives. One subscriber takes a FOR TABLE / FOR TABLES IN
# SCHEMA publication that carries the migration catalog (publish_catalog),
# the other a FOR ALL TABLES publication, which carries every catalog table.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $publisher = PostgreSQL::Test::Cluster->new('publisher');
$publisher->init(allows_streaming => 'logical');
$publisher->append_conf('postgresql.conf', 'max_worker_processes = 16');
$publisher->start;

my @subscribers;
for my $name ('subscriber', 'all_tables')
{
    my $node = PostgreSQL::Test::Cluster->new($name);
    $node->init;
    $node->append_conf('postgresql.conf', 'max_worker_processes = 16');
    $node->start;
    push @subscribers, $node;
}
my ($subscriber, $all_tables) = @subscribers;

# The same schema everywhere, as logical replication needs; rows only on
# the publisher.
for my $node ($publisher, @subscribers)
{
    $node->safe_psql('postgres', q{
        CREATE EXTENSION expand_contract;
        CREATE TABLE bookings (id integer PRIMARY KEY, status text NOT NULL, note text);
        CREATE SCHEMA shop;
        CREATE TABLE shop.items (id integer PRIMARY KEY, price_cents integer NOT NULL);
    });
}
$publisher->safe_psql('postgres', q{
    INSERT INTO bookings SELECT g, CASE WHEN g % 3 = 0 THEN 'attended_registered' ELSE 'booked' END,
                                'note ' || g
      FROM generate_series(1, 3000) g;
    INSERT INTO shop.items SELECT g, g * 10 FROM generate_series(1, 500) g;
});

my $registered = q{{"operations": [
    {"add_column": {"table": "bookings",
                    "column": {"name": "registered", "type": "boolean", "nullable": true},
                    "up": "status = 'attended_registered'"}},
    {"alter_column": {"table": "bookings", "column": "note", "type": "varchar(40)",
                      "up": "substr(note, 1, 40)", "down": "note"}},
    {"create_index": {"name": "bookings_status_idx", "table": "bookings", "columns": [{"column": "status"}]}}]}};

sub start_sql
{
    my ($name, $document, $schema) = @_;
    $schema //= 'public';
    return "SELECT expand_contract.start('$name', \$doc\$$document\$doc\$, '$schema')";
}

# --- start refuses what would stop a subscription -------------------------
$publisher->safe_psql('postgres', 'CREATE PUBLICATION bare FOR TABLE bookings');
my ($rc, $out, $err) = $publisher->psql('postgres',
    start_sql('02_registered', $registered), extra_params => ['-v', 'VERBOSITY=verbose']);
like($err, qr/55000.*"public.bookings" is published by "bare" without the migration catalog/s,
     'start refuses a published table whose publication lacks the catalog (55000)');
like($err, qr/publish_catalog\('bare'\)/, 'and says how to add it');
$publisher->safe_psql('postgres', q{
    DROP PUBLICATION bare;
    CREATE PUBLICATION some_columns FOR TABLE bookings (id, status);
    SELECT expand_contract.publish_catalog('some_columns');
});
($rc, $out, $err) = $publisher->psql('postgres',
    start_sql('02_registered', $registered), extra_params => ['-v', 'VERBOSITY=verbose']);
like($err, qr/0A000.*publication "some_columns" publishes only some columns of "public.bookings"/s,
     'start refuses a column-list publication (0A000)');
$publisher->safe_psql('postgres', 'DROP PUBLICATION some_columns');
is($publisher->safe_psql('postgres', 'SELECT count(*) FROM expand_contract.migrations'), '0',
   'the refused starts left nothing');

# --- the publications and subscriptions ------------------------------------
$publisher->safe_psql('postgres', q{
    CREATE PUBLICATION app FOR TABLE bookings, TABLES IN SCHEMA shop;
    SELECT expand_contract.publish_catalog('app');
    CREATE PUBLICATION everything FOR ALL TABLES;
});
my $connstr = $publisher->connstr . ' dbname=postgres';
$subscriber->safe_psql('postgres', "CREATE SUBSCRIPTION app CONNECTION '$connstr' PUBLICATION app");
$all_tables->safe_psql('postgres', "CREATE SUBSCRIPTION everything CONNECTION '$connstr' PUBLICATION everything");
$subscriber->wait_for_subscription_sync($publisher, 'app');

# A subscriber without the extension cannot take a publication that carries
# the catalog: it learns it when it subscribes, not at the first migration.
my $bare = PostgreSQL::Test::Cluster->new('without_extension');
$bare->init;
$bare->start;
$bare->safe_psql('postgres', q{
    CREATE TABLE bookings (id integer PRIMARY KEY, status text NOT NULL, note text);
    CREATE SCHEMA shop;
    CREATE TABLE shop.items (id integer PRIMARY KEY, price_cents integer NOT NULL);
});
($rc, $out, $err) = $bare->psql('postgres',
    "CREATE SUBSCRIPTION app_bare CONNECTION '$connstr' PUBLICATION app WITH (create_slot = false, enabled = false)");
like($err, qr/schema "expand_contract" does not exist/,
     'a subscriber without expand_contract is refused when it subscribes');
$bare->stop;
$all_tables->wait_for_subscription_sync($publisher, 'everything');

sub caught_up
{
    $publisher->wait_for_catchup('app');
    $publisher->wait_for_catchup('everything');
}

# Writes of the old version (the tables, no version set) and, once it is
# open, of the new one (its version schema's views).
sub write_old_version
{
    my ($first) = @_;
    $publisher->safe_psql('postgres', qq{
        INSERT INTO bookings SELECT g, 'booked', 'old ' || g FROM generate_series($first, $first + 4) g;
        UPDATE bookings SET status = 'attended_registered' WHERE id % 97 = $first % 97;
        DELETE FROM bookings WHERE id = $first - 10000;
    });
}

sub write_both_versions
{
    my ($new_schema, $first) = @_;
    write_old_version($first);
    $publisher->safe_psql('postgres', qq{
        INSERT INTO $new_schema.bookings (id, status, note, registered)
          SELECT g, 'attended_registered', 'new ' || g, true FROM generate_series($first + 5, $first + 9) g;
        UPDATE $new_schema.bookings SET note = 'changed by the new version' WHERE id % 89 = $first % 89;
    });
}

# --- start, backfill with both versions writing, complete ------------------
# A reporting transaction on one subscriber holds a snapshot throughout: its
# own index builder (CREATE INDEX CONCURRENTLY waits for older snapshots)
# cannot finish before complete arrives, which then builds the index itself.
my $report = $all_tables->background_psql('postgres');
$report->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM shop.items;');

$publisher->safe_psql('postgres', start_sql('02_registered', $registered));
$publisher->safe_psql('postgres', q{CALL expand_contract.wait_for_index_builds()});
write_old_version(10_000);
caught_up();
for my $node (@subscribers)
{
    my $name = $node->name;
    is($node->safe_psql('postgres', q{SELECT migration || ' ' || phase FROM expand_contract.status('public')}),
       '02_registered active', "$name: start was applied by the apply worker");
    my ($rc, $out, $err) = $node->psql('postgres', 'SELECT count(*) FROM public_02_registered.bookings');
    like($err, qr/is not open yet/, "$name: its new version waits for the publisher's backfill");
}

# The publisher's backfill batches arrive as rows; the old version writes
# meanwhile; the new version opens when the publisher's does.
$publisher->safe_psql('postgres', q{SELECT expand_contract.start_backfill('public', 100)});
for my $round (1 .. 10)
{
    write_old_version(20_000 + 100 * $round);
}
$publisher->poll_query_until('postgres',
    q{SELECT open_steps = '[]' FROM expand_contract.migrations WHERE phase = 'active'})
  or die 'the new version did not open';
write_both_versions('public_02_registered', 30_000);
write_both_versions('public_02_registered', 30_100);
caught_up();
for my $node (@subscribers)
{
    my $name = $node->name;
    is($node->safe_psql('postgres', q{SELECT count(*) FILTER (WHERE registered) FROM public_02_registered.bookings}),
       $publisher->safe_psql('postgres', q{SELECT count(*) FILTER (WHERE registered) FROM public_02_registered.bookings}),
       "$name: the new version opened with the publisher's, every row backfilled");
}
$publisher->safe_psql('postgres', q{SELECT expand_contract.complete()});
$publisher->safe_psql('postgres', q{
    INSERT INTO bookings (id, status, note, registered) VALUES (40000, 'booked', 'after complete', false);
});
caught_up();

my $rows = q{SELECT count(*) || ' ' || md5(string_agg(b::text, '|' ORDER BY id)) FROM bookings b};
my $expected = $publisher->safe_psql('postgres', $rows);
for my $node (@subscribers)
{
    my $name = $node->name;
    is($node->safe_psql('postgres', $rows), $expected, "$name: every row of both versions arrived");
    is($node->safe_psql('postgres', q{SELECT phase FROM expand_contract.status('public')}),
       'completed', "$name: complete was applied");
    is($node->safe_psql('postgres', q{SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                                       WHERE attrelid = 'bookings'::regclass AND attname = 'note'}),
       'character varying(40)', "$name: the contracted shape");
    is($node->safe_psql('postgres', q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'bookings_status_idx'::regclass}),
       't', "$name: the migration's index is there and valid");
}
is($all_tables->safe_psql('postgres', q{SELECT state FROM expand_contract.index_builds}),
   'valid', 'all_tables: the build the reporting transaction held up was finished by complete');
$report->quit;

# --- a migration of the schema published FOR TABLES IN SCHEMA, rolled back ---
my $price = q{{"operations": [{"add_column": {"table": "items",
    "column": {"name": "price", "type": "numeric(10,2)", "nullable": true},
    "up": "price_cents / 100.0"}}]}};
$publisher->safe_psql('postgres', start_sql('02_price', $price, 'shop'));
$publisher->safe_psql('postgres', q{INSERT INTO shop.items VALUES (1001, 1234)});
$publisher->safe_psql('postgres', q{CALL expand_contract.run_backfill('shop')});
$publisher->safe_psql('postgres', q{
    INSERT INTO shop_02_price.items (id, price_cents, price) VALUES (1002, 999, 9.99);
    UPDATE shop.items SET price_cents = price_cents + 1 WHERE id <= 10;
});
caught_up();
is($subscriber->safe_psql('postgres', q{SELECT price FROM shop_02_price.items WHERE id = 1001}),
   '12.34', 'the new version of the schema publication reads a row the old one wrote');
$publisher->safe_psql('postgres', q{SELECT expand_contract.rollback('shop')});
$publisher->safe_psql('postgres', q{INSERT INTO shop.items VALUES (1003, 5)});
caught_up();

my $items = q{SELECT count(*) || ' ' || md5(string_agg(i::text, '|' ORDER BY id)) FROM shop.items i};
$expected = $publisher->safe_psql('postgres', $items);
for my $node (@subscribers)
{
    my $name = $node->name;
    is($node->safe_psql('postgres', $items), $expected, "$name: every row written around the rollback arrived");
    is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_namespace WHERE nspname = 'shop_02_price'}),
       '0', "$name: rollback was applied");
    is($node->safe_psql('postgres', q{SELECT count(*) FROM expand_contract.migrations WHERE schema_name = 'shop'}),
       '0', "$name: and forgotten, as on the publisher");
    is($node->safe_psql('postgres', q{SELECT sum(apply_error_count + sync_error_count) FROM pg_stat_subscription_stats}),
       '0', "$name: the subscription never stopped");
}

# --- a migration that creates a table ---------------------------------------
# The subscriber's start creates it too; its rows reach the subscription once
# the subscriber refreshes it (FOR TABLES IN SCHEMA and FOR ALL TABLES
# publish it at once on the publisher), and the refresh copies them.
my $orders = q{{"operations": [{"create_table": {"name": "orders", "columns": [
    {"name": "id", "type": "integer", "pk": true},
    {"name": "item", "type": "integer", "nullable": false}]}}]}};
$publisher->safe_psql('postgres', start_sql('03_orders', $orders, 'shop'));
$publisher->safe_psql('postgres', q{
    INSERT INTO shop_03_orders.orders SELECT g, g % 500 + 1 FROM generate_series(1, 200) g;
    INSERT INTO shop.items VALUES (1004, 7);
});
caught_up();
for my $node (@subscribers)
{
    my $name = $node->name;
    is($node->safe_psql('postgres', q{SELECT count(*) FROM shop.orders}), '0',
       "$name: the new table is there, its rows wait for a refresh");
    my $subscription = $node == $subscriber ? 'app' : 'everything';
    $node->safe_psql('postgres', "ALTER SUBSCRIPTION $subscription REFRESH PUBLICATION");
    $node->wait_for_subscription_sync($publisher, $subscription);
}
$publisher->safe_psql('postgres', q{
    INSERT INTO shop_03_orders.orders VALUES (201, 3);
    SELECT expand_contract.complete('shop');
    INSERT INTO shop.orders VALUES (202, 4);
});
caught_up();
my $order_rows = q{SELECT count(*) || ' ' || md5(string_agg(o::text, '|' ORDER BY id)) FROM shop.orders o};
$expected = $publisher->safe_psql('postgres', $order_rows);
for my $node (@subscribers)
{
    my $name = $node->name;
    is($node->safe_psql('postgres', $order_rows), $expected, "$name: every row of the new table arrived");
    is($node->safe_psql('postgres', q{SELECT phase FROM expand_contract.status('shop') WHERE migration = '03_orders'}),
       'completed', "$name: the migration that made it completed");
    is($node->safe_psql('postgres', $items), $publisher->safe_psql('postgres', $items),
       "$name: and the schema's other tables kept up");
    is($node->safe_psql('postgres', q{SELECT sum(apply_error_count + sync_error_count) FROM pg_stat_subscription_stats}),
       '0', "$name: the subscription still never stopped");
}

# The subscriber's catalog is its own: nothing the FOR ALL TABLES
# publication carried of the publisher's backfill or builds is there.
is($all_tables->safe_psql('postgres', q{SELECT count(*) FROM expand_contract.backfill_runs}),
   '0', 'all_tables: the publisher\'s backfill runs are not taken for the subscriber\'s');

$_->stop for (@subscribers, $publisher);
done_testing();
