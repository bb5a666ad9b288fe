#!/bin/bash
# read_tracking.sh — what noting reads (old-client gate) costs. Report: bench/read_tracking.md.
# Prints one line per run (mode, version, round, tps); the report holds the medians.
# Read-tracking cost: a point SELECT on a migrated table (old version) and through the new version's view,
# with the library preloaded (reads noted) and not preloaded (nothing noted). pgbench -S style, 1 client.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
run() {
  local conf="$1" label="$2"
  ( EC_CLUSTER_PORT=54410 EC_CLUSTER_CONF="$conf" source scripts/cluster.sh >/dev/null
    psql -X -q -c "CREATE EXTENSION expand_contract" >/dev/null
    psql -X -q -c "CREATE TABLE bookings (id int PRIMARY KEY, status text NOT NULL)" -c "INSERT INTO bookings SELECT g, 'booked' FROM generate_series(1,100000) g" >/dev/null
    psql -X -q -c "SELECT expand_contract.start('02_r', '{\"operations\": [{\"add_column\": {\"table\": \"bookings\", \"column\": {\"name\": \"r\", \"type\": \"boolean\", \"nullable\": true}, \"up\": \"status = ''x''\"}}]}')" >/dev/null
    PGOPTIONS="-c client_min_messages=warning" psql -X -q -c "CALL expand_contract.run_backfill()" >/dev/null
    echo '\set id random(1, 100000)
SELECT status FROM public.bookings WHERE id = :id;' > /tmp/old.sql
    echo '\set id random(1, 100000)
SELECT r FROM public_02_r.bookings WHERE id = :id;' > /tmp/new.sql
    for round in 1 2 3 4 5; do
      for v in old new; do
        tps=$(pgbench -n -M prepared -T 5 -c 1 -f /tmp/$v.sql 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
        echo "$label $v $round $tps"
      done
    done )
}
run "" not_preloaded
run "shared_preload_libraries = 'expand_contract'" preloaded
