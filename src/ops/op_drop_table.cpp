/*
 * op_drop_table.cpp — drop_table: the new version has no view for the table;
 * the old version keeps using it until complete() drops it.
 */
#include "ops/operations.hpp"
#include "pg/sql.hpp"

namespace ec {

void
op_drop_table(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"name", NULL};

	op.reject_unknown(kFields);

	PlannedTable *table = plan_table(plan, op.required_identifier("name"));
	ListCell   *lc;

	/* Its staged columns and constraints would bind the old version's writes
	 * with no trigger to serve them. */
	foreach(lc, table->columns)
		if (((PlannedColumn *) lfirst(lc))->added)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("table \"%s\" was changed earlier in this migration and cannot be dropped by it",
							table->name)));

	/* complete() could never drop a table other tables still reference. */
	const char *args[] = {psprintf("%u", table->relid)};
	List	   *references = sql_rows("SELECT c.conrelid::pg_catalog.regclass::text, c.conname "
									  "FROM pg_catalog.pg_constraint c "
									  "WHERE c.confrelid = $1::pg_catalog.oid AND c.contype = 'f' "
									  "AND c.conrelid <> c.confrelid ORDER BY 1, 2", 1, args);

	foreach(lc, references)
	{
		char	  **row = (char **) lfirst(lc);
		bool		referrer_dropped = false;
		ListCell   *tc;

		foreach(tc, plan->tables)
		{
			PlannedTable *t = (PlannedTable *) lfirst(tc);

			referrer_dropped = referrer_dropped ||
				(t->name == NULL && strcmp(qname(plan->schema, t->physical_name), row[0]) == 0) ||
				(t->name == NULL && strcmp(t->physical_name, row[0]) == 0);
		}
		if (!referrer_dropped)
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("cannot drop table \"%s\": foreign key \"%s\" of table %s references it",
							table->name, row[1], row[0]),
					 errhint("Drop the referencing table first, or the constraint.")));
	}
	table->name = NULL;
}

} // namespace ec
