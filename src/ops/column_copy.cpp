/*
 * column_copy.cpp — duplicating a column for the new version; see
 * column_copy.hpp.
 */
#include "ops/column_copy.hpp"

#include "ops/operations.hpp"
#include "phase/index_builds.hpp"
#include "plan/expression.hpp"
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

	FormData_pg_attribute attribute = column_attribute(table->relid, old_physical);

	/* A copy would be a plain column: after complete the identity or the
	 * generation would be gone. */
	if (attribute.attidentity != '\0' || attribute.attgenerated != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s column \"%s\" cannot be copied yet",
						attribute.attidentity != '\0' ? "identity" : "generated", column->name),
				 errdetail("Changing its type or nullability, or putting a constraint on it, needs a copy "
						   "of the column, which would lose what makes it %s.",
						   attribute.attidentity != '\0' ? "an identity column" : "generated")));

	plan_refuse_column_dependents(plan, table, old_physical, "change");

	/* A serial column's sequence would go with the old column: the copy,
	 * which takes its default, takes it over first. */
	const char *args[] = {table_sql, old_physical};
	const char *owned = sql_value("SELECT pg_catalog.pg_get_serial_sequence($1, pg_catalog.quote_ident($2))",
								  2, args);

	const char *staged_default = copy.default_given ? copy.default_sql : old_default;

	column->physical = plan_new_physical_column(plan, table, final_name);
	column->added = true;
	column->replaces = old_physical;
	column->copied_by = plan->where;
	if (owned != NULL)
		plan->complete_prepare_ddl = lappend(plan->complete_prepare_ddl,
											 psprintf("ALTER SEQUENCE %s OWNED BY %s.%s", owned,
													  table_sql, qi(column->physical)));
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

namespace {

/* Column names as a NULL-terminated array, for reject_unknown. */
const char *const *
as_field_list(List *names)
{
	const char **fields = (const char **) palloc0((list_length(names) + 1) * sizeof(char *));
	ListCell   *lc;

	foreach(lc, names)
		fields[foreach_current_index(lc)] = (const char *) lfirst(lc);
	return fields;
}

} // namespace

void
copy_columns_for_constraint(MigrationPlan *plan, PlannedTable *table, List *columns,
							const JsonObject &op)
{
	bool		one_column = list_length(columns) == 1;
	JsonObject	up(NULL);
	JsonObject	down(NULL);
	const char *up_string = NULL;
	const char *down_string = NULL;
	bool		has_up = false;
	bool		has_down = false;
	ListCell   *lc;

	/* One column: "up"/"down" may be plain strings (drop_constraint). */
	if (one_column && op.has_string("up"))
		up_string = op.optional_string("up");
	else
		has_up = op.optional_object("up", &up);
	if (one_column && op.has_string("down"))
		down_string = op.optional_string("down");
	else
		has_down = op.optional_object("down", &down);
	if (has_up)
		up.reject_unknown(as_field_list(columns));
	if (has_down)
		down.reject_unknown(as_field_list(columns));
	foreach(lc, columns)
	{
		const char *name = (const char *) lfirst(lc);
		PlannedColumn *column = plan_column(plan, table, name);
		ColumnCopy	how = same_column_copy(table, column);

		how.up = has_up ? up.optional_string(name) : up_string;
		how.up_field = has_up ? psprintf("up.%s", name) : "up";
		how.down = has_down ? down.optional_string(name) : down_string;
		how.down_field = has_down ? psprintf("down.%s", name) : "down";
		if (how.up != NULL && how.up[0] == '\0')
			how.up = NULL;
		if (how.down != NULL && how.down[0] == '\0')
			how.down = NULL;
		/* Copied already by an earlier constraint or column operation of
		 * this migration: the constraint goes on that copy, whose up and
		 * down were given there. */
		if (column->replaces != NULL)
		{
			if ((how.up && strcmp(how.up, name) != 0) || (how.down && strcmp(how.down, name) != 0))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("column \"%s\" was copied by %s; give its \"up\" and \"down\" there",
								name, column->copied_by)));
			continue;
		}
		stage_column_copy(plan, table, column, column->name, how);
	}
}

void
add_constraint_not_valid(MigrationPlan *plan, PlannedTable *table, const char *name,
						 const char *definition)
{
	if (strncmp(name, EC_PREFIX, strlen(EC_PREFIX)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_RESERVED_NAME),
				 errmsg("constraint name \"%s\" uses the prefix \"%s\" reserved by expand_contract",
						name, EC_PREFIX)));
	sql_execf("ALTER TABLE %s ADD CONSTRAINT %s %s NOT VALID",
			  qname(plan->schema, table->physical_name), qi(name), definition);
	table->checks_to_validate = lappend(table->checks_to_validate, (void *) name);
}

