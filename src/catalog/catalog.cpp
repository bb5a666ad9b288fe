/*
 * catalog.cpp — the catalog of migration state; see catalog.hpp.
 */
#include "catalog/catalog.hpp"

#include "pg/security.hpp"
#include "pg/sql.hpp"

namespace ec {

const char *
require_schema(const char *schema)
{
	if (!OidIsValid(get_namespace_oid(schema, true)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_SCHEMA_NAME),
				 errmsg("schema \"%s\" does not exist", schema)));
	return pstrdup(schema);
}

const char *
require_schema_argument(FunctionCallInfo fcinfo, int arg)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schema must not be NULL")));
	return require_schema(NameStr(*PG_GETARG_NAME(arg)));
}

void
lock_schema_migrations(const char *schema, bool shared)
{
	const char *args[] = {schema};

	(void) sql_rows(psprintf("SELECT pg_catalog.%s(pg_catalog.hashtext('expand_contract'), "
							 "pg_catalog.hashtext($1))",
							 shared ? "pg_advisory_xact_lock_shared" : "pg_advisory_xact_lock"),
					1, args);
}

namespace {

/* The steps stored in column `column` of the open migration, in order. */
List *
load_steps(const char *schema, const char *column)
{
	const char *args[] = {schema};
	List	   *rows = catalog_rows(psprintf("SELECT s.step ? 'sql', COALESCE(s.step->>'sql', s.step->>'ddl') "
											 "FROM expand_contract.migrations m, "
											 "pg_catalog.jsonb_array_elements(m.%s) WITH ORDINALITY AS s(step, n) "
											 "WHERE m.schema_name = $1 AND m.phase = 'active' ORDER BY s.n",
											 column),
									1, args);
	List	   *steps = NIL;
	ListCell   *lc;

	foreach(lc, rows)
	{
		char	  **row = (char **) lfirst(lc);
		PlannedStep *step = (PlannedStep *) palloc(sizeof(PlannedStep));

		step->user_sql = strcmp(row[0], "t") == 0;
		step->statement = row[1];
		steps = lappend(steps, step);
	}
	return steps;
}

/* The steps as a jsonb literal: [{"ddl": ...}, {"sql": ...}]. */
const char *
steps_jsonb(List *steps)
{
	List	   *kinds = NIL;
	List	   *statements = NIL;
	ListCell   *lc;

	foreach(lc, steps)
	{
		PlannedStep *step = (PlannedStep *) lfirst(lc);

		kinds = lappend(kinds, (void *) (step->user_sql ? "sql" : "ddl"));
		statements = lappend(statements, (void *) step->statement);
	}

	const char *args[] = {text_array_literal(kinds), text_array_literal(statements)};

	return sql_value("SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(k, s) ORDER BY n), "
					 "'[]')::pg_catalog.text "
					 "FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), "
					 "pg_catalog.unnest($2::pg_catalog.text[])) WITH ORDINALITY AS u(k, s, n)",
					 2, args);
}

} // namespace

bool
find_active_migration(const char *schema, MigrationRecord *record, bool lock)
{
	const char *args[] = {schema};
	List	   *rows = catalog_rows(psprintf("SELECT name, version_schema, previous_version_schema, "
											 "touched_tables, owner, sql_search_path, "
											 "(pg_catalog.date_part('epoch', started_at) * 1000000)::pg_catalog.int8 "
											 "FROM expand_contract.migrations "
											 "WHERE schema_name = $1 AND phase = 'active'%s",
											 lock ? " FOR UPDATE" : ""),
									1, args);

	if (rows == NIL)
		return false;

	char	  **row = (char **) linitial(rows);

	record->schema = schema;
	record->name = row[0];
	record->version_schema = row[1];
	record->previous_version_schema = row[2];
	record->touched_tables = text_array_elements(row[3]);
	record->owner = role_oid(row[4], psprintf("migration \"%s\" of schema \"%s\"", row[0], schema));
	record->sql_search_path = row[5];
	/* Microseconds since the Unix epoch, exact whatever DateStyle says. */
	record->started_at = (TimestampTz) strtoll(row[6], NULL, 10) -
		(TimestampTz) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
	record->complete_steps = load_steps(schema, "complete_steps");
	record->rollback_steps = load_steps(schema, "rollback_steps");
	record->open_steps = load_steps(schema, "open_steps");
	return true;
}

MigrationRecord
require_active_migration(const char *schema, const char *action, bool lock)
{
	MigrationRecord record;

	if (!find_active_migration(schema, &record, lock))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s: no migration is open on schema \"%s\"", action, schema),
				 errhint("Start one with expand_contract.start().")));
	return record;
}

