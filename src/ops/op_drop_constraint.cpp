/*
 * op_drop_constraint.cpp — drop_multicolumn_constraint, and drop_constraint
 * (pgroll's deprecated form for a constraint on one column).
 *
 * The new version must be free of the constraint while the old version is
 * still held to it, so (as pgroll does) its columns go to copies
 * (column_copy.hpp) that do not carry it: "up" maps each column to the value
 * the new version sees (default: the same), "down" to what the old version
 * gets back, which must meet the constraint again. complete() drops the old
 * columns, and the constraint with them.
 */
#include "ops/column_copy.hpp"
#include "ops/operations.hpp"
#include "pg/sql.hpp"

namespace ec {

namespace {

/* The columns the table's constraint `name` is on, by their names in the
 * new version. */
List *
constraint_columns(PlannedTable *table, const char *name)
{
	Oid			constraint = get_relation_constraint_oid(table->relid, name, true);

	if (!OidIsValid(constraint))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("constraint \"%s\" of table \"%s\" does not exist", name, table->name)));

	HeapTuple	tuple = SearchSysCache1(CONSTROID, ObjectIdGetDatum(constraint));
	bool		isnull;
	Datum		keys = SysCacheGetAttr(CONSTROID, tuple, Anum_pg_constraint_conkey, &isnull);
	List	   *columns = NIL;

	if (!isnull)
	{
		ArrayType  *array = DatumGetArrayTypeP(keys);
		const int16 *attnums = (const int16 *) ARR_DATA_PTR(array);
		int			n = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));

		for (int i = 0; i < n; i++)
		{
			const char *physical = get_attname(table->relid, attnums[i], false);
			ListCell   *lc;

			foreach(lc, table->columns)
				if (strcmp(((PlannedColumn *) lfirst(lc))->physical, physical) == 0)
					columns = lappend(columns, (void *) ((PlannedColumn *) lfirst(lc))->name);
		}
	}
	ReleaseSysCache(tuple);
	if (columns == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("constraint \"%s\" of table \"%s\" is on no column the new version has",
						name, table->name)));
	return columns;
}

void
drop_constraint(MigrationPlan *plan, const JsonObject &op, bool one_column)
{
	PlannedTable *table = plan_table(plan, op.required_identifier("table"));
	const char *name = op.required_identifier("name");
	List	   *columns = constraint_columns(table, name);

	if (one_column && list_length(columns) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("constraint \"%s\" is on %d columns", name, list_length(columns)),
				 errhint("Use drop_multicolumn_constraint, with \"up\" and \"down\" per column.")));
	table->dropped_constraints = lappend(table->dropped_constraints, (void *) name);
	copy_columns_for_constraint(plan, table, columns, op);
}

} // namespace

void
op_drop_multicolumn_constraint(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"table", "name", "up", "down", NULL};

	op.reject_unknown(kFields);
	drop_constraint(plan, op, false);
}

void
op_drop_constraint(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"table", "name", "up", "down", NULL};

	op.reject_unknown(kFields);
	drop_constraint(plan, op, true);
}

} // namespace ec
