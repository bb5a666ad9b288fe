#!/bin/bash
# set_local.sh — what SET LOCAL expand_contract.version per transaction costs
# (the pooler-safe pattern). Report: bench/set_local.md.
#
#   bash bench/set_local.sh LABEL     # uses the installed library; prints LABEL case round tps
#
# pgbench -M prepared, 1 client, 5 s segments alternating between three
# single-row UPDATE transactions on a table with an open migration:
#   view            BEGIN; UPDATE through the new version's view; COMMIT
#   view_set_local  the same with SET LOCAL expand_contract.version first
#   table_set_local SET LOCAL, then UPDATE the table itself (setting decides)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LABEL="${1:-installed}"
EC_CLUSTER_PORT=54420 source scripts/cluster.sh >/dev/null
psql -X -q -c "CREATE EXTENSION expand_contract" >/dev/null
psql -X -q -c "CREATE TABLE bookings (id int PRIMARY KEY, status text NOT NULL)" \
     -c "INSERT INTO bookings SELECT g, 'booked' FROM generate_series(1,100000) g" >/dev/null
psql -X -q -c "SELECT expand_contract.start('02_r', '{\"operations\": [{\"add_column\": {\"table\": \"bookings\", \"column\": {\"name\": \"r\", \"type\": \"boolean\", \"nullable\": true}, \"up\": \"status = ''x''\"}}]}')" >/dev/null
PGOPTIONS="-c client_min_messages=warning" psql -X -q -c "CALL expand_contract.run_backfill()" >/dev/null
SCRIPTS="$(mktemp -d)"
trap 'rm -rf "$SCRIPTS"; ec_cluster_stop' EXIT   # and keep cluster.sh's stop
cat > "$SCRIPTS/view.sql" <<'SQL'
\set id random(1, 100000)
BEGIN;
UPDATE public_02_r.bookings SET status = 'booked' WHERE id = :id;
COMMIT;
SQL
cat > "$SCRIPTS/view_set_local.sql" <<'SQL'
\set id random(1, 100000)
BEGIN;
SET LOCAL expand_contract.version = 'public_02_r';
UPDATE public_02_r.bookings SET status = 'booked' WHERE id = :id;
COMMIT;
SQL
cat > "$SCRIPTS/table_set_local.sql" <<'SQL'
\set id random(1, 100000)
BEGIN;
SET LOCAL expand_contract.version = 'public_02_r';
UPDATE public.bookings SET status = 'booked' WHERE id = :id;
COMMIT;
SQL
for round in 1 2 3 4 5; do
  for c in view view_set_local table_set_local; do
    tps=$(pgbench -n -M prepared -T 5 -c 1 -f "$SCRIPTS/$c.sql" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    echo "$LABEL $c $round $tps"
  done
done
