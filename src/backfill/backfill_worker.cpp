/*
 * backfill_worker.cpp — start_backfill's dynamic background worker and the
 * pause/resume/cancel controls.
 *
 * The worker is registered on demand (no shared_preload_libraries), connects
 * to the caller's database and runs the same loop as CALL run_backfill, so it
 * goes on after the client disconnects. It connects as the bootstrap
 * superuser (PostgreSQL refuses NOLOGIN roles to background workers, and a
 * migration's owner is often one) with search_path pinned, runs each step as
 * the role that called start_backfill and every batch as the migration's
 * owner (security.hpp), never anything as itself. Everything it
 * needs besides the database, role and schema travels through the schema's
 * row in expand_contract.backfill_runs, which start_backfill writes in the
 * transaction that launches it: the worker waits for the schema's migration
 * lock, so it sees that row only once the launch committed, and quits if it
 * does not name it.
 */
#include "backfill/backfill_runner.hpp"
#include "backfill/backfill.hpp"

#include "boundary.hpp"
#include "pg/background_worker.hpp"
#include "catalog/catalog.hpp"
#include "pg/security.hpp"
#include "pg/sql.hpp"

namespace ec {

/* Workers one start_backfill may start: each takes a worker slot. */
constexpr int kMaxBackfillWorkers = 16;

namespace {

/* Travels in BackgroundWorker.bgw_extra. */
struct WorkerArguments {
	Oid database;
	Oid role;
	NameData schema;
};
static_assert(sizeof(WorkerArguments) <= BGW_EXTRALEN, "worker arguments fit bgw_extra");

/*
 * The worker is forked before it connects; until it shows in
 * pg_stat_activity nobody could tell it is alive (pause_backfill would say no
 * backfill runs). So start_backfill returns only once it shows.
 */
void
wait_until_connected(BackgroundWorkerHandle *handle, pid_t pid)
{
	const char *args[] = {psprintf("%d", (int) pid)};

	for (int waited_ms = 0;; waited_ms += 10)
	{
		pid_t		current;

		pgstat_clear_snapshot();
		if (sql_value("SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $1::integer", 1, args))
			return;
		if (GetBackgroundWorkerPid(handle, &current) != BGWH_STARTED)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("the backfill worker exited as it started"),
					 errhint("See the server log.")));
		if (waited_ms >= 30000)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("the backfill worker did not connect within 30 s")));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

int
launch_worker(const char *schema)
{
	WorkerArguments arguments;
	pid_t		pid;

	memset(&arguments, 0, sizeof(arguments));
	arguments.database = MyDatabaseId;
	arguments.role = GetUserId();
	namestrcpy(&arguments.schema, schema);

	BackgroundWorkerHandle *handle = start_background_worker(
		"ec_backfill_worker_main", psprintf("expand_contract backfill of %s", schema),
		"expand_contract backfill", &arguments, sizeof(arguments), &pid);

	if (handle == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start a backfill worker: no background worker slot is free, "
						"or it could not start"),
				 errhint("Raise max_worker_processes, or use CALL expand_contract.run_backfill(); "
						 "see the server log.")));
	wait_until_connected(handle, pid);
	return (int) pid;
}

/* The migration's owner and each of its tables' owners may pause or stop any
 * runner of it. */
bool
may_stop_backfill(const MigrationRecord &record)
{
	Oid			nsp = get_namespace_oid(record.schema, false);
	ListCell   *lc;

	if (acts_for(record.owner))
		return true;
	foreach(lc, record.touched_tables)
	{
		Oid			relid = get_relname_relid((const char *) lfirst(lc), nsp);

		if (OidIsValid(relid) && pg_class_ownercheck(relid, GetUserId()))
			return true;
	}
	return false;
}

/* Sets the request of the schema's live runner; ERROR when there is none or
 * it belongs to a role the caller does not act for. */
void
request_runner(const char *schema, const char *request, const char *action)
{
	char	  **runner = active_runner(schema);

	if (runner == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s: no backfill of schema \"%s\" is running", action, schema)));

	Oid			starter = get_role_oid(runner[1], true);
	MigrationRecord record;

	if (!(OidIsValid(starter) && acts_for(starter)) &&
		!(find_active_migration(schema, &record, false) && may_stop_backfill(record)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s the backfill of schema \"%s\"", action, schema),
				 errdetail("Members of the role that started it, of the migration's owner and of "
						   "the owners of its tables may.")));

	const char *update_args[] = {schema, request};

	/* Every worker of the run. updated_at stays the runner's own: it tells
	 * a CALL still at work. */
	catalog_exec("UPDATE expand_contract.backfill_runs SET request = $2 WHERE schema_name = $1",
				 2, update_args);
}

/* pause/resume/cancel_backfill(schema) */
Datum
steer_runner(FunctionCallInfo fcinfo, const char *request, const char *action)
{
	const char *schema = require_schema_argument(fcinfo, 0);

	SPI_connect();
	request_runner(schema, request, action);
	SPI_finish();
	PG_RETURN_VOID();
}

/* The role that called start_backfill: the worker's steps run as it, never
 * as the superuser the worker connected as (and each batch as the
 * migration's owner). */
Oid			worker_role = InvalidOid;

void
worker_begin()
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	/* An abort of this transaction restores the connected user. */
	SetUserIdAndSecContext(worker_role, SECURITY_LOCAL_USERID_CHANGE);
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
}

