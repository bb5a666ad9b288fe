/*
 * op_drop_index.cpp — drop_index: the old version may still depend on the
 * index (its queries, its uniqueness), so it stays until complete() drops it.
 * An index that backs a constraint goes with the constraint, not by itself.
 */
#include "ops/operations.hpp"
#include "pg/sql.hpp"

namespace ec {

void
op_drop_index(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"name", NULL};

	op.reject_unknown(kFields);

	const char *name = op.required_identifier("name");
	Oid			index = get_relname_relid(name, plan->schema_oid);

	if (!OidIsValid(index) || (get_rel_relkind(index) != RELKIND_INDEX && get_rel_relkind(index) != RELKIND_PARTITIONED_INDEX))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("index \"%s\" does not exist in schema \"%s\"", name, plan->schema)));

	/* The table's owner may drop it (and plan_table checks that). */
	PlannedTable *table = plan_table_of(plan, IndexGetRelation(index, false));
	Oid			constraint = get_index_constraint(index);

	if (OidIsValid(constraint))
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("index \"%s\" belongs to constraint \"%s\" of table \"%s\"", name,
						get_constraint_name(constraint), table->name),
				 errhint("Drop the constraint instead (drop_multicolumn_constraint).")));
	plan->complete_ddl = lappend(plan->complete_ddl,
								 psprintf("DROP INDEX IF EXISTS %s", qname(plan->schema, name)));
}

} // namespace ec
