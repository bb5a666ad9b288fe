/*
 * op_create_table.cpp — create_table: a new table, created at start under its
 * final name (the old version simply never uses it) and dropped by rollback.
 *
 * Defaults, checks and generated expressions are analysed before the table
 * is created and built into its CREATE TABLE deparsed, never as written:
 * checks and generated expressions need the columns they read, so they are
 * analysed against a first, bare version of the table (names and types only)
 * that is dropped again at once.
 */
#include "plan/expression.hpp"
#include "ops/column_spec.hpp"
#include "ops/operations.hpp"
#include "pg/sql.hpp"

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

/* A column of the document with every SQL field parsed and deparsed. */
struct ResolvedColumn {
	ColumnSpec spec;
	ColumnType type;
	const char *default_sql;
	const char *check_sql;
	const char *generated_sql;
	const char *identity_options;
};

void
append_column(StringInfo sql, MigrationPlan *plan, const ResolvedColumn &column)
{
	const ColumnSpec &spec = column.spec;

	appendStringInfo(sql, "%s %s", qi(spec.name), column.type.serial ? column.type.serial : column.type.sql);
	if (spec.identity != NULL)
		appendStringInfo(sql, " GENERATED %s AS IDENTITY%s%s%s", spec.identity,
						 column.identity_options ? " (" : "",
						 column.identity_options ? column.identity_options : "",
						 column.identity_options ? ")" : "");
	if (column.generated_sql != NULL)
		appendStringInfo(sql, " GENERATED ALWAYS AS (%s) STORED", column.generated_sql);
	if (column.default_sql != NULL)
		appendStringInfo(sql, " DEFAULT %s", column.default_sql);
	if (!spec.nullable && !spec.pk)
		appendStringInfoString(sql, " NOT NULL");
	if (spec.unique)
		appendStringInfoString(sql, " UNIQUE");
	if (spec.check_name != NULL)
		appendStringInfo(sql, " CONSTRAINT %s CHECK (%s)%s", qi(spec.check_name), column.check_sql,
						 spec.check_no_inherit ? " NO INHERIT" : "");
	if (spec.has_references)
		appendStringInfo(sql, " CONSTRAINT %s %s", qi(spec.ref_name), references_sql(plan, spec));
}

/* pgroll's table-level constraints: check, unique, primary_key, foreign_key. */
void
append_constraint(StringInfo sql, MigrationPlan *plan, const char *table, const JsonObject &c,
				  const char *check_sql)
{
	static const char *const kFields[] = {"name", "type", "columns", "check", "references",
										  "deferrable", "initially_deferred", "nulls_not_distinct",
										  "no_inherit", "index_parameters", "exclude", NULL};

	c.reject_unknown(kFields);

	const char *name = c.required_identifier("name");
	const char *type = c.required_string("type");
	bool		deferrable = c.optional_bool("deferrable", false);
	bool		initially_deferred = c.optional_bool("initially_deferred", false);

	appendStringInfo(sql, ", CONSTRAINT %s ", qi(name));
	if (strcmp(type, "check") == 0)
	{
		appendStringInfo(sql, "CHECK (%s)%s", check_sql, c.optional_bool("no_inherit", false) ? " NO INHERIT" : "");
		return;
	}
	if (strcmp(type, "unique") == 0)
		appendStringInfo(sql, "UNIQUE%s (%s)%s",
						 c.optional_bool("nulls_not_distinct", false) ? " NULLS NOT DISTINCT" : "",
						 column_list_sql(c.identifier_array("columns", true)), index_parameters_sql(c));
	else if (strcmp(type, "primary_key") == 0)
		appendStringInfo(sql, "PRIMARY KEY (%s)%s", column_list_sql(c.identifier_array("columns", true)),
						 index_parameters_sql(c));
	else if (strcmp(type, "foreign_key") == 0)
	{
		appendStringInfo(sql, "FOREIGN KEY (%s) %s", column_list_sql(c.identifier_array("columns", true)),
						 table_references_sql(plan, c.required_object("references"), table,
											  deferrable, initially_deferred));
		return;
	}
	else if (strcmp(type, "exclude") == 0)
		appendStringInfo(sql, "EXCLUDE %s", check_sql);
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"type\" of constraint \"%s\" must be check, unique, primary_key, "
						"foreign_key or exclude", name)));
	if (deferrable)
		appendStringInfo(sql, " DEFERRABLE INITIALLY %s", initially_deferred ? "DEFERRED" : "IMMEDIATE");
}

/* "field \"columns[2].type\"", for error prefixes. */
const char *
field_label(const JsonObject &object, const char *key)
{
	return psprintf("field \"%s\"", object.field_name(key));
}

