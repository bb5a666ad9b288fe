/*
 * index_builds.cpp — indexes a migration builds online; see index_builds.hpp.
 */
#include "phase/index_builds.hpp"

#include "boundary.hpp"
#include "pg/background_worker.hpp"
#include "phase/phase_lock.hpp"
#include "pg/security.hpp"
#include "pg/sql.hpp"

namespace ec {

namespace {

/* Travels in BackgroundWorker.bgw_extra. */
struct BuilderArguments {
	Oid database;
	TransactionId wait_for;    /* start's transaction, or invalid */
	bool retry_failed;
	NameData schema;           /* its open migration's builds */
};
static_assert(sizeof(BuilderArguments) <= BGW_EXTRALEN, "builder arguments fit bgw_extra");

int
register_builder(const char *schema, TransactionId wait_for, bool retry_failed)
{
	BuilderArguments arguments;
	pid_t		pid;

	memset(&arguments, 0, sizeof(arguments));
	arguments.database = MyDatabaseId;
	arguments.wait_for = wait_for;
	arguments.retry_failed = retry_failed;
	namestrcpy(&arguments.schema, schema);
	if (start_background_worker("ec_index_builder_main", psprintf("expand_contract index builds of %s", schema),
								"expand_contract index builds", &arguments, sizeof(arguments), &pid) == NULL)
		return 0;
	return (int) pid;
}

/*
 * "Inside a build of the schema": CREATE INDEX CONCURRENTLY lets go of its
 * lock on the table before its last transaction commits (a moment no cancel
 * reaches), so a rollback that stops a build cannot tell from the table's
 * lock whether the build still writes pg_index, and a DROP INDEX in that
 * moment fails "tuple concurrently updated". So a builder holds this lock
 * from before its build's first transaction until after its last one ends;
 * stopping the builds takes it. An object lock on the index_builds catalog
 * table, keyed by the schema: no one else takes such locks.
 */
LOCKTAG
build_lock_tag(Oid schema_oid)
{
	LOCKTAG		tag;
	Oid			catalog = get_relname_relid("index_builds", get_namespace_oid("expand_contract", false));

	SET_LOCKTAG_OBJECT(tag, MyDatabaseId, catalog, schema_oid, 0);
	return tag;
}

/* Builders share it: several may build a schema's indexes at once. */
constexpr LOCKMODE kBuildingLock = ShareLock;
/* Conflicts with every builder's. */
constexpr LOCKMODE kStoppingLock = ExclusiveLock;

/* What the builder process works on. */
struct Builder {
	const char *schema;
	bool retry_failed;
};

void
builder_begin()
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
}

void
builder_commit()
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/* Takes the next build of the schema's open migration: pending, or cut off
 * (its builder is gone), or failed when retrying those. Returns {index,
 * statement, owner, table, migration}, or NULL. */
char **
claim_next_build(const Builder &b)
{
	const char *args[] = {b.schema, b.retry_failed ? "true" : "false", psprintf("%d", MyProcPid)};
	List	   *rows = catalog_rows(
		"UPDATE expand_contract.index_builds i SET state = 'building', pid = $3::integer, "
		"  started_at = pg_catalog.clock_timestamp(), finished_at = NULL, error = NULL "
		"FROM expand_contract.migrations m "
		"WHERE m.schema_name = i.schema_name AND m.name = i.migration AND m.phase = 'active' "
		"  AND (i.schema_name, i.migration, i.index_name) = ("
		"    SELECT b.schema_name, b.migration, b.index_name FROM expand_contract.index_builds b "
		"      JOIN expand_contract.migrations o ON o.schema_name = b.schema_name AND o.name = b.migration "
		"     WHERE b.schema_name = $1 AND o.phase = 'active' "
		"       AND (b.state = 'pending' "
		"            OR (b.state = 'building' AND b.pid NOT IN (SELECT a.pid FROM pg_catalog.pg_stat_activity a "
		"                                                      WHERE a.pid IS NOT NULL)) "
		"            OR (b.state = 'failed' AND $2::boolean)) "
		"     ORDER BY b.index_name LIMIT 1 FOR UPDATE OF b SKIP LOCKED) "
		"RETURNING i.index_name, i.statement, m.owner, i.table_name, i.migration",
		3, args);

	return rows == NIL ? NULL : (char **) linitial(rows);
}

void
finish_build(const Builder &b, const char *migration, const char *index, const char *state,
			 const char *error)
{
	const char *args[] = {b.schema, migration, index, state, error, psprintf("%d", MyProcPid)};

	/* Only while the build is still ours: a subscriber's complete may have
	 * stopped us and built the index itself. */
	builder_begin();
	catalog_exec("UPDATE expand_contract.index_builds SET state = $4, error = $5, "
				 "finished_at = pg_catalog.clock_timestamp() "
				 "WHERE schema_name = $1 AND migration = $2 AND index_name = $3 AND pid = $6::integer",
				 6, args);
	builder_commit();
}

/* Whether the build {schema, migration, index} is still ours to run: its row
 * is locked FOR SHARE until the build's first transaction commits, so a
 * rollback (which locks the rows FOR UPDATE first) either sees the index
 * PostgreSQL has just entered, or removes the row before we start. */
bool
still_wanted(const char *const *guard_args)
{
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());