const char *
check_on_new_version(MigrationPlan *plan, PlannedTable *table, const char *source, const char *field)
{
	Relation	rel = relation_open(table->relid, AccessShareLock);
	const char *check = check_on_physical_columns(plan->names, rel, new_shape(table->columns),
												  source, field);

	relation_close(rel, AccessShareLock);
	return check;
}

/* "INCLUDE (...) WITH (...) TABLESPACE ..." of CREATE INDEX, from pgroll's
 * index_parameters. */
namespace {

const char *
index_build_parameters_sql(MigrationPlan *plan, PlannedTable *table, const JsonObject &op,
						   bool nulls_not_distinct)
{
	static const char *const kFields[] = {"include_columns", "storage_parameters", "tablespace", NULL};
	JsonObject	params(NULL);
	StringInfoData buf;

	initStringInfo(&buf);
	if (!op.optional_object("index_parameters", &params))
	{
		appendStringInfoString(&buf, nulls_not_distinct ? " NULLS NOT DISTINCT" : "");
		return buf.data;
	}
	params.reject_unknown(kFields);

	List	   *include = params.identifier_array("include_columns", false);
	const char *storage = params.optional_string("storage_parameters");
	const char *tablespace = params.optional_string("tablespace");

	if (include != NIL)
		appendStringInfo(&buf, " INCLUDE (%s)", plan_referenced_columns_sql(plan, table->name, include));
	/* In CREATE INDEX's order: INCLUDE, NULLS, WITH, TABLESPACE. */
	if (nulls_not_distinct)
		appendStringInfoString(&buf, " NULLS NOT DISTINCT");
	if (storage != NULL && storage[0] != '\0')
		appendStringInfo(&buf, " WITH (%s)",
						 storage_parameters_sql(storage, psprintf("field \"%s\"",
																   params.field_name("storage_parameters"))));
	if (tablespace != NULL && tablespace[0] != '\0')
		appendStringInfo(&buf, " TABLESPACE %s", qi(params.optional_identifier("tablespace")));
	return buf.data;
}

bool
has_primary_key(const PlannedTable *table)
{
	Relation	rel = table_open(table->relid, AccessShareLock);
	Oid			pk = RelationGetPrimaryKeyIndex(rel);

	table_close(rel, AccessShareLock);
	if (!OidIsValid(pk))
		return false;

	Oid			constraint = get_index_constraint(pk);
	ListCell   *lc;

	foreach(lc, table->dropped_constraints)
		if (OidIsValid(constraint) && strcmp(get_constraint_name(constraint), (const char *) lfirst(lc)) == 0)
			return false;
	return true;
}

} // namespace

/*
 * A unique or primary key constraint on the copies: the unique index is
 * built online on them after start (index_builds.hpp), and complete turns it
 * into the constraint (ADD CONSTRAINT ... USING INDEX). A primary key's
 * copies are NOT NULL, by validated checks, so that step scans nothing.
 */
void
unique_on_copies(MigrationPlan *plan, PlannedTable *table, const char *name, const char *type,
				 List *columns, const JsonObject &op)
{
	bool		primary = strcmp(type, "primary_key") == 0;
	const char *table_sql = qname(plan->schema, table->physical_name);
	ListCell   *lc;

	if (primary && has_primary_key(table))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("table \"%s\" has a primary key already", table->name)));
	if (primary)
		foreach(lc, columns)
		{
			PlannedColumn *c = plan_column(plan, table, (const char *) lfirst(lc));

			if (c->not_null_check == NULL)
			{
				c->not_null_check = plan_not_null_check_name(table, c->name);
				sql_execf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID",
						  table_sql, qi(c->not_null_check), qi(c->physical));
			}
		}
	plan_index_build(plan, table, name,
					 IndexDefinition{true,
									 psprintf("(%s)%s", plan_referenced_columns_sql(plan, table->name, columns),
											  index_build_parameters_sql(plan, table, op,
																		 op.optional_bool("nulls_not_distinct", false))),
									 true, NULL});
	plan->complete_ddl = lappend(plan->complete_ddl,
								 psprintf("ALTER TABLE %s ADD CONSTRAINT %s %s USING INDEX %s%s", table_sql,
										  qi(name), primary ? "PRIMARY KEY" : "UNIQUE", qi(name),
										  !op.optional_bool("deferrable", false) ? ""
										  : op.optional_bool("initially_deferred", false)
										  ? " DEFERRABLE INITIALLY DEFERRED" : " DEFERRABLE"));
}

} // namespace ec