/* The column's own fields, parsed: type, default, identity options. */
ResolvedColumn
resolve_column(MigrationPlan *plan, const JsonObject &column)
{
	ResolvedColumn resolved;

	memset(&resolved, 0, sizeof(resolved));
	resolved.spec = read_column_spec(column);

	const ColumnSpec &spec = resolved.spec;

	if (strncmp(spec.name, EC_PREFIX, strlen(EC_PREFIX)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_RESERVED_NAME),
				 errmsg("column name \"%s\" uses the prefix \"%s\" reserved by expand_contract",
						spec.name, EC_PREFIX)));
	resolved.type = parse_type_field(plan->names, spec.type,
									 field_label(column, "type"));
	if (spec.default_text != NULL)
		resolved.default_sql = default_on_type(plan->names, spec.default_text,
											   resolved.type, field_label(column, "default"));
	if (spec.identity_options_text != NULL)
		resolved.identity_options = sequence_options_sql(
			plan->names, spec.identity_options_text,
			field_label(column, "generated.identity.sequence_options"));
	return resolved;
}

/* An exclusion constraint's "USING method (elements) [WHERE (...)]". */
const char *
exclusion_on_bare_table(MigrationPlan *plan, Relation rel, const JsonObject &c)
{
	static const char *const kFields[] = {"index_method", "elements", "predicate", NULL};
	JsonObject	exclude = c.required_object("exclude");
	Oid			am;

	exclude.reject_unknown(kFields);

	const char *method = index_method(exclude, "index_method", &am);

	return psprintf("USING %s %s", method,
					exclusion_sql(plan->names, rel, am,
								  exclude.required_string("elements"), exclude.optional_string("predicate"),
								  field_label(exclude, "elements")));
}

/*
 * Analyses the checks and generated expressions against the bare table:
 * fills each column's check_sql and generated_sql, and returns the table
 * constraints' checks (NULL for other kinds), in order.
 */
List *
resolve_expressions(MigrationPlan *plan, const char *name, ResolvedColumn *columns,
					int ncolumns, List *constraints)
{
	const char *table_sql = qname(plan->schema, name);
	StringInfoData bare;
	List	   *checks = NIL;
	ListCell   *lc;

	initStringInfo(&bare);
	for (int i = 0; i < ncolumns; i++)
		appendStringInfo(&bare, "%s%s %s", i > 0 ? ", " : "", qi(columns[i].spec.name),
						 columns[i].type.sql);
	sql_execf("CREATE TABLE %s (%s)", table_sql, bare.data);

	Relation	rel = relation_open(get_relname_relid(name, plan->schema_oid), AccessShareLock);
	Shape		shape = relation_shape(rel);

	for (int i = 0; i < ncolumns; i++)
	{
		ResolvedColumn &c = columns[i];
		const char *prefix = psprintf("columns[%d].", i);

		if (c.spec.check_name != NULL)
			c.check_sql = check_on_physical_columns(plan->names, rel, shape,
													c.spec.check_text,
													psprintf("field \"%scheck.constraint\"", prefix));
		if (c.spec.generated_text != NULL)
			c.generated_sql = generated_on_columns(plan->names, rel, c.spec.generated_text,
												   c.type.type, c.type.typmod,
												   psprintf("field \"%sgenerated.expression\"", prefix));
	}
	foreach(lc, constraints)
	{
		JsonObject	c((JsonbContainer *) lfirst(lc), psprintf("constraints[%d].", foreach_current_index(lc)));
		const char *type = c.optional_string("type");

		if (type != NULL && strcmp(type, "exclude") == 0)
		{
			checks = lappend(checks, (void *) exclusion_on_bare_table(plan, rel, c));
			continue;
		}
		checks = lappend(checks, type != NULL && strcmp(type, "check") == 0
						 ? (void *) check_on_physical_columns(plan->names, rel, shape,
															  c.required_string("check"),
															  field_label(c, "check"))
						 : NULL);
	}
	relation_close(rel, AccessShareLock);
	sql_execf("DROP TABLE %s", table_sql);
	return checks;
}

} // namespace

