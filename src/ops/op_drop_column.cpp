/*
 * op_drop_column.cpp — drop_column: the new version no longer has the column.
 *
 * The physical column stays until complete(), so the old version keeps
 * reading and writing it; with "down", writes of the new version compute it.
 */
#include "ops/operations.hpp"
#include "pg/sql.hpp"

namespace ec {

void
op_drop_column(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"table", "column", "down", NULL};

	op.reject_unknown(kFields);

	PlannedTable *table = plan_table(plan, op.required_identifier("table"));
	PlannedColumn *column = plan_column(plan, table, op.required_identifier("column"));
	const char *down = op.optional_string("down");

	if (column->added)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("column \"%s\" was added or changed earlier in this migration and cannot be dropped by it",
						column->name)));
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
	table->columns = list_delete_ptr(table->columns, column);
	table->dropped_columns = lappend(table->dropped_columns, (void *) column->physical);
	if (down != NULL)
		plan_add_sync(table, SyncDirection::Down, column->physical, down, field_origin(plan, "down"));
}

} // namespace ec
