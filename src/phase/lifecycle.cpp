/*
 * lifecycle.cpp — the phase functions: expand_contract.start(), complete()
 * and rollback().
 *
 * start() turns the document into a plan (ops/), attaches sync triggers,
 * builds the version schema and records the migration with the DDL that will
 * complete or roll it back. Each function is one transaction: an ERROR
 * anywhere leaves nothing behind.
 */
#include "backfill/backfill.hpp"
#include "boundary.hpp"
#include "catalog/catalog.hpp"
#include "plan/document.hpp"
#include "pg/error_context.hpp"
#include "ops/operations.hpp"
#include "phase/index_builds.hpp"
#include "phase/lifecycle.hpp"
#include "phase/phase_lock.hpp"
#include "phase/replication.hpp"
#include "pg/security.hpp"
#include "sync/version_activity.hpp"
#include "pg/sql.hpp"
#include "sync/trigger_engine.hpp"
#include "phase/verify.hpp"
#include "phase/version_schema.hpp"

namespace ec {

namespace {

void
apply_operations(MigrationPlan *plan, const JsonObject &document)
{
	List	   *operations = document.object_array("operations", true);
	ListCell   *lc;

	foreach(lc, operations)
	{
		JsonObject	op((JsonbContainer *) lfirst(lc));
		int			number = foreach_current_index(lc) + 1;
		const char *kind = NULL;
		ApplyOperation apply = NULL;

		with_error_prefix(psprintf("operation %d", number), NULL, [&]() {
			kind = op.only_key();
			apply = find_operation(kind);
			if (apply == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown operation \"%s\"", kind),
						 errhint("Known operations: %s.", operation_names())));
		});
		plan->operation = number;
		plan->where = psprintf("operation %d (%s)", number, kind);
		with_error_prefix(plan->where, NULL, [&]() { apply(plan, op.required_object(kind).rooted()); });
	}
}

/* Reads the document's top level into a fresh plan. */
MigrationPlan *
new_plan(const char *name, const char *schema, const JsonObject &document)
{
	static const char *const kFields[] = {"name", "operations", "version_schema", NULL};
	MigrationPlan *plan = (MigrationPlan *) palloc0(sizeof(MigrationPlan));

	with_error_prefix("migration document", NULL, [&]() {
		document.reject_unknown(kFields);

		const char *doc_name = document.optional_string("name");

		if (doc_name != NULL && strcmp(doc_name, name) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"name\" is \"%s\" but the migration is started as \"%s\"",
							doc_name, name)));
		plan->version_schema = document.optional_string("version_schema");
		(void) document.object_array("operations", true);
	});

	plan->name = name;
	plan->schema = schema;
	plan->schema_oid = get_namespace_oid(schema, false);
	if (plan->version_schema == NULL)
		plan->version_schema = psprintf("%s_%s", schema, name);
	if (strlen(plan->version_schema) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("version schema name \"%s\" is longer than %d bytes",
						plan->version_schema, NAMEDATALEN - 1),
				 errhint("Use a shorter migration name or set \"version_schema\" in the document.")));
	if (OidIsValid(get_namespace_oid(plan->version_schema, true)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_SCHEMA),
				 errmsg("version schema \"%s\" already exists", plan->version_schema)));
	return plan;
}

/* Tables with "up" columns need their existing rows backfilled: by key, or
 * by physical position when the table has none. A partitioned table is
 * backfilled partition by partition, each with its own key and progress. */
void
register_backfills(MigrationPlan *plan)
{
	ListCell   *lc;

	foreach(lc, plan->tables)
	{
		PlannedTable *table = (PlannedTable *) lfirst(lc);
		ListCell   *lp;

		if (!plan_needs_backfill(table))
			continue;
		foreach(lp, plan_storage_tables(plan, table))
		{
			Oid			relid = lfirst_oid(lp);

			record_backfill_table(plan, get_rel_name(relid), backfill_key_columns(relid),
								  backfill_row_estimate(relid));
		}
	}
}

