/*
 * backfill.hpp — filling new columns of the rows that existed before start.
 *
 * Rows are visited in key order (primary key, else a non-null unique key) in
 * batches of one statement each. A batch only clears the backfill marker of
 * rows still carrying it; the sync trigger computes their new columns as a
 * write of the old version. Rows the triggers already brought up to date are
 * skipped. The key range is bounded by the largest key seen when the backfill
 * began (rows inserted later went through the trigger), so it terminates under
 * any insert load. Progress is kept in expand_contract.backfill_progress, so a
 * later call continues where the last one stopped.
 */
#pragma once

#include "plan.hpp"

namespace ec {

/* Columns of the key backfill batches follow, or NIL when the table has none. */
List *backfill_key_columns(Oid relid);

/* Rows to backfill as known at start: the planner's estimate, or an exact
 * count for a small table never analysed; NULL (as text) when unknown. */
const char *backfill_row_estimate(Oid relid);

struct BatchReport {
	const char *table;
	int64 batch;
	int64 rows;                 /* rows of the key range the batch visited */
	int64 rows_backfilled;      /* of those, rows it had to fill */
	int64 rows_done;
	int64 rows_left;
	double elapsed_ms;
};

using ReportBatch = void (*)(void *arg, const BatchReport &report);

/* expand_contract.batch_target_ms, for run_backfill's adaptive batches. */
void define_backfill_settings();

/* Runs up to max_batches batches (negative: until done); returns rows visited. */
int64 run_backfill_batches(const char *schema, const char *migration, int batch_size,
						   int64 max_batches, ReportBatch report, void *arg);

} // namespace ec