namespace {

/* A table created under a staged name gave its indexes (and their
 * constraints) and serial sequences names that begin with it: once the
 * table has its own name, so do they. */
void
rename_staged_dependents(MigrationPlan *plan, const char *name, const char *physical)
{
	const char *args[] = {qname(plan->schema, physical), physical};
	List	   *rows = sql_rows(
		"SELECT c.relname, c.relkind = 'i' FROM pg_catalog.pg_class c "
		"WHERE c.oid IN (SELECT indexrelid FROM pg_catalog.pg_index WHERE indrelid = $1::pg_catalog.regclass "
		"                UNION SELECT objid FROM pg_catalog.pg_depend WHERE refobjid = $1::pg_catalog.regclass "
		"                 AND classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND deptype = 'a') "
		"AND pg_catalog.starts_with(c.relname, $2) ORDER BY 1", 2, args);
	ListCell   *lc;

	foreach(lc, rows)
	{
		char	  **row = (char **) lfirst(lc);
		const char *to = psprintf("%s%s", name, row[0] + strlen(physical));

		if (strlen(to) >= NAMEDATALEN)
			continue;
		/* An index of a constraint: renaming the constraint renames both. */
		Oid			index = get_relname_relid(row[0], plan->schema_oid);
		Oid			constraint = row[1][0] == 't' ? get_index_constraint(index) : InvalidOid;

		plan->complete_last_ddl = lappend(plan->complete_last_ddl,
			OidIsValid(constraint)
			? psprintf("ALTER TABLE %s RENAME CONSTRAINT %s TO %s", qname(plan->schema, name), qi(row[0]), qi(to))
			: psprintf("ALTER %s %s RENAME TO %s", row[1][0] == 't' ? "INDEX" : "SEQUENCE",
					   qname(plan->schema, row[0]), qi(to)));
	}

	/* Constraints without an index (checks, foreign keys) named after it. */
	rows = sql_rows("SELECT conname FROM pg_catalog.pg_constraint WHERE conrelid = $1::pg_catalog.regclass "
					"AND conindid = 0 AND pg_catalog.starts_with(conname, $2) ORDER BY 1", 2, args);
	foreach(lc, rows)
	{
		const char *from = ((char **) lfirst(lc))[0];
		const char *to = psprintf("%s%s", name, from + strlen(physical));

		if (strlen(to) < NAMEDATALEN)
			plan->complete_last_ddl = lappend(plan->complete_last_ddl,
											  psprintf("ALTER TABLE %s RENAME CONSTRAINT %s TO %s",
													   qname(plan->schema, name), qi(from), qi(to)));
	}
}

} // namespace

void
op_create_table(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"name", "columns", "comment", "constraints", NULL};

	op.reject_unknown(kFields);

	const char *name = op.required_identifier("name");
	List	   *column_objects = op.object_array("columns", true);
	List	   *constraints = op.object_array("constraints", false);
	int			ncolumns = list_length(column_objects);
	List	   *pk_columns = NIL;
	StringInfoData sql;
	ListCell   *lc;

	if (plan_has_table(plan, name))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("table \"%s\" already exists in schema \"%s\"", name, plan->schema)));

	/* A table this migration drops or renames still holds the name until
	 * complete: the new one waits under a staged name. */
	const char *physical = plan_new_table_physical_name(plan, name);
	const char *table_sql = qname(plan->schema, physical);

	ResolvedColumn *columns = (ResolvedColumn *) palloc0(sizeof(ResolvedColumn) * ncolumns);

	foreach(lc, column_objects)
		columns[foreach_current_index(lc)] =
			resolve_column(plan, JsonObject((JsonbContainer *) lfirst(lc),
											psprintf("columns[%d].", foreach_current_index(lc))));

	List	   *checks = resolve_expressions(plan, physical, columns, ncolumns, constraints);

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE TABLE %s (", table_sql);
	for (int i = 0; i < ncolumns; i++)
	{
		if (i > 0)
			appendStringInfoString(&sql, ", ");
		append_column(&sql, plan, columns[i]);
		if (columns[i].spec.pk)
			pk_columns = lappend(pk_columns, (void *) columns[i].spec.name);
	}
	if (pk_columns != NIL)
		appendStringInfo(&sql, ", PRIMARY KEY (%s)", column_list_sql(pk_columns));
	foreach(lc, constraints)
		append_constraint(&sql, plan, name,
						  JsonObject((JsonbContainer *) lfirst(lc),
									 psprintf("constraints[%d].", foreach_current_index(lc))),
						  (const char *) list_nth(checks, foreach_current_index(lc)));
	appendStringInfoChar(&sql, ')');
	sql_exec(sql.data);

	if (op.optional_string("comment") != NULL)
		sql_execf("COMMENT ON TABLE %s IS %s", table_sql, ql(op.optional_string("comment")));
	for (int i = 0; i < ncolumns; i++)
		if (columns[i].spec.comment != NULL)
			sql_execf("COMMENT ON COLUMN %s.%s IS %s", table_sql, qi(columns[i].spec.name),
					  ql(columns[i].spec.comment));
	(void) plan_created_table(plan, name, physical);
	if (strcmp(physical, name) != 0)
		rename_staged_dependents(plan, name, physical);
}

} // namespace ec