/*
 * Drops the version schema that goes (if any), then replays the steps start()
 * planned, as the migration's owner: generated DDL under the pinned
 * search_path, sql operations as written under the owner's search_path at
 * start.
 */
void
run_planned_steps(const MigrationRecord &record, const char *dropped_version_schema, List *steps)
{
	RunAs		owner = begin_run_as(record.owner, kPinnedSearchPath);
	ListCell   *lc;

	if (dropped_version_schema != NULL)
		drop_version_schema(dropped_version_schema);
	foreach(lc, steps)
	{
		const PlannedStep *step = (const PlannedStep *) lfirst(lc);

		if (!step->user_sql)
		{
			sql_exec(step->statement);
			continue;
		}

		/* Its own nest level: a SET inside does not outlive it. */
		int			nest_level = use_search_path(record.sql_search_path);

		sql_exec_as_written(step->statement);
		restore_search_path(nest_level);
	}
	end_run_as(owner);
}

void
report_final_backfill(void *arg, const BatchReport &report)
{
	*static_cast<int64 *>(arg) += report.rows_backfilled;
}

} // namespace

} // namespace ec

namespace ec {

namespace {

/* What a start attempt needs, and what it returns. */
struct StartArgs {
	NameRules caller;
	const char *name;
	Jsonb *document;
	const char *schema;
	const char *version_schema;	/* out */
	bool builds_indexes;		/* out */
	/* Applied from a publisher (replicated_phase.cpp): its parent and
	 * previous version, not this database's history. */
	bool replicated = false;
	const char *parent = NULL;
	const char *previous_version_schema = NULL;
};

void
start_attempt(void *arg)
{
	StartArgs  *args = static_cast<StartArgs *>(arg);
	const char *schema = args->schema;

	lock_schema_migrations(schema);

	MigrationRecord open;

	if (find_active_migration(schema, &open))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("migration \"%s\" is already open on schema \"%s\"", open.name, schema),
				 errhint("Complete or roll it back before starting another.")));
	if (migration_name_used(schema, args->name))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("a migration named \"%s\" already exists in the history of schema \"%s\"",
						args->name, schema)));

	JsonObject	document = JsonObject::from_jsonb(args->document);
	MigrationPlan *plan = new_plan(args->name, schema, document);
	const char *parent;
	const char *previous_version_schema;

	plan->owner = GetUserId();
	plan->names = args->caller;

	last_completed_migration(schema, &parent, &previous_version_schema);
	if (args->replicated)
	{
		parent = args->parent;
		previous_version_schema = args->previous_version_schema;
	}
	if (previous_version_schema != NULL && OidIsValid(get_namespace_oid(previous_version_schema, true)))
		plan->previous_version_schema = previous_version_schema;

	ListCell   *lc;

	apply_operations(plan, document);
	if (!args->replicated)
		require_replicable(plan);
	plan_carry_constraints(plan);
	foreach(lc, plan->tables)
		install_sync_trigger(plan, (PlannedTable *) lfirst(lc));

	create_version_schema(plan);
	record_started_migration(plan, parent, JsonbToCString(NULL, &args->document->root,
														  VARSIZE(args->document)),
							 plan_complete_steps(plan), plan_rollback_steps(plan));
	register_backfills(plan);
	record_index_builds(plan);
	args->version_schema = plan->version_schema;
	args->builds_indexes = plan->index_builds != NIL;
}

/*
 * The tables of the migration still to backfill ("a, b"), how many, and by
 * the progress estimate about how many rows (-1: unknown); NULL when none.
 */
const char *
backfill_left(const MigrationRecord &record, int64 *rows, int64 *ntables)
{
	const char *args[] = {record.schema, record.name};
	/* ntables counts progress rows: a table split for a parallel backfill
	 * has one per part, and each takes its own batches. */
	List	   *found = catalog_rows("SELECT pg_catalog.string_agg(DISTINCT table_name::text, ', ' "
									 "ORDER BY table_name::text), "
									 "pg_catalog.sum(GREATEST(COALESCE(rows_total, 0) - rows_done, 0)), "
									 "pg_catalog.bool_or(rows_total IS NULL), pg_catalog.count(*) "
									 "FROM expand_contract.backfill_progress "
									 "WHERE schema_name = $1 AND migration = $2 AND NOT done",
									 2, args);
	char	  **row = (char **) linitial(found);

	if (row[0] == NULL)
		return NULL;
	*rows = strcmp(row[2], "t") == 0 ? -1 : strtoll(row[1], NULL, 10);
	*ntables = strtoll(row[3], NULL, 10);
	return row[0];
}

