/*
 * phase_lock.cpp — lock timeouts and retries of the phases; see
 * phase_lock.hpp.
 */
#include "phase/phase_lock.hpp"

#include "boundary.hpp"
#include "pg/sql.hpp"
#include "sync/version_activity.hpp"

extern "C" void ec_process_utility(PlannedStmt *pstmt, const char *query_string, bool read_only_tree,
								   ProcessUtilityContext context, ParamListInfo params,
								   QueryEnvironment *query_env, DestReceiver *dest, QueryCompletion *qc);

namespace ec {

namespace {

int phase_lock_timeout_ms = 200;
int phase_lock_deadline_ms = 30000;
bool phase_in_transaction_block = false;
int complete_backfill_limit_rows = 1000;

/* The longest pause between two attempts. */
constexpr int max_pause_ms = 5000;

/* The top-level transaction (by local id) in which this backend saw BEGIN
 * or START TRANSACTION, once the library is loaded. */
LocalTransactionId explicit_block = InvalidLocalTransactionId;
ProcessUtility_hook_type previous_process_utility = NULL;

/*
 * Inside the caller's transaction block the phase's ACCESS EXCLUSIVE locks
 * would last until the caller commits, with every writer waiting. A block is
 * one this backend saw begin (BEGIN, START TRANSACTION); or, for a BEGIN run
 * before the library was loaded, a top-level transaction block that began
 * before the current statement (a multi-statement query string is a block
 * too, but one that begins and ends with its statement).
 */
bool
in_transaction_block(void)
{
	if (explicit_block == MyProc->lxid)
		return true;
	return GetCurrentTransactionNestLevel() == 1 && IsTransactionBlock() &&
		GetCurrentTransactionStartTimestamp() != GetCurrentStatementStartTimestamp();
}

void
refuse_transaction_block(const char *phase)
{
	if (in_transaction_block() && !phase_in_transaction_block)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s() must not run inside a transaction block", phase),
				 errdetail("It locks the tables it changes, and inside a transaction block every writer of "
						   "them would wait until the transaction ends."),
				 errhint("Call it on its own, or SET expand_contract.phase_in_transaction_block = on "
						 "to accept that.")));
}

void
check_lock_timeout(void)
{
	if (phase_lock_timeout_ms >= DeadlockTimeout)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expand_contract.phase_lock_timeout (%d ms) must be below deadlock_timeout (%d ms)",
						phase_lock_timeout_ms, DeadlockTimeout),
				 errdetail("A phase must give up waiting for a lock before a deadlock check could "
						   "cancel a writer instead.")));
}

/* The locks other sessions hold on the schema's tables, by pid: rows of
 * (pid, NULL for a prepared transaction; mode; table). */
List *
schema_lock_holders(Oid schema_oid)
{
	const char *args[] = {psprintf("%u", schema_oid)};

	return sql_rows(
		"SELECT l.pid, l.mode, c.relname FROM pg_catalog.pg_locks l "
		"JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) l.relation "
		"WHERE l.locktype OPERATOR(pg_catalog.=) 'relation' AND l.granted "
		"AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d "
		"  WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()) "
		"AND c.relnamespace OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
		"AND l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid() "
		"ORDER BY l.pid, c.relname",
		1, args);
}

/* Who holds locks on the schema's tables (the first 20 of holders):
 * "pid 123 (AccessShareLock on bookings), a prepared transaction
 * (RowExclusiveLock on visits)". */
const char *
describe_blockers(List *holders)
{
	StringInfoData buf;
	ListCell   *lc;
	int			shown = 0;

	initStringInfo(&buf);
	foreach(lc, holders)
	{
		char	  **row = (char **) lfirst(lc);

		if (shown++ == 20)
			break;
		appendStringInfo(&buf, "%s%s (%s on %s)", buf.len > 0 ? ", " : "",
						 row[0] ? psprintf("pid %s", row[0]) : "a prepared transaction (pid 0)",
						 row[1], row[2]);
	}
	if (buf.len == 0)
		appendStringInfoString(&buf, "no lock holder on the schema's tables (another phase of this "
							   "schema, or a lock on a table elsewhere)");
	return buf.data;
}

/* Whether pid is an autovacuum worker that a lock request may cancel: not
 * one that prevents wraparound, as PostgreSQL's own lock waits decide. */
bool
cancellable_autovacuum(int pid)
{
	uint8		flags = 0;

	LWLockAcquire(ProcArrayLock, LW_SHARED);
	PGPROC	   *proc = BackendPidGetProcWithLock(pid);

	if (proc != NULL)
		flags = ProcGlobal->statusFlags[proc->pgxactoff];
	LWLockRelease(ProcArrayLock);
	return (flags & PROC_IS_AUTOVACUUM) && !(flags & PROC_VACUUM_FOR_WRAPAROUND);
}

/*
 * Cancels the autovacuum workers that hold a lock on a table of the schema.
 * A lock request that waits deadlock_timeout cancels the autovacuum in its
 * way (ProcSleep), but a phase gives up after phase_lock_timeout, which is
 * shorter: without this, a table that autovacuum works on (as it will after
 * a backfill rewrote every row) would hold a phase off for the whole
 * deadline. Autovacuum comes back to the table later.
 */
void
cancel_blocking_autovacuums(const char *phase, List *holders)
{
	ListCell   *lc;
	int			last_pid = 0;

	foreach(lc, holders)
	{
		char	  **row = (char **) lfirst(lc);
		int			pid = row[0] ? atoi(row[0]) : 0;

		/* One cancel per process, naming the first of its tables. */
		if (pid == 0 || pid == last_pid)
			continue;
		last_pid = pid;
		if (!cancellable_autovacuum(pid) || kill(pid, SIGINT) != 0)
			continue;
		ereport(NOTICE,
				(errmsg("%s() cancelled the autovacuum of \"%s\" (pid %d), which held a lock it needs",
						phase, row[2], pid),
				 errdetail("A lock request waiting deadlock_timeout would have cancelled it too; "
						   "autovacuum comes back to the table later.")));
	}
}