void
worker_commit()
{
	SPI_finish();
	PopActiveSnapshot();
	SetUserIdAndSecContext(GetAuthenticatedUserId(), 0);
	CommitTransactionCommand();
}

void
worker_activity(const char *text)
{
	pgstat_report_activity(STATE_RUNNING, text);
}

/* VACUUM of the table being backfilled, at top level, as its owner (as
 * vacuum.c would run it for them). */
void
worker_vacuum(const char *schema, const char *table)
{
	Oid			owner = InvalidOid;

	worker_begin();
	Oid			relid = get_relname_relid(table, get_namespace_oid(schema, false));

	if (OidIsValid(relid))
		owner = relation_owner(relid);
	worker_commit();
	if (OidIsValid(owner))
		(void) run_at_top_level(psprintf("VACUUM %s", qname(schema, table)), owner, NULL, NULL);
}

/* The worker's life once connected; errors propagate to its caller. */
void
run_worker(const char *schema)
{
	RunOptions	options;
	bool		claimed;

	worker_begin();
	claimed = load_worker_claim(schema, &options);
	worker_commit();
	if (!claimed)
		return;

	RunnerHooks hooks = {worker_begin, worker_commit, worker_activity, worker_vacuum, false};

	run_backfill_loop(schema, RunnerKind::Worker, options, hooks);
	pgstat_report_activity(STATE_IDLE, NULL);
}

} // namespace

} // namespace ec

/*
 * start_backfill(schema, batch_size, batch_delay_ms, workers): with more than
 * one worker, what is left of each table is split into as many parts first
 * (split_backfill), and worker i takes the parts whose
 * number modulo workers is i. Returns the first worker's pid.
 */
EC_FUNCTION(ec_start_backfill)
{
	const char *schema = ec::require_schema_argument(fcinfo, 0);
	ec::RunOptions options = ec::run_options_from_call(fcinfo);
	int			workers = PG_NARGS() > 3 && !PG_ARGISNULL(3) ? PG_GETARG_INT32(3) : 1;

	if (workers < 1 || workers > ec::kMaxBackfillWorkers)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("workers must be between 1 and %d, not %d", ec::kMaxBackfillWorkers, workers)));

	SPI_connect();
	ec::MigrationRecord record = ec::lock_active_migration(schema, "backfill");

	ec::require_owner_rights(record, "backfill");

	/* Refuse before a worker is forked for nothing. */
	ec::require_no_active_runner(schema);
	/* Here, by the caller's setting: the workers follow what it chose. */
	ec::choose_backfill_order(record);
	if (workers > 1)
		ec::split_backfill(record, workers);

	int			first_pid = 0;

	options.workers = workers;
	for (int i = 0; i < workers; i++)
	{
		int			pid = ec::launch_worker(schema);

		/* Until this commits each worker waits on the schema lock we hold. */
		options.worker = i;
		ec::claim_backfill_run(schema, record.name, ec::RunnerKind::Worker, pid, options);
		if (i == 0)
			first_pid = pid;
	}
	SPI_finish();
	PG_RETURN_INT32(first_pid);
}

EC_FUNCTION(ec_pause_backfill)
{
	return ec::steer_runner(fcinfo, "pause", "pause");
}

EC_FUNCTION(ec_resume_backfill)
{
	return ec::steer_runner(fcinfo, "run", "resume");
}

EC_FUNCTION(ec_cancel_backfill)
{
	return ec::steer_runner(fcinfo, "cancel", "cancel");
}

extern "C" {
PGDLLEXPORT void ec_backfill_worker_main(Datum main_arg);
}

/*
 * The worker's entry. An ERROR is caught here, the transaction aborted, and
 * the failure written to the run row in a fresh transaction, so status()
 * shows it; the worker then exits.
 */
void
ec_backfill_worker_main(Datum main_arg)
{
	ec::WorkerArguments arguments;
	char		message[1024];
	volatile bool failed = false;

	memcpy(&arguments, MyBgworkerEntry->bgw_extra, sizeof(arguments));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(arguments.database, BOOTSTRAP_SUPERUSERID, 0);
	ec::worker_role = arguments.role;
	/* As a GUC, so the session sees it too (current_setting, log lines). */
	SetConfigOption("application_name", "expand_contract backfill", PGC_USERSET, PGC_S_SESSION);
	SetConfigOption("search_path", ec::kPinnedSearchPath, PGC_USERSET, PGC_S_SESSION);

	const char *schema = MemoryContextStrdup(TopMemoryContext, NameStr(arguments.schema));
	MemoryContext worker_context = AllocSetContextCreate(TopMemoryContext, "backfill worker",
														 ALLOCSET_DEFAULT_SIZES);

	MemoryContextSwitchTo(worker_context);
	PG_TRY();
	{
		ec::pg_entry([schema] { ec::run_worker(schema); });
	}
	PG_CATCH();
	{
		ec::absorb_worker_error(worker_context, message, sizeof(message), false);
		failed = true;
	}
	PG_END_TRY();

	if (failed)
	{
		ec::worker_begin();
		ec::pg_entry([schema, &message] { ec::record_run_failure(schema, message); });
		ec::worker_commit();
	}
	proc_exit(failed ? 1 : 0);
}
