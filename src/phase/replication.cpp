/*
 * replication.cpp — the publisher's checks and helper, and the subscriber's
 * triggers that apply the publisher's phases (see replication.hpp).
 *
 * In PostgreSQL 15 the apply worker runs with session_replication_role =
 * replica: ordinary triggers (the sync triggers, catalog_row_guard) stay
 * silent, so the rows arrive with the values the publisher computed, and
 * only ENABLE ALWAYS triggers fire. DDL on other tables works there (the
 * apply worker rebuilds its relation map on the relcache invalidation), but
 * CREATE INDEX CONCURRENTLY cannot run: the subscriber's start hands its
 * builds to a background worker, as start does, and its complete builds
 * what is still unfinished in place.
 */
#include "boundary.hpp"
#include "catalog/catalog.hpp"
#include "phase/lifecycle.hpp"
#include "phase/replication.hpp"
#include "pg/sql.hpp"

extern "C" {
#include "catalog/pg_publication.h"
#include "replication/logicalworker.h"
#include "replication/worker_internal.h"
}

namespace ec {

namespace {

/* Set while this backend applies a phase: the catalog rows the phase writes
 * itself must pass the triggers that drop the publisher's. */
bool applying_phase = false;
bool callback_registered = false;

void
forget_applying_phase(XactEvent event, void *)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT)
		applying_phase = false;
}

/* A row arriving from a publisher (not one this backend's phase writes). */
bool
arrives_from_publisher()
{
	return IsLogicalWorker() && !applying_phase;
}

const char *
publication_problem(Oid relid, const char *schema, const char *table)
{
	const char *args[] = {psprintf("%u", relid), schema, table};
	List	   *rows = sql_rows(
		"SELECT t.pubname, "
		"  EXISTS (SELECT FROM pg_catalog.pg_publication_rel r WHERE r.prpubid OPERATOR(pg_catalog.=) p.oid "
		"          AND r.prrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid AND r.prattrs IS NOT NULL), "
		"  EXISTS (SELECT FROM pg_catalog.pg_publication_tables c WHERE c.pubname OPERATOR(pg_catalog.=) t.pubname "
		"          AND c.schemaname OPERATOR(pg_catalog.=) 'expand_contract' "
		"          AND c.tablename OPERATOR(pg_catalog.=) 'migrations') "
		"FROM pg_catalog.pg_publication_tables t "
		"JOIN pg_catalog.pg_publication p ON p.pubname OPERATOR(pg_catalog.=) t.pubname "
		"WHERE t.schemaname OPERATOR(pg_catalog.=) $2 AND t.tablename OPERATOR(pg_catalog.=) $3 "
		"ORDER BY 1", 3, args);
	ListCell   *lc;

	foreach(lc, rows)
	{
		char	  **row = (char **) lfirst(lc);

		if (row[1][0] == 't')
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("publication \"%s\" publishes only some columns of \"%s.%s\"", row[0], schema, table),
					 errdetail("A migration adds columns the list lacks, and complete() could not drop a "
							   "column the list names."),
					 errhint("Publish the whole table while it is migrated: ALTER PUBLICATION %s SET TABLE %s.",
							 qi(row[0]), qname(schema, table))));
		if (row[2][0] != 't')
			return row[0];
	}
	return NULL;
}

} // namespace

void
require_replicable(const MigrationPlan *plan)
{
	ListCell   *lc;

	foreach(lc, plan->tables)
	{
		const PlannedTable *table = (const PlannedTable *) lfirst(lc);

		if (table->created)
			continue;

		const char *name = get_rel_name(table->relid);
		const char *publication = publication_problem(table->relid, plan->schema, name);

		if (publication != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("\"%s.%s\" is published by \"%s\" without the migration catalog",
							plan->schema, name, publication),
					 errdetail("Its subscribers would stop at the first row written after start(), which "
							   "has columns they lack; with the catalog, they apply each phase as it arrives."),
					 errhint("SELECT expand_contract.publish_catalog('%s'); then, on each subscriber (with "
							 "expand_contract installed), ALTER SUBSCRIPTION ... REFRESH PUBLICATION.",
							 publication)));
	}
}

