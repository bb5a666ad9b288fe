/*
 * op_drop_column.cpp — drop_column: the new version no longer has the column.
 *
 * The physical column stays until complete(), so the old version keeps
 * reading and writing it; with "down", writes of the new version compute it.
 */
#include "ops/operations.hpp"
#include "pg/sql.hpp"

namespace ec {

namespace {

void
forget_added_column(MigrationPlan *plan, PlannedTable *table, PlannedColumn *column)
{
	ListCell   *lc;

	foreach(lc, table->syncs)
		if (strcmp(((SyncColumn *) lfirst(lc))->target, column->physical) == 0)
			table->syncs = foreach_delete_current(table->syncs, lc);
	table->columns = list_delete_ptr(table->columns, column);
	/* Its NOT NULL stand-in and its own checks go with it. */
	sql_execf("ALTER TABLE %s DROP COLUMN %s", qname(plan->schema, table->physical_name),
			  qi(column->physical));
	foreach(lc, table->checks_to_validate)
		if (!OidIsValid(get_relation_constraint_oid(table->relid, (const char *) lfirst(lc), true)))
			table->checks_to_validate = foreach_delete_current(table->checks_to_validate, lc);
}

} // namespace

void
op_drop_column(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"table", "column", "down", NULL};

	op.reject_unknown(kFields);

	PlannedTable *table = plan_table(plan, op.required_identifier("table"));
	PlannedColumn *column = plan_column(plan, table, op.required_identifier("column"));
	const char *down = op.optional_string("down");

	if (column->added && (column->replaces != NULL || table->created))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("column \"%s\" was changed earlier in this migration and cannot be dropped by it",
						column->name),
				 errhint("Drop it in the next migration.")));
	if (column->added)
	{
		/* Added earlier in this migration, as pgroll allows: it was never
		 * any version's, so it goes at once, with what fills it. */
		forget_added_column(plan, table, column);
		return;
	}
	if (list_length(table->columns) == 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot drop column \"%s\": it is the last column of table \"%s\"",
						column->name, table->name)));

	if (down == NULL && column_default_sql(table->relid, column->physical) == NULL)
	{
		if (column_attribute(table->relid, column->physical).attnotnull)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" is NOT NULL without a default, so field \"down\" is required "
							"to fill it for rows the new version inserts", column->name)));
	}
	plan_refuse_column_dependents(plan, table, column->physical, "drop");
	table->columns = list_delete_ptr(table->columns, column);
	table->dropped_columns = lappend(table->dropped_columns, (void *) column->physical);
	if (down != NULL)
		plan_add_sync(table, SyncDirection::Down, column->physical, down, field_origin(plan, "down"));
}

} // namespace ec
