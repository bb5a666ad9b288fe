/*
 * expression.hpp — parsing and analysing up/down expressions.
 *
 * An expression is written against one version's shape of a table: "up" sees
 * the old version's column names, "down" the new version's. Analysis resolves
 * those names to the physical columns behind them (Vars of range-table entry 1,
 * the table itself), type-checks the result against the target column with
 * assignment coercion, and returns a node tree ready to be stored, recorded as
 * a dependency, and compiled by the trigger engine.
 */
#pragma once

#include "pg/security.hpp"

namespace ec {

/* How the caller's text is read: its search_path (effective_search_path())
 * and standard_conforming_strings, as they were when start() was called. */
struct NameRules {
	const char *search_path;
	bool standard_strings;
};

/* The rules what the extension deparsed itself is read by again. */
inline NameRules
pinned_names()
{
	return NameRules{kPinnedSearchPath, true};
}

/* A version's view of a table: logical column name -> physical column name. */
struct Shape {
	List *names;
	List *physical;
};

Shape old_shape(List *old_columns);
Shape new_shape(List *planned_columns);
/* Every column of rel, by its own name. */
Shape relation_shape(Relation rel);

/*
 * Every field is parsed as exactly what it stands for (one type name, one
 * expression, a list of sequence options) and nothing else: a field carrying
 * a second statement is a syntax error (42601). Names in it resolve by
 * `names` — the caller's rules at start — and what comes back is either an
 * analysed tree (bound to objects, not names) or SQL deparsed from one with
 * every name qualified as the pinned search_path (security.hpp) needs, so
 * replaying it later can only mean what it meant at start. Call the
 * deparsing functions with that path pinned. `field` (or `origin`) prefixes
 * every error ("operation 1 (add_column), field \"up\""); errors keep their
 * SQLSTATE (42601, 42703, 42883, 42804...).
 */

/*
 * Analyses `source` against `shape` of `rel`, coerced to the type of physical
 * column `target`.
 */
Expr *analyse_sync_expression(const NameRules &names, Relation rel, const Shape &shape,
							  const char *source, const char *target, const char *origin);

/*
 * A sync rule as its trigger stores it, in a form that survives pg_dump and
 * pg_upgrade (which keep relation and type OIDs at most, never those of
 * functions, operators or collations): deparsed under the pinned settings,
 * so every name outside pg_catalog is qualified, columns of rel by name,
 * implicit casts shown. start checks that it binds back to the very tree it
 * analysed.
 */
const char *stored_sync_expression(Relation rel, Expr *expr);

/* Binds a stored rule again, under the pinned settings: rel's columns by
 * name, everything else by qualified name, coerced to column `target`. */
Expr *bind_stored_sync_expression(Relation rel, const char *stored, AttrNumber target,
								  const char *origin);

/* A boolean check written against `shape`, deparsed with physical column
 * names, ready for ALTER TABLE ... ADD CONSTRAINT ... CHECK (...). */
const char *check_on_physical_columns(const NameRules &names, Relation rel, const Shape &shape,
									  const char *source, const char *field);

/* A generated column's expression over the columns of `rel`, deparsed. */
const char *generated_on_columns(const NameRules &names, Relation rel, const char *source,
								 Oid type, int32 typmod, const char *field);

/* An analysed expression as SQL that reads back as the same tree under the
 * pinned settings: names qualified, implicit casts shown; column references
 * by the names `context` gives (deparse_context_for), with its alias when
 * prefix_columns. */
const char *deparse_exactly(Node *expr, List *context, bool prefix_columns);

/* A column type: resolved, and as fully qualified SQL. The serial types
 * resolve to their integer type with `serial` set to the keyword
 * ("serial", "bigserial", "smallserial"): they are not types but ask for a
 * sequence and a default, as in CREATE TABLE. */
struct ColumnType {
	Oid type;
	int32 typmod;
	const char *sql;
	const char *serial;
};

ColumnType parse_type_field(const NameRules &names, const char *source, const char *field);
/* The type of a table's column, qualified. */
ColumnType column_type(Oid relid, const char *column);

/* A default for a column of `type` (ERROR 42804 if it cannot be assigned),
 * deparsed. */
const char *default_on_type(const NameRules &names, const char *source, const ColumnType &type,
							const char *field, bool *is_volatile = NULL);

/* Identity sequence options ("START 1 INCREMENT 1 CACHE 1"), rebuilt from
 * their parsed form. */
const char *sequence_options_sql(const NameRules &names, const char *source, const char *field);

/* A collation or operator class, fully qualified and quoted. */
const char *qualified_collation_name(Oid collation);
const char *qualified_opclass_name(Oid opclass);

/* A collation, or an operator class of index method `am`, named as the
 * document names it: resolved with the caller's rules, written fully
 * qualified and quoted. */
const char *collation_sql(const NameRules &names, const char *source, const char *field);
const char *opclass_sql(const NameRules &names, const char *source, Oid am, const char *field);

/* pgroll's exclusion constraint elements ("title WITH =, period WITH &&")
 * and predicate on rel, for index method am, as "(elements) [WHERE (...)]"
 * rebuilt from their analysed forms: columns checked, expressions analysed,
 * collations, operator classes and operators resolved and qualified. */
const char *exclusion_sql(const NameRules &names, Relation rel, Oid am, const char *elements,
						  const char *predicate, const char *field);

/* Storage parameters ("fillfactor = 70, toast.autovacuum_enabled = off") for
 * WITH (...), rebuilt from their parsed form with quoted names and values. */
const char *storage_parameters_sql(const char *source, const char *field);

} // namespace ec
