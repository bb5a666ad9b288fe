#!/usr/bin/env bash
# client: the expand-contract command-line client end to end, as a team's CI
# would run it: a migration directory (JSON, YAML and .yml files) applied
# twice (the second run does nothing), status and latest, validate (a dry
# run), start/rollback/complete, baseline, pull, errors with their SQLSTATE
# and exit status, --json output, and the backfill's progress bar on a
# terminal (a pseudo-terminal from script(1)) for a 1M-row table.
# Runs against the server named by PGHOST/PGPORT/PGUSER; exits non-zero on failure.
set -euo pipefail

db=ec_client
here="$(cd "$(dirname "$0")" && pwd)"
migrations="$here/../fixtures/migrations"
work="$(mktemp -d)"
EC="$(/usr/lib/postgresql/15/bin/pg_config --bindir)/expand-contract"
trap 'rm -rf "$work"; dropdb --if-exists "$db"' EXIT

q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" -c "$1"; }
fail() { echo "client: $*"; exit 1; }
ec() { "$EC" -d "$db" "$@"; }

dropdb --if-exists "$db"
createdb "$db"
q "CREATE EXTENSION expand_contract"

# A directory of migrations, applied in file name order: all but the last
# completed, the last left open for the apps to move over.
ec migrate "$migrations" 2>"$work/migrate.err" || fail "migrate failed: $(cat "$work/migrate.err")"
grep -q "migrate: 3 of 3 migrations applied" "$work/migrate.err" || fail "migrate said: $(cat "$work/migrate.err")"
[ "$(q "SELECT string_agg(name || ':' || phase, ' ' ORDER BY started_at) FROM expand_contract.migrations")" \
    = "01_create_shop:completed 02_add_stock:completed 03_rename_price:active" ] || fail "history after migrate"
[ "$(ec latest)" = public_03_rename_price ] || fail "latest is $(ec latest)"
# YAML's plain "100" stayed a string default, quoted it would be too; the column is there.
[ "$(q "SELECT column_default FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'products' AND column_name = 'stock'")" = 100 ] \
    || fail "the YAML default did not arrive"

# Applied again: nothing to do.
ec migrate "$migrations" 2>"$work/again.err"
grep -q "migrate: 0 of 3 migrations applied" "$work/again.err" || fail "second migrate said: $(cat "$work/again.err")"

# status, as a table and as JSON.
ec status | grep -q "03_rename_price | active | public_03_rename_price" || fail "status: $(ec status)"
[ "$(ec status --json | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s[0]["migration"], s[0]["phase"])')" \
    = "03_rename_price active" ] || fail "status --json: $(ec status --json)"

# An error: the server's SQLSTATE on stderr, exit status 1, JSON on stdout with --json.
set +e
ec start "$migrations/03_rename_price.yml" 2>"$work/error.err"; status=$?
json="$(ec --json start "$migrations/03_rename_price.yml" 2>/dev/null)"
set -e
[ "$status" = 1 ] || fail "a refused start exited $status"
grep -q "ERROR 55000" "$work/error.err" || fail "no SQLSTATE: $(cat "$work/error.err")"
[ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["error"]["sqlstate"])' "$json")" = 55000 ] \
    || fail "--json error: $json"

ec complete --force 2>/dev/null
[ "$(q "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'products' AND column_name = 'unit_price'")" = 1 ] \
    || fail "complete did not rename price"

# validate: the plan, and nothing changed.
cat > "$work/04_add_discount.json" <<'JSON'
{"operations": [{"add_column": {"table": "products",
  "column": {"name": "discount", "type": "numeric", "nullable": true}, "up": "0"}}]}
JSON
ec validate "$work/04_add_discount.json" | grep -q "^complete: ALTER TABLE public.products RENAME COLUMN _ec_new_discount TO discount" \
    || fail "validate: $(ec validate "$work/04_add_discount.json")"
[ "$(q "SELECT count(*) FROM expand_contract.migrations")" = 3 ] || fail "validate changed the history"

