/*
 * op_alter_column.cpp — alter_column: rename, retype, change nullability,
 * default or comment of a column.
 *
 * A new type or nullability cannot be imposed on the column both versions
 * share, so the column is duplicated: a staged column with the new definition
 * backs the new version, "up" (default: the old value, assignment-cast)
 * fills it from writes of the old version and by backfill, "down" (default:
 * the new value, cast back) keeps the old column current for writes of the new
 * version; complete() drops the old column and renames the staged one.
 * Default, comment and name changes need no copy: the new version's view shows
 * them at once and complete() applies them to the table.
 */
#include "plan/expression.hpp"
#include "ops/operations.hpp"
#include "pg/security.hpp"
#include "pg/sql.hpp"
#include "phase/version_schema.hpp"

namespace ec {

namespace {

bool
column_is_not_null(Oid relid, const char *column)
{
	return column_attribute(relid, column).attnotnull;
}

/* Indexes and constraints other than NOT NULL would vanish with the old
 * column at complete(); until constraint operations exist, refuse. */
void
refuse_if_constrained(Oid relid, const char *column)
{
	const char *args[] = {psprintf("%u", relid), column};
	const char *found = sql_value(
		"SELECT string_agg(name, ', ') FROM ("
		"  SELECT c.conname::text AS name FROM pg_catalog.pg_constraint c"
		"  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
		"  WHERE c.conrelid = $1::pg_catalog.oid AND a.attname = $2"
		"  UNION"
		"  SELECT ic.relname::text FROM pg_catalog.pg_index i"
		"  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
		"  JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)"
		"  WHERE i.indrelid = $1::pg_catalog.oid AND a.attname = $2) s",
		2, args);

	if (found != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("changing the type or nullability of column \"%s\" is not supported yet "
						"because constraints or indexes use it: %s", column, found)));
}

} // namespace

void
op_alter_column(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"table", "column", "name", "type", "nullable", "default",
										  "comment", "up", "down", "check", "unique", "references",
										  NULL};

	op.reject_unknown(kFields);
	if (op.has("check") || op.has("unique") || op.has("references"))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("\"check\", \"unique\" and \"references\" are not supported by alter_column yet")));

	PlannedTable *table = plan_table(plan, op.required_identifier("table"));
	PlannedColumn *column = plan_column(plan, table, op.required_identifier("column"));
	const char *new_name = op.optional_identifier("name");
	const char *new_type = op.optional_string("type");
	const char *up = op.optional_string("up");
	const char *down = op.optional_string("down");
	const char *new_default = NULL;
	const char *new_comment = NULL;
	bool		default_given = op.nullable_string("default", &new_default);
	bool		comment_given = op.nullable_string("comment", &new_comment);
	bool		nullable_given = op.has("nullable");

	if (!new_name && !new_type && !nullable_given && !default_given && !comment_given)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nothing to change: give at least one of \"name\", \"type\", \"nullable\", "
						"\"default\" or \"comment\"")));
	if (column->added && (new_type || nullable_given))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("column \"%s\" was added or changed earlier in this migration; "
						"give its final definition in one operation", column->name)));

	bool		was_not_null = !column->added && column_is_not_null(table->relid, column->physical);
	bool		nullable = op.optional_bool("nullable", !was_not_null);
	bool		copy = new_type != NULL || nullable == was_not_null;

	if (!copy && (up || down))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fields \"up\" and \"down\" apply only to a change of \"type\" or \"nullable\"")));
	if (new_name != NULL)
		plan_check_new_column_name(plan, table, new_name);

	const char *old_physical = column->physical;
	const char *final_name = new_name ? new_name : column->name;
	ColumnType	type = new_type
		? parse_type_field(plan->names, new_type, "field \"type\"")
		: column_type(table->relid, old_physical);
	/* The default as the new version will have it, deparsed now: complete()
	 * sets exactly this, whatever exists or is on search_path by then. */
	const char *parsed_default = default_given && new_default != NULL
		? default_on_type(plan->names, new_default, type, "field \"default\"")
		: NULL;

	if (copy)
	{
		const char *table_sql = qname(plan->schema, table->physical_name);
		const char *old_default = column_default_sql(table->relid, old_physical);
		const char *old_comment = column_comment(table->relid, old_physical);
		const char *staged_default = default_given ? parsed_default : old_default;

		/* The current default is the table's own, bound at its creation:
		 * only whether it fits the new type is in question. */
		if (!default_given && old_default != NULL && new_type != NULL)
			(void) default_on_type(pinned_names(), old_default, type,
								   psprintf("the current default of column \"%s\"", column->name));

		refuse_if_constrained(table->relid, old_physical);
		column->physical = plan_new_physical_column(plan, table, final_name);
		column->added = true;
		column->replaces = old_physical;
		sql_execf("ALTER TABLE %s ADD COLUMN %s %s%s%s", table_sql, qi(column->physical), type.sql,
				  staged_default ? " DEFAULT " : "", staged_default ? staged_default : "");
		/* Whoever could use the old column can use its replacement. */
		copy_column_grants(table->relid, old_physical, table_sql, column->physical);
		if (!nullable)
		{
			column->not_null_check = plan_not_null_check_name(table, final_name);
			sql_execf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID",
					  table_sql, qi(column->not_null_check), qi(column->physical));
		}
		if (!comment_given && old_comment != NULL)
		{
			comment_given = true;
			new_comment = old_comment;
		}
		plan_add_sync(table, SyncDirection::Up, column->physical,
					  up ? up : quote_identifier(old_physical), field_origin(plan, up ? "up" : "column"));
		/* Without "down", the new value cast back, by whatever name later
		 * operations give the column. */
		if (down != NULL)
			plan_add_sync(table, SyncDirection::Down, old_physical, down, field_origin(plan, "down"));
		else
			plan_add_identity_sync(table, SyncDirection::Down, old_physical, column,
								   field_origin(plan, "column"));
	}
	else if (default_given)
	{
		column->default_changed = true;
		column->new_default = parsed_default;
	}
	if (comment_given)
	{
		column->comment_changed = true;
		column->new_comment = new_comment;
	}
	column->name = final_name;
}

} // namespace ec
