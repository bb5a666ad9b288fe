/*
 * version_activity.hpp — when each version of an open migration last wrote,
 * so that complete() can refuse while the version it retires still writes.
 *
 * A small table in shared memory: per (database, migration, version) the
 * time of the last write and the backends that wrote recently. INSERTs and
 * UPDATEs of migrated tables are noted once per statement and transaction at
 * most (and a backend notes the same version at most every 100 ms), by the
 * sync trigger and by planned UPDATEs (DELETEs, and tables the migration
 * only renames, fire no sync trigger and are not seen);
 * the extension's own writes (backfill batches, which run as a
 * security-restricted operation) are not. Shared memory needs the library
 * in shared_preload_libraries; without it nothing is recorded, and complete
 * cannot tell (status() shows NULL).
 */
#pragma once

#include "catalog/catalog.hpp"
#include "sync/version_detect.hpp"

namespace ec {

/* From _PG_init: asks for the shared memory when the library is preloaded. */
void request_version_activity_memory();
void define_version_activity_settings();

void note_version_write(const VersionIdentity &identity, bool is_new);

/* Notes a read of an open migration's version by a statement about to run
 * (from the ExecutorRun hook): one through a new version's view counts as
 * the new version's, one of its tables or of the previous version's views
 * as the old version's. */
void note_version_reads(PlannedStmt *stmt);

/* A phase in this transaction changes which relations are watched: at its
 * commit, every backend reloads its list. */
void note_phase_changes_watch_list();
/* Whether a phase ran in this transaction (its DDL is the extension's). */
bool phase_in_this_transaction();

struct VersionActivity {
	TimestampTz last_write;		/* 0: none recorded */
	int writers;				/* backends that wrote within the grace period */
	TimestampTz last_read;		/* 0: none recorded */
	int readers;				/* backends that read within the grace period */
};

/* false when activity is not recorded (library not preloaded). */
bool version_activity(const char *version_schema, bool is_new, VersionActivity *out);

/* ERROR 55000 unless force, when the old version of the migration wrote
 * within expand_contract.old_version_grace, or when it has not been watched
 * that long yet (writes before start, or before the server started, were
 * not seen). */
void refuse_complete_under_old_writers(const MigrationRecord &record, bool force);

} // namespace ec
