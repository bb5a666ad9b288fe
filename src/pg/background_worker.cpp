/*
 * background_worker.cpp — see background_worker.hpp.
 */
#include "pg/background_worker.hpp"

namespace ec {

BackgroundWorkerHandle *
start_background_worker(const char *function, const char *name, const char *type, const void *extra,
						size_t extra_size, pid_t *pid)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	Assert(extra_size <= BGW_EXTRALEN);
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "expand_contract", sizeof(worker.bgw_library_name));
	strlcpy(worker.bgw_function_name, function, sizeof(worker.bgw_function_name));
	strlcpy(worker.bgw_name, name, sizeof(worker.bgw_name));
	strlcpy(worker.bgw_type, type, sizeof(worker.bgw_type));
	worker.bgw_notify_pid = MyProcPid;
	memcpy(worker.bgw_extra, extra, extra_size);

	*pid = 0;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		return NULL;
	if (WaitForBackgroundWorkerStartup(handle, pid) != BGWH_STARTED)
		return NULL;
	return handle;
}

void
absorb_worker_error(MemoryContext context, char *message, size_t size, bool with_detail)
{
	MemoryContextSwitchTo(context);

	ErrorData  *error = CopyErrorData();
	bool		detail = with_detail && error->detail != NULL;

	snprintf(message, size, "%s%s%s", error->message ? error->message : "unknown error",
			 detail ? ": " : "", detail ? error->detail : "");
	HOLD_INTERRUPTS();
	EmitErrorReport();
	debug_query_string = NULL;	/* run_at_top_level's, if it failed */
	FlushErrorState();
	AbortOutOfAnyTransaction();
	RESUME_INTERRUPTS();
}

namespace {

/* The statement in an unnamed portal, run to its end, as exec_simple_query
 * runs a client's: the portal is what lets an event trigger that runs SQL
 * (ddl_command_end after CREATE INDEX CONCURRENTLY, which has dropped its
 * snapshot) find one; without it the build failed "cannot execute SQL
 * without an outer snapshot or portal". */
void
run_in_portal(const char *statement)
{
	List	   *parsed = pg_parse_query(statement);

	if (list_length(parsed) != 1)
		elog(ERROR, "expand_contract: a top-level statement is one statement");

	RawStmt    *raw = linitial_node(RawStmt, parsed);
	List	   *queries = pg_analyze_and_rewrite_fixedparams(raw, statement, NULL, 0, NULL);
	List	   *plans = pg_plan_queries(queries, statement, CURSOR_OPT_PARALLEL_OK, NULL);
	Portal		portal = CreatePortal("", true, true);
	QueryCompletion completion;

	portal->visible = false;
	PortalDefineQuery(portal, NULL, statement, CreateCommandTag(raw->stmt), plans, NULL);
	PortalStart(portal, NULL, 0, InvalidSnapshot);
	InitializeQueryCompletion(&completion);
	(void) PortalRun(portal, FETCH_ALL, true, true, None_Receiver, None_Receiver, &completion);
	PortalDrop(portal, false);
}

} // namespace

bool
run_at_top_level(const char *statement, Oid role, bool (*wanted)(void *), void *wanted_arg)
{
	/* As a client's statement lives in MessageContext: CREATE INDEX
	 * CONCURRENTLY and VACUUM commit and start transactions while they run,
	 * and the parse tree must outlive them. One context per process, reset
	 * by each call, so that a statement that failed (its ERROR caught by the
	 * worker's loop) leaves nothing behind either. */
	static MemoryContext statement_context = NULL;

	if (statement_context == NULL)
		statement_context = AllocSetContextCreate(TopMemoryContext, "top-level statement",
												  ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(statement_context);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	MemoryContextSwitchTo(statement_context);
	if (wanted != NULL && !wanted(wanted_arg))
	{
		CommitTransactionCommand();
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(statement_context);
		return false;
	}
	/* An abort of this transaction restores the connected user. */
	SetUserIdAndSecContext(role, SECURITY_LOCAL_USERID_CHANGE);
	pgstat_report_activity(STATE_RUNNING, statement);
	debug_query_string = statement;
	run_in_portal(statement);
	debug_query_string = NULL;
	SetUserIdAndSecContext(GetAuthenticatedUserId(), 0);
	CommitTransactionCommand();
	MemoryContextSwitchTo(TopMemoryContext);
	MemoryContextReset(statement_context);
	pgstat_report_activity(STATE_IDLE, NULL);
	return true;
}

} // namespace ec
