#!/usr/bin/env bash
# old_client_gate: complete() refuses while the version it retires still
# writes. With the library in shared_preload_libraries, every write is
# noted per version (time of the last, sessions within the grace period):
#   - the extension's own writes (backfill batches) and new-version writes do
#     not count;
#   - after an old-version write (UPDATE or INSERT), complete raises 55000
#     naming the schema and how long ago its old version wrote, and status()
#     shows the old version's recent writers;
#   - after the grace period a plain complete goes through, and
#     complete(force => true) does at once.
# Without shared_preload_libraries nothing is recorded and complete cannot
# tell (the rest of the suite runs that way).
#
# Runs on a throwaway cluster of its own, with the library preloaded.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
EC_CLUSTER_PORT="${EC_CLUSTER_PORT:-54370}"
EC_CLUSTER_CONF="shared_preload_libraries = 'expand_contract'"
# shellcheck source=scripts/cluster.sh
source scripts/cluster.sh >/dev/null

NAME=old_client_gate
fail() { echo "$NAME: $*"; exit 1; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d gate -c "$1"; }
# The SQLSTATE of a statement that must fail, or "ok".
state_of() {
    psql -X -q -At -d gate -c "DO \$\$ BEGIN EXECUTE \$s\$$1\$s\$; RAISE NOTICE 'state=ok';
        EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'state=%', SQLSTATE; END \$\$" 2>&1 | sed -n 's/.*state=//p'
}
migrate() {
    q "SELECT expand_contract.start('$1', '{\"operations\": [{\"add_column\": {\"table\": \"bookings\",
        \"column\": {\"name\": \"$2\", \"type\": \"boolean\", \"nullable\": true},
        \"up\": \"status = ''attended_registered''\"}}]}')" >/dev/null
}

createdb gate
q "CREATE EXTENSION expand_contract" >/dev/null
q "CREATE TABLE bookings (id int PRIMARY KEY, status text NOT NULL)" >/dev/null
q "INSERT INTO bookings SELECT g, 'booked' FROM generate_series(1, 100) g" >/dev/null

# The extension's own writes and the new version's do not count.
migrate 02_registered registered
PGOPTIONS="-c client_min_messages=warning" q "CALL expand_contract.run_backfill()" >/dev/null
q "UPDATE public_02_registered.bookings SET registered = true WHERE id = 1" >/dev/null
[ -z "$(q "SELECT old_version_last_write FROM expand_contract.status('public')")" ] \
    || fail "the backfill or a new-version write counted as the old version's"
[ "$(q "SELECT count(*) FROM expand_contract.version_writes('public_02_registered') WHERE version = 'new'")" = 1 ] \
    || fail "the new version's write was not noted"
[ "$(state_of "SELECT expand_contract.complete()")" = ok ] || fail "complete refused without old writers"

# An old-version write closes the gate: 55000, and status() says who wrote.
migrate 03_attended attended
q "UPDATE bookings SET status = 'attended_registered' WHERE id = 2" >/dev/null
[ "$(q "SELECT old_version_writers FROM expand_contract.status('public')")" = 1 ] \
    || fail "status() does not show the old version's writer"
[ "$(state_of "SELECT expand_contract.complete()")" = 55000 ] || fail "complete did not refuse"
msg="$(psql -X -q -d gate -c "SELECT expand_contract.complete()" 2>&1 || true)"
echo "$msg" | grep -q 'the old version of schema "public" wrote' || fail "unexpected message: $msg"
# ... until the grace period has passed.
PGOPTIONS="-c client_min_messages=warning" \
    q "SET expand_contract.old_version_grace = '1s'; SELECT pg_sleep(1.2); SELECT expand_contract.complete()" \
    >/dev/null || fail "complete refused after the grace period"

# An old-version insert counts too; force completes anyway.
migrate 04_booked booked
q "INSERT INTO bookings VALUES (101, 'booked')" >/dev/null
[ "$(state_of "SELECT expand_contract.complete()")" = 55000 ] || fail "an old-version insert did not count"
[ "$(state_of "SELECT expand_contract.complete(force => true)")" = ok ] || fail "complete(force) refused"
[ "$(q "SELECT count(*) FROM expand_contract.migrations WHERE phase = 'completed'")" = 3 ] \
    || fail "not every migration completed"
echo "$NAME: ok"