# start --no-backfill, rollback; start --complete.
ec start --no-backfill "$work/04_add_discount.json" 2>/dev/null
[ "$(q "SELECT phase FROM expand_contract.migrations WHERE name = '04_add_discount'")" = active ] || fail "start"
[ "$(ec --json rollback)" = '{"phase": "rolled back"}' ] || fail "rollback --json"
ec start --complete "$work/04_add_discount.json" 2>/dev/null
[ "$(q "SELECT phase FROM expand_contract.migrations WHERE name = '04_add_discount'")" = completed ] || fail "start --complete"

# pull: the history as files, which migrate into another schema's copy reads back.
ec pull "$work/pulled" 2>/dev/null
[ "$(ls "$work/pulled" | tr '\n' ' ')" = "01_create_shop.json 02_add_stock.json 03_rename_price.json 04_add_discount.json " ] \
    || fail "pull wrote: $(ls "$work/pulled")"

# baseline of a schema that exists already.
q "CREATE SCHEMA legacy; CREATE TABLE legacy.items (id int PRIMARY KEY)"
[ "$(ec --schema legacy --json baseline 00_legacy)" = '{"migration": "00_legacy", "version_schema": "legacy_00_legacy"}' ] \
    || fail "baseline"

# convert: DDL as a migration, as YAML, which start then runs.
echo "ALTER TABLE products ADD COLUMN color text DEFAULT 'red'; CREATE VIEW colors AS SELECT 1;" >"$work/06_color.sql"
ec convert --yaml "$work/06_color.sql" >"$work/06_color.yaml" 2>"$work/convert.err"
grep -q 'add_column:' "$work/06_color.yaml" || fail "convert --yaml wrote: $(cat "$work/06_color.yaml")"
grep -q 'kept as an sql operation' "$work/convert.err" || fail "convert did not warn about the view"
[ "$(ec convert "$work/06_color.sql" 2>/dev/null | python3 -c 'import json,sys; print(list(json.load(sys.stdin)["operations"][0]))')" \
    = "['add_column']" ] || fail "convert as JSON"
ec start --complete "$work/06_color.yaml" 2>/dev/null
[ "$(q "SELECT column_default FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'products' AND column_name = 'color'")" \
    = "'red'::text" ] || fail "the converted migration did not add color"

# --help, for the client and for each command.
"$EC" --help | grep -q "^  migrate DIR" || fail "--help"
"$EC" start --help | grep -q "^  start FILE \[--complete\] \[--no-backfill\]" || fail "start --help"
! "$EC" start --help | grep -q "^  migrate" || fail "start --help shows other commands"

# Usage and file errors.
set +e
ec bogus 2>/dev/null; [ $? = 2 ] || fail "an unknown command does not exit 2"
ec start "$work/missing.yaml" 2>/dev/null; [ $? = 3 ] || fail "a missing file does not exit 3"
set -e

# The progress bar, on a terminal, backfilling a 1M-row table.
q "CREATE TABLE bookings (id bigint PRIMARY KEY, status text NOT NULL);
   INSERT INTO bookings SELECT g, CASE WHEN g % 3 = 0 THEN 'attended_registered' ELSE 'booked' END
     FROM generate_series(1, 1000000) g; ANALYZE bookings"
cat > "$work/05_registered.yaml" <<'YAML'
operations:
  - add_column:
      table: bookings
      up: status = 'attended_registered'
      column: {name: registered, type: boolean, nullable: true}
YAML
script -q -e -c "'$EC' -d '$db' start '$work/05_registered.yaml'" "$work/terminal.log" >/dev/null
grep -q 'backfill \[##############################\] 100%  1000000 rows in' "$work/terminal.log" \
    || fail "no progress bar: $(tr '\r' '\n' <"$work/terminal.log" | tail -3)"
[ "$(tr '\r' '\n' <"$work/terminal.log" | grep -c 'backfill \[.*/1000000 rows .* rows/s  ETA')" -ge 1 ] \
    || fail "the bar showed no progress on the way"
[ "$(q "SELECT count(*) FILTER (WHERE registered) FROM public_05_registered.bookings")" = 333333 ] \
    || fail "the backfill did not fill registered"
echo "client: migrate (twice), status, latest, validate, start, rollback, complete, baseline, pull, convert, errors and the progress bar"
