/*
 * op_create_table.cpp — create_table: a new table, created at start under its
 * final name (the old version simply never uses it) and dropped by rollback.
 */
#include "ops/column_spec.hpp"
#include "ops/operations.hpp"
#include "sql.hpp"

namespace ec {

namespace {

const char *
column_list_sql(List *columns)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, columns)
		appendStringInfo(&buf, "%s%s", foreach_current_index(lc) > 0 ? ", " : "",
						 qi((const char *) lfirst(lc)));
	return buf.data;
}

void
append_column(StringInfo sql, MigrationPlan *plan, const ColumnSpec &spec)
{
	appendStringInfo(sql, "%s %s", qi(spec.name), spec.type);
	if (spec.identity != NULL)
		appendStringInfo(sql, " GENERATED %s AS IDENTITY%s%s%s", spec.identity,
						 spec.identity_options ? " (" : "",
						 spec.identity_options ? spec.identity_options : "",
						 spec.identity_options ? ")" : "");
	if (spec.generated_sql != NULL)
		appendStringInfo(sql, " GENERATED ALWAYS AS (%s) STORED", spec.generated_sql);
	if (spec.default_sql != NULL)
		appendStringInfo(sql, " DEFAULT %s", spec.default_sql);
	if (!spec.nullable && !spec.pk)
		appendStringInfoString(sql, " NOT NULL");
	if (spec.unique)
		appendStringInfoString(sql, " UNIQUE");
	if (spec.check_name != NULL)
		appendStringInfo(sql, " CONSTRAINT %s CHECK (%s)", qi(spec.check_name), spec.check_sql);
	if (spec.has_references)
		appendStringInfo(sql, " CONSTRAINT %s %s", qi(spec.ref_name), references_sql(plan, spec));
}

/* pgroll's table-level constraints: check, unique, primary_key, foreign_key. */
void
append_constraint(StringInfo sql, MigrationPlan *plan, const JsonObject &c)
{
	static const char *const kFields[] = {"name", "type", "columns", "check", "references",
										  "deferrable", "initially_deferred", "nulls_not_distinct",
										  NULL};

	c.reject_unknown(kFields);

	const char *name = c.required_string("name");
	const char *type = c.required_string("type");
	appendStringInfo(sql, ", CONSTRAINT %s ", qi(name));
	if (strcmp(type, "check") == 0)
		appendStringInfo(sql, "CHECK (%s)", c.required_string("check"));
	else if (strcmp(type, "unique") == 0)
		appendStringInfo(sql, "UNIQUE%s (%s)",
						 c.optional_bool("nulls_not_distinct", false) ? " NULLS NOT DISTINCT" : "",
						 column_list_sql(c.string_array("columns", true)));
	else if (strcmp(type, "primary_key") == 0)
		appendStringInfo(sql, "PRIMARY KEY (%s)", column_list_sql(c.string_array("columns", true)));
	else if (strcmp(type, "foreign_key") == 0)
	{
		static const char *const kRef[] = {"table", "columns", "on_delete", "on_update", NULL};
		JsonObject	ref = c.required_object("references");

		ref.reject_unknown(kRef);
		const char *ref_table = ref.required_string("table");

		appendStringInfo(sql, "FOREIGN KEY (%s) REFERENCES %s (%s) ON DELETE %s ON UPDATE %s",
						 column_list_sql(c.string_array("columns", true)),
						 plan_referenced_table_sql(plan, ref_table),
						 plan_referenced_columns_sql(plan, ref_table, ref.string_array("columns", true)),
						 referential_action(ref, "on_delete"), referential_action(ref, "on_update"));
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"type\" of constraint \"%s\" must be check, unique, primary_key or foreign_key",
						name)));
	if (c.optional_bool("deferrable", false))
		appendStringInfo(sql, " DEFERRABLE INITIALLY %s",
						 c.optional_bool("initially_deferred", false) ? "DEFERRED" : "IMMEDIATE");
}

} // namespace

void
op_create_table(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"name", "columns", "comment", "constraints", NULL};

	op.reject_unknown(kFields);

	const char *name = op.required_string("name");
	List	   *columns = op.object_array("columns", true);
	List	   *constraints = op.object_array("constraints", false);
	const char *table_sql = qname(plan->schema, name);
	List	   *pk_columns = NIL;
	List	   *comments = NIL;
	StringInfoData sql;
	ListCell   *lc;

	if (plan_has_table(plan, name))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("table \"%s\" already exists in schema \"%s\"", name, plan->schema)));
	if (columns == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"columns\" must list at least one column")));

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE TABLE %s (", table_sql);
	foreach(lc, columns)
	{
		ColumnSpec	spec = read_column_spec(JsonObject((JsonbContainer *) lfirst(lc),
													   psprintf("columns[%d].", foreach_current_index(lc))));

		if (strncmp(spec.name, EC_PREFIX, strlen(EC_PREFIX)) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_RESERVED_NAME),
					 errmsg("column name \"%s\" uses the prefix \"%s\" reserved by expand_contract",
							spec.name, EC_PREFIX)));
		if (foreach_current_index(lc) > 0)
			appendStringInfoString(&sql, ", ");
		append_column(&sql, plan, spec);
		if (spec.pk)
			pk_columns = lappend(pk_columns, (void *) spec.name);
		if (spec.comment != NULL)
			comments = lappend(comments, psprintf("COMMENT ON COLUMN %s.%s IS %s", table_sql,
												  qi(spec.name), ql(spec.comment)));
	}
	if (pk_columns != NIL)
		appendStringInfo(&sql, ", PRIMARY KEY (%s)", column_list_sql(pk_columns));
	foreach(lc, constraints)
		append_constraint(&sql, plan,
						  JsonObject((JsonbContainer *) lfirst(lc),
									 psprintf("constraints[%d].", foreach_current_index(lc))));
	appendStringInfoChar(&sql, ')');
	sql_exec(sql.data);

	if (op.optional_string("comment") != NULL)
		sql_execf("COMMENT ON TABLE %s IS %s", table_sql, ql(op.optional_string("comment")));
	foreach(lc, comments)
		sql_exec((const char *) lfirst(lc));
	(void) plan_created_table(plan, name);
}

} // namespace ec
