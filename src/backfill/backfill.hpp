/*
 * backfill.hpp — filling new columns of the rows that existed before start.
 *
 * Rows are visited in key order (primary key, else a non-null unique key) in
 * batches of one statement each; tables without such a key are visited by
 * physical position, a range of pages per batch (TID range scans). A batch only clears the backfill marker of
 * rows still carrying it; the sync trigger computes their new columns as a
 * write of the old version. Rows the triggers already brought up to date are
 * skipped. The key range is bounded by the largest key seen when the backfill
 * began (rows inserted later went through the trigger), so it terminates under
 * any insert load (by position: at the last page then). Progress is kept in expand_contract.backfill_progress, so a
 * later call continues where the last one stopped. Batches run as the
 * migration's owner (security.hpp), whoever runs the backfill.
 */
#pragma once

#include "catalog/catalog.hpp"

namespace ec {

/* expand_contract.backfill_order: how a table with a key is visited. By key,
 * every batch is exactly batch_size rows; by page (TID ranges) a batch costs
 * what the same rows of one UPDATE cost, without reading the key index
 * twice. Auto (the default): by page from kPageOrderFromPages on, where
 * workers split a table by its pages into ranges of as many rows. */
enum class BackfillOrder { Auto, Key, Page };
extern int backfill_order;
constexpr BlockNumber kPageOrderFromPages = 1024;   /* 8 MB of 8 kB pages */

/*
 * Fixes, by the session's expand_contract.backfill_order, how the tables of
 * record's backfill not begun yet are visited: a table chosen to go by page
 * loses its key columns in backfill_progress (empty: by position), so the
 * runners and workers that go on later follow it, whatever their own
 * setting. A database still at 0.1 keeps key order.
 */
void choose_backfill_order(const MigrationRecord &record);

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
	bool writers_waited;        /* a writer was waiting for the batch's row locks */
};

using ReportBatch = void (*)(void *arg, const BatchReport &report);

struct BackfillPass {
	int64 rows_visited;
	int64 batches;
	bool lock_timed_out;        /* a batch gave up waiting for a row lock */
};

/* Which parts of the tables' ranges a runner takes: those whose number
 * modulo `of` is `worker` (one runner: all). */
struct WorkerShare {
	int worker;
	int of;
};

/*
 * A parallel backfill: the range left of each table not split yet is split
 * into `parts` parts of about as many rows (by key) or pages (by position),
 * a progress row each, which runners share by WorkerShare. Tables with few
 * rows left stay whole.
 */
void split_backfill(const MigrationRecord &record, int parts);

/*
 * Runs up to max_batches batches (negative: until done). With a positive
 * lock_timeout_ms each batch runs in a subtransaction that waits at most that
 * long for a lock, and the pass stops at the first batch that times out (or is
 * a deadlock victim), leaving it undone; otherwise batches wait as the session
 * does. interval_start, when set, is where the first batch's rate interval
 * begins (the end of the caller's previous batch).
 */
BackfillPass run_backfill_batches(const MigrationRecord &record, int batch_size, int64 max_batches,
								  ReportBatch report, void *arg, int lock_timeout_ms = 0,
								  TimestampTz interval_start = 0, WorkerShare share = {0, 1});

} // namespace ec