[[noreturn]] void
refuse_long_backfill(const MigrationRecord &record, const char *tables, int64 rows)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot complete: %s rows of %s are still to be backfilled",
					rows < 0 ? psprintf("more than %d", complete_backfill_limit())
					: psprintf("about " INT64_FORMAT, rows), tables),
			 errdetail("complete() backfills at most expand_contract.complete_backfill_limit (%d) rows "
					   "itself, because it holds its locks while it does.",
					   complete_backfill_limit()),
			 errhint("Run CALL expand_contract.run_backfill('%s') (or start_backfill) first.",
					 record.schema)));
}

/*
 * The old columns are about to go: every row must have its new ones. A few
 * left are filled here; many would hold row locks (and then the phase's own)
 * against writers for as long as they take. The estimate refuses early; the
 * work itself is bounded too (one batch of the limit per table), since an
 * estimate can be far off.
 */
int64
finish_small_backfill(const MigrationRecord &record)
{
	int64		rows;
	int64		ntables;
	const char *tables = backfill_left(record, &rows, &ntables);
	int64		backfilled = 0;

	if (tables == NULL)
		return 0;
	if (rows < 0 || rows > complete_backfill_limit())
		refuse_long_backfill(record, tables, rows);
	(void) run_backfill_batches(record, complete_backfill_limit() + 1, ntables, report_final_backfill,
								&backfilled);
	tables = backfill_left(record, &rows, &ntables);
	if (tables != NULL)
		refuse_long_backfill(record, tables, -1);
	return backfilled;
}

struct CompleteArgs {
	const char *schema;
	bool verify;
	bool force;					/* even while the old version writes */
	int64 backfilled;			/* out */
};

void
complete_attempt(void *arg)
{
	CompleteArgs *args = static_cast<CompleteArgs *>(arg);
	MigrationRecord record = lock_active_migration(args->schema, "complete");

	require_owner_rights(record, "complete");
	require_index_builds_valid(record);
	refuse_complete_under_old_writers(record, args->force);

	args->backfilled = finish_small_backfill(record);
	open_new_version_if_backfilled(record);
	if (args->verify)
	{
		int64		mismatches = verify_migration(record, NULL, NULL);

		if (mismatches > 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot complete: " INT64_FORMAT " synced values disagree between the versions",
							mismatches),
					 errhint("See SELECT * FROM expand_contract.verify('%s').", args->schema)));
	}
	run_planned_steps(record, record.previous_version_schema, record.complete_steps);
	record_completed_migration(record);
}

void
rollback_attempt(void *arg)
{
	const char *schema = static_cast<const char *>(arg);
	MigrationRecord record = lock_active_migration(schema, "roll back");

	require_owner_rights(record, "roll back");
	stop_index_builds(record);
	run_planned_steps(record, record.version_schema, record.rollback_steps);
	forget_migration(record);
}

} // namespace

} // namespace ec

namespace ec {

namespace {

/* start's and validate's arguments, checked the same way. */
StartArgs
start_arguments(FunctionCallInfo fcinfo, Oid *schema_oid)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("migration name and document must not be NULL")));

	/* The caller's rules for reading the document, before anything else
	 * runs under the pinned ones. */
	StartArgs	args = {{effective_search_path(), standard_conforming_strings},
						text_to_cstring(PG_GETARG_TEXT_PP(0)), PG_GETARG_JSONB_P(1), NULL, NULL};

	args.schema = require_schema_argument(fcinfo, 2);
	if (args.name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migration name must not be empty")));

	*schema_oid = get_namespace_oid(args.schema, false);

	/* Migrating a schema changes it; without this anyone could hold it open. */
	if (pg_namespace_aclcheck(*schema_oid, GetUserId(), ACL_CREATE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to migrate schema \"%s\"", args.schema),
				 errdetail("Starting a migration needs the CREATE privilege on the schema.")));
	require_schema_owner_rights(*schema_oid, args.schema);
	return args;
}

