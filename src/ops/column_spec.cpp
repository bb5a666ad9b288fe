/*
 * column_spec.cpp — reading pgroll column definitions; see column_spec.hpp.
 */
#include "ops/column_spec.hpp"

#include "pg/sql.hpp"
#include "plan/expression.hpp"

namespace ec {

const char *
referential_action(const JsonObject &obj, const char *key)
{
	static const char *const kActions[] = {"NO ACTION", "RESTRICT", "CASCADE", "SET NULL",
										   "SET DEFAULT", NULL};
	const char *value = obj.optional_string(key);

	if (value == NULL)
		return "NO ACTION";
	for (const char *const *a = kActions; *a; a++)
		if (pg_strcasecmp(*a, value) == 0)
			return *a;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("field \"%s\" must be one of NO ACTION, RESTRICT, CASCADE, SET NULL, SET DEFAULT",
					obj.field_name(key))));
	pg_unreachable();
}

namespace {

const char *
match_sql(const JsonObject &obj)
{
	const char *value = obj.optional_string("match_type");

	if (value == NULL || pg_strcasecmp(value, "SIMPLE") == 0)
		return "";
	if (pg_strcasecmp(value, "FULL") == 0)
		return " MATCH FULL";
	if (pg_strcasecmp(value, "PARTIAL") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("field \"%s\": MATCH PARTIAL is not implemented by PostgreSQL",
						obj.field_name("match_type"))));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("field \"%s\" must be SIMPLE, FULL or PARTIAL", obj.field_name("match_type"))));
	pg_unreachable();
}

const char *
deferrable_sql(bool deferrable, bool initially_deferred)
{
	return !deferrable ? "" : initially_deferred ? " DEFERRABLE INITIALLY DEFERRED" : " DEFERRABLE";
}

} // namespace

const char *
index_parameters_sql(const JsonObject &constraint)
{
	static const char *const kFields[] = {"include_columns", "storage_parameters", "tablespace", NULL};
	JsonObject	params(NULL);

	if (!constraint.optional_object("index_parameters", &params))
		return "";
	params.reject_unknown(kFields);

	List	   *include = params.identifier_array("include_columns", false);
	const char *storage = params.optional_string("storage_parameters");
	const char *tablespace = params.optional_string("tablespace");
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, include)
		appendStringInfo(&buf, "%s%s", foreach_current_index(lc) == 0 ? " INCLUDE (" : ", ",
						 qi((const char *) lfirst(lc)));
	if (include != NIL)
		appendStringInfoChar(&buf, ')');
	if (storage != NULL && storage[0] != '\0')
		appendStringInfo(&buf, " WITH (%s)",
						 storage_parameters_sql(storage, psprintf("field \"%s\"",
																   params.field_name("storage_parameters"))));
	if (tablespace != NULL && tablespace[0] != '\0')
		appendStringInfo(&buf, " USING INDEX TABLESPACE %s", qi(params.optional_identifier("tablespace")));
	return buf.data;
}

const char *
table_references_sql(MigrationPlan *plan, const JsonObject &ref, const char *own_table,
					 bool deferrable, bool initially_deferred)
{
	static const char *const kRef[] = {"table", "columns", "match_type", "on_delete", "on_update",
									   "on_delete_set_columns", NULL};

	ref.reject_unknown(kRef);

	const char *ref_table = ref.required_identifier("table");
	List	   *set_columns = ref.identifier_array("on_delete_set_columns", false);
	const char *on_delete = referential_action(ref, "on_delete");

	if (set_columns != NIL && strncmp(on_delete, "SET ", 4) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"%s\" needs on_delete SET NULL or SET DEFAULT",
						ref.field_name("on_delete_set_columns"))));
	return psprintf("REFERENCES %s (%s)%s ON DELETE %s%s%s%s ON UPDATE %s%s",
					plan_referenced_table_sql(plan, ref_table),
					plan_referenced_columns_sql(plan, ref_table, ref.identifier_array("columns", true)),
					match_sql(ref), on_delete, set_columns ? " (" : "",
					set_columns ? plan_referenced_columns_sql(plan, own_table, set_columns) : "",
					set_columns ? ")" : "", referential_action(ref, "on_update"),
					deferrable_sql(deferrable, initially_deferred));
}

