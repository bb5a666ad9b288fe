/*
 * version_schema.cpp — version schemas of views; see version_schema.hpp.
 */
#include "phase/version_schema.hpp"

#include "boundary.hpp"
#include "phase/phase_lock.hpp"
#include "pg/security.hpp"
#include "pg/sql.hpp"
#include "plan/expression.hpp"

namespace ec {

namespace {

int open_new_version = 1;		/* 0: at_start, 1: when_backfilled (default) */

/* Repeats on `target_sql` the grants `acl_query` lists for `object` as rows
 * (grantee, privilege, grantable). */
void
copy_grants(const char *acl_query, Oid object, const char *target_sql)
{
	const char *args[] = {psprintf("%u", object)};
	List	   *grants = sql_rows(acl_query, 1, args);
	ListCell   *lc;

	foreach(lc, grants)
	{
		char	  **row = (char **) lfirst(lc);

		sql_execf("GRANT %s ON %s TO %s%s", row[1], target_sql, row[0],
				  strcmp(row[2], "t") == 0 ? " WITH GRANT OPTION" : "");
	}
}

const char *kGranteeSql =
	"CASE WHEN a.grantee = 0 THEN 'PUBLIC' "
	"ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END";

/*
 * A view belongs to the owner of the table behind it: nobody may own a view
 * of a table they could not alter, since a view's owner can give it rules
 * and triggers that the application's writes through it would run. The
 * grants on it move to the new owner with it.
 */
void
give_to_table_owner(Oid table, Oid view)
{
	Oid			owner = relation_owner(table);

	if (owner == GetUserId())
		return;
	CommandCounterIncrement();
	/* recursing: the new owner is the table's, not the caller's choice, so
	 * the checks of ALTER ... OWNER TO (membership in it) do not apply. */
	ATExecChangeOwner(view, owner, true, AccessExclusiveLock);
	CommandCounterIncrement();
}

void
create_view(MigrationPlan *plan, PlannedTable *table)
{
	const char *view_sql = qname(plan->version_schema, table->name);
	StringInfoData select;
	ListCell   *lc;

	initStringInfo(&select);
	foreach(lc, table->columns)
	{
		PlannedColumn *c = (PlannedColumn *) lfirst(lc);

		appendStringInfoString(&select, foreach_current_index(lc) > 0 ? ", " : "");
		if (strcmp(c->physical, c->name) == 0)
			appendStringInfoString(&select, qi(c->name));
		else
			appendStringInfo(&select, "%s AS %s", qi(c->physical), qi(c->name));
	}
	const char *view_body = psprintf("%s WITH (security_invoker = true) AS SELECT %s FROM %s",
									 view_sql, select.data, qname(plan->schema, table->physical_name));

	if (opens_when_backfilled() && plan_needs_backfill(table))
	{
		/* Until its rows are backfilled the new version would read stale
		 * new columns: every statement on the view raises a clear error
		 * (the check option covers INSERT) until the backfill opens it. */
		sql_execf("CREATE VIEW %s WHERE expand_contract.new_version_open(%s::pg_catalog.name) "
				  "WITH CASCADED CHECK OPTION", view_body, ql(plan->version_schema));
		plan->open_steps = lappend(plan->open_steps, psprintf("CREATE OR REPLACE VIEW %s", view_body));
	}
	else
		sql_execf("CREATE VIEW %s", view_body);

	const char *args[] = {psprintf("%u", table->relid)};
	const char *table_comment = sql_value("SELECT pg_catalog.obj_description($1::pg_catalog.oid, "
										  "'pg_class')", 1, args);

	if (table_comment != NULL)
		sql_execf("COMMENT ON VIEW %s IS %s", view_sql, ql(table_comment));

	foreach(lc, table->columns)
	{
		PlannedColumn *c = (PlannedColumn *) lfirst(lc);
		const char *default_sql = c->default_changed ? c->new_default
			: column_default_sql(table->relid, c->physical);

		const char *comment = c->comment_changed ? c->new_comment
			: column_comment(table->relid, c->physical);

		if (default_sql != NULL)
			sql_execf("ALTER VIEW %s ALTER COLUMN %s SET DEFAULT %s", view_sql, qi(c->name), default_sql);
		else if (c->default_changed && column_default_sql(table->relid, c->physical) != NULL)
		{
			/* A default the migration removes: without one of its own the
			 * view would insert the table's, and PostgreSQL takes a plain
			 * NULL default for none. */
			const char *type = column_type(table->relid, c->physical).sql;

			sql_execf("ALTER VIEW %s ALTER COLUMN %s SET DEFAULT CASE WHEN false THEN NULL::%s END",
					  view_sql, qi(c->name), type);
		}
		if (comment != NULL)
			sql_execf("COMMENT ON COLUMN %s.%s IS %s", view_sql, qi(c->name), ql(comment));
	}
	copy_grants(psprintf("SELECT %s, a.privilege_type, a.is_grantable FROM pg_catalog.pg_class c, "
						 "pg_catalog.aclexplode(c.relacl) a "
						 "WHERE c.oid = $1::pg_catalog.oid AND a.grantee <> c.relowner "
						 "AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')",
						 kGranteeSql),
				table->relid, view_sql);

	/* Column privileges follow each column to its name in the new version. */
	foreach(lc, table->columns)
	{
		PlannedColumn *c = (PlannedColumn *) lfirst(lc);

		copy_column_grants(table->relid, c->physical, view_sql, c->name);
	}
	give_to_table_owner(table->relid, get_relname_relid(table->name, get_namespace_oid(plan->version_schema, false)));
}

} // namespace

void
copy_column_grants(Oid relid, const char *column, const char *target_sql, const char *target_column)
{
	copy_grants(psprintf("SELECT %s, pg_catalog.format('%%s (%%I)', a.privilege_type, %s), "
						 "a.is_grantable FROM pg_catalog.pg_attribute t, "
						 "pg_catalog.aclexplode(t.attacl) a "
						 "WHERE t.attrelid = $1::pg_catalog.oid AND t.attname = %s "
						 "AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE')",
						 kGranteeSql, ql(target_column), ql(column)),
				relid, target_sql);
}

void
create_version_schema(MigrationPlan *plan)
{
	const char *schema_sql = qi(plan->version_schema);
	const char *args[] = {psprintf("%u", plan->schema_oid)};
	List	   *tables;
	ListCell   *lc;

	/* It belongs with the base schema, to its owner: whichever member of that
	 * role runs the next migration can drop it then. */
	sql_execf("CREATE SCHEMA %s AUTHORIZATION %s", schema_sql,
			  qi(GetUserNameFromId(schema_owner(plan->schema_oid), false)));
	copy_grants(psprintf("SELECT %s, a.privilege_type, a.is_grantable FROM pg_catalog.pg_namespace n, "
						 "pg_catalog.aclexplode(n.nspacl) a "
						 "WHERE n.oid = $1::pg_catalog.oid AND a.grantee <> n.nspowner "
						 "AND a.privilege_type = 'USAGE'", kGranteeSql),
				plan->schema_oid, psprintf("SCHEMA %s", schema_sql));

	tables = sql_rows("SELECT c.oid, c.relname FROM pg_catalog.pg_class c "
					  "WHERE c.relnamespace = $1::pg_catalog.oid AND c.relkind IN ('r', 'p') "
					  "AND NOT c.relispartition ORDER BY c.relname",
					  1, args);
	foreach(lc, tables)
	{
		char	  **row = (char **) lfirst(lc);
		Oid			relid = (Oid) strtoul(row[0], NULL, 10);
		PlannedTable *table = NULL;
		ListCell   *tc;

		foreach(tc, plan->tables)
			if (((PlannedTable *) lfirst(tc))->relid == relid)
				table = (PlannedTable *) lfirst(tc);
		if (table == NULL)
			table = plan_describe_table(relid, row[1]);
		if (table->name != NULL)
			create_view(plan, table);
	}
}

void
drop_version_schema(const char *schema)
{
	Oid			nsp = get_namespace_oid(schema, true);

	if (!OidIsValid(nsp))
		return;

	const char *args[] = {psprintf("%u", nsp)};
	List	   *views = sql_rows("SELECT pg_catalog.quote_ident(relname) FROM pg_catalog.pg_class "
								 "WHERE relnamespace = $1::pg_catalog.oid AND relkind = 'v'",
								 1, args);
	ListCell   *lc;

	foreach(lc, views)
		sql_execf("DROP VIEW %s.%s", qi(schema), ((char **) lfirst(lc))[0]);
	sql_execf("DROP SCHEMA %s", qi(schema));
}

void
define_version_schema_settings()
{
	static const struct config_enum_entry kOpens[] = {
		{"at_start", 0, false}, {"when_backfilled", 1, false}, {NULL, 0, false}};

	DefineCustomEnumVariable("expand_contract.open_new_version",
							 "When start() lets applications use the new version's views.",
							 "when_backfilled: a view of a table with rows to backfill refuses every "
							 "statement until the backfill is done, so the new version never reads a "
							 "stale value.",
							 &open_new_version, 1, kOpens, PGC_USERSET, 0, NULL, NULL, NULL);
}

bool
opens_when_backfilled()
{
	return open_new_version == 1;
}

void
open_new_version_if_backfilled(const MigrationRecord &record)
{
	if (record.open_steps == NIL)
		return;

	const char *args[] = {record.schema, record.name};

	/* The catalog, not the record loaded earlier in this transaction, says
	 * whether the views are still gated: complete() reaches here after its
	 * backfill may have opened them already. */
	if (catalog_rows("SELECT 1 FROM expand_contract.migrations m "
					 "WHERE m.schema_name = $1 AND m.name = $2 AND m.open_steps <> '[]' "
					 "AND NOT EXISTS (SELECT FROM expand_contract.backfill_progress b "
					 "  WHERE b.schema_name = m.schema_name AND b.migration = m.name AND NOT b.done)",
					 2, args) == NIL)
		return;

	RunAs		owner = begin_run_as(record.owner, kPinnedSearchPath);
	ListCell   *lc;

	foreach(lc, record.open_steps)
		sql_exec(((const PlannedStep *) lfirst(lc))->statement);
	end_run_as(owner);
	catalog_exec("UPDATE expand_contract.migrations SET open_steps = '[]' "
				 "WHERE schema_name = $1 AND name = $2", 2, args);
}

namespace {

/* The transaction that marked the migration's backfill done: the newest
 * writer of its progress rows; InvalidTransactionId while a table (or a
 * part of one, which another worker may be at) is still to do. */
TransactionId
backfill_done_xid(const MigrationRecord &record)
{
	const char *args[] = {record.schema, record.name};
	List	   *rows = catalog_rows("SELECT xmin::pg_catalog.text, done FROM expand_contract.backfill_progress "
									"WHERE schema_name = $1 AND migration = $2", 2, args);
	TransactionId newest = InvalidTransactionId;
	ListCell   *lc;

	foreach(lc, rows)
		if (strcmp(((char **) lfirst(lc))[1], "t") != 0)
			return InvalidTransactionId;
	foreach(lc, rows)
	{
		TransactionId xid = (TransactionId) strtoul(((char **) lfirst(lc))[0], NULL, 10);

		if (!TransactionIdIsValid(newest) || TransactionIdFollows(xid, newest))
			newest = xid;
	}
	return newest;
}

/* Whether, within wait_ms, no other transaction of this database holds a
 * snapshot that may predate the commit of done_xid (its xmin is not past
 * it): such a snapshot sees rows unbackfilled, and a plain view would show
 * them to it, where the gate judges by that snapshot and refuses. */
bool
older_snapshots_gone(TransactionId done_xid, int wait_ms)
{
	for (int waited = 0;; waited += 100)
	{
		int			n;

		/* Those whose xmin is done_xid or older: a snapshot with xmin
		 * done_xid + 1 (the usual one right after it committed) sees it. */
		(void) GetCurrentVirtualXIDs(done_xid, true, false,
									 PROC_IN_VACUUM | PROC_IN_SAFE_IC | PROC_VACUUM_FOR_WRAPAROUND, &n);
		if (n == 0)
			return true;
		if (waited >= wait_ms)
			return false;
		sleep_ms(100);
	}
}

void
open_attempt(void *arg)
{
	open_new_version_if_backfilled(*static_cast<const MigrationRecord *>(arg));
}

} // namespace

bool
backfill_seen_by_every_snapshot(const MigrationRecord &record, int wait_ms)
{
	TransactionId done_xid = backfill_done_xid(record);

	return TransactionIdIsValid(done_xid) && !TransactionIdIsCurrentTransactionId(done_xid) &&
		older_snapshots_gone(done_xid, wait_ms);
}

void
try_open_new_version_if_backfilled(const MigrationRecord &record, int snapshot_wait_ms)
{
	if (record.open_steps == NIL)
		return;

	TransactionId done_xid = backfill_done_xid(record);

	/* Done in this very transaction: others would see the plain views as
	 * soon as it commits, with snapshots taken before. The next backfill()
	 * or complete() opens them. */
	if (!TransactionIdIsValid(done_xid) || TransactionIdIsCurrentTransactionId(done_xid))
		return;
	if (!older_snapshots_gone(done_xid, snapshot_wait_ms))
	{
		ereport(NOTICE,
				(errmsg("the new version \"%s\" is open, but transactions older than the end of its backfill "
						"still run: its views keep their gate", record.version_schema),
				 errdetail("The gate refuses those transactions, which still see rows unbackfilled; "
						   "the next backfill() or complete() replaces the views.")));
		return;
	}
	/* Replacing a view locks it ACCESS EXCLUSIVE: behind a long reader of
	 * the new version that wait would queue its other statements. */
	if (!try_under_phase_lock_timeout(open_attempt, const_cast<MigrationRecord *>(&record)))
		ereport(NOTICE,
				(errmsg("the new version \"%s\" is open, but its views could not be locked to drop their gate",
						record.version_schema),
				 errdetail("They let every statement through and check the backfill on each; "
						   "the next backfill() or complete() replaces them.")));
}

} // namespace ec

