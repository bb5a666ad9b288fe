/*
 * version_detect.hpp — which schema version is writing a row.
 *
 * In order:
 *  1. the view the statement writes through: a target view in the new version
 *     schema means the new version, one in the previous version schema or the
 *     base schema the old one;
 *  2. for a statement that writes the table itself, the session setting
 *     expand_contract.version (a version schema or migration name; the base
 *     schema means the old version), except inside code that runs with
 *     another role's rights (SECURITY DEFINER), and except that a statement
 *     assigning a column only the old version has (one the new version's
 *     writes compute) is the old version's;
 *  3. otherwise the statement writes the base table: the old version.
 *
 * Rule 1 needs no session state, so it holds behind transaction-pooling
 * poolers and for schema-qualified names, and wins over a setting leaked
 * from another client of the pool, in both directions. The statement is known because an
 * ExecutorRun hook records the innermost running one; the decision is made
 * once per statement and table, never per row.
 */
#pragma once

#include "pg.hpp"

namespace ec {

/* The versions one migration connects. */
struct VersionIdentity {
	const char *migration;
	const char *new_schema;
	const char *base_schema;
	const char *previous_schema; /* "" when there is none */
	List *old_only_columns;      /* char *: columns the new version's writes compute */
};

/* The decision for the last statement seen, per sync trigger. */
struct VersionCache {
	uint64 statement;
	TimestampTz statement_start;
	bool is_new;
	TimestampTz noted_start;	/* the statement whose write was last noted */
	bool noted_new;				/* (version_activity.hpp), and as which version */
};

extern char *version_setting;

void define_version_setting();
void install_statement_tracking();

/* For a row the sync trigger sees. */
bool writer_is_new_version(const VersionIdentity &identity, Oid relid, VersionCache *cache);
/* For a statement being planned, from its range table. */
bool planned_write_is_new_version(const VersionIdentity &identity, List *rtable, Oid relid);

} // namespace ec
