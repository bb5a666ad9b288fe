/*
 * op_create_constraint.cpp — create_constraint: a check or a foreign key on
 * one or more columns, for the new version only.
 *
 * The old version's writes need not meet the new constraint, so (as pgroll
 * does) each column goes to a copy (column_copy.hpp): "up" maps each column
 * to the expression that brings old rows and old writes into line (default:
 * the value itself), "down" back (default: the value). The constraint is
 * added to the copies NOT VALID, holds every write from start on, and is
 * validated by complete() before the copies replace the columns. Unique and
 * primary key constraints need an index built online and are refused until
 * the extension builds indexes concurrently.
 */
#include "ops/column_copy.hpp"
#include "ops/column_spec.hpp"
#include "ops/operations.hpp"
#include "phase/index_builds.hpp"
#include "plan/expression.hpp"
#include "pg/sql.hpp"

namespace ec {

namespace {

void
add_constraint_to_new_table(MigrationPlan *plan, PlannedTable *table, const char *name, const char *type,
							List *columns, const JsonObject &op)
{
	const char *column_list = plan_referenced_columns_sql(plan, table->name, columns);
	bool		deferrable = op.optional_bool("deferrable", false);
	bool		initially_deferred = op.optional_bool("initially_deferred", false);
	const char *definition;

	if (strcmp(type, "check") == 0)
		definition = psprintf("CHECK (%s)%s",
							  check_on_new_version(plan, table, op.required_string("check"), "field \"check\""),
							  op.optional_bool("no_inherit", false) ? " NO INHERIT" : "");
	else if (strcmp(type, "foreign_key") == 0)
		definition = psprintf("FOREIGN KEY (%s) %s", column_list,
							  table_references_sql(plan, op.required_object("references"), table->name,
												   deferrable, initially_deferred));
	else
		definition = psprintf("%s%s (%s)%s%s", strcmp(type, "unique") == 0 ? "UNIQUE" : "PRIMARY KEY",
							  op.optional_bool("nulls_not_distinct", false) ? " NULLS NOT DISTINCT" : "",
							  column_list, index_parameters_sql(op),
							  !deferrable ? "" : initially_deferred ? " DEFERRABLE INITIALLY DEFERRED"
							  : " DEFERRABLE");
	sql_execf("ALTER TABLE %s ADD CONSTRAINT %s %s", qname(plan->schema, table->physical_name), qi(name),
			  definition);
}

} // namespace

void
op_create_constraint(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"table", "name", "columns", "type", "check", "no_inherit",
										  "index_parameters", "references", "up", "down", "deferrable",
										  "initially_deferred", "nulls_not_distinct", NULL};

	op.reject_unknown(kFields);

	PlannedTable *table = plan_table(plan, op.required_identifier("table"));
	const char *name = op.required_identifier("name");
	const char *type = op.required_string("type");
	List	   *columns = op.identifier_array("columns", true);

	bool		unique = strcmp(type, "unique") == 0 || strcmp(type, "primary_key") == 0;

	if (!unique && strcmp(type, "check") != 0 && strcmp(type, "foreign_key") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"type\" must be check, foreign_key, unique or primary_key, not \"%s\"", type)));
	if (OidIsValid(get_relation_constraint_oid(table->relid, name, true)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("constraint \"%s\" of table \"%s\" already exists", name, table->name)));

	if (table->created)
	{
		/* A table of this migration: no old version uses it, nothing to copy. */
		add_constraint_to_new_table(plan, table, name, type, columns, op);
		return;
	}
	copy_columns_for_constraint(plan, table, columns, op);
	if (unique)
		unique_on_copies(plan, table, name, type, columns, op);
	else if (strcmp(type, "check") == 0)
		add_constraint_not_valid(plan, table, name,
								 psprintf("CHECK (%s)%s",
										  check_on_new_version(plan, table, op.required_string("check"),
															   "field \"check\""),
										  op.optional_bool("no_inherit", false) ? " NO INHERIT" : ""));
	else
		add_constraint_not_valid(plan, table, name,
								 psprintf("FOREIGN KEY (%s) %s",
										  plan_referenced_columns_sql(plan, table->name, columns),
										  table_references_sql(plan, op.required_object("references"),
															   table->name,
															   op.optional_bool("deferrable", false),
															   op.optional_bool("initially_deferred", false))));
}

} // namespace ec