/* What validate() shows of a start it then undoes. */
struct ValidateArgs {
	StartArgs start;
	MemoryContext keep;			/* where the planned steps outlive the undo */
	List	   *steps;			/* char **: {phase, statement} */
};

/* Raised to undo the start validate() ran. */
constexpr int kValidateUndo = MAKE_SQLSTATE('E', 'C', '0', '0', '1');

void
validate_attempt(void *arg)
{
	ValidateArgs *args = static_cast<ValidateArgs *>(arg);
	const char *names[] = {args->start.schema, args->start.name};

	start_attempt(&args->start);

	List	   *rows = catalog_rows(
		"SELECT phase, statement FROM ("
		"  SELECT 1 AS o, n AS k, 'complete' AS phase, coalesce(e->>'ddl', e->>'sql') AS statement"
		"    FROM expand_contract.migrations m, pg_catalog.jsonb_array_elements(m.complete_steps) WITH ORDINALITY AS x(e, n)"
		"   WHERE m.schema_name = $1 AND m.name = $2"
		"  UNION ALL"
		"  SELECT 2, n, 'rollback', coalesce(e->>'ddl', e->>'sql')"
		"    FROM expand_contract.migrations m, pg_catalog.jsonb_array_elements(m.rollback_steps) WITH ORDINALITY AS x(e, n)"
		"   WHERE m.schema_name = $1 AND m.name = $2"
		"  UNION ALL"
		"  SELECT 3, pg_catalog.row_number() OVER (ORDER BY index_name), 'index build', statement"
		"    FROM expand_contract.index_builds WHERE schema_name = $1 AND migration = $2"
		"  UNION ALL"
		"  SELECT 4, pg_catalog.row_number() OVER (ORDER BY table_name), 'backfill', "
		"         pg_catalog.format('%I.%I (about %s rows)', schema_name, table_name, coalesce(rows_total, 0))"
		"    FROM expand_contract.backfill_progress WHERE schema_name = $1 AND migration = $2"
		") s ORDER BY o, k",
		2, names);
	MemoryContext old = MemoryContextSwitchTo(args->keep);
	ListCell   *lc;

	foreach(lc, rows)
	{
		char	  **row = (char **) lfirst(lc);
		char	  **kept = (char **) palloc(2 * sizeof(char *));

		kept[0] = pstrdup(row[0]);
		kept[1] = pstrdup(row[1]);
		args->steps = lappend(args->steps, kept);
	}
	MemoryContextSwitchTo(old);
	ereport(ERROR, (errcode(kValidateUndo), errmsg("validate undoes what it planned")));
}

} // namespace

} // namespace ec

EC_FUNCTION(ec_start)
{
	Oid			schema_oid;
	ec::StartArgs args = ec::start_arguments(fcinfo, &schema_oid);
	int			pinned = ec::pin_settings(ec::kPinnedSearchPath);
	Name		result = (Name) palloc0(NAMEDATALEN);

	SPI_connect();
	ec::run_phase("start", schema_oid, ec::start_attempt, &args);
	if (args.builds_indexes)
		ec::launch_index_builds(args.schema, args.name);
	namestrcpy(result, args.version_schema);
	SPI_finish();
	ec::unpin_settings(pinned);
	PG_RETURN_NAME(result);
}

/*
 * validate(name, migration, schema): a dry run. It runs start as start would
 * (same checks, same errors and SQLSTATEs, the same short lock waits) inside
 * a subtransaction it then rolls back, and returns the steps it planned:
 * complete's and rollback's statements in order, the indexes it would
 * build, the tables it would backfill. Nothing is left, and no worker starts.
 */
