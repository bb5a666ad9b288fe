/*
 * version_detect.cpp — which schema version is writing; see version_detect.hpp.
 */
#include "sync/version_detect.hpp"

#include "boundary.hpp"
#include "sync/version_activity.hpp"

extern "C" void ec_executor_run(QueryDesc *query, ScanDirection direction, uint64 count,
								bool execute_once);
extern "C" void ec_version_setting_assigned(const char *value, void *extra);

namespace ec {

char *version_setting = NULL;

namespace {

/* The innermost statement in ExecutorRun, numbered so a cached decision can
 * tell statements apart even when a PlannedStmt's memory is reused. */
struct RunningStatement {
	PlannedStmt *stmt;
	uint64 number;
};

RunningStatement running = {NULL, 0};
uint64 statements_run = 0;
ExecutorRun_hook_type previous_executor_run = NULL;

enum class Match { None, Old, New };

Match
match_name(const VersionIdentity &identity, const char *name)
{
	if (name == NULL)
		return Match::None;
	if (strcmp(name, identity.new_schema) == 0)
		return Match::New;
	if (strcmp(name, identity.base_schema) == 0 || strcmp(name, identity.previous_schema) == 0)
		return Match::Old;
	return Match::None;
}

/* The table a simple (auto-updatable) view reads, or InvalidOid. */
Oid
view_base_table(Oid view)
{
	Relation	rel = relation_open(view, AccessShareLock);
	Query	   *query = get_view_query(rel);
	Oid			base = InvalidOid;

	if (query != NULL && list_length(query->jointree->fromlist) == 1 &&
		IsA(linitial(query->jointree->fromlist), RangeTblRef))
	{
		RangeTblEntry *rte = rt_fetch(((RangeTblRef *) linitial(query->jointree->fromlist))->rtindex,
									  query->rtable);

		if (rte->rtekind == RTE_RELATION)
			base = rte->relid;
	}
	relation_close(rel, AccessShareLock);
	return base;
}

/*
 * The version of the views `stmt` writes `relid` through. The rewriter keeps
 * each view a DML statement targets in the range table with the INSERT,
 * UPDATE or DELETE right the caller needs on it; reads of views carry SELECT
 * only, so INSERT ... SELECT FROM a version view counts as a write to the
 * table it names.
 */
Match
rtable_version(const VersionIdentity &identity, List *rtable, Oid relid)
{
	ListCell   *lc;

	foreach(lc, rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte->rtekind != RTE_RELATION || rte->relkind != RELKIND_VIEW ||
			(rte->requiredPerms & (ACL_INSERT | ACL_UPDATE | ACL_DELETE)) == 0)
			continue;

		Match		m = match_name(identity, get_namespace_name(get_rel_namespace(rte->relid)));

		if (m != Match::None && view_base_table(rte->relid) == relid)
			return m;
	}
	return Match::None;
}

/* Whether `stmt` inserts into or updates `relid` itself. */
bool
statement_writes(PlannedStmt *stmt, Oid relid)
{
	ListCell   *lc;

	foreach(lc, stmt->resultRelations)
		if (rt_fetch(lfirst_int(lc), stmt->rtable)->relid == relid)
			return true;
	return false;
}

/* The first version schema on search_path: the rule of last resort. */
bool
search_path_says_new(const VersionIdentity &identity)
{
	List	   *names = NIL;
	ListCell   *lc;

	if (!SplitIdentifierString(pstrdup(namespace_search_path), ',', &names))
		return false;
	foreach(lc, names)
	{
		Match		m = match_name(identity, (const char *) lfirst(lc));

		if (m != Match::None)
			return m == Match::New;
	}
	return false;
}

void
run_tracked(QueryDesc *query, ScanDirection direction, uint64 count, bool execute_once)
{
	RunningStatement saved = running;

	running.stmt = query->plannedstmt;
	running.number = ++statements_run;
	note_version_reads(query->plannedstmt);
	PG_TRY();
	{
		if (previous_executor_run)
			previous_executor_run(query, direction, count, execute_once);
		else
			standard_ExecutorRun(query, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		running = saved;
	}
	PG_END_TRY();
}

} // namespace

void
define_version_setting()
{
	DefineCustomStringVariable("expand_contract.version",
							   "Schema version this session writes as (a version schema or migration name).",
							   "Overrides the version of the view a statement writes through; "
							   "empty means decide by that view.",
							   &version_setting,
							   "",
							   PGC_USERSET,
							   /* Reported to the client (ParameterStatus), so a pooler
							    * that tracks parameters per client can carry it. */
							   GUC_REPORT,
							   NULL, ec_version_setting_assigned, NULL);
}

/*
 * The setting: Match::None when it does not name either version. It is the
 * session's word about the session's own writes, so it does not reach into
 * a SECURITY DEFINER function (or any code run with another role's rights):
 * a caller must not change how the definer's writes are attributed.
 */
Match
setting_version(const VersionIdentity &identity)
{
	if (version_setting == NULL || version_setting[0] == '\0' || InLocalUserIdChange())
		return Match::None;
	if (strcmp(version_setting, identity.migration) == 0)
		return Match::New;
	return match_name(identity, version_setting);
}

bool
is_old_only_column(const VersionIdentity &identity, const char *name)
{
	ListCell   *lc;

	foreach(lc, identity.old_only_columns)
		if (strcmp((const char *) lfirst(lc), name) == 0)
			return true;
	return false;
}

/* Whether the statement inserts or updates, in `relid`, a column only the
 * old version has (what the client named, as the permission check sees it). */
bool
assigns_old_only_column(const VersionIdentity &identity, List *rtable, Oid relid)
{
	ListCell   *lc;

	if (identity.old_only_columns == NIL)
		return false;
	foreach(lc, rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte->rtekind != RTE_RELATION || rte->relid != relid)
			continue;

		Bitmapset  *assigned = bms_union(rte->insertedCols, rte->updatedCols);
		int			member = -1;

		while ((member = bms_next_member(assigned, member)) >= 0)
		{
			AttrNumber	attnum = member + FirstLowInvalidHeapAttributeNumber;
			const char *name = attnum > 0 ? get_attname(relid, attnum, true) : NULL;

			if (name != NULL && is_old_only_column(identity, name))
				return true;
		}
	}
	return false;
}

