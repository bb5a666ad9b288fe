/*
 * prepare_partition.cpp — readying a table to be attached as a partition of
 * a partitioned table that an open migration changes.
 *
 * ATTACH PARTITION needs the table to have every column of the parent, the
 * migration's staged columns and backfill marker included, and its CHECK
 * constraints. A partition created during the migration (CREATE TABLE ...
 * PARTITION OF) gets them from the parent; a table of rows attached later
 * does not, and its rows have no new columns yet. prepare_partition(table,
 * partitioned) adds what is missing and computes the new columns of every
 * row with the migration's rules (the parent's sync trigger, bound by name
 * on the table), so that once attached the new version reads its rows
 * right: views already open cannot wait for a backfill. It runs as the
 * migration's owner and takes its locks as the phases do (phase_lock.hpp);
 * the table is not read by the application yet, so it is updated in one
 * statement.
 */
#include "boundary.hpp"
#include "catalog/catalog.hpp"
#include "phase/phase_lock.hpp"
#include "pg/security.hpp"
#include "pg/sql.hpp"
#include "plan/expression.hpp"
#include "plan/plan.hpp"
#include "sync/trigger_engine.hpp"

namespace ec {

namespace {

bool
has_column(Oid relid, const char *name)
{
	return get_attnum(relid, name) != InvalidAttrNumber;
}

/* ADD COLUMN for each column the parent has and `table` lacks: only the
 * migration's own (a user's column missing is the user's to add). */
void
add_staged_columns(Relation parent, Oid table, const char *table_sql)
{
	TupleDesc	desc = RelationGetDescr(parent);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *name = NameStr(att->attname);

		if (att->attisdropped || has_column(table, name))
			continue;
		if (strncmp(name, EC_PREFIX, strlen(EC_PREFIX)) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("table \"%s\" has no column \"%s\" of table \"%s\"", get_rel_name(table), name,
							RelationGetRelationName(parent)),
					 errhint("Add the table's own columns first; prepare_partition adds the migration's.")));

		const char *collation = OidIsValid(att->attcollation) &&
			att->attcollation != get_typcollation(att->atttypid)
			? psprintf(" COLLATE %s", qualified_collation_name(att->attcollation)) : "";
		/* The marker says a row's new columns are not computed yet. */
		const char *marker_default = strcmp(name, kBackfillMarker) == 0 ? " DEFAULT true" : "";

		sql_execf("ALTER TABLE %s ADD COLUMN %s %s%s%s", table_sql, qi(name),
				  format_type_extended(att->atttypid, att->atttypmod,
									   FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY),
				  collation, marker_default);
	}
}

/* The parent's CHECK constraints of the migration (NOT VALID until
 * complete), which ATTACH requires the table to have too. */
void
add_staged_checks(Oid parent, Oid table, const char *table_sql)
{
	const char *args[] = {psprintf("%u", parent), psprintf("%u", table), EC_PREFIX};
	List	   *checks = sql_rows(
		"SELECT p.conname::pg_catalog.text, pg_catalog.pg_get_constraintdef(p.oid) "
		"FROM pg_catalog.pg_constraint p "
		"WHERE p.conrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
		"  AND p.contype OPERATOR(pg_catalog.=) 'c' "
		"  AND pg_catalog.starts_with(p.conname::pg_catalog.text, $3) "
		"  AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint c "
		"                  WHERE c.conrelid OPERATOR(pg_catalog.=) $2::pg_catalog.oid "
		"                    AND c.conname OPERATOR(pg_catalog.=) p.conname)",
		3, args);
	ListCell   *lc;

	foreach(lc, checks)
	{
		char	  **check = (char **) lfirst(lc);

		sql_execf("ALTER TABLE %s ADD CONSTRAINT %s %s", table_sql, qi(check[0]), check[1]);
	}
}

/* The parent's sync trigger arguments as CREATE TRIGGER takes them. */
const char *
trigger_arguments_sql(const Trigger *trigger)
{
	StringInfoData args;

	initStringInfo(&args);
	for (int i = 0; i < trigger->tgnargs; i++)
		appendStringInfo(&args, "%s%s", i > 0 ? ", " : "", ql(trigger->tgargs[i]));
	return args.data;
}

/* Computes the new columns of every row of `table` with the parent's rules:
 * the parent's trigger, attached to the table for one UPDATE. */
int64
sync_rows(const Trigger *trigger, const char *table_sql)
{
	sql_execf("CREATE TRIGGER %s BEFORE INSERT OR UPDATE ON %s FOR EACH ROW "
			  "EXECUTE FUNCTION expand_contract.sync_trigger(%s)",
			  qi(kSyncTriggerName), table_sql, trigger_arguments_sql(trigger));
	sql_execf("UPDATE %s SET %s = false WHERE %s", table_sql, qi(kBackfillMarker), qi(kBackfillMarker));

	int64		rows = (int64) SPI_processed;

	/* ATTACH clones the parent's own trigger onto the partition. */
	sql_execf("DROP TRIGGER %s ON %s", qi(kSyncTriggerName), table_sql);
	return rows;
}

int64
prepare_partition(Oid table, Oid partitioned)
{
	const char *schema = get_namespace_name(get_rel_namespace(partitioned));

	if (get_rel_relkind(partitioned) != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a partitioned table", get_rel_name(partitioned))));
	if (get_rel_relkind(table) != RELKIND_RELATION || get_rel_relispartition(table))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table that can be attached", get_rel_name(table))));
	if (get_rel_namespace(table) != get_rel_namespace(partitioned))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table \"%s\" is not in schema \"%s\"", get_rel_name(table), schema),
				 errdetail("The backfill keeps its progress by partition, in the migration's schema.")));

	MigrationRecord record = lock_active_migration(schema, "prepare a partition for");

	require_owner_rights(record, "prepare a partition for");
	if (!has_privs_of_role(record.owner, relation_owner(table)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", get_rel_name(table)),
				 errdetail("The migration's owner, role \"%s\", changes it.",
						   GetUserNameFromId(record.owner, false))));

	Relation	parent = table_open(partitioned, ShareUpdateExclusiveLock);
	Trigger    *trigger = find_sync_trigger(parent->trigdesc);
	const char *table_sql = qname(schema, get_rel_name(table));
	int64		rows = 0;
	RunAs		owner = begin_run_as(record.owner, kPinnedSearchPath, true);

	add_staged_columns(parent, table, table_sql);
	add_staged_checks(partitioned, table, table_sql);
	if (trigger != NULL && has_column(table, kBackfillMarker))
		rows = sync_rows(trigger, table_sql);
	end_run_as(owner);
	table_close(parent, NoLock);
	return rows;
}

struct PrepareArgs {
	Oid table;
	Oid partitioned;
	int64 rows;
};

void
prepare_attempt(void *arg)
{
	PrepareArgs *args = static_cast<PrepareArgs *>(arg);

	args->rows = prepare_partition(args->table, args->partitioned);
}

} // namespace

} // namespace ec

EC_FUNCTION(ec_prepare_partition)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("prepare_partition needs a table and a partitioned table")));

	int			pinned = ec::pin_settings(ec::kPinnedSearchPath);
	ec::PrepareArgs args = {PG_GETARG_OID(0), PG_GETARG_OID(1), 0};

	SPI_connect();
	/* ALTER TABLE locks the table ACCESS EXCLUSIVE: waited for as a phase
	 * waits, one short lock timeout at a time. */
	ec::run_phase("prepare_partition", get_rel_namespace(args.partitioned), ec::prepare_attempt, &args);
	SPI_finish();
	ec::unpin_settings(pinned);
	PG_RETURN_INT64(args.rows);
}
