#!/usr/bin/env bash
# pgbouncer: a migration behind PgBouncer (Debian's) in transaction pooling
# mode, many clients on a pool of three server connections, while the
# backfill worker runs. Old clients write the table; new clients write the
# new version's views, half of them after a session-level SET of
# expand_contract.version, which the pool leaks onto other clients'
# transactions (PgBouncer 1.18 does not track it), half with SET LOCAL. The
# view written through and the columns a statement assigns decide, so no
# write is attributed to the wrong version: every old write keeps its value
# in both versions, every new one too, and verify() is empty.
# Runs against the server named by PGHOST/PGPORT/PGUSER; exits non-zero on failure.
set -euo pipefail

db=ec_pgbouncer
BOUNCER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ec_pgbouncer.XXXXXX")"
AS=()
[ "$(id -u)" -eq 0 ] && AS=(runuser -u postgres --)   # pgbouncer refuses to run as root

stop_bouncer() {
    if [ -f "$BOUNCER_DIR/pgbouncer.pid" ]; then
        kill "$(cat "$BOUNCER_DIR/pgbouncer.pid")" 2>/dev/null || true
        for _ in $(seq 50); do [ -f "$BOUNCER_DIR/pgbouncer.pid" ] || break; sleep 0.1; done
    fi
    rm -rf "$BOUNCER_DIR"
    dropdb --if-exists "$db" 2>/dev/null || true
}
trap stop_bouncer EXIT
fail() { echo "pgbouncer: $*"; tail -n 20 "$BOUNCER_DIR/pgbouncer.log" 2>/dev/null || true; exit 1; }
command -v pgbouncer >/dev/null || fail "pgbouncer is not installed (scripts/setup.sh installs it)"

dropdb --if-exists "$db"
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE EXTENSION expand_contract;
CREATE TABLE bookings (id integer PRIMARY KEY, status text NOT NULL, note text NOT NULL);
INSERT INTO bookings SELECT g, 'booked', 'note ' || g FROM generate_series(1, 40000) g;
-- Which rows each kind of client wrote last (ids 1-20000 are the old
-- clients', 20001-40000 the new ones').
CREATE TABLE old_writes (id integer PRIMARY KEY);
CREATE TABLE new_writes (id integer PRIMARY KEY);
SET client_min_messages = warning;
-- New clients write from the start, while the backfill runs.
SET expand_contract.open_new_version = 'at_start';
SELECT FROM expand_contract.start('02_notes', '{"operations": [
  {"alter_column": {"table": "bookings", "column": "note", "type": "varchar(60)",
                    "up": "upper(note)", "down": "lower(note)"}},
  {"add_column": {"table": "bookings", "column": {"name": "confirmed", "type": "boolean", "nullable": true},
                  "up": "status = ''confirmed''"}}]}');
SQL

port=$(( 20000 + RANDOM % 20000 ))
chown postgres "$BOUNCER_DIR" 2>/dev/null || true
cat > "$BOUNCER_DIR/pgbouncer.ini" <<EOF
[databases]
$db = host=$PGHOST port=$PGPORT dbname=$db
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $BOUNCER_DIR/users.txt
pool_mode = transaction
default_pool_size = 3
max_client_conn = 100
logfile = $BOUNCER_DIR/pgbouncer.log
pidfile = $BOUNCER_DIR/pgbouncer.pid
ignore_startup_parameters = extra_float_digits
EOF
echo "\"$PGUSER\" \"\"" > "$BOUNCER_DIR/users.txt"
[ "$(id -u)" -eq 0 ] && chown -R postgres "$BOUNCER_DIR"
"${AS[@]}" pgbouncer -d "$BOUNCER_DIR/pgbouncer.ini" || fail "pgbouncer did not start"
for _ in $(seq 50); do
    psql -X -q -h 127.0.0.1 -p "$port" -d "$db" -c "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.1
done