	bool		wanted = catalog_rows("SELECT 1 FROM expand_contract.index_builds "
									  "WHERE schema_name = $1 AND migration = $2 AND index_name = $3 "
									  "AND state = 'building' FOR SHARE", 3, guard_args) != NIL;

	PopActiveSnapshot();
	SPI_finish();
	return wanted;
}

/* still_wanted as run_at_top_level's guard. */
bool
build_still_wanted(void *guard_args)
{
	return still_wanted(static_cast<const char *const *>(guard_args));
}

/* Builds one claimed index; its failure is recorded, not raised. */
void
build_one(const Builder &b, char **claim)
{
	const char *index = claim[0];
	const char *statement = claim[1];
	Oid			owner = InvalidOid;
	char		message[1024] = "";
	volatile bool failed = false;
	volatile bool skipped = false;
	MemoryContext context = CurrentMemoryContext;

	const char *args[] = {b.schema, index};

	builder_begin();
	owner = role_oid(claim[2], "index build");
	/* A build cut off before left PostgreSQL's invalid index behind. */
	bool		leftover = sql_value("SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
									 "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
									 2, args) != NULL;
	LOCKTAG		building = build_lock_tag(get_namespace_oid(b.schema, false));

	/* Session-level: it outlasts the build's commits; an abort (the build
	 * failing, or stopped) releases it with the rest. */
	(void) LockAcquire(&building, kBuildingLock, true, false);
	builder_commit();

	PG_TRY();
	{
		const char *guard[] = {b.schema, claim[4], index};

		if (leftover)
			run_at_top_level(psprintf("DROP INDEX CONCURRENTLY IF EXISTS %s", qname(b.schema, index)), owner,
							 NULL, NULL);
		skipped = !run_at_top_level(statement, owner, build_still_wanted, const_cast<char **>(guard));
	}
	PG_CATCH();
	{
		absorb_worker_error(context, message, sizeof(message), true);
		failed = true;
	}
	PG_END_TRY();
	if (LockHeldByMe(&building, kBuildingLock))
		(void) LockRelease(&building, kBuildingLock, true);
	/* A cancel (rollback stopping us) ends the worker with the build
	 * recorded as failed; the rollback drops what is left. */
	if (!skipped)
		finish_build(b, claim[4], index, failed ? "failed" : "valid", failed ? message : NULL);
}

void
run_builder(const Builder &b, TransactionId wait_for)
{
	if (TransactionIdIsValid(wait_for))
	{
		/* start's transaction holds its xid lock until it ends. */
		StartTransactionCommand();
		XactLockTableWait(wait_for, NULL, NULL, XLTW_None);
		CommitTransactionCommand();
	}
	MemoryContext builder_context = CurrentMemoryContext;

	for (;;)
	{
		builder_begin();

		char	  **claim = claim_next_build(b);
		char	   *kept[5];

		/* SPI's memory goes with builder_commit. */
		for (int i = 0; claim != NULL && i < 5; i++)
			kept[i] = MemoryContextStrdup(builder_context, claim[i]);
		builder_commit();
		if (claim == NULL)
			return;
		build_one(b, kept);
		MemoryContextSwitchTo(builder_context);
	}
}

} // namespace

void
plan_index_build(MigrationPlan *plan, const PlannedTable *table, const char *name,
				 const IndexDefinition &index)
{
	if (strncmp(name, EC_PREFIX, strlen(EC_PREFIX)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_RESERVED_NAME),
				 errmsg("index name \"%s\" uses the prefix \"%s\" reserved by expand_contract", name, EC_PREFIX)));
	plan_index_build_staged(plan, table, name, index);
}

