#!/usr/bin/env bash
# version_reported: expand_contract.version is a reported setting: once the
# library is loaded, the server sends its value to the client in a
# ParameterStatus message at every change (SET, SET LOCAL and the end of its
# transaction), which a pooler that tracks parameters per client (PgBouncer
# 1.20 and later) needs to carry it. Read here through libpq (psycopg2's
# get_parameter_status).
# Runs against the server named by PGHOST/PGPORT/PGUSER; exits non-zero on failure.
set -euo pipefail

db=ec_version_reported
trap 'dropdb --if-exists "$db"' EXIT
dropdb --if-exists "$db"
createdb "$db"
psql -X -q -d "$db" -c "CREATE EXTENSION expand_contract"

DB="$db" /usr/bin/python3 - <<'PY'
import os, sys, psycopg2

def fail(message):
    print("version_reported:", message)
    sys.exit(1)

conn = psycopg2.connect(dbname=os.environ["DB"], host=os.environ["PGHOST"], port=os.environ["PGPORT"],
                        user=os.environ["PGUSER"])
conn.autocommit = True
cur = conn.cursor()
cur.execute("LOAD 'expand_contract'")
cur.execute("SET expand_contract.version = 'public_02_registered'")
if conn.get_parameter_status("expand_contract.version") != "public_02_registered":
    fail("SET was not reported: %r" % conn.get_parameter_status("expand_contract.version"))
conn.autocommit = False
cur.execute("SET LOCAL expand_contract.version = 'public'")
if conn.get_parameter_status("expand_contract.version") != "public":
    fail("SET LOCAL was not reported")
conn.commit()
if conn.get_parameter_status("expand_contract.version") != "public_02_registered":
    fail("the end of SET LOCAL's transaction was not reported: %r"
         % conn.get_parameter_status("expand_contract.version"))
print("version_reported: SET, SET LOCAL and its end reach the client as ParameterStatus")
PY
