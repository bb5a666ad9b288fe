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
#include "pg/sql.hpp"

namespace ec {

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

	if (strcmp(type, "unique") == 0 || strcmp(type, "primary_key") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("create_constraint of type %s is not supported yet: it needs an index built online",
						type),
				 errhint("Constraints and indexes built concurrently come in a later release.")));
	if (strcmp(type, "check") != 0 && strcmp(type, "foreign_key") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"type\" must be check, foreign_key, unique or primary_key, not \"%s\"", type)));
	if (OidIsValid(get_relation_constraint_oid(table->relid, name, true)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("constraint \"%s\" of table \"%s\" already exists", name, table->name)));

	copy_columns_for_constraint(plan, table, columns, op);
	if (strcmp(type, "check") == 0)
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
