/*
 * op_raw_sql.cpp — sql: raw SQL run at start (and "down" at rollback), or at
 * complete with "onComplete". Runs as the caller, with search_path set to the
 * migration's schema.
 */
#include "ops/operations.hpp"
#include "sql.hpp"

namespace ec {

void
op_raw_sql(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"up", "down", "onComplete", NULL};

	op.reject_unknown(kFields);

	const char *up = op.required_string("up");
	const char *down = op.optional_string("down");
	bool		on_complete = op.optional_bool("onComplete", false);

	if (on_complete && down != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fields \"down\" and \"onComplete\" cannot be combined"),
				 errdetail("SQL run by complete() is never undone by rollback().")));
	if (on_complete)
	{
		plan->on_complete_sql = lappend(plan->on_complete_sql, (void *) up);
		return;
	}
	sql_exec(up);
	if (down != NULL)
		plan->rollback_sql = lcons((void *) down, plan->rollback_sql);
}

} // namespace ec