EC_FUNCTION(ec_validate)
{
	static const int undo[] = {ec::kValidateUndo, 0};
	Oid			schema_oid;
	ec::ValidateArgs args = {ec::start_arguments(fcinfo, &schema_oid), CurrentMemoryContext, NIL};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			pinned = ec::pin_settings(ec::kPinnedSearchPath);
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	(void) set_config_option("lock_timeout", psprintf("%d", ec::phase_lock_timeout()), PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) ec::run_in_subtransaction(ec::validate_attempt, &args, undo);
	SPI_finish();
	ec::unpin_settings(pinned);
	foreach(lc, args.steps)
	{
		char	  **row = (char **) lfirst(lc);
		Datum		values[2] = {CStringGetTextDatum(row[0]), CStringGetTextDatum(row[1])};
		bool		nulls[2] = {false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * baseline(name, schema): a version schema of the schema's current shape,
 * recorded as a completed migration, so that applications can use a version
 * schema from the first day. The next start() keeps it live as the previous
 * version (its writes count as the old version's) until that migration
 * completes; the base tables' staged columns are never part of it.
 */
EC_FUNCTION(ec_baseline)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("baseline name must not be NULL")));

	const char *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *schema = ec::require_schema_argument(fcinfo, 1);
	Oid			schema_oid = get_namespace_oid(schema, false);
	Name		result = (Name) palloc0(NAMEDATALEN);

	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("baseline name must not be empty")));
	ec::require_schema_owner_rights(schema_oid, schema);

	SPI_connect();
	ec::lock_schema_migrations(schema);

	ec::MigrationRecord open;

	if (ec::find_active_migration(schema, &open))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot take a baseline: migration \"%s\" is open on schema \"%s\"",
						open.name, schema)));
	if (ec::migration_name_used(schema, name))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("a migration named \"%s\" already exists in the history of schema \"%s\"",
						name, schema)));

	Jsonb	   *document = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{\"operations\": []}")));
	ec::MigrationPlan *plan = ec::new_plan(name, schema, ec::JsonObject::from_jsonb(document));
	const char *parent;
	const char *previous_version_schema;

	plan->owner = GetUserId();
	plan->names = ec::pinned_names();
	ec::last_completed_migration(schema, &parent, &previous_version_schema);
	/* A live version schema is the current version already; a baseline
	 * beside it would leave it behind for good (the next complete drops only
	 * the version before its own). */
	if (previous_version_schema != NULL && OidIsValid(get_namespace_oid(previous_version_schema, true)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot take a baseline: version schema \"%s\" of migration \"%s\" is live",
						previous_version_schema, parent),
				 errhint("Applications can use it as their version schema; the next start() keeps it "
						 "live until that migration completes.")));
	ec::create_version_schema(plan);
	ec::record_started_migration(plan, parent, "{\"operations\": []}", NIL, NIL);

	ec::MigrationRecord record;

	record.schema = schema;
	record.name = name;
	ec::record_completed_migration(record);
	namestrcpy(result, plan->version_schema);
	SPI_finish();
	PG_RETURN_NAME(result);
}

EC_FUNCTION(ec_complete)
{
	ec::CompleteArgs args = {ec::require_schema_argument(fcinfo, 0),
							 !PG_ARGISNULL(1) && PG_GETARG_BOOL(1),
							 !PG_ARGISNULL(2) && PG_GETARG_BOOL(2), 0};

	SPI_connect();
	ec::run_phase("complete", get_namespace_oid(args.schema, false), ec::complete_attempt, &args);
	if (args.backfilled > 0)
		ereport(NOTICE,
				(errmsg_plural("complete backfilled " INT64_FORMAT " remaining row",
							   "complete backfilled " INT64_FORMAT " remaining rows",
							   args.backfilled, args.backfilled),
				 errhint("Run expand_contract.backfill() before complete() to keep this transaction short.")));
	SPI_finish();
	PG_RETURN_VOID();
}

EC_FUNCTION(ec_rollback)
{
	const char *schema = ec::require_schema_argument(fcinfo, 0);

	SPI_connect();
	ec::run_phase("rollback", get_namespace_oid(schema, false), ec::rollback_attempt,
				  const_cast<char *>(schema));
	SPI_finish();
	PG_RETURN_VOID();
}