namespace {

void
require_free_index_name(MigrationPlan *plan, const char *name)
{
	ListCell   *lc;

	if (OidIsValid(get_relname_relid(name, plan->schema_oid)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"%s\" already exists in schema \"%s\"", name, plan->schema)));
	foreach(lc, plan->index_builds)
		if (strcmp(((IndexBuild *) lfirst(lc))->index_name, name) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_TABLE),
					 errmsg("index \"%s\" is created twice by this migration", name)));
}

const char *
create_index_sql(const IndexDefinition &index, const char *name, const char *on, bool concurrently)
{
	return psprintf("CREATE %sINDEX %s%s ON %s %s", index.unique ? "UNIQUE " : "",
					concurrently ? "CONCURRENTLY " : "", qi(name), on, index.definition);
}

void
add_build(MigrationPlan *plan, const char *name, const char *table_name, const char *statement)
{
	IndexBuild *build = (IndexBuild *) palloc(sizeof(IndexBuild));

	require_free_index_name(plan, name);
	build->index_name = name;
	build->table_name = table_name;
	build->statement = statement;
	plan->index_builds = lappend(plan->index_builds, build);
	plan_add_first_rollback_ddl(plan, psprintf("DROP INDEX IF EXISTS %s", qname(plan->schema, name)));
}

void
plan_partitioned_index(MigrationPlan *plan, const PlannedTable *table, const char *name,
					   const IndexDefinition &index)
{
	ListCell   *lc;

	/* A partition's index keeps its name after complete: named after the
	 * parent's final name. */
	const char *final_name = index.final_name ? index.final_name : name;

	if (index.backs_constraint)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("constraint \"%s\" of partitioned table \"%s\" cannot be built online yet", final_name,
						table->name),
				 errdetail("Its index can be built partition by partition, but a unique or primary key "
						   "constraint made of them is not done yet."),
				 errhint("Add it in an sql operation of its own, or on each partition.")));

	require_free_index_name(plan, name);
	/* Under start's lock of the table; ON ONLY builds nothing. */
	sql_exec(create_index_sql(index, name, psprintf("ONLY %s", qname(plan->schema, table->physical_name)),
							  false));
	plan_add_first_rollback_ddl(plan, psprintf("DROP INDEX IF EXISTS %s", qname(plan->schema, name)));
	foreach(lc, plan_storage_tables(plan, table))
	{
		const char *leaf = get_rel_name(lfirst_oid(lc));
		const char *leaf_index = plan_staged_relation_name(plan, "", psprintf("%s_%s", final_name, leaf));

		add_build(plan, leaf_index, leaf, create_index_sql(index, leaf_index, qname(plan->schema, leaf), true));
		plan->complete_prepare_ddl = lappend(plan->complete_prepare_ddl,
											 psprintf("ALTER INDEX %s ATTACH PARTITION %s",
													  qname(plan->schema, name),
													  qname(plan->schema, leaf_index)));
	}
}

} // namespace

void
plan_index_build_staged(MigrationPlan *plan, const PlannedTable *table, const char *name,
						const IndexDefinition &index)
{
	if (get_rel_relkind(table->relid) == RELKIND_PARTITIONED_TABLE)
		plan_partitioned_index(plan, table, name, index);
	else
		add_build(plan, name, table->physical_name,
				  create_index_sql(index, name, qname(plan->schema, table->physical_name), true));
}

void
record_index_builds(const MigrationPlan *plan)
{
	ListCell   *lc;

	foreach(lc, plan->index_builds)
	{
		const IndexBuild *build = (const IndexBuild *) lfirst(lc);
		const char *args[] = {plan->schema, plan->name, build->index_name, build->table_name,
							  build->statement};

		catalog_exec("INSERT INTO expand_contract.index_builds "
					 "(schema_name, migration, index_name, table_name, statement) "
					 "VALUES ($1, $2, $3, $4, $5)", 5, args);
	}
}

void
launch_index_builds(const char *schema, const char *migration)
{
	if (register_builder(schema, GetTopTransactionId(), false) == 0)
		ereport(WARNING,
				(errmsg("no background worker could be started for the indexes of migration \"%s\"",
						migration),
				 errhint("Raise max_worker_processes, then call expand_contract.start_index_builds('%s').",
						 schema)));
}