/* new_version_open(version_schema): true once the migration's backfill is
 * done; until then ERROR 55000, so the gated views refuse every statement.
 *
 * The views' check option calls it for every row written through them: the
 * catalog is read once per statement (the answer cannot change under the
 * statement's snapshot) and remembered in the call site's fn_extra, under a
 * search_path pinned only for that read. */
EC_FUNCTION(ec_new_version_open)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(true);

	const char *version_schema = NameStr(*PG_GETARG_NAME(0));
	const char *open_for = static_cast<const char *>(fcinfo->flinfo->fn_extra);

	if (open_for != NULL && strcmp(open_for, version_schema) == 0)
		PG_RETURN_BOOL(true);

	const char *args[] = {version_schema};
	int			nest_level = ec::use_search_path("pg_catalog, pg_temp");

	SPI_connect();

	/* With the statement's snapshot: a transaction that still sees rows
	 * unbackfilled must still be refused, whatever committed since. */
	List	   *rows = ec::catalog_rows_as_seen(
		"SELECT m.schema_name, pg_catalog.string_agg(b.table_name::text, ', ' ORDER BY b.table_name), "
		"pg_catalog.sum(GREATEST(COALESCE(b.rows_total, 0) OPERATOR(pg_catalog.-) b.rows_done, 0)) "
		"FROM expand_contract.migrations m JOIN expand_contract.backfill_progress b "
		"ON b.schema_name OPERATOR(pg_catalog.=) m.schema_name AND b.migration OPERATOR(pg_catalog.=) m.name "
		"WHERE m.version_schema OPERATOR(pg_catalog.=) $1 AND m.phase OPERATOR(pg_catalog.=) 'active' "
		"AND NOT b.done GROUP BY m.schema_name",
		1, args);

	if (rows != NIL)
	{
		char	  **row = (char **) linitial(rows);

		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the new version \"%s\" is not open yet: about %s rows of %s are still to be backfilled",
						args[0], row[2], row[1]),
				 errdetail("Until then it would read stale values for them."),
				 errhint("It opens when the backfill is done: CALL expand_contract.run_backfill('%s').",
						 row[0])));
	}
	SPI_finish();
	ec::restore_search_path(nest_level);
	fcinfo->flinfo->fn_extra = MemoryContextStrdup(fcinfo->flinfo->fn_mcxt, version_schema);
	PG_RETURN_BOOL(true);
}
