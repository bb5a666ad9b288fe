/*
 * plan.hpp — the migration plan: what start() decided, table by table.
 *
 * Operations (src/ops/) read the document and change the plan: which physical
 * columns back each column of the new version, what the sync trigger computes
 * in which direction, what complete() must drop or rename. From the finished
 * plan, start() derives everything else: sync triggers, version views, and the
 * DDL steps of complete() and rollback(), which are stored with the migration
 * so both phases replay exactly what start decided.
 *
 * All of it lives in palloc'd memory of the calling function.
 */
#pragma once

#include "plan/expression.hpp"

namespace ec {

/* Prefix of every column, constraint and trigger the extension adds. */
#define EC_PREFIX "_ec_"
constexpr const char *kBackfillMarker = "_ec_needs_backfill";
/* Named to sort after users' BEFORE triggers, so it sees their final NEW row. */
constexpr const char *kSyncTriggerName = "zz_expand_contract_sync";

enum class SyncDirection { Up, Down };

struct PlannedColumn;

/* One column the sync trigger keeps in step with the other version. */
struct SyncColumn {
	SyncDirection direction;  /* Up: computed for writes of the old version */
	const char *target;       /* physical column written */
	const char *expression;   /* SQL; Up sees the old shape, Down the new one */
	const PlannedColumn *identity_of; /* no expression: this column's value, by
									   * its final name in the new version */
	const char *origin;       /* "operation 1 (add_column), field \"up\"" */
	bool fill_once;           /* computed once per row, when the row is first
							   * written or backfilled, never again: how a
							   * volatile default reaches existing rows */
};

/* One column as the new version sees it. */
struct PlannedColumn {
	const char *name;         /* name in the new version */
	const char *physical;     /* physical column holding it during the migration */
	bool added;               /* created by start, dropped by rollback */
	const char *replaces;     /* old physical column it supersedes (dropped at complete) */
	bool default_changed;
	const char *new_default;  /* NULL with default_changed: drop the default */
	bool comment_changed;
	const char *new_comment;
	const char *not_null_check; /* NOT VALID check turned into NOT NULL at complete */
	const char *copied_by;    /* with replaces: the operation that copied it */
};

struct PlannedTable {
	Oid relid;
	const char *physical_name; /* name of the table during the migration */
	const char *name;          /* name in the new version; NULL once dropped */
	bool created;              /* created by this migration */
	int first_operation;       /* number of the operation that first touched it */
	List *old_columns;         /* char *: the old version's columns */
	List *columns;             /* PlannedColumn *, in the new version's order */
	List *dropped_columns;     /* char *: physical columns gone from the new version */
	List *syncs;               /* SyncColumn * */
	List *checks_to_validate;  /* char *: NOT VALID constraints validated at complete */
	List *dropped_constraints; /* char *: constraints the new version is rid of
								* (they go with the old columns at complete) */
	List *carried_constraints; /* char **: {name on the copies, final name},
								* renamed by complete once the old one is gone */
};

struct MigrationPlan {
	const char *name;
	const char *schema;
	Oid schema_oid;
	Oid owner;                 /* the role that starts it */
	NameRules names;           /* how the document's text is read; sql
								* operations run under its search_path */
	const char *version_schema;
	const char *previous_version_schema; /* NULL when there is none */
	List *tables;              /* PlannedTable * */
	List *on_complete_sql;     /* sql operations run by complete() */
	List *index_builds;        /* IndexBuild *: built online after start */
	List *open_steps;          /* char *: DDL that opens the new version's
								* gated views once the backfill is done */
	List *rollback_sql;        /* RollbackSql *: sql operations' "down" */
	List *complete_prepare_ddl; /* char *: operations' own complete steps run
								* before the old columns are dropped */
	List *complete_last_ddl;   /* char *: operations' own complete steps run
								* last, once the tables have their names */
	List *complete_ddl;        /* char *: operations' own complete steps, run
								* after the columns have their final names and
								* before the tables do (physical table names) */
	List *first_rollback_ddl;  /* char *: undo DDL run before anything else */
	List *rollback_ddl;        /* RollbackSql *: operations' own undo DDL, run
								* after every table is undone (so IF EXISTS) */
	int operation;             /* number of the operation being applied */
	const char *where;         /* current operation, for messages */
};

/*
 * A statement complete() or rollback() replays, as the migration's owner:
 * generated DDL (fully qualified, run under the pinned search_path) or an sql
 * operation's own SQL (run as written under the search_path it had at start).
 */
struct PlannedStep {
	bool user_sql;
	const char *statement;
};

/* An sql operation's "down", undone in reverse operation order. */
struct RollbackSql {
	int operation;
	const char *sql;
};

/* The table named `name` in the new version; ERROR 42P01 if there is none,
 * 42501 if the caller does not own it. */
PlannedTable *plan_table(MigrationPlan *plan, const char *name);
/* The plan's table for relation relid, under its name in the new version
 * (added to the plan as plan_table does). */
PlannedTable *plan_table_of(MigrationPlan *plan, Oid relid);
/* Whether the new version has a table or view called `name`. */
bool plan_has_table(MigrationPlan *plan, const char *name);
/* A table's columns, for the old and (until changed) the new version; not
 * added to the plan. */
PlannedTable *plan_describe_table(Oid relid, const char *name);
/* Adds a table created by this migration (already created physically,
 * under `physical`: its name, or a staged one while a table the migration
 * drops or renames still has it). */
PlannedTable *plan_created_table(MigrationPlan *plan, const char *name, const char *physical);
/* A relation name "<prefix><name>" free in the schema (cut and hashed to fit,
 * counted when taken). */
const char *plan_staged_relation_name(MigrationPlan *plan, const char *prefix, const char *name);
/* The physical name a table the migration creates as `name` gets: the name
 * itself when free, else "_ec_t_<name>", renamed by complete. */
const char *plan_new_table_physical_name(MigrationPlan *plan, const char *name);

/* Column of the new version; ERROR 42703 if absent. */
PlannedColumn *plan_column(MigrationPlan *plan, PlannedTable *table, const char *name);
PlannedColumn *plan_find_column(PlannedTable *table, const char *name);
/* Refuses (42701) a name the new version already has. */
void plan_check_new_column_name(MigrationPlan *plan, PlannedTable *table, const char *name);

/* A fresh physical column name "_ec_new_<name>" for the table, a fresh name
 * "_ec_nn_<column>" for the check that stands in for NOT NULL, and
 * "_ec_c_<constraint>" for a constraint carried over to copied columns. All
 * fit any legal name: a long one is cut and given a hash of the whole. */
const char *plan_new_physical_column(MigrationPlan *plan, PlannedTable *table, const char *name);
const char *plan_not_null_check_name(PlannedTable *table, const char *column);
const char *plan_carried_constraint_name(PlannedTable *table, const char *constraint);

/* complete() drops the table's physical column `column` (dropped, or
 * replaced by a copy): ERROR 2BP01 at start, naming them, when objects of
 * the user's would stop that (views, generated columns, policies, other
 * tables' foreign keys, publications' column lists), rather than at
 * complete. `what` says why it goes ("drop", "change"). */
void plan_refuse_column_dependents(MigrationPlan *plan, const PlannedTable *table, const char *column,
								   const char *what);

/* Once every operation is applied: the constraints of columns that were
 * copied (column_copy.hpp), re-created on the copies NOT VALID (validated and
 * renamed by complete), except those the migration drops. Refuses (0A000)
 * what cannot be carried without an index build. */
void plan_carry_constraints(MigrationPlan *plan);

void plan_add_sync(PlannedTable *table, SyncDirection direction, const char *target,
				   const char *expression, const char *origin);
/* A sync copying `column`'s value (cast), whatever it is finally named. */
void plan_add_identity_sync(PlannedTable *table, SyncDirection direction, const char *target,
							const PlannedColumn *column, const char *origin);

/* "schema"."physical table" behind the new version's table `name`, and the
 * physical columns behind its columns (names of other tables pass through). */
const char *plan_referenced_table_sql(MigrationPlan *plan, const char *name);
const char *plan_referenced_columns_sql(MigrationPlan *plan, const char *table, List *columns);

/* The pg_attribute row of a table's column (a copy of its fixed part);
 * ERROR if the column is gone. */
FormData_pg_attribute column_attribute(Oid relid, const char *column);

/* Physical column default as SQL text, or NULL. */
const char *column_default_sql(Oid relid, const char *column);
/* Physical column comment, or NULL. */
const char *column_comment(Oid relid, const char *column);

/* What "up" expressions read: the old version's columns by their names,
 * and by the names earlier operations of the migration gave them (pgroll's
 * documents write a later operation's "up" after an earlier rename). */
Shape plan_up_shape(const PlannedTable *table);

/* Whether start attaches a sync trigger to the table, and a backfill marker. */
bool plan_has_sync_trigger(const PlannedTable *table);
/* The tables that hold the rows of `table`: itself, or the leaf partitions
 * of a partitioned table (at any depth), which must be plain tables in the
 * plan's schema (the backfill and index builds keep their state by name
 * there): 0A000 otherwise. */
List *plan_storage_tables(const MigrationPlan *plan, const PlannedTable *table);
bool plan_has_backfill_marker(const PlannedTable *table);
/* Whether its existing rows need a backfill: it has "up" columns. */
bool plan_needs_backfill(const PlannedTable *table);

/* An operation's own undo DDL (IF EXISTS: it runs after the tables are
 * undone), and undo DDL that runs first (dropping the indexes it built
 * before their columns go). */
void plan_add_rollback_ddl(MigrationPlan *plan, const char *ddl);
void plan_add_first_rollback_ddl(MigrationPlan *plan, const char *ddl);

/* Generated DDL statements (char *) as steps (PlannedStep *). */
List *plan_ddl_steps(List *statements);

/* The steps (PlannedStep *) of complete() and rollback(), in order. */
List *plan_complete_steps(MigrationPlan *plan);
List *plan_rollback_steps(MigrationPlan *plan);

} // namespace ec