/* What CALL wait_for_index_builds waits for: a build of the schema's open
 * migration that is pending or being built by a live worker; "" when a
 * pending one has no worker to build it. NULL: nothing. */
const char *
build_to_wait_for(const char *schema)
{
	const char *args[] = {schema};

	/* pg_stat_activity afresh: a builder that connected since must show. */
	pgstat_clear_snapshot();

	List	   *rows = catalog_rows(
		"SELECT i.index_name, i.state = 'building' OR EXISTS (SELECT FROM pg_catalog.pg_stat_activity a "
		"  WHERE a.backend_type = 'expand_contract index builds') "
		"FROM expand_contract.index_builds i "
		"JOIN expand_contract.migrations m ON m.schema_name = i.schema_name AND m.name = i.migration "
		"WHERE i.schema_name = $1 AND m.phase = 'active' AND (i.state = 'pending' OR "
		"(i.state = 'building' AND i.pid IN (SELECT pid FROM pg_catalog.pg_stat_activity))) "
		"ORDER BY 1 LIMIT 1", 1, args);

	if (rows == NIL)
		return NULL;

	char	  **row = (char **) linitial(rows);

	return row[1][0] == 't' ? pstrdup(row[0]) : "";
}

} // namespace ec

/* CALL wait_for_index_builds(schema): commits between its looks, so that
 * it holds no snapshot the builds would wait for. */
EC_FUNCTION(ec_wait_for_index_builds)
{
	CallContext *call = fcinfo->context && IsA(fcinfo->context, CallContext)
		? (CallContext *) fcinfo->context : NULL;

	if (call == NULL || call->atomic)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("wait_for_index_builds must be invoked with CALL outside a transaction block"),
				 errhint("A concurrent index build waits for every older transaction, this one too.")));

	const char *schema = ec::require_schema_argument(fcinfo, 0);
	bool		told = false;
	int			unbuilt = 0;	/* looks in a row that saw no worker */

	SPI_connect_ext(SPI_OPT_NONATOMIC);
	for (;;)
	{
		const char *index = ec::build_to_wait_for(schema);

		SPI_commit();
		if (index == NULL)
			break;
		/* A worker start launched may take a moment to connect. */
		unbuilt = index[0] == '\0' ? unbuilt + 1 : 0;
		if (unbuilt > 50)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("no worker builds the indexes of schema \"%s\"", schema),
					 errhint("SELECT expand_contract.start_index_builds('%s');", schema)));
		if (!told && index[0] != '\0')
		{
			ereport(NOTICE, (errmsg("waiting for index \"%s\" to be built", index)));
			told = true;
		}
		ec::sleep_ms(100);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

namespace ec {

void
require_index_builds_valid(const MigrationRecord &record)
{
	const char *args[] = {record.schema, record.name};
	List	   *rows = catalog_rows("SELECT index_name, state, coalesce(error, '') FROM expand_contract.index_builds "
									"WHERE schema_name = $1 AND migration = $2 AND state <> 'valid' "
									"ORDER BY index_name", 2, args);

	if (rows == NIL)
		return;

	char	  **row = (char **) linitial(rows);
	bool		failed = strcmp(row[1], "failed") == 0;

	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot complete: index \"%s\" of migration \"%s\" is %s", row[0], record.name,
					failed ? "not built" : row[1]),
			 failed ? errdetail("Its build failed: %s", row[2]) : 0,
			 failed ? errhint("Fix the cause, then SELECT expand_contract.start_index_builds('%s', "
							  "retry_failed => true), or roll back.", record.schema)
			 : errhint("Wait for it (expand_contract.index_build_status), or "
					   "SELECT expand_contract.start_index_builds('%s') if no worker builds it.",
					   record.schema)));
}

namespace {

/* The statement create_index_sql wrote, without CONCURRENTLY. */
const char *
built_in_transaction(const char *statement)
{
	static const char *const kForms[][2] = {
		{"CREATE INDEX CONCURRENTLY ", "CREATE INDEX "},
		{"CREATE UNIQUE INDEX CONCURRENTLY ", "CREATE UNIQUE INDEX "},
	};

	for (const auto &form : kForms)
		if (strncmp(statement, form[0], strlen(form[0])) == 0)
			return psprintf("%s%s", form[1], statement + strlen(form[0]));
	elog(ERROR, "expand_contract: unexpected index build statement: %s", statement);
}

} // namespace

