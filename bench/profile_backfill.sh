#!/usr/bin/env bash
# profile_backfill.sh — perf profiles of one plain UPDATE and of CALL
# run_backfill on the same 1,000,000 rows (bench/parallel_backfill.md,
# "Where one runner's extra time goes"). Needs perf (linux-perf), as root.
#
#   bash bench/profile_backfill.sh     # writes /tmp/perf_update.data, /tmp/perf_backfill.data
#   perf report -i /tmp/perf_backfill.data --no-children --sort dso,symbol -n
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EC_CLUSTER_DURABLE=1 EC_CLUSTER_PORT=54450 EC_CLUSTER_CONF="max_wal_size = '8GB'" source scripts/cluster.sh >/dev/null
export PGOPTIONS="-c client_min_messages=warning -c expand_contract.backfill_max_wal_per_second=0"
psql -X -q -At <<'SQL'
CREATE EXTENSION expand_contract;
CREATE SCHEMA ec; CREATE SCHEMA plain;
CREATE TABLE ec.bookings (id integer PRIMARY KEY, status text NOT NULL, studio text NOT NULL);
INSERT INTO ec.bookings SELECT g, CASE WHEN g % 3 = 0 THEN 'attended_registered' ELSE 'booked' END, 'studio ' || (g % 50) FROM generate_series(1, 1000000) g;
CREATE TABLE plain.bookings AS SELECT *, NULL::boolean AS registered FROM ec.bookings;
ALTER TABLE plain.bookings ADD PRIMARY KEY (id);
VACUUM ANALYZE;
SELECT FROM expand_contract.start('02_r', '{"operations": [{"add_column": {"table": "bookings", "column": {"name": "registered", "type": "boolean", "nullable": true}, "up": "status = ''attended_registered''"}}]}', 'ec');
CHECKPOINT;
SQL
for v in update backfill; do
  coproc P { psql -X -q -At 2>&1; }
  echo "SELECT pg_backend_pid();" >&"${P[1]}"; read -r pid <&"${P[0]}"
  perf record -F 999 -g -p "$pid" -o /tmp/perf_$v.data >/dev/null 2>&1 &
  perf_pid=$!
  sleep 1
  t0=$(date +%s.%N)
  if [ $v = update ]; then echo "UPDATE plain.bookings SET registered = (status = 'attended_registered'); SELECT 'x';" >&"${P[1]}";
  else echo "CALL expand_contract.run_backfill('ec'); SELECT 'x';" >&"${P[1]}"; fi
  read -r out <&"${P[0]}"
  t1=$(date +%s.%N)
  kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
  echo "$v $(awk -v a=$t0 -v b=$t1 'BEGIN{print b-a}') s"
  echo "\q" >&"${P[1]}"; wait "$P_PID" 2>/dev/null || true
  psql -X -q -c "CHECKPOINT"
done
