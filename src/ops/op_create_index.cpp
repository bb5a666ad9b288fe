/*
 * op_create_index.cpp — create_index: an index both versions may use, built
 * online.
 *
 * start checks every field and writes the CREATE INDEX CONCURRENTLY
 * statement from their parsed forms (columns by their physical names,
 * collations and operator classes resolved and qualified, the predicate
 * analysed as one boolean expression, storage parameters rebuilt); the build
 * itself runs after start commits, in a background worker (index_builds.hpp).
 * complete() waits for nothing: it refuses until the index is valid.
 * rollback() drops it, an invalid one included.
 */
#include "ops/column_copy.hpp"
#include "ops/column_spec.hpp"
#include "ops/operations.hpp"
#include "phase/index_builds.hpp"
#include "plan/expression.hpp"
#include "pg/sql.hpp"

namespace ec {

namespace {

/* One index element: {"column", "collate", "opclass": {"name", "params"},
 * "sort", "nulls"}, or (older files) the column's name alone. */
const char *
element_sql(MigrationPlan *plan, PlannedTable *table, JsonbContainer *container, int n, Oid am)
{
	JsonObject	e(container, psprintf("columns[%d].", n));
	static const char *const kFields[] = {"column", "collate", "opclass", "sort", "nulls", NULL};
	StringInfoData buf;

	e.reject_unknown(kFields);
	initStringInfo(&buf);
	appendStringInfoString(&buf, qi(plan_column(plan, table, e.required_identifier("column"))->physical));

	const char *collate = e.optional_string("collate");

	if (collate != NULL && collate[0] != '\0')
		appendStringInfo(&buf, " COLLATE %s",
						 collation_sql(plan->names, collate, psprintf("field \"%s\"", e.field_name("collate"))));

	JsonObject	opclass(NULL);

	if (e.optional_object("opclass", &opclass))
	{
		static const char *const kOpclass[] = {"name", "params", NULL};

		opclass.reject_unknown(kOpclass);

		const char *name = opclass.optional_string("name");
		List	   *params = opclass.string_array("params", false);

		if (name != NULL && name[0] != '\0')
			appendStringInfo(&buf, " %s", opclass_sql(plan->names, name, am,
													  psprintf("field \"%s\"", opclass.field_name("name"))));
		if (params != NIL)
		{
			StringInfoData list;
			ListCell   *lc;

			initStringInfo(&list);
			foreach(lc, params)
				appendStringInfo(&list, "%s%s", list.len > 0 ? ", " : "", (const char *) lfirst(lc));
			appendStringInfo(&buf, " (%s)",
							 storage_parameters_sql(list.data, psprintf("field \"%s\"",
																		 opclass.field_name("params"))));
		}
	}

	const char *sort = e.optional_string("sort");

	if (sort != NULL && sort[0] != '\0')
	{
		if (pg_strcasecmp(sort, "ASC") != 0 && pg_strcasecmp(sort, "DESC") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"%s\" must be ASC or DESC", e.field_name("sort"))));
		appendStringInfo(&buf, " %s", pg_strcasecmp(sort, "ASC") == 0 ? "ASC" : "DESC");
	}

	const char *nulls = e.optional_string("nulls");

	if (nulls != NULL && nulls[0] != '\0')
	{
		if (pg_strcasecmp(nulls, "FIRST") != 0 && pg_strcasecmp(nulls, "LAST") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"%s\" must be FIRST or LAST", e.field_name("nulls"))));
		appendStringInfo(&buf, " NULLS %s", pg_strcasecmp(nulls, "FIRST") == 0 ? "FIRST" : "LAST");
	}
	return buf.data;
}

} // namespace

void
op_create_index(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"name", "table", "columns", "predicate", "method",
										  "storage_parameters", "unique", NULL};

	op.reject_unknown(kFields);

	PlannedTable *table = plan_table(plan, op.required_identifier("table"));
	const char *name = op.required_identifier("name");
	Oid			am = InvalidOid;
	const char *method = index_method(op, "method", &am);
	List	   *columns = op.object_array("columns", true);
	StringInfoData sql;
	ListCell   *lc;

	if (columns == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"columns\" must name at least one column")));

	initStringInfo(&sql);
	appendStringInfo(&sql, "USING %s (", method);
	foreach(lc, columns)
		appendStringInfo(&sql, "%s%s", foreach_current_index(lc) > 0 ? ", " : "",
						 element_sql(plan, table, (JsonbContainer *) lfirst(lc), foreach_current_index(lc), am));
	appendStringInfoChar(&sql, ')');

	const char *storage = op.optional_string("storage_parameters");

	if (storage != NULL && storage[0] != '\0')
		appendStringInfo(&sql, " WITH (%s)", storage_parameters_sql(storage, "field \"storage_parameters\""));

	const char *predicate = op.optional_string("predicate");

	if (predicate != NULL && predicate[0] != '\0')
		appendStringInfo(&sql, " WHERE %s",
						 check_on_new_version(plan, table, predicate, "field \"predicate\""));

	plan_index_build(plan, table, name, IndexDefinition{op.optional_bool("unique", false), sql.data, false, NULL});
}

} // namespace ec
