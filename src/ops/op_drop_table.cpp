/*
 * op_drop_table.cpp — drop_table: the new version has no view for the table;
 * the old version keeps using it until complete() drops it.
 */
#include "ops/operations.hpp"

namespace ec {

void
op_drop_table(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"name", NULL};

	op.reject_unknown(kFields);
	plan_table(plan, op.required_string("name"))->name = NULL;
}

} // namespace ec
