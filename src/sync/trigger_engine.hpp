/*
 * trigger_engine.hpp — the native sync trigger.
 *
 * One BEFORE INSERT OR UPDATE row trigger per table whose versions differ in
 * more than names. Its arguments carry the analysed up/down expressions as
 * node trees; each backend compiles them once into executor expression state
 * and keeps it until a relcache or function invalidation. Per row: no SPI, no
 * parsing, no catalog access; expressions run in a per-row memory context.
 *
 *   write by the old version:  compute new columns with "up"
 *   write by the new version:  compute old columns with "down"
 *
 * On UPDATE only outputs whose inputs the statement assigned are recomputed.
 * Tables with "up" columns carry a marker column, true for rows that existed
 * before start and were not yet written or backfilled: for those, every "up"
 * column is computed first, so a new-version write to a row the backfill has
 * not reached keeps the old version's values.
 */
#pragma once

#include "plan/plan.hpp"
#include "sync/version_detect.hpp"

namespace ec {

/* One column the trigger keeps in step, as the statement rewriter reads it. */
/* The TargetEntry ressortgroupref (otherwise unused in a trigger's rules) that
 * marks a fill-once rule (plan.hpp, SyncColumn.fill_once). */
constexpr Index kFillOnceRule = 1;

struct SyncRule {
	AttrNumber target;
	const char *name;		/* the target's name in the version that reads it */
	Expr *expr;				/* analysed; Vars of range-table entry 1 are the row */
	Bitmapset *inputs;		/* columns read, offset by FirstLowInvalidHeapAttributeNumber */
	bool recompute_always;	/* equal inputs may give another result */
	bool fill_once;			/* only for rows first written or backfilled */
	bool has_subquery;
};

struct SyncSpec {
	VersionIdentity identity;
	Oid versioned_relid;	/* whose views the versions are: the table, or the
							 * root of the partitioned table it is a partition of */
	AttrNumber marker;		/* InvalidAttrNumber: no backfill marker */
	List *ups;				/* SyncRule *, computed for the old version's writes */
	List *downs;			/* SyncRule *, computed for the new version's writes */
};

/* The rules of `rel`'s sync trigger, or NULL when it has none. Valid until
 * the next invalidation is processed. */
const SyncSpec *sync_spec(Relation rel);
/* sync_spec if this backend has the rules compiled already for the current
 * role, else NULL: never compiles (for error context callbacks). */
const SyncSpec *compiled_sync_spec(Relation rel);
/* The sync trigger of `rel`, or NULL. */
Trigger *find_sync_trigger(TriggerDesc *triggers);

/* Analyses the table's sync expressions and attaches the trigger (and the
 * backfill marker column when it has "up" columns). */
void install_sync_trigger(MigrationPlan *plan, PlannedTable *table);

void register_sync_invalidation();

} // namespace ec
