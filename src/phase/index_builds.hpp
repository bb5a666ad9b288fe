/*
 * index_builds.hpp — indexes a migration builds online.
 *
 * CREATE INDEX CONCURRENTLY does not block writers, but it cannot run inside
 * a transaction block or from a function (SPI runs utility statements as
 * non-top-level), and start() is both. So start only records each build
 * (expand_contract.index_builds, state "pending") and launches a background
 * worker. The worker waits for start's transaction to end, then, for each
 * pending build in turn, runs the statement itself at top level
 * (ProcessUtility with PROCESS_UTILITY_TOPLEVEL, no SPI, as the migration's
 * owner under the pinned search_path), which commits as it goes: "building"
 * (index_build_status shows PostgreSQL's progress, e.g. waiting for older
 * snapshots behind a long transaction), then "valid", or "failed" with the
 * error (a duplicate key, say), leaving PostgreSQL's invalid index behind.
 * complete() requires every build valid; rollback() stops a running build
 * and drops the indexes, invalid ones included; start_index_builds() takes
 * up builds whose worker died (and, if asked, failed ones).
 */
#pragma once

#include "catalog/catalog.hpp"

namespace ec {

/* One build the plan asks for. */
struct IndexBuild {
	const char *index_name;
	const char *table_name;    /* physical */
	const char *statement;     /* CREATE ... INDEX CONCURRENTLY ... */
};

/* An index the plan asks for: CREATE [UNIQUE] INDEX <name> ON <table>
 * <definition>, the definition fully qualified ("USING btree (a, b)
 * INCLUDE (c) WITH (...) WHERE ..."). */
struct IndexDefinition {
	bool unique;
	const char *definition;
	bool backs_constraint;     /* complete turns it into a constraint */
	const char *final_name;    /* the name complete gives it; NULL: its own */
};

/*
 * Asks for index `name` (free in the schema: ERROR 42P07 otherwise) on the
 * table, built online after start, dropped by rollback. On a partitioned
 * table (where PostgreSQL builds nothing CONCURRENTLY) start creates the
 * parent's index ON ONLY it, empty and invalid; each leaf partition's index
 * is a build of its own, and complete attaches them to the parent's, which
 * is valid once all are (a partition created meanwhile gets its index from
 * PostgreSQL). Constraints are not built so on partitioned tables yet
 * (0A000).
 */
void plan_index_build(MigrationPlan *plan, const PlannedTable *table, const char *name,
					  const IndexDefinition &index);

/* plan_index_build for an index of the extension's own (a staged name). */
void plan_index_build_staged(MigrationPlan *plan, const PlannedTable *table, const char *name,
							 const IndexDefinition &index);

/* In start's transaction: the plan's builds as pending rows. */
void record_index_builds(const MigrationPlan *plan);
/* After start's work: a worker that builds them once this transaction
 * commits (a WARNING, not an error, when no worker can be had). */
void launch_index_builds(const char *schema, const char *migration);

/* complete(): ERROR 55000 unless every build of the migration is valid. */
void require_index_builds_valid(const MigrationRecord &record);
/* complete() on a logical subscriber: every build not valid yet is stopped
 * and run here, in the apply worker's transaction, without CONCURRENTLY
 * (which cannot run there). The subscriber's only writer is the apply
 * worker itself, and the publisher has built the same index on the same
 * rows, so this blocks no client and cannot fail on a duplicate. */
void build_unfinished_indexes_here(const MigrationRecord &record);
/* rollback(): asks running builders of the migration to stop. */
void stop_index_builds(const MigrationRecord &record);

} // namespace ec
