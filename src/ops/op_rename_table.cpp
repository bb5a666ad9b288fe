/*
 * op_rename_table.cpp — rename_table: the new version's view carries the new
 * name; complete() renames the table physically.
 */
#include "ops/operations.hpp"

namespace ec {

void
op_rename_table(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"from", "to", NULL};

	op.reject_unknown(kFields);

	PlannedTable *table = plan_table(plan, op.required_identifier("from"));
	const char *to = op.required_identifier("to");

	if (plan_has_table(plan, to))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("table \"%s\" already exists in schema \"%s\"", to, plan->schema)));
	table->name = to;
}

} // namespace ec