void
read_column_references(const JsonObject &ref, ColumnSpec *spec)
{
	static const char *const kRef[] = {"name", "table", "column", "on_delete", "on_update",
									   "match_type", "deferrable", "initially_deferred", NULL};

	ref.reject_unknown(kRef);
	spec->has_references = true;
	spec->ref_name = ref.required_identifier("name");
	spec->ref_table = ref.required_identifier("table");
	spec->ref_column = ref.required_identifier("column");
	spec->ref_on_delete = referential_action(ref, "on_delete");
	spec->ref_on_update = referential_action(ref, "on_update");
	spec->ref_match = match_sql(ref);
	spec->ref_deferrable = deferrable_sql(ref.optional_bool("deferrable", false),
										  ref.optional_bool("initially_deferred", false));
}

void
read_column_check(const JsonObject &check, ColumnSpec *spec)
{
	static const char *const kCheck[] = {"name", "constraint", "no_inherit", NULL};

	check.reject_unknown(kCheck);
	spec->check_name = check.required_identifier("name");
	spec->check_text = check.required_string("constraint");
	spec->check_no_inherit = check.optional_bool("no_inherit", false);
}

const char *
index_method(const JsonObject &obj, const char *key, Oid *am)
{
	static const char *const kMethods[] = {"btree", "hash", "gist", "spgist", "gin", "brin", NULL};
	const char *method = obj.optional_string(key);

	if (method == NULL || method[0] == '\0')
		method = "btree";
	for (const char *const *m = kMethods; *m; m++)
		if (pg_strcasecmp(*m, method) == 0)
		{
			*am = get_am_oid(*m, false);
			return *m;
		}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("field \"%s\" must be btree, hash, gist, spgist, gin or brin, not \"%s\"",
					obj.field_name(key), method)));
	pg_unreachable();
}

ColumnSpec
read_column_spec(const JsonObject &column)
{
	static const char *const kFields[] = {"name", "type", "nullable", "default", "pk", "unique",
										  "check", "references", "comment", "generated", NULL};
	ColumnSpec	spec;
	JsonObject	nested(NULL);

	memset(&spec, 0, sizeof(spec));
	column.reject_unknown(kFields);
	spec.name = column.required_identifier("name");
	spec.type = column.required_string("type");
	spec.pk = column.optional_bool("pk", false);
	spec.nullable = column.optional_bool("nullable", false);
	spec.unique = column.optional_bool("unique", false);
	spec.default_text = column.optional_string("default");
	spec.comment = column.optional_string("comment");

	if (column.optional_object("check", &nested))
		read_column_check(nested, &spec);
	if (column.optional_object("references", &nested))
		read_column_references(nested, &spec);
	if (column.optional_object("generated", &nested))
	{
		static const char *const kGenerated[] = {"expression", "identity", NULL};
		JsonObject	identity(NULL);

		nested.reject_unknown(kGenerated);
		spec.generated_text = nested.optional_string("expression");
		if (nested.optional_object("identity", &identity))
		{
			static const char *const kIdentity[] = {"user_specified_values", "sequence_options", NULL};
			const char *values;

			identity.reject_unknown(kIdentity);
			values = identity.optional_string("user_specified_values");
			if (values == NULL || pg_strcasecmp(values, "BY DEFAULT") == 0)
				spec.identity = "BY DEFAULT";
			else if (pg_strcasecmp(values, "ALWAYS") == 0)
				spec.identity = "ALWAYS";
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("field \"%s\" must be ALWAYS or BY DEFAULT",
								identity.field_name("user_specified_values"))));
			spec.identity_options_text = identity.optional_string("sequence_options");
		}
		if ((spec.generated_text == NULL) == (spec.identity == NULL))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"%s\" needs exactly one of \"expression\" and \"identity\"",
							column.field_name("generated"))));
		if (spec.default_text != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" cannot have both \"default\" and \"generated\"", spec.name)));
	}
	return spec;
}

const char *
references_sql(MigrationPlan *plan, const ColumnSpec &spec)
{
	/* Refer to what backs the new version's table and column right now. */
	return psprintf("REFERENCES %s (%s)%s ON DELETE %s ON UPDATE %s%s",
					plan_referenced_table_sql(plan, spec.ref_table),
					plan_referenced_columns_sql(plan, spec.ref_table,
												list_make1((void *) spec.ref_column)),
					spec.ref_match, spec.ref_on_delete, spec.ref_on_update, spec.ref_deferrable);
}

} // namespace ec