void
build_unfinished_indexes_here(const MigrationRecord &record)
{
	const char *args[] = {record.schema, record.name};

	stop_index_builds(record);

	List	   *rows = catalog_rows("SELECT index_name, statement FROM expand_contract.index_builds "
									"WHERE schema_name = $1 AND migration = $2 AND state <> 'valid' "
									"ORDER BY index_name", 2, args);
	ListCell   *lc;

	if (rows == NIL)
		return;

	RunAs		owner = begin_run_as(record.owner, kPinnedSearchPath);

	foreach(lc, rows)
	{
		char	  **row = (char **) lfirst(lc);

		/* What a stopped build left: PostgreSQL's invalid index. */
		sql_exec(psprintf("DROP INDEX IF EXISTS %s", qname(record.schema, row[0])));
		sql_exec(built_in_transaction(row[1]));
	}
	end_run_as(owner);
	catalog_exec("UPDATE expand_contract.index_builds SET state = 'valid', error = NULL, pid = NULL, "
				 "finished_at = pg_catalog.clock_timestamp() "
				 "WHERE schema_name = $1 AND migration = $2 AND state <> 'valid'", 2, args);
}

void
stop_index_builds(const MigrationRecord &record)
{
	const char *args[] = {record.schema, record.name};

	/* First the rows (a builder holds its row until its build's first
	 * commit, after which the index it makes exists for us to drop). */
	(void) catalog_rows("SELECT 1 FROM expand_contract.index_builds WHERE schema_name = $1 AND migration = $2 "
						"FOR UPDATE", 2, args);
	/* pg_stat_activity afresh: a builder that has exited is not told. */
	pgstat_clear_snapshot();
	(void) catalog_rows("SELECT pg_catalog.pg_cancel_backend(pid) FROM expand_contract.index_builds "
						"WHERE schema_name = $1 AND migration = $2 AND state = 'building' "
						"AND pid IN (SELECT a.pid FROM pg_catalog.pg_stat_activity a)", 2, args);

	/* Then their ends: the statement a stopped build was in commits or
	 * aborts before what follows drops the index (under the phase's lock
	 * timeout, as every lock a phase waits for). */
	LOCKTAG		stopping = build_lock_tag(get_namespace_oid(record.schema, false));

	(void) LockAcquire(&stopping, kStoppingLock, false, false);
}

} // namespace ec

EC_FUNCTION(ec_start_index_builds)
{
	const char *schema = ec::require_schema_argument(fcinfo, 0);
	bool		retry_failed = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);

	SPI_connect();

	ec::MigrationRecord record = ec::lock_active_migration(schema, "build indexes");

	ec::require_owner_rights(record, "build indexes");

	const char *args[] = {schema, record.name, retry_failed ? "true" : "false"};
	bool		work = ec::catalog_rows("SELECT 1 FROM expand_contract.index_builds "
										"WHERE schema_name = $1 AND migration = $2 "
										"AND (state IN ('pending', 'building') OR (state = 'failed' AND $3::boolean))",
										3, args) != NIL;
	int			pid = work ? ec::register_builder(schema, InvalidTransactionId, retry_failed) : 0;

	SPI_finish();
	if (work && pid == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start an index builder: no background worker slot is free"),
				 errhint("Raise max_worker_processes.")));
	if (pid == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(pid);
}

extern "C" {
PGDLLEXPORT void ec_index_builder_main(Datum main_arg);
}

void
ec_index_builder_main(Datum main_arg)
{
	ec::BuilderArguments arguments;

	memcpy(&arguments, MyBgworkerEntry->bgw_extra, sizeof(arguments));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(arguments.database, BOOTSTRAP_SUPERUSERID, 0);
	SetConfigOption("application_name", "expand_contract index builds", PGC_USERSET, PGC_S_SESSION);
	SetConfigOption("search_path", ec::kPinnedSearchPath, PGC_USERSET, PGC_S_SESSION);

	ec::Builder builder;

	builder.schema = MemoryContextStrdup(TopMemoryContext, NameStr(arguments.schema));
	builder.retry_failed = arguments.retry_failed;
	MemoryContextSwitchTo(AllocSetContextCreate(TopMemoryContext, "index builder", ALLOCSET_DEFAULT_SIZES));
	ec::pg_entry([&] { ec::run_builder(builder, arguments.wait_for); });
	proc_exit(0);
}
