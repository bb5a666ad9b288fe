/*
 * document.hpp — typed, validating access to a migration document (jsonb).
 *
 * Every accessor reports bad input as ERROR 22023 naming the field by its path
 * ("field \"column.type\" must be a string"); the caller's error context adds
 * which operation it belongs to, so a user can fix a migration file from the
 * message alone. reject_unknown() catches typos such as "colum".
 */
#pragma once

#include "pg.hpp"

namespace ec {

class JsonObject {
public:
	/* prefix: field path of this object inside its operation, e.g. "column." */
	explicit JsonObject(JsonbContainer *container, const char *prefix = "");

	static JsonObject from_jsonb(Jsonb *document);

	bool has(const char *key) const;
	/* Whether the field is there and a string (for fields that may be a
	 * string or an object). */
	bool has_string(const char *key) const;

	/* String fields: required ones error when missing; optional ones return NULL. */
	const char *required_string(const char *key) const;
	const char *optional_string(const char *key) const;
	/* Names of tables, columns, constraints: strings of at most 63 bytes;
	 * longer ones are refused (42622), never truncated. */
	const char *required_identifier(const char *key) const;
	const char *optional_identifier(const char *key) const;
	List *identifier_array(const char *key, bool required) const;

	/* A field that may be a string or JSON null (e.g. "default": null drops a
	 * default). Returns whether the key is present; *value is NULL for null. */
	bool nullable_string(const char *key, const char **value) const;

	bool optional_bool(const char *key, bool default_value) const;

	/* Nested objects; optional_object returns false when absent. */
	JsonObject required_object(const char *key) const;
	bool optional_object(const char *key, JsonObject *out) const;

	/* Arrays: of strings (List of char *), or of objects (List of JsonbContainer *). */
	List *string_array(const char *key, bool required) const;
	List *object_array(const char *key, bool required) const;

	/* The same object with field paths starting afresh from it. */
	JsonObject rooted() const { return JsonObject(container_); }

	/* The single key of an object such as {"add_column": {...}}. */
	const char *only_key() const;

	/* Errors on any key not in the NULL-terminated list `allowed`. */
	void reject_unknown(const char *const *allowed) const;

	const char *field_name(const char *key) const;

private:
	const char *checked_identifier(const char *key, const char *name) const;
	JsonbValue *lookup(const char *key, JsonbValue *buffer) const;
	/* The elements of an array field: NIL when absent and not required. */
	List *array_field(const char *key, bool required, const char *expected) const;
	[[noreturn]] void type_error(const char *key, const char *expected) const;

	JsonbContainer *container_;
	const char *prefix_;
};

} // namespace ec
