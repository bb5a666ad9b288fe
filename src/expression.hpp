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

#include "pg.hpp"

namespace ec {

/* A version's view of a table: logical column name -> physical column name. */
struct Shape {
	List *names;
	List *physical;
};

Shape old_shape(List *old_columns);
Shape new_shape(List *planned_columns);

/*
 * Analyses `source` against `shape` of `rel`, coerced to the type of physical
 * column `target`. `origin` prefixes every error ("operation 1 (add_column),
 * field \"up\""). Errors keep their SQLSTATE (42601, 42703, 42883, 42804...).
 */
Expr *analyse_sync_expression(Relation rel, const Shape &shape, const char *source,
							  const char *target, const char *origin);

/* Analyses a boolean check written against `shape` and returns it deparsed
 * with physical column names, ready for ALTER TABLE ... ADD CONSTRAINT.
 * `field` names it in errors ("field \"column.check.constraint\""). */
const char *check_on_physical_columns(Relation rel, const Shape &shape, const char *source,
									  const char *field);

/* Checks that `source` is a valid default for a column of type_sql (ERROR
 * 42804 if it cannot be assigned), so a bad default fails in its operation. */
void check_default_expression(const char *source, const char *type_sql, const char *field);

} // namespace ec