namespace {

/* A column of the trigger's row as text (NULL: SQL NULL). */
const char *
row_text(TriggerData *td, HeapTuple tuple, const char *column)
{
	int			attnum = SPI_fnumber(td->tg_relation->rd_att, column);

	if (attnum <= 0)
		elog(ERROR, "expand_contract: catalog table \"%s\" has no column \"%s\"",
			 RelationGetRelationName(td->tg_relation), column);
	return SPI_getvalue(tuple, td->tg_relation->rd_att, attnum);
}

bool
text_is(const char *value, const char *expected)
{
	return value != NULL && strcmp(value, expected) == 0;
}

void
apply_started(TriggerData *td, HeapTuple row)
{
	bool		isnull;
	Datum		document = SPI_getbinval(row, td->tg_relation->rd_att,
										 SPI_fnumber(td->tg_relation->rd_att, "document"), &isnull);
	ReplicatedMigration migration = {
		row_text(td, row, "schema_name"), row_text(td, row, "name"), DatumGetJsonbP(document),
		row_text(td, row, "owner"), row_text(td, row, "sql_search_path"), row_text(td, row, "parent"),
		row_text(td, row, "previous_version_schema")};

	apply_replicated_start(migration);
}

/* What the publisher's change of its row means here: OLD is this side's
 * row (found by the key), NEW has the publisher's values. */
void
apply_changed(TriggerData *td)
{
	HeapTuple	here = td->tg_trigtuple;
	HeapTuple	there = td->tg_newtuple;
	const char *schema = row_text(td, here, "schema_name");
	const char *name = row_text(td, here, "name");

	if (!text_is(row_text(td, here, "phase"), "active"))
		return;
	if (text_is(row_text(td, there, "phase"), "completed"))
		apply_replicated_complete(schema, name);
	else if (text_is(row_text(td, there, "open_steps"), "[]") && !text_is(row_text(td, here, "open_steps"), "[]"))
		apply_replicated_open(schema, name);
}

void
apply_forgotten(TriggerData *td)
{
	HeapTuple	here = td->tg_trigtuple;

	if (text_is(row_text(td, here, "phase"), "active"))
		apply_replicated_rollback(row_text(td, here, "schema_name"), row_text(td, here, "name"));
}

void
apply_publisher_change(TriggerData *td)
{
	if (!callback_registered)
	{
		RegisterXactCallback(forget_applying_phase, NULL);
		callback_registered = true;
	}
	applying_phase = true;
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		if (text_is(row_text(td, td->tg_trigtuple, "phase"), "active"))
			apply_started(td, td->tg_trigtuple);
	}
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		apply_changed(td);
	else
		apply_forgotten(td);
	applying_phase = false;
}

TriggerData *
row_trigger_data(FunctionCallInfo fcinfo, const char *function)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() must be called as a trigger", function)));

	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() must run BEFORE ... FOR EACH ROW", function)));
	return td;
}

/* The row as it goes on when the trigger lets it through. */
Datum
unchanged_row(TriggerData *td)
{
	return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple);
}

} // namespace

} // namespace ec

/*
 * replicated_phase(): BEFORE INSERT OR UPDATE OR DELETE ON migrations,
 * ENABLE ALWAYS. Outside logical replication workers, and for the rows this
 * side's phases write, it does nothing. In the apply worker, the publisher's
 * new row starts the migration here, its change to completed completes it,
 * its opened views open them, its deletion rolls it back; the publisher's
 * row itself is not stored (this side's phase wrote its own). In a table
 * synchronisation worker (a subscription's first copy) the publisher's
 * history is not copied: this side's tables already have that shape.
 */
EC_FUNCTION(ec_replicated_phase)
{
	TriggerData *td = ec::row_trigger_data(fcinfo, "replicated_phase");

	if (!ec::arrives_from_publisher())
		return ec::unchanged_row(td);
	if (!am_tablesync_worker())
	{
		SPI_connect();
		ec::apply_publisher_change(td);
		SPI_finish();
	}
	return PointerGetDatum(NULL);
}

/*
 * local_catalog_row(): BEFORE INSERT OR UPDATE OR DELETE, ENABLE ALWAYS, on
 * the catalog tables other than migrations. What a FOR ALL TABLES
 * publication carries of the publisher's backfill progress, runs and index
 * builds describes the publisher's processes, not this side's: dropped.
 */
EC_FUNCTION(ec_local_catalog_row)
{
	TriggerData *td = ec::row_trigger_data(fcinfo, "local_catalog_row");

	if (ec::arrives_from_publisher())
		return PointerGetDatum(NULL);
	return ec::unchanged_row(td);
}

/*
 * publish_catalog(publication): adds the migration catalog to a publication
 * of the caller's, so that its subscribers apply the migrations of the
 * tables it publishes. Refused while a migration is open: a subscriber that
 * refreshes now would have missed its start. Returns whether it added it.
 */
EC_FUNCTION(ec_publish_catalog)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("publication name must not be NULL")));

	const char *name = NameStr(*PG_GETARG_NAME(0));
	Oid			publication = get_publication_oid(name, false);

	if (!pg_publication_ownercheck(publication, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_PUBLICATION, name);

	SPI_connect();

	const char *args[] = {name};
	bool		added = false;

	if (ec::catalog_rows("SELECT 1 FROM pg_catalog.pg_publication_tables "
						 "WHERE pubname OPERATOR(pg_catalog.=) $1 "
						 "AND schemaname OPERATOR(pg_catalog.=) 'expand_contract' "
						 "AND tablename OPERATOR(pg_catalog.=) 'migrations'", 1, args) != NIL)
		ereport(NOTICE,
				(errmsg("publication \"%s\" carries the migration catalog already", name)));
	else
	{
		List	   *open = ec::catalog_rows("SELECT schema_name, name FROM expand_contract.migrations "
											"WHERE phase OPERATOR(pg_catalog.=) 'active' ORDER BY 1 LIMIT 1");

		if (open != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot publish the migration catalog while migration \"%s\" is open on schema \"%s\"",
							((char **) linitial(open))[1], ((char **) linitial(open))[0]),
					 errdetail("Its subscribers would not have applied its start."),
					 errhint("Complete or roll it back first.")));
		/* As the catalog's owner: adding a table takes owning it. */
		ec::catalog_exec(psprintf("ALTER PUBLICATION %s ADD TABLE expand_contract.migrations", ec::qi(name)));
		ereport(NOTICE,
				(errmsg("publication \"%s\" now carries the migration catalog", name),
				 errhint("On each subscriber, with expand_contract installed there: "
						 "ALTER SUBSCRIPTION ... REFRESH PUBLICATION.")));
		added = true;
	}
	SPI_finish();
	PG_RETURN_BOOL(added);
}
