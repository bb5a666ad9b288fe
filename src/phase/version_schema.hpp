/*
 * version_schema.hpp — the schema of views through which clients of a
 * version read and write.
 *
 * One auto-updatable, security_invoker view per table of the migrated schema,
 * in the new version's shape: staged columns under their real names, dropped
 * ones absent, renamed tables under their new names. Column defaults, and the
 * tables' and schema's grants, are carried onto the views. The schema belongs
 * to the base schema's owner, each view to the owner of its table.
 */
#pragma once

#include "catalog/catalog.hpp"

namespace ec {

void create_version_schema(MigrationPlan *plan);

/* expand_contract.open_new_version: 'when_backfilled' gates the new version's
 * views of tables with rows to backfill until the backfill is done. */
void define_version_schema_settings();
bool opens_when_backfilled();

/* Opens the gated views (their open steps, as the migration's owner) once
 * no table of the migration is left to backfill. complete() opens them
 * under its own locks; the backfill tries once within
 * expand_contract.phase_lock_timeout and otherwise leaves them to the next
 * backfill or complete (a gated view lets everything through once the
 * backfill is done, only slower). */
void open_new_version_if_backfilled(const MigrationRecord &record);
void try_open_new_version_if_backfilled(const MigrationRecord &record, int snapshot_wait_ms);

/* Whether, within wait_ms, every other snapshot comes to see the backfill of
 * `record` done (false at once while it is not). */
bool backfill_seen_by_every_snapshot(const MigrationRecord &record, int wait_ms);

/* Repeats the column privileges of relid.column on target_sql(target_column). */
void copy_column_grants(Oid relid, const char *column, const char *target_sql,
						const char *target_column);

/* Drops the views of a version schema, then the schema (RESTRICT: anything
 * else a user put there stops the drop). No-op if it does not exist. */
void drop_version_schema(const char *schema);

} // namespace ec
