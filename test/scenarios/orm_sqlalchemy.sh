#!/usr/bin/env bash
# orm_sqlalchemy: an application on SQLAlchemy 1.4 (Debian's
# python3-sqlalchemy, psycopg2) using a version schema, as the README's
# applications guide says: search_path = <version schema>, <schema>; the
# view's primary key declared by hand (views carry none, so reflection finds
# none); everyday ORM work — insert with RETURNING and defaults, upsert,
# SELECT ... FOR UPDATE, update, delete — while the old app writes the base
# table; and an ORM session left idle in a transaction holding complete()
# back until it ends.
# Runs against the server named by PGHOST/PGPORT/PGUSER; exits non-zero on failure.
set -euo pipefail

db=ec_orm
trap 'dropdb --if-exists "$db"' EXIT
q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" -c "$1"; }

dropdb --if-exists "$db"
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -d "$db" <<'SQL'
CREATE EXTENSION expand_contract;
CREATE TABLE bookings (id serial PRIMARY KEY, student text NOT NULL, status text NOT NULL DEFAULT 'booked');
INSERT INTO bookings (student, status) VALUES ('ann', 'attended_registered'), ('bob', 'booked');
SELECT expand_contract.start('02_registered', '{"operations": [{"add_column": {"table": "bookings",
  "column": {"name": "registered", "type": "boolean", "nullable": false, "default": "false"},
  "up": "status = ''attended_registered''"}}]}');
CALL expand_contract.run_backfill();
SQL

DB="$db" /usr/bin/python3 - <<'PY'
import os, sys, threading
from sqlalchemy import create_engine, MetaData, Table, Column, Integer, select, inspect, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import declarative_base, Session

def fail(message):
    print("orm_sqlalchemy:", message)
    sys.exit(1)

host, port, user = os.environ["PGHOST"], os.environ["PGPORT"], os.environ["PGUSER"]
url = "postgresql+psycopg2://%s@/%s?host=%s&port=%s" % (user, os.environ["DB"], host, port)
# The recipe: the version schema first, then the base schema (where the
# serial sequences live, so a default's unqualified sequence is found).
new_app = create_engine(url, connect_args={"options": "-c search_path=public_02_registered,public"})
old_app = create_engine(url, connect_args={"options": "-c search_path=public"})

# Reflection of the view finds its columns, but no primary key...
if inspect(new_app).get_pk_constraint("bookings")["constrained_columns"]:
    fail("the view reports a primary key")
# ...so the ORM needs it declared; the rest is reflected.
Base = declarative_base()
metadata = MetaData()
bookings = Table("bookings", metadata, Column("id", Integer, primary_key=True), autoload_with=new_app)
class Booking(Base):
    __table__ = bookings
if set(bookings.columns.keys()) != {"id", "student", "status", "registered"}:
    fail("reflected columns %s" % bookings.columns.keys())

with Session(new_app) as s:
    # INSERT ... RETURNING, the id from the view's default (the base table's sequence).
    carol = Booking(student="carol", status="attended", registered=True)
    s.add(carol)
    s.commit()
    if carol.id is None:
        fail("no id came back")
    # SELECT ... FOR UPDATE, then an update, through the view.
    bob = s.execute(select(Booking).where(Booking.student == "bob").with_for_update()).scalar_one()
    bob.registered = True
    s.commit()
    # An upsert: INSERT ... ON CONFLICT on the view, inferred from the table's key.
    s.execute(insert(bookings).values(id=carol.id, student="carol", status="attended", registered=False)
              .on_conflict_do_update(index_elements=["id"], set_={"registered": True, "student": "carol c."}))
    s.commit()
    s.delete(s.get(Booking, carol.id))
    s.commit()

# The old app writes the base table; the new app reads the synced column.
with old_app.begin() as c:
    c.execute(text("INSERT INTO bookings (student, status) VALUES ('dan', 'attended_registered')"))
with Session(new_app) as s:
    rows = {b.student: b.registered for b in s.execute(select(Booking)).scalars()}
    if rows != {"ann": True, "bob": True, "dan": True}:
        fail("the new app reads %s" % rows)

# A session left idle in a transaction holds complete() back.
idle = Session(old_app)
idle.execute(text("SELECT count(*) FROM bookings")).scalar()
# Phases run on their own, not in a transaction block: an autocommit engine.
admin = create_engine(url, isolation_level="AUTOCOMMIT")
with admin.connect() as c:
    c.execute(text("SET expand_contract.phase_lock_deadline = '2s'"))
    try:
        c.execute(text("SELECT expand_contract.complete(force => true)"))
        fail("complete went through behind an idle transaction")
    except Exception as e:
        if "55P03" not in str(getattr(e.orig, "pgcode", "")) and "lock" not in str(e):
            fail("complete failed otherwise: %s" % e)
idle.rollback()
idle.close()
with admin.connect() as c:
    c.execute(text("SELECT expand_contract.complete(force => true)"))
print("orm_sqlalchemy: reflection with a declared key, insert/upsert/for update/delete, and the idle session")
PY
[ "$(q "SELECT phase FROM expand_contract.status('public')")" = completed ] || { echo "orm_sqlalchemy: not completed"; exit 1; }
