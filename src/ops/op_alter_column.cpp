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
#include "boundary.hpp"
#include "ops/column_copy.hpp"
#include "ops/column_spec.hpp"
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

struct DefaultFit {
	const char *sql;
	const ColumnType *type;
};

void
try_default_on_type(void *arg)
{
	DefaultFit *fit = static_cast<DefaultFit *>(arg);

	(void) default_on_type(pinned_names(), fit->sql, *fit->type, "default");
}

/* Whether a column's current default (the table's own, bound at its
 * creation) can be assigned to `type`. */
bool
default_fits(const char *default_sql, const ColumnType &type)
{
	static const int mismatch[] = {ERRCODE_DATATYPE_MISMATCH, ERRCODE_CANNOT_COERCE, 0};
	DefaultFit	fit = {default_sql, &type};

	return run_in_subtransaction(try_default_on_type, &fit, mismatch);
}

/* The column's new "check" and "references", on its copy. */
void
add_column_constraints(MigrationPlan *plan, PlannedTable *table, PlannedColumn *column,
					   const JsonObject &op)
{
	ColumnSpec	spec;
	JsonObject	nested(NULL);

	memset(&spec, 0, sizeof(spec));
	if (op.optional_object("check", &nested))
	{
		read_column_check(nested, &spec);
		add_constraint_not_valid(plan, table, spec.check_name,
								 psprintf("CHECK (%s)%s",
										  check_on_new_version(plan, table, spec.check_text,
															   "field \"check.constraint\""),
										  spec.check_no_inherit ? " NO INHERIT" : ""));
	}
	if (op.optional_object("unique", &nested))
	{
		static const char *const kUnique[] = {"name", NULL};

		nested.reject_unknown(kUnique);
		unique_on_copies(plan, table, nested.required_identifier("name"), "unique",
						 list_make1((void *) column->name), op);
	}
	if (op.optional_object("references", &nested))
	{
		read_column_references(nested, &spec);
		add_constraint_not_valid(plan, table, spec.ref_name,
								 psprintf("FOREIGN KEY (%s) %s", qi(column->physical),
										  references_sql(plan, spec)));
	}
}

} // namespace

void
op_alter_column(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"table", "column", "name", "type", "nullable", "default",
										  "comment", "up", "down", "check", "unique", "references",
										  NULL};

	op.reject_unknown(kFields);

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
	bool		constrain = op.has("check") || op.has("references") || op.has("unique");

	if (!new_name && !new_type && !nullable_given && !default_given && !comment_given && !constrain)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nothing to change: give at least one of \"name\", \"type\", \"nullable\", "
						"\"default\", \"comment\", \"check\", \"unique\" or \"references\"")));
	if (column->added && (new_type || nullable_given || constrain))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("column \"%s\" was added or changed earlier in this migration; "
						"give its final definition in one operation", column->name)));

	bool		was_not_null = !column->added && column_is_not_null(table->relid, column->physical);
	bool		nullable = op.optional_bool("nullable", !was_not_null);
	/* A new constraint goes on a copy too: the old version's writes need
	 * not meet it, and "up" brings them into line. */
	bool		copy = new_type != NULL || nullable == was_not_null || constrain;

	/* As pgroll does: NOT NULL on a column that may hold NULLs needs "up" to
	 * give them a value (finding out whether it holds any would scan the
	 * table under start's lock). */
	if (!was_not_null && !nullable && up == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"up\" is required to make column \"%s\" NOT NULL", column->name),
				 errhint("Give an expression for the rows that hold NULL, e.g. coalesce(%s, ...).",
						 quote_identifier(column->name))));
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
		/* The current default is the table's own, bound at its creation:
		 * only whether it fits the new type is in question. */
		const char *old_default = column_default_sql(table->relid, old_physical);

		if (!default_given && old_default != NULL && new_type != NULL &&
			!default_fits(old_default, type))
		{
			/* As pgroll does: a default the new type cannot take is dropped. */
			ereport(NOTICE,
					(errmsg("the default of column \"%s\" (%s) does not fit type %s: the new version "
							"has none", column->name, old_default, type.sql)));
			default_given = true;
			parsed_default = NULL;
		}
		if (comment_given)
		{
			column->comment_changed = true;
			column->new_comment = new_comment;
		}

		ColumnCopy	how;

		memset(&how, 0, sizeof(how));
		how.type = type;
		how.not_null = !nullable;
		how.default_given = default_given;
		how.default_sql = parsed_default;
		how.up = up;
		how.up_field = "up";
		how.down = down;
		how.down_field = "down";
		stage_column_copy(plan, table, column, final_name, how);
		column->name = final_name;
		add_column_constraints(plan, table, column, op);
	}
	else if (default_given)
	{
		column->default_changed = true;
		column->new_default = parsed_default;
	}
	if (comment_given && !copy)
	{
		column->comment_changed = true;
		column->new_comment = new_comment;
	}
	column->name = final_name;
}

} // namespace ec
