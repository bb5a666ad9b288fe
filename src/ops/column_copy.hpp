/*
 * column_copy.hpp — duplicating a column for the new version.
 *
 * A change both versions cannot share (a new type, nullability, a constraint
 * the old version's writes may break, one the new version must be free of)
 * goes to a copy: a staged column ("_ec_new_<name>") behind the new version's
 * view, filled from the old column by "up" (default: its value,
 * assignment-cast) on writes of the old version and by the backfill, and
 * keeping the old column current by "down" (default: the new value cast
 * back) on writes of the new version. complete() drops the old column and
 * renames the copy; rollback() drops the copy. The copy gets the old
 * column's default, comment and grants; its constraints are the old
 * column's (carried over when start finishes the plan, see
 * plan_carry_constraints) unless an operation drops one.
 */
#pragma once

#include "plan/document.hpp"
#include "plan/plan.hpp"

namespace ec {

struct ColumnCopy {
	ColumnType type;           /* of the copy */
	bool not_null;             /* NOT NULL, by a NOT VALID check until complete */
	bool default_given;        /* default_sql replaces the old default */
	const char *default_sql;   /* parsed; NULL with default_given: none */
	const char *up;            /* NULL: the old value */
	const char *up_field;      /* field names, for messages */
	const char *down;          /* NULL: the new value cast back */
	const char *down_field;
};

/* The copy's settings when only constraints change: same type, nullability
 * and default. */
ColumnCopy same_column_copy(const PlannedTable *table, const PlannedColumn *column);

/* Stages the copy of `column` (named `final_name` in the new version) and its
 * syncs; column->physical becomes the copy. */
void stage_column_copy(MigrationPlan *plan, PlannedTable *table, PlannedColumn *column,
					   const char *final_name, const ColumnCopy &copy);

/* Copies each of `columns` (names in the new version) for a constraint
 * operation: op's "up" and "down" map each column to its expression. A
 * string "up"/"down" (the one-column form) is taken for the only column;
 * "" counts as absent. */
void copy_columns_for_constraint(MigrationPlan *plan, PlannedTable *table, List *columns,
								 const JsonObject &op);

/* Adds constraint `name` (`definition` on the physical columns) NOT VALID:
 * writes are held to it from now on, complete() validates it. */
void add_constraint_not_valid(MigrationPlan *plan, PlannedTable *table, const char *name,
							  const char *definition);

/* A check's expression ("constraint"), analysed on the new version's
 * columns of the table and deparsed on the physical ones. */
const char *check_on_new_version(MigrationPlan *plan, PlannedTable *table, const char *source,
								 const char *field);

/* A unique or primary key constraint `name` (type "unique" or
 * "primary_key") on the copies of `columns`: its unique index is built
 * online after start (index_builds.hpp) and complete turns it into the
 * constraint (ADD CONSTRAINT ... USING INDEX); a primary key's copies are
 * NOT NULL by validated checks, so that step scans nothing. op may give
 * "nulls_not_distinct", "index_parameters", "deferrable" and
 * "initially_deferred". */
void unique_on_copies(MigrationPlan *plan, PlannedTable *table, const char *name, const char *type,
					  List *columns, const JsonObject &op);

} // namespace ec