/* Plans embed the version their writes are attributed to (statement_sync);
 * set when one was decided by the setting, so that a new setting makes
 * plans again only then. */
bool plans_follow_setting = false;

/* Rule 2, for a statement that writes the table itself. */
Match
setting_decides(const VersionIdentity &identity, List *rtable, Oid relid)
{
	Match		setting = setting_version(identity);

	if (setting == Match::New && assigns_old_only_column(identity, rtable, relid))
		return Match::Old;
	return setting;
}

/* Rules 1 and 2 for one statement; Match::None leaves it to rule 3. */
Match
statement_version(const VersionIdentity &identity, List *rtable, Oid relid)
{
	Match		via_view = rtable_version(identity, rtable, relid);

	return via_view != Match::None ? via_view : setting_decides(identity, rtable, relid);
}

bool
planned_write_is_new_version(const VersionIdentity &identity, List *rtable, Oid relid)
{
	Match		via_view = rtable_version(identity, rtable, relid);

	if (via_view != Match::None)
		return via_view == Match::New;
	plans_follow_setting = true;
	return setting_decides(identity, rtable, relid) == Match::New;
}

static bool
decide_writer_version(const VersionIdentity &identity, Oid relid, VersionCache *cache)
{
	if (running.stmt != NULL)
	{
		if (cache->statement != running.number)
		{
			cache->statement = running.number;
			cache->is_new = statement_version(identity, running.stmt->rtable, relid) == Match::New;
		}
		return cache->is_new;
	}

	/* COPY (whose columns are not known here) or a statement not seen. */
	Match		setting = setting_version(identity);

	if (setting != Match::None)
		return setting == Match::New;

	/*
	 * No statement in ExecutorRun: the row comes from COPY or replication
	 * (which write tables, never views), or this library was loaded by the
	 * very statement that fires the trigger, before its hook existed. That
	 * statement is the active portal's when it runs at top level; when it is
	 * nested in a function, nothing names it, and search_path is the best
	 * guess left (session_preload_libraries avoids the case entirely).
	 */
	TimestampTz started = GetCurrentStatementStartTimestamp();

	if (cache->statement != 0 || cache->statement_start != started)
	{
		bool		found = false;
		bool		is_new = false;
		ListCell   *lc;

		if (ActivePortal != NULL)
			foreach(lc, ActivePortal->stmts)
			{
				PlannedStmt *stmt = (PlannedStmt *) lfirst(lc);

				if (!IsA(stmt, PlannedStmt) || !statement_writes(stmt, relid))
					continue;
				found = true;
				is_new = is_new || rtable_version(identity, stmt->rtable, relid) == Match::New;
			}
		cache->statement = 0;
		cache->statement_start = started;
		cache->is_new = found ? is_new : search_path_says_new(identity);
	}
	return cache->is_new;
}

/* The decision, with the write noted for complete()'s old-client gate once
 * per statement and transaction (the check per row is one comparison; a
 * procedure that commits as it goes is noted in each of its transactions). */
static bool
noted(const VersionIdentity &identity, VersionCache *cache, bool is_new)
{
	TimestampTz started = Max(GetCurrentStatementStartTimestamp(), GetCurrentTransactionStartTimestamp());

	if (cache->noted_start != started || cache->noted_new != is_new)
	{
		cache->noted_start = started;
		cache->noted_new = is_new;
		note_version_write(identity, is_new);
	}
	return is_new;
}

bool
writer_is_new_version(const VersionIdentity &identity, Oid relid, VersionCache *cache)
{
	return noted(identity, cache, decide_writer_version(identity, relid, cache));
}

void
install_statement_tracking()
{
	previous_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = ec_executor_run;
}

} // namespace ec

/* Records the running statement for version detection; see run_tracked. */
extern "C" void
ec_executor_run(QueryDesc *query, ScanDirection direction, uint64 count, bool execute_once)
{
	ec::pg_entry([&] { ec::run_tracked(query, direction, count, execute_once); });
}

/* A plan decided by the setting must be made again under a new one; plans
 * of writes through version views (the pooler-safe pattern, with SET LOCAL
 * per transaction) do not depend on it, and are kept. */
extern "C" void
ec_version_setting_assigned(const char *value, void *extra)
{
	if (!ec::plans_follow_setting)
		return;
	ec::plans_follow_setting = false;
	ec::pg_entry([] { ResetPlanCache(); });
}
