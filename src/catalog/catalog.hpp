/*
 * catalog.hpp — the catalog of migration state (expand_contract.migrations and
 * expand_contract.backfill_progress).
 *
 * Rows are written as the catalog's owner, so running a migration needs
 * ownership of the tables it changes and no rights on the catalog.
 */
#pragma once

#include "plan/plan.hpp"

namespace ec {

struct MigrationRecord {
	const char *schema;
	const char *name;
	const char *version_schema;
	const char *previous_version_schema; /* NULL when none */
	Oid owner;                   /* the role that started it */
	const char *sql_search_path; /* what its sql operations run under */
	List *touched_tables;        /* char * */
	List *complete_steps;        /* PlannedStep * */
	List *rollback_steps;        /* PlannedStep * */
	List *open_steps;            /* PlannedStep *: opens gated views */
	TimestampTz started_at;
};

/* Whether the database's extension is still at version 0.1: a new library
 * keeps using 0.1's catalog (no backfill parts, no rate limits, no
 * parallel workers) until ALTER EXTENSION expand_contract UPDATE. */
bool catalog_at_version_0_1();

/* The schema name, checked to exist (ERROR 3F000 otherwise). */
const char *require_schema(const char *schema);
/* require_schema of a function's name argument `arg`; ERROR 22004 if NULL. */
const char *require_schema_argument(FunctionCallInfo fcinfo, int arg);

/* Serialises phase functions on one schema until the transaction ends.
 * Shared, as the steps of a backfill's workers take it, they run side by
 * side, never beside a phase. */
void lock_schema_migrations(const char *schema, bool shared = false);

/* The open migration of `schema`; false when there is none. With lock, its
 * row stays locked until the transaction ends (phases do; readers such as
 * verify must not, or any caller could stall every phase). */
bool find_active_migration(const char *schema, MigrationRecord *record, bool lock = true);
/* find_active_migration or ERROR 55000 naming `action`. */
MigrationRecord require_active_migration(const char *schema, const char *action, bool lock = true);
/* lock_schema_migrations, then require_active_migration. */
MigrationRecord lock_active_migration(const char *schema, const char *action);

bool migration_name_used(const char *schema, const char *name);
/* Name and version schema of the last completed migration (NULLs if none). */
void last_completed_migration(const char *schema, const char **name, const char **version_schema);

void record_started_migration(MigrationPlan *plan, const char *parent, const char *document,
							  List *complete_steps, List *rollback_steps);
/* table_name: a table of the plan, or a partition of one (in the plan's schema). */
void record_backfill_table(MigrationPlan *plan, const char *table_name, List *key_columns,
						   const char *rows_estimate);
void record_completed_migration(const MigrationRecord &record);
/* Every table of the migration counts as backfilled: on a subscriber, once
 * the publisher says so (its batches arrived as rows). */
void record_backfill_done(const MigrationRecord &record);
void forget_migration(const MigrationRecord &record);

/* ERROR 42501 unless the caller has the privileges of the migration's owner. */
void require_owner_rights(const MigrationRecord &record, const char *action);

} // namespace ec
