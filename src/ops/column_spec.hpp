/*
 * column_spec.hpp — pgroll's column definition object, shared by add_column
 * and create_table.
 */
#pragma once

#include "plan/document.hpp"
#include "plan/plan.hpp"

namespace ec {

struct ColumnSpec {
	const char *name;
	const char *type;
	bool nullable;             /* pgroll's default: false (NOT NULL) */
	bool pk;
	bool unique;
	/* The SQL fields as the document has them, parsed only by their users. */
	const char *default_text;  /* NULL: no default */
	const char *comment;
	const char *check_name;    /* NULL: no check */
	const char *check_text;
	bool check_no_inherit;
	bool has_references;
	const char *ref_name;
	const char *ref_table;
	const char *ref_column;
	const char *ref_on_delete;
	const char *ref_on_update;
	const char *ref_match;     /* "" or " MATCH FULL" */
	const char *ref_deferrable; /* "" or " DEFERRABLE [INITIALLY DEFERRED]" */
	const char *generated_text; /* GENERATED ALWAYS AS (...) STORED */
	const char *identity;      /* "ALWAYS" / "BY DEFAULT", NULL: not identity */
	const char *identity_options_text;
};

ColumnSpec read_column_spec(const JsonObject &column);
/* A column's "check" ({"name", "constraint", "no_inherit"}) and
 * "references" ({"name", "table", "column", ...}) objects, into spec. */
void read_column_check(const JsonObject &check, ColumnSpec *spec);
void read_column_references(const JsonObject &ref, ColumnSpec *spec);

/* pgroll's index method field `key` (btree, hash, gist, spgist, gin, brin;
 * default btree): its name, and its access method in *am. */
const char *index_method(const JsonObject &obj, const char *key, Oid *am);

/* A foreign key's on_delete/on_update action, validated; NO ACTION if absent. */
const char *referential_action(const JsonObject &obj, const char *key);

/* "REFERENCES schema.table (column) ON DELETE ..." for the table and column
 * the new version calls ref_table and ref_column. */
const char *references_sql(MigrationPlan *plan, const ColumnSpec &spec);

/* pgroll's table-level foreign key reference ({"table", "columns",
 * "match_type", "on_delete", "on_update", "on_delete_set_columns"}) as
 * "REFERENCES ...", for a key on table `own_table` of the new version. The
 * key's own "deferrable" and "initially_deferred" (given by its caller's
 * object) are appended. */
/* pgroll's "index_parameters" of a unique or primary key constraint
 * ({"include_columns", "storage_parameters", "tablespace"}) as SQL to follow
 * its column list, maybe "". */
const char *index_parameters_sql(const JsonObject &constraint);

const char *table_references_sql(MigrationPlan *plan, const JsonObject &ref, const char *own_table,
								 bool deferrable, bool initially_deferred);

} // namespace ec
