#!/usr/bin/env bash
# dump_restore_rules: an open migration whose sync rules call a user's
# function, cast to a user's type and read another table, on a table with a
# dropped column (a restore renumbers the columns after it), keeps working
# after pg_dump/pg_restore: both versions write, verify() finds nothing, and
# complete works. The same dump restored by the database owner, not a
# superuser, works too, and rolls back.
# Runs against the server named by PGHOST/PGPORT/PGUSER; exits non-zero on failure.
set -euo pipefail

src=ec_rules_source
dst=ec_rules_restored
by_owner=ec_rules_by_owner
app=ec_rules_app
dump="$(mktemp -d)/rules.dump"
chmod 755 "$(dirname "$dump")"
drop_all() {
    for db in "$src" "$dst" "$by_owner"; do dropdb --if-exists "$db"; done
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $app" >/dev/null
}
trap 'drop_all; rm -rf "$(dirname "$dump")"' EXIT

q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$1" -c "$2"; }
# as_app DB SQL: runs SQL (stdin) as the application's role.
as_app() { psql -X -q -v ON_ERROR_STOP=1 -At -U "$app" -d "$1"; }
fail() { echo "dump_restore_rules: $*"; exit 1; }

drop_all
q postgres "CREATE ROLE $app LOGIN"
createdb -O "$app" "$src"
q "$src" "CREATE EXTENSION expand_contract; CREATE SCHEMA shop AUTHORIZATION $app"
{ echo "SET search_path = shop;"; cat "$(dirname "$0")/../fixtures/orders_with_user_rules.sql"; } \
    | as_app "$src" >/dev/null

pg_dump -Fc -d "$src" -f "$dump"
chmod 644 "$dump"

# writes_both_versions DB: the old app and the new one write; each sees the
# other's rows in its own shape, and verify() finds nothing out of step.
writes_both_versions() {
    as_app "$1" >/dev/null <<'SQL'
SET search_path = shop;
INSERT INTO orders (id, state, carrier) VALUES (100, ' Paid', 'dhl');
UPDATE orders SET carrier = 'ups' WHERE id = 1;
SET search_path = shop_05_typed;
INSERT INTO orders (id, state, carrier, carrier_label) VALUES (101, 'shipped', 'ups', 'UPS');
UPDATE orders SET state = 'new' WHERE id = 2;
SQL
    [ "$(as_app "$1" <<<"SELECT state, carrier_label FROM shop_05_typed.orders WHERE id IN (1, 100) ORDER BY id")" \
        = "$(printf 'paid|UPS\npaid|DHL')" ] || fail "$1: the new version does not see the old app's writes"
    [ "$(as_app "$1" <<<"SELECT state FROM shop.orders WHERE id IN (2, 101) ORDER BY id")" \
        = "$(printf 'new\nshipped')" ] || fail "$1: the old version does not see the new app's writes"
    [ "$(as_app "$1" <<<"SELECT count(*) FROM expand_contract.verify('shop')")" = 0 ] \
        || fail "$1: verify() found rows out of step"
}

# Restored by a superuser: writes, backfill, complete.
createdb "$dst"
pg_restore --exit-on-error -d "$dst" "$dump"
writes_both_versions "$dst"
as_app "$dst" >/dev/null <<'SQL'
SELECT count(*) FROM expand_contract.backfill('shop');
SELECT expand_contract.complete('shop', force => true);
SQL
[ "$(q "$dst" "SELECT pg_catalog.format_type(atttypid, atttypmod) FROM pg_attribute
               WHERE attrelid = 'shop.orders'::regclass AND attname = 'state'")" = shop.stage ] \
    || fail "complete did not leave state of type shop.stage"
[ "$(q "$dst" "SELECT count(*) FROM shop.orders WHERE carrier_label IS DISTINCT FROM upper(carrier)")" = 0 ] \
    || fail "carrier_label out of step after complete"

# Restored by the database owner: the superuser creates the extension (it
# needs one), the owner restores everything else. The only errors are those
# of the extension's own schema and comment, which the superuser made.
createdb -O "$app" "$by_owner"
q "$by_owner" "CREATE EXTENSION expand_contract"
errors="$(pg_restore -U "$app" -d "$by_owner" "$dump" 2>&1 || true)"
unexpected="$(grep -E '^pg_restore: error' <<<"$errors" | grep -vE 'must be owner of extension|schema "expand_contract" already exists' || true)"
[ -z "$unexpected" ] || fail "restore by the database owner failed: $errors"
[ "$(q "$by_owner" "SELECT count(*) FROM expand_contract.migrations WHERE phase = 'active'")" = 1 ] \
    || fail "the owner's restore lost the open migration: $errors"
writes_both_versions "$by_owner"
as_app "$by_owner" >/dev/null <<<"SELECT expand_contract.rollback('shop')"
[ "$(q "$by_owner" "SELECT pg_catalog.format_type(atttypid, atttypmod) FROM pg_attribute
               WHERE attrelid = 'shop.orders'::regclass AND attname = 'state'")" = text ] \
    || fail "rollback did not leave state of type text"
echo "dump_restore_rules: rules with a user function, type and subquery survived both restores"