MigrationRecord
lock_active_migration(const char *schema, const char *action)
{
	lock_schema_migrations(schema);
	return require_active_migration(schema, action);
}

bool
migration_name_used(const char *schema, const char *name)
{
	const char *args[] = {schema, name};

	return catalog_rows("SELECT 1 FROM expand_contract.migrations "
						"WHERE schema_name = $1 AND name = $2", 2, args) != NIL;
}

void
last_completed_migration(const char *schema, const char **name, const char **version_schema)
{
	const char *args[] = {schema};
	List	   *rows = catalog_rows("SELECT name, version_schema FROM expand_contract.migrations "
									"WHERE schema_name = $1 AND phase = 'completed' "
									"ORDER BY completed_at DESC LIMIT 1", 1, args);

	*name = rows ? ((char **) linitial(rows))[0] : NULL;
	*version_schema = rows ? ((char **) linitial(rows))[1] : NULL;
}

void
record_started_migration(MigrationPlan *plan, const char *parent, const char *document,
						 List *complete_steps, List *rollback_steps)
{
	List	   *touched = NIL;
	ListCell   *lc;

	foreach(lc, plan->tables)
		touched = lappend(touched, (void *) ((PlannedTable *) lfirst(lc))->physical_name);

	const char *args[] = {plan->schema, plan->name, plan->version_schema,
						  plan->previous_version_schema, parent, document,
						  text_array_literal(touched), steps_jsonb(complete_steps),
						  steps_jsonb(rollback_steps), GetUserNameFromId(plan->owner, false),
						  plan->names.search_path, steps_jsonb(plan_ddl_steps(plan->open_steps))};

	catalog_exec("INSERT INTO expand_contract.migrations (schema_name, name, version_schema, "
				 "previous_version_schema, parent, document, touched_tables, complete_steps, "
				 "rollback_steps, owner, sql_search_path, open_steps) VALUES ($1, $2, $3, $4, $5, "
				 "$6::jsonb, $7::name[], $8::jsonb, $9::jsonb, $10, $11, $12::jsonb)", 12, args);
}

void
record_backfill_table(MigrationPlan *plan, const char *table_name, List *key_columns,
					  const char *rows_estimate)
{
	const char *args[] = {plan->schema, plan->name, table_name,
						  text_array_literal(key_columns), kBackfillMarker, rows_estimate};

	catalog_exec("INSERT INTO expand_contract.backfill_progress (schema_name, migration, "
				 "table_name, key_columns, marker_column, rows_total) "
				 "VALUES ($1, $2, $3, $4::name[], $5, $6::bigint)",
				 6, args);
}

bool
catalog_at_version_0_1()
{
	Relation	pg_extension = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	bool		v1 = false;

	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("expand_contract"));

	SysScanDesc scan = systable_beginscan(pg_extension, ExtensionNameIndexId, true, NULL, 1, &key);
	HeapTuple	tuple = systable_getnext(scan);

	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		version = heap_getattr(tuple, Anum_pg_extension_extversion,
										   RelationGetDescr(pg_extension), &isnull);

		v1 = !isnull && strcmp(TextDatumGetCString(version), "0.1") == 0;
	}
	systable_endscan(scan);
	table_close(pg_extension, AccessShareLock);
	return v1;
}

void
record_backfill_done(const MigrationRecord &record)
{
	const char *args[] = {record.schema, record.name};

	catalog_exec("UPDATE expand_contract.backfill_progress SET done = true, "
				 "updated_at = pg_catalog.clock_timestamp() "
				 "WHERE schema_name = $1 AND migration = $2 AND NOT done", 2, args);
}

void
record_completed_migration(const MigrationRecord &record)
{
	const char *args[] = {record.schema, record.name};

	catalog_exec("DELETE FROM expand_contract.backfill_progress "
				 "WHERE schema_name = $1 AND migration = $2", 2, args);
	catalog_exec("UPDATE expand_contract.migrations SET phase = 'completed', "
				 "completed_at = pg_catalog.now(), complete_steps = '[]', rollback_steps = '[]' "
				 "WHERE schema_name = $1 AND name = $2", 2, args);
}

void
forget_migration(const MigrationRecord &record)
{
	const char *args[] = {record.schema, record.name};

	catalog_exec("DELETE FROM expand_contract.migrations WHERE schema_name = $1 AND name = $2",
				 2, args);
}

void
require_owner_rights(const MigrationRecord &record, const char *action)
{
	if (!acts_for(record.owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s migration \"%s\"", action, record.name),
				 errdetail("Only members of role \"%s\", which started it, may %s it.",
						   GetUserNameFromId(record.owner, false), action)));
}

} // namespace ec
