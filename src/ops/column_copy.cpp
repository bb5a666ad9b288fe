/*
 * column_copy.cpp — duplicating a column for the new version; see
 * column_copy.hpp.
 */
#include "ops/column_copy.hpp"

#include "ops/operations.hpp"
#include "pg/sql.hpp"
#include "phase/version_schema.hpp"

namespace ec {

ColumnCopy
same_column_copy(const PlannedTable *table, const PlannedColumn *column)
{
	ColumnCopy	copy;

	memset(&copy, 0, sizeof(copy));
	copy.type = column_type(table->relid, column->physical);
	copy.not_null = column_attribute(table->relid, column->physical).attnotnull;
	return copy;
}

void
stage_column_copy(MigrationPlan *plan, PlannedTable *table, PlannedColumn *column,
				  const char *final_name, const ColumnCopy &copy)
{
	if (column->added)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("column \"%s\" was added or changed earlier in this migration; "
						"give its final definition in one operation", column->name)));

	const char *table_sql = qname(plan->schema, table->physical_name);
	const char *old_physical = column->physical;
	const char *old_default = column_default_sql(table->relid, old_physical);
	const char *staged_default = copy.default_given ? copy.default_sql : old_default;

	column->physical = plan_new_physical_column(plan, table, final_name);
	column->added = true;
	column->replaces = old_physical;
	column->copied_by = plan->where;
	sql_execf("ALTER TABLE %s ADD COLUMN %s %s%s%s", table_sql, qi(column->physical), copy.type.sql,
			  staged_default ? " DEFAULT " : "", staged_default ? staged_default : "");
	/* Whoever could use the old column can use its replacement. */
	copy_column_grants(table->relid, old_physical, table_sql, column->physical);
	if (copy.not_null)
	{
		column->not_null_check = plan_not_null_check_name(table, final_name);
		sql_execf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID",
				  table_sql, qi(column->not_null_check), qi(column->physical));
	}
	if (!column->comment_changed)
	{
		const char *old_comment = column_comment(table->relid, old_physical);

		column->comment_changed = old_comment != NULL;
		column->new_comment = old_comment;
	}
	plan_add_sync(table, SyncDirection::Up, column->physical,
				  copy.up ? copy.up : quote_identifier(old_physical),
				  field_origin(plan, copy.up ? copy.up_field : "column"));
	/* Without "down", the new value cast back, by whatever name later
	 * operations give the column. */
	if (copy.down != NULL)
		plan_add_sync(table, SyncDirection::Down, old_physical, copy.down,
					  field_origin(plan, copy.down_field));
	else
		plan_add_identity_sync(table, SyncDirection::Down, old_physical, column,
							   field_origin(plan, "column"));
}

} // namespace ec
