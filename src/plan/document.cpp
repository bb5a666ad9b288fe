/*
 * document.cpp — typed, validating access to a migration document; see
 * document.hpp. Built on PostgreSQL's own jsonb container API.
 */
#include "plan/document.hpp"

namespace ec {

namespace {

const char *
json_type_name(const JsonbValue *value)
{
	switch (value->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsArray(value->val.binary.data) ? "an array" : "an object";
		default:
			return "a JSON value";
	}
}

bool
is_object(const JsonbValue *value)
{
	return value->type == jbvBinary && JsonContainerIsObject(value->val.binary.data);
}

bool
is_array(const JsonbValue *value)
{
	return value->type == jbvBinary && JsonContainerIsArray(value->val.binary.data);
}

} // namespace

JsonObject::JsonObject(JsonbContainer *container, const char *prefix)
	: container_(container), prefix_(prefix)
{
}

JsonObject
JsonObject::from_jsonb(Jsonb *document)
{
	if (!JB_ROOT_IS_OBJECT(document))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a migration document must be a JSON object")));
	return JsonObject(&document->root);
}

const char *
JsonObject::field_name(const char *key) const
{
	return psprintf("%s%s", prefix_, key);
}

JsonbValue *
JsonObject::lookup(const char *key, JsonbValue *buffer) const
{
	return getKeyJsonValueFromContainer(container_, key, strlen(key), buffer);
}

bool
JsonObject::has(const char *key) const
{
	JsonbValue buffer;
	return lookup(key, &buffer) != NULL;
}

bool
JsonObject::has_string(const char *key) const
{
	JsonbValue buffer;
	JsonbValue *value = lookup(key, &buffer);

	return value != NULL && value->type == jbvString;
}

void
JsonObject::type_error(const char *key, const char *expected) const
{
	JsonbValue buffer;
	JsonbValue *value = lookup(key, &buffer);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("field \"%s\" must be %s, not %s",
					field_name(key), expected, json_type_name(value))));
	pg_unreachable();
}

const char *
JsonObject::optional_string(const char *key) const
{
	JsonbValue buffer;
	JsonbValue *value = lookup(key, &buffer);

	if (value == NULL)
		return NULL;
	if (value->type != jbvString)
		type_error(key, "a string");
	return pnstrdup(value->val.string.val, value->val.string.len);
}

const char *
JsonObject::required_string(const char *key) const
{
	const char *value = optional_string(key);

	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"%s\" is required", field_name(key))));
	if (value[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"%s\" must not be empty", field_name(key))));
	return value;
}

const char *
JsonObject::checked_identifier(const char *key, const char *name) const
{
	if (name != NULL && strlen(name) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("field \"%s\" is %d bytes long, but a name may have at most %d",
						field_name(key), (int) strlen(name), NAMEDATALEN - 1),
				 errdetail("The name is \"%s\".", name)));
	return name;
}

const char *
JsonObject::required_identifier(const char *key) const
{
	return checked_identifier(key, required_string(key));
}

const char *
JsonObject::optional_identifier(const char *key) const
{
	const char *name = optional_string(key);

	if (name != NULL && name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"%s\" must not be empty", field_name(key))));
	return checked_identifier(key, name);
}

List *
JsonObject::identifier_array(const char *key, bool required) const
{
	List	   *names = string_array(key, required);
	ListCell   *lc;

	foreach(lc, names)
		(void) checked_identifier(key, (const char *) lfirst(lc));
	return names;
}

bool
JsonObject::nullable_string(const char *key, const char **out) const
{
	JsonbValue buffer;
	JsonbValue *value = lookup(key, &buffer);

	*out = NULL;
	if (value == NULL)
		return false;
	if (value->type == jbvNull)
		return true;
	if (value->type != jbvString)
		type_error(key, "a string or null");
	*out = pnstrdup(value->val.string.val, value->val.string.len);
	return true;
}

bool
JsonObject::optional_bool(const char *key, bool default_value) const
{
	JsonbValue buffer;
	JsonbValue *value = lookup(key, &buffer);

	if (value == NULL)
		return default_value;
	if (value->type != jbvBool)
		type_error(key, "a boolean");
	return value->val.boolean;
}

bool
JsonObject::optional_object(const char *key, JsonObject *out) const
{
	JsonbValue buffer;
	JsonbValue *value = lookup(key, &buffer);

	if (value == NULL)
		return false;
	if (!is_object(value))
		type_error(key, "an object");
	*out = JsonObject(value->val.binary.data, psprintf("%s%s.", prefix_, key));
	return true;
}

JsonObject
JsonObject::required_object(const char *key) const
{
	JsonObject result(NULL);

	if (!optional_object(key, &result))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"%s\" is required", field_name(key))));
	return result;
}

static List *
array_elements(JsonbContainer *array)
{
	List	   *elements = NIL;
	JsonbIterator *it = JsonbIteratorInit(array);
	JsonbValue	value;
	JsonbIteratorToken token;

	while ((token = JsonbIteratorNext(&it, &value, true)) != WJB_DONE)
	{
		if (token == WJB_ELEM)
		{
			JsonbValue *copy = (JsonbValue *) palloc(sizeof(JsonbValue));

			*copy = value;
			elements = lappend(elements, copy);
		}
	}
	return elements;
}

List *
JsonObject::array_field(const char *key, bool required, const char *expected) const
{
	JsonbValue buffer;
	JsonbValue *value = lookup(key, &buffer);

	if (value == NULL)
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"%s\" is required", field_name(key))));
		return NIL;
	}
	if (!is_array(value))
		type_error(key, expected);
	return array_elements(value->val.binary.data);
}

List *
JsonObject::string_array(const char *key, bool required) const
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, array_field(key, required, "an array of strings"))
	{
		JsonbValue *element = (JsonbValue *) lfirst(lc);

		if (element->type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"%s\" must be an array of strings", field_name(key))));
		result = lappend(result, pnstrdup(element->val.string.val, element->val.string.len));
	}
	return result;
}

List *
JsonObject::object_array(const char *key, bool required) const
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, array_field(key, required, "an array of objects"))
	{
		JsonbValue *element = (JsonbValue *) lfirst(lc);

		if (!is_object(element))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"%s\" must be an array of objects", field_name(key))));
		result = lappend(result, element->val.binary.data);
	}
	return result;
}

const char *
JsonObject::only_key() const
{
	JsonbIterator *it = JsonbIteratorInit(container_);
	JsonbValue	value;
	JsonbIteratorToken token;
	const char *key = NULL;
	int			nkeys = 0;

	while ((token = JsonbIteratorNext(&it, &value, true)) != WJB_DONE)
	{
		if (token == WJB_KEY)
		{
			key = pnstrdup(value.val.string.val, value.val.string.len);
			nkeys++;
		}
	}
	if (nkeys != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an operation must be an object with exactly one key naming it, found %d keys",
						nkeys)));
	return key;
}

void
JsonObject::reject_unknown(const char *const *allowed) const
{
	JsonbIterator *it = JsonbIteratorInit(container_);
	JsonbValue	value;
	JsonbIteratorToken token;

	while ((token = JsonbIteratorNext(&it, &value, true)) != WJB_DONE)
	{
		if (token != WJB_KEY)
			continue;

		const char *key = pnstrdup(value.val.string.val, value.val.string.len);
		bool		known = false;

		for (const char *const *a = allowed; *a != NULL; a++)
			known = known || strcmp(*a, key) == 0;
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown field \"%s\"", field_name(key))));
	}
}

} // namespace ec
