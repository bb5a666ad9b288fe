/*
 * op_add_column.cpp — add_column: a new column beside the old shape.
 *
 * The column is added under a staged name ("_ec_new_<name>"), visible under
 * its real name only in the new version's view; complete() renames it. With
 * "up", writes of the old version compute it and backfill() fills existing
 * rows. NOT NULL, checks and foreign keys are added NOT VALID (no long lock,
 * no scan) and validated by complete().
 */
#include "ops/column_copy.hpp"
#include "ops/column_spec.hpp"
#include "ops/operations.hpp"
#include "plan/expression.hpp"
#include "pg/sql.hpp"

namespace ec {

namespace {

/*
 * A serial column, as ALTER TABLE ADD COLUMN would make it but without its
 * table rewrite: a sequence created now (named as PostgreSQL names it), the
 * column's default nextval() of it, existing rows numbered by the backfill.
 * complete() gives the sequence to the column; rollback() drops it.
 */
const char *
serial_sequence_default(MigrationPlan *plan, PlannedTable *table, const char *column,
						const ColumnType &type)
{
	const char *sequence = ChooseRelationName(table->name, column, "seq", plan->schema_oid, false);
	const char *sequence_sql = qname(plan->schema, sequence);

	sql_execf("CREATE SEQUENCE %s AS %s", sequence_sql, type.sql);
	plan->complete_ddl = lappend(plan->complete_ddl,
								 psprintf("ALTER SEQUENCE %s OWNED BY %s.%s", sequence_sql,
										  qname(plan->schema, table->physical_name), qi(column)));
	plan_add_rollback_ddl(plan, psprintf("DROP SEQUENCE IF EXISTS %s", sequence_sql));
	return psprintf("pg_catalog.nextval(%s::pg_catalog.regclass)", ql(sequence_sql));
}

} // namespace

void
op_add_column(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"table", "column", "up", NULL};

	op.reject_unknown(kFields);

	PlannedTable *table = plan_table(plan, op.required_identifier("table"));
	ColumnSpec	spec = read_column_spec(op.required_object("column"));
	const char *up = op.optional_string("up");

	if (spec.generated_text || spec.identity)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("\"generated\" is not supported by add_column yet"),
				 errhint("Add the column with up, or create the table with it.")));
	ColumnType	type = parse_type_field(plan->names, spec.type, "field \"column.type\"");

	if (type.serial != NULL && spec.default_text != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("column \"%s\" is %s and has a default: a %s column takes its default from its sequence",
						spec.name, type.serial, type.serial)));
	if (!spec.nullable && spec.default_text == NULL && type.serial == NULL && up == NULL && !table->created)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"%s\" is NOT NULL without a default, so field \"up\" is required "
						"to fill the rows that already exist", spec.name)));
	plan_check_new_column_name(plan, table, spec.name);

	const char *table_sql = qname(plan->schema, table->physical_name);
	PlannedColumn *column = (PlannedColumn *) palloc0(sizeof(PlannedColumn));

	column->name = spec.name;
	column->physical = plan_new_physical_column(plan, table, spec.name);
	column->added = true;
	table->columns = lappend(table->columns, column);

	const char *default_text = type.serial ? serial_sequence_default(plan, table, spec.name, type)
		: spec.default_text;
	bool		volatile_default = false;
	const char *default_sql = default_text
		? default_on_type(plan->names, default_text, type, "field \"column.default\"",
						  &volatile_default)
		: NULL;

	if (!volatile_default)
		sql_execf("ALTER TABLE %s ADD COLUMN %s %s%s%s", table_sql, qi(column->physical), type.sql,
				  default_sql ? " DEFAULT " : "", default_sql ? default_sql : "");
	else
	{
		/* ADD COLUMN with a volatile default rewrites the table under its
		 * lock. Instead: a plain column, the default for rows inserted from
		 * now on, and existing rows filled by the backfill, once each. */
		sql_execf("ALTER TABLE %s ADD COLUMN %s %s", table_sql, qi(column->physical), type.sql);
		sql_execf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s", table_sql, qi(column->physical),
				  default_sql);
		if (up == NULL)
		{
			plan_add_sync(table, SyncDirection::Up, column->physical, default_text,
						  field_origin(plan, type.serial ? "column.type" : "column.default"));
			((SyncColumn *) llast(table->syncs))->fill_once = true;
		}
	}

	if (!spec.nullable)
	{
		column->not_null_check = plan_not_null_check_name(table, spec.name);
		sql_execf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID",
				  table_sql, qi(column->not_null_check), qi(column->physical));
	}
	if (spec.check_name != NULL)
	{
		Relation	rel = relation_open(table->relid, AccessShareLock);
		const char *check = check_on_physical_columns(plan->names, rel,
													  new_shape(table->columns), spec.check_text,
													  "field \"column.check.constraint\"");

		relation_close(rel, AccessShareLock);
		sql_execf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s)%s NOT VALID",
				  table_sql, qi(spec.check_name), check, spec.check_no_inherit ? " NO INHERIT" : "");
		table->checks_to_validate = lappend(table->checks_to_validate, (void *) spec.check_name);
	}
	if (spec.has_references)
	{
		sql_execf("ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s) %s NOT VALID",
				  table_sql, qi(spec.ref_name), qi(column->physical), references_sql(plan, spec));
		table->checks_to_validate = lappend(table->checks_to_validate, (void *) spec.ref_name);
	}
	if (spec.comment != NULL)
	{
		column->comment_changed = true;
		column->new_comment = spec.comment;
	}
	if (up != NULL)
		plan_add_sync(table, SyncDirection::Up, column->physical, up, field_origin(plan, "up"));
	/* A unique or primary key column: its index is built online after
	 * start, and complete makes it the constraint, named as PostgreSQL
	 * would name it. */
	if ((spec.pk || spec.unique) && !table->created)
		unique_on_copies(plan, table,
						 ChooseRelationName(table->name, spec.name, spec.pk ? "pkey" : "key",
											plan->schema_oid, false),
						 spec.pk ? "primary_key" : "unique", list_make1((void *) spec.name), op);
	else if (spec.pk || spec.unique)
		sql_execf("ALTER TABLE %s ADD %s (%s)", table_sql, spec.pk ? "PRIMARY KEY" : "UNIQUE",
				  qi(column->physical));
}

} // namespace ec