# Old clients: the table, the old shape. New clients: the new version's
# view, after a session SET (leaks) or with SET LOCAL.
cat > "$BOUNCER_DIR/old.sql" <<'SQL'
\set id random(1, 20000)
BEGIN;
UPDATE bookings SET note = 'old write ' || :id, status = 'confirmed' WHERE id = :id;
INSERT INTO old_writes VALUES (:id) ON CONFLICT DO NOTHING;
COMMIT;
SQL
cat > "$BOUNCER_DIR/new_session_set.sql" <<'SQL'
\set id random(20001, 40000)
SET expand_contract.version = 'public_02_notes';
BEGIN;
UPDATE public_02_notes.bookings SET note = 'NEW WRITE ' || :id, confirmed = true WHERE id = :id;
INSERT INTO new_writes VALUES (:id) ON CONFLICT DO NOTHING;
COMMIT;
SQL
cat > "$BOUNCER_DIR/new_set_local.sql" <<'SQL'
\set id random(20001, 40000)
BEGIN;
SET LOCAL expand_contract.version = 'public_02_notes';
UPDATE public_02_notes.bookings SET note = 'NEW WRITE ' || :id, confirmed = true WHERE id = :id;
INSERT INTO new_writes VALUES (:id) ON CONFLICT DO NOTHING;
COMMIT;
SQL

psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "SELECT expand_contract.start_backfill('public', 100, 50)" >/dev/null
pgbench -n -h 127.0.0.1 -p "$port" -c 16 -j 4 -T 8 -M simple \
    -f "$BOUNCER_DIR/old.sql@4" -f "$BOUNCER_DIR/new_session_set.sql@2" -f "$BOUNCER_DIR/new_set_local.sql@2" \
    "$db" > "$BOUNCER_DIR/pgbench.out" 2>&1 || { cat "$BOUNCER_DIR/pgbench.out"; fail "pgbench failed"; }
transactions=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$BOUNCER_DIR/pgbench.out")

# The setting did leak: a client that never set it sees it on the pool.
leaked=0
for _ in 1 2 3 4 5 6; do
    v=$(psql -X -At -h 127.0.0.1 -p "$port" -d "$db" -c "SHOW expand_contract.version" 2>/dev/null || true)
    [ "$v" = public_02_notes ] && leaked=$((leaked + 1))
done
[ "$leaked" -gt 0 ] || fail "the session setting never reached another client: the scenario tests nothing"

q() { psql -X -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
backfill_during=$(q "SELECT rows_done FROM expand_contract.backfill_progress")
for _ in $(seq 600); do
    [ "$(q "SELECT bool_and(done) FROM expand_contract.backfill_progress")" = t ] && break
    sleep 0.1
done
[ "$(q "SELECT bool_and(done) FROM expand_contract.backfill_progress")" = t ] || fail "the backfill did not finish"
old_lost=$(q "SELECT count(*) FROM old_writes w JOIN bookings b USING (id)
               WHERE b.note <> 'old write ' || w.id OR b._ec_new_note IS DISTINCT FROM upper('old write ' || w.id)
                  OR b._ec_new_confirmed IS NOT TRUE")
new_lost=$(q "SELECT count(*) FROM new_writes w JOIN bookings b USING (id)
               WHERE b._ec_new_note <> 'NEW WRITE ' || w.id OR b.note IS DISTINCT FROM lower('NEW WRITE ' || w.id)")
mismatches=$(q "SELECT count(*) FROM expand_contract.verify()")
olds=$(q "SELECT count(*) FROM old_writes")
news=$(q "SELECT count(*) FROM new_writes")
[ "$olds" -gt 0 ] && [ "$news" -gt 0 ] || fail "the clients wrote nothing ($olds old, $news new)"
[ "$old_lost" = 0 ] || fail "$old_lost of $olds rows written by old clients lost their values"
[ "$new_lost" = 0 ] || fail "$new_lost of $news rows written by new clients lost their values"
[ "$mismatches" = 0 ] || fail "verify() found $mismatches mismatches"
q "SELECT expand_contract.complete()" >/dev/null
echo "pgbouncer: $transactions transactions of 16 clients on 3 pooled connections, the worker backfilling ($backfill_during rows when they ended); setting leaked to $leaked of 6 probes; $olds old and $news new rows kept their values; verify() empty; completed"