namespace ec {

namespace {

/* The subscriber's open migration of `schema`, which must be the
 * publisher's `name`: anything else means the two sides went apart. */
MigrationRecord
lock_replicated_migration(const char *schema, const char *name, const char *action)
{
	MigrationRecord record = lock_active_migration(schema, action);

	if (strcmp(record.name, name) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s the publisher's migration \"%s\" of schema \"%s\": migration \"%s\" is open here",
						action, name, schema, record.name),
				 errhint("Roll back the subscriber's own migration; the publisher's phases are applied here.")));
	return record;
}

struct ReplicatedPhaseArgs {
	const char *schema;
	const char *name;
};

void
replicated_open_attempt(void *arg)
{
	ReplicatedPhaseArgs *args = static_cast<ReplicatedPhaseArgs *>(arg);
	MigrationRecord record = lock_replicated_migration(args->schema, args->name, "open");

	record_backfill_done(record);
	open_new_version_if_backfilled(record);
}

void
replicated_complete_attempt(void *arg)
{
	ReplicatedPhaseArgs *args = static_cast<ReplicatedPhaseArgs *>(arg);
	MigrationRecord record = lock_replicated_migration(args->schema, args->name, "complete");

	record_backfill_done(record);
	build_unfinished_indexes_here(record);
	open_new_version_if_backfilled(record);
	run_planned_steps(record, record.previous_version_schema, record.complete_steps);
	record_completed_migration(record);
}

void
replicated_rollback_attempt(void *arg)
{
	ReplicatedPhaseArgs *args = static_cast<ReplicatedPhaseArgs *>(arg);
	MigrationRecord record = lock_replicated_migration(args->schema, args->name, "roll back");

	stop_index_builds(record);
	run_planned_steps(record, record.version_schema, record.rollback_steps);
	forget_migration(record);
}

void
run_replicated_phase(const char *phase, const char *schema, const char *name, void (*attempt)(void *))
{
	ReplicatedPhaseArgs args = {schema, name};
	int			pinned = pin_settings(kPinnedSearchPath);

	run_phase(phase, get_namespace_oid(schema, false), attempt, &args);
	unpin_settings(pinned);
}

} // namespace

void
apply_replicated_start(const ReplicatedMigration &migration)
{
	MigrationRecord open;
	int			pinned = pin_settings(kPinnedSearchPath);

	if (find_active_migration(migration.schema, &open, false) && strcmp(open.name, migration.name) == 0)
	{
		unpin_settings(pinned);
		return;
	}

	StartArgs	args = {{migration.sql_search_path, true}, migration.name, migration.document,
						require_schema(migration.schema), NULL, false};

	args.replicated = true;
	args.parent = migration.parent;
	args.previous_version_schema = migration.previous_version_schema;

	/* Started by its owner, as on the publisher: what start creates is the
	 * owner's, and its checks are the owner's. The apply worker's user (a
	 * superuser) may become any role; an ERROR restores it. */
	Oid			saved_user;
	int			saved_context;

	GetUserIdAndSecContext(&saved_user, &saved_context);
	SetUserIdAndSecContext(role_oid(migration.owner, psprintf("migration \"%s\"", migration.name)),
						   saved_context | SECURITY_LOCAL_USERID_CHANGE);
	run_phase("start", get_namespace_oid(args.schema, false), start_attempt, &args);
	SetUserIdAndSecContext(saved_user, saved_context);
	if (args.builds_indexes)
		launch_index_builds(args.schema, args.name);
	unpin_settings(pinned);
}

void
apply_replicated_open(const char *schema, const char *name)
{
	run_replicated_phase("open", schema, name, replicated_open_attempt);
}

void
apply_replicated_complete(const char *schema, const char *name)
{
	run_replicated_phase("complete", schema, name, replicated_complete_attempt);
}

void
apply_replicated_rollback(const char *schema, const char *name)
{
	run_replicated_phase("rollback", schema, name, replicated_rollback_attempt);
}

} // namespace ec
