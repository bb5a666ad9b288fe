/*
 * column_spec.cpp — reading pgroll column definitions; see column_spec.hpp.
 */
#include "ops/column_spec.hpp"

#include "pg/sql.hpp"

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
	{
		static const char *const kCheck[] = {"name", "constraint", NULL};

		nested.reject_unknown(kCheck);
		spec.check_name = nested.required_identifier("name");
		spec.check_text = nested.required_string("constraint");
	}
	if (column.optional_object("references", &nested))
	{
		static const char *const kRef[] = {"name", "table", "column", "on_delete", "on_update", NULL};

		nested.reject_unknown(kRef);
		spec.has_references = true;
		spec.ref_name = nested.required_identifier("name");
		spec.ref_table = nested.required_identifier("table");
		spec.ref_column = nested.required_identifier("column");
		spec.ref_on_delete = referential_action(nested, "on_delete");
		spec.ref_on_update = referential_action(nested, "on_update");
	}
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
	return psprintf("REFERENCES %s (%s) ON DELETE %s ON UPDATE %s",
					plan_referenced_table_sql(plan, spec.ref_table),
					plan_referenced_columns_sql(plan, spec.ref_table,
												list_make1((void *) spec.ref_column)),
					spec.ref_on_delete, spec.ref_on_update);
}

} // namespace ec
