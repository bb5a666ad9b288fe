/*
 * lifecycle.hpp — the phases as a subscriber applies them.
 *
 * The SQL functions start(), complete() and rollback() are the phases as a
 * user runs them (lifecycle.cpp). On a logical replication subscriber the
 * same phases are applied by the apply worker, when the publisher's row of
 * the migration arrives (replicated_phase.cpp): the migration's own owner,
 * search_path, parent and previous version come with the row, no backfill
 * runs (the publisher's batches arrive as rows) and nothing waits for this
 * side's clients, because the publisher has decided.
 */
#pragma once

#include "pg.hpp"

namespace ec {

/* The publisher's row of a migration it has just started. */
struct ReplicatedMigration {
	const char *schema;
	const char *name;
	Jsonb *document;
	const char *owner;
	const char *sql_search_path;
	const char *parent;                  /* NULL when none */
	const char *previous_version_schema; /* NULL when none */
};

/* start() of the publisher's migration; nothing when this side has it open
 * already (two subscriptions carrying the catalog). */
void apply_replicated_start(const ReplicatedMigration &migration);
/* The publisher's backfill is done and its new version open. */
void apply_replicated_open(const char *schema, const char *name);
/* complete(): an index the subscriber's builder has not finished yet is
 * built here and now (the publisher has proved it builds). */
void apply_replicated_complete(const char *schema, const char *name);
void apply_replicated_rollback(const char *schema, const char *name);

} // namespace ec
