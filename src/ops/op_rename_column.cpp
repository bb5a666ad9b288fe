/*
 * op_rename_column.cpp — rename_column: the new version's view shows the
 * column under its new name; complete() renames it physically.
 */
#include "ops/operations.hpp"

namespace ec {

void
op_rename_column(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"table", "from", "to", NULL};

	op.reject_unknown(kFields);

	PlannedTable *table = plan_table(plan, op.required_identifier("table"));
	PlannedColumn *column = plan_column(plan, table, op.required_identifier("from"));
	const char *to = op.required_identifier("to");

	plan_check_new_column_name(plan, table, to);
	column->name = to;
}

} // namespace ec