/* The pause before attempt `attempt` + 1: doubling from one lock timeout,
 * at most max_pause_ms, between half and all of it (so that two phases do
 * not retry in step). */
int
pause_ms(int attempt)
{
	double		full = Min((double) max_pause_ms, (double) phase_lock_timeout_ms * (1 << Min(attempt - 1, 10)));

	return (int) (full * (0.5 + 0.5 * pg_prng_double(&pg_global_prng_state)));
}

} // namespace

void
note_transaction_statement(Node *statement)
{
	if (IsA(statement, TransactionStmt) &&
		(((TransactionStmt *) statement)->kind == TRANS_STMT_BEGIN ||
		 ((TransactionStmt *) statement)->kind == TRANS_STMT_START))
		explicit_block = MyProc->lxid;
}

void
install_transaction_tracking()
{
	previous_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = ec_process_utility;
}

void
call_process_utility(PlannedStmt *pstmt, const char *query_string, bool read_only_tree,
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *query_env, DestReceiver *dest, QueryCompletion *qc)
{
	if (previous_process_utility)
		previous_process_utility(pstmt, query_string, read_only_tree, context, params, query_env,
								 dest, qc);
	else
		standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env,
								dest, qc);
}

void
define_phase_lock_settings()
{
	DefineCustomIntVariable("expand_contract.phase_lock_timeout",
							"Longest start, complete or rollback waits for a lock before it backs off and retries.",
							"Must stay below deadlock_timeout.",
							&phase_lock_timeout_ms, 200, 1, INT_MAX, PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("expand_contract.phase_lock_deadline",
							"How long start, complete or rollback keeps retrying to get its locks before it gives up.",
							NULL, &phase_lock_deadline_ms, 30000, 0, INT_MAX, PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("expand_contract.complete_backfill_limit",
							"Most rows complete() backfills itself; with more left it refuses.",
							"complete() holds its locks while it backfills: run run_backfill() first.",
							&complete_backfill_limit_rows, 1000, 0, INT_MAX, PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("expand_contract.phase_in_transaction_block",
							 "Lets start, complete and rollback run inside a transaction block.",
							 "Their locks then last until that transaction ends.",
							 &phase_in_transaction_block, false, PGC_USERSET, 0, NULL, NULL, NULL);
}

int
phase_lock_timeout()
{
	return phase_lock_timeout_ms;
}

int
phase_lock_deadline()
{
	return phase_lock_deadline_ms;
}

int
complete_backfill_limit()
{
	return complete_backfill_limit_rows;
}

bool
try_under_phase_lock_timeout(void (*attempt)(void *), void *arg)
{
	static const int retryable[] = {ERRCODE_LOCK_NOT_AVAILABLE, ERRCODE_T_R_DEADLOCK_DETECTED, 0};
	int			nest_level = NewGUCNestLevel();

	(void) set_config_option("lock_timeout", psprintf("%d", phase_lock_timeout_ms), PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

	bool		done = run_in_subtransaction(attempt, arg, retryable);

	AtEOXact_GUC(false, nest_level);
	return done;
}

void
run_phase(const char *phase, Oid schema_oid, void (*attempt)(void *), void *arg)
{
	TimestampTz started = GetCurrentTimestamp();
	TimestampTz deadline = TimestampTzPlusMilliseconds(started, phase_lock_deadline_ms);

	refuse_transaction_block(phase);
	check_lock_timeout();
	note_phase_changes_watch_list();
	for (int attempts = 1;; attempts++)
	{
		if (try_under_phase_lock_timeout(attempt, arg))
			return;

		List	   *holders = schema_lock_holders(schema_oid);
		const char *blockers = describe_blockers(holders);

		cancel_blocking_autovacuums(phase, holders);
		TimestampTz now = GetCurrentTimestamp();
		long		left_ms = TimestampDifferenceMilliseconds(now, deadline);

		if (left_ms <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("%s() could not lock the tables of schema \"%s\" within "
							"expand_contract.phase_lock_deadline (%d ms); nothing was changed",
							phase, get_namespace_name(schema_oid), phase_lock_deadline_ms),
					 errdetail("%d attempts in %ld ms, each waiting at most %d ms. Holding locks: %s.",
							   attempts, TimestampDifferenceMilliseconds(started, now),
							   phase_lock_timeout_ms, blockers),
					 errhint("End those transactions, or raise expand_contract.phase_lock_deadline.")));

		int			pause = (int) Min((long) pause_ms(attempts), left_ms);

		ereport(NOTICE,
				(errmsg("%s() could not lock the tables of schema \"%s\" within %d ms; retrying",
						phase, get_namespace_name(schema_oid), phase_lock_timeout_ms),
				 errdetail("Attempt %d; the next in %d ms. Holding locks: %s.", attempts, pause, blockers)));
		sleep_ms(pause);
	}
}

} // namespace ec

/* Notes BEGIN for the phases' transaction-block check, then runs the
 * statement as it would have run. */
extern "C" void
ec_process_utility(PlannedStmt *pstmt, const char *query_string, bool read_only_tree,
				   ProcessUtilityContext context, ParamListInfo params, QueryEnvironment *query_env,
				   DestReceiver *dest, QueryCompletion *qc)
{
	ec::pg_entry([&] {
		ec::note_transaction_statement(pstmt->utilityStmt);
		ec::call_process_utility(pstmt, query_string, read_only_tree, context, params, query_env,
								 dest, qc);
	});
}
