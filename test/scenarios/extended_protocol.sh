#!/usr/bin/env bash
# extended_protocol: drivers that use the extended query protocol (JDBC,
# pgx, psycopg 3 ...) run the phases in autocommit like psql does; only an
# explicit transaction block is refused (25001). Driven by pgbench -M
# extended against the suite's cluster, in a database of its own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

NAME=extended_protocol
PGBENCH="$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --bindir)/pgbench"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"; dropdb --if-exists extended_protocol >/dev/null 2>&1 || true' EXIT
fail() { echo "$NAME: $*"; exit 1; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d extended_protocol -c "$1"; }
# Runs one pgbench script once over the extended protocol; prints its errors.
extended() {
    printf '%s\n' "$1" >"$WORK/script.sql"
    "$PGBENCH" -n -M extended -t 1 -f "$WORK/script.sql" extended_protocol 2>&1 | grep -o 'ERROR: .*' || true
}

createdb extended_protocol
q "CREATE EXTENSION expand_contract"
q "CREATE TABLE bookings (id int PRIMARY KEY, status text NOT NULL)"
q "INSERT INTO bookings VALUES (1, 'booked')"

err="$(extended "SELECT expand_contract.start('02_note', '{\"operations\": [{\"add_column\": {\"table\": \"bookings\", \"column\": {\"name\": \"note\", \"type\": \"text\", \"nullable\": true}}}]}');")"
[ -z "$err" ] || fail "start() in autocommit was refused: $err"
[ "$(q "SELECT phase FROM expand_contract.migrations WHERE name = '02_note'")" = active ] \
    || fail "start() did not open the migration"

err="$(extended "BEGIN;
SELECT expand_contract.rollback();
END;")"
echo "$err" | grep -q 'must not run inside a transaction block' || fail "rollback() in BEGIN was not refused: $err"

err="$(extended "SELECT expand_contract.complete();")"
[ -z "$err" ] || fail "complete() in autocommit was refused: $err"
[ "$(q "SELECT phase FROM expand_contract.migrations WHERE name = '02_note'")" = completed ] \
    || fail "complete() did not complete the migration"
echo "$NAME: ok"
