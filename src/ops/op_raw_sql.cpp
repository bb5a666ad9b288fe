/*
 * op_raw_sql.cpp — sql: raw SQL run at start (and "down" at rollback), or at
 * complete with "onComplete". The one place where a migration's SQL runs as
 * written: always as the migration's owner in a security-restricted
 * operation, under the search_path the owner had at start (and
 * standard_conforming_strings on), whoever runs the phase.
 */
#include "pg/error_context.hpp"
#include "ops/operations.hpp"
#include "pg/security.hpp"
#include "pg/sql.hpp"

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
	/* SQL that runs later must at least parse now. */
	with_error_prefix("field \"down\"", down, [&]() {
		if (down != NULL)
			(void) raw_parser(down, RAW_PARSE_DEFAULT);
	});
	if (on_complete)
	{
		with_error_prefix("field \"up\"", up, [&]() { (void) raw_parser(up, RAW_PARSE_DEFAULT); });
		plan->on_complete_sql = lappend(plan->on_complete_sql, (void *) up);
		return;
	}

	/* A SET in one operation's SQL does not leak into the next. */
	RunAs		owner = begin_run_as(plan->owner, plan->names.search_path);

	sql_exec_as_written(up);
	end_run_as(owner);
	if (down != NULL)
	{
		RollbackSql *undo = (RollbackSql *) palloc(sizeof(RollbackSql));

		undo->operation = plan->operation;
		undo->sql = down;
		plan->rollback_sql = lappend(plan->rollback_sql, undo);
	}
}

} // namespace ec
