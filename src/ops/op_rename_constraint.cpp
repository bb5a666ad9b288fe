/*
 * op_rename_constraint.cpp — rename_constraint: a constraint's name is
 * nothing the old version's statements see, but its error messages and its
 * tools do; complete() renames it, rollback() has nothing to undo.
 */
#include "ops/operations.hpp"
#include "pg/sql.hpp"

namespace ec {

void
op_rename_constraint(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"table", "from", "to", NULL};

	op.reject_unknown(kFields);

	PlannedTable *table = plan_table(plan, op.required_identifier("table"));
	const char *from = op.required_identifier("from");
	const char *to = op.required_identifier("to");
	Oid			constraint = get_relation_constraint_oid(table->relid, from, true);

	if (!OidIsValid(constraint))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("constraint \"%s\" of table \"%s\" does not exist", from, table->name)));
	if (strncmp(to, EC_PREFIX, strlen(EC_PREFIX)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_RESERVED_NAME),
				 errmsg("constraint name \"%s\" uses the prefix \"%s\" reserved by expand_contract",
						to, EC_PREFIX)));
	if (OidIsValid(get_relation_constraint_oid(table->relid, to, true)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("constraint \"%s\" of table \"%s\" already exists", to, table->name)));
	/* A unique or primary key constraint renames its index, whose name is
	 * the schema's. */
	if (OidIsValid(get_constraint_index(constraint)) && OidIsValid(get_relname_relid(to, plan->schema_oid)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"%s\" already exists in schema \"%s\"", to, plan->schema),
				 errdetail("Constraint \"%s\" has an index, which takes the constraint's new name.", from)));
	plan->complete_ddl = lappend(plan->complete_ddl,
								 psprintf("ALTER TABLE %s RENAME CONSTRAINT %s TO %s",
										  qname(plan->schema, table->physical_name), qi(from), qi(to)));
}

} // namespace ec
