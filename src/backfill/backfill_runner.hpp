/*
 * backfill_runner.hpp — driving a schema's backfill to the end in committed
 * batches, for CALL run_backfill and for the background worker alike.
 *
 * A runner claims the schema's row in expand_contract.backfill_runs and keeps
 * it up to date (running, paused, throttled, waiting_for_lock, done,
 * cancelled; failed is written by the worker). Between batches it obeys the
 * request column that pause/resume/cancel_backfill set, waits while a standby
 * or slot lags more than expand_contract.max_replication_lag, and backs off
 * when a batch gave up on a row lock. A runner whose row names another pid
 * has been replaced and stops.
 *
 * Each step is one transaction; the caller supplies how a transaction begins
 * and commits (SPI_commit in a procedure, Start/CommitTransactionCommand in a
 * worker). Batches commit asynchronously (synchronous_commit off): a batch and
 * its progress row commit together, so one lost in a crash is simply redone.
 */
#pragma once

#include "pg.hpp"

namespace ec {

enum class RunnerKind { Call, Worker };

struct RunOptions {
	int batch_size;             /* rows of the first batch */
	bool adaptive;              /* later batches sized to target_ms */
	int delay_ms;
	int target_ms;
	int lock_timeout_ms;
	int max_lag_kb;             /* -1: no throttling */
	int max_rows_per_second;    /* 0: no limit */
	int max_wal_kb_per_second;  /* 0: no limit */
	double max_wal_sync_ms;     /* 0: off; else the backfill slows while the
								 * cluster's WAL syncs take longer on average */
	int vacuum_every_rows;      /* a worker vacuums its table after this many rows (0: never) */
	int worker;                 /* this runner's number, of `workers` (parallel backfill) */
	int workers;
};

struct RunnerHooks {
	void (*begin)();            /* start a step's transaction (if not already in one) */
	void (*commit)();           /* commit it */
	void (*activity)(const char *text); /* what the runner is doing, for pg_stat_activity */
	/* VACUUM schema.table between steps (NULL: cannot, as in a CALL) */
	void (*vacuum)(const char *schema, const char *table);
	bool notices;               /* raise progress NOTICEs (a CALL's client sees them) */
};

/* The settings expand_contract.batch_target_ms, lock_timeout,
 * max_replication_lag, backfill_max_rows_per_second,
 * backfill_max_wal_per_second, backfill_max_wal_sync_ms and
 * backfill_vacuum_every. */
void define_backfill_settings();

/* Options from a run_backfill/start_backfill call: batch_size (argument 1,
 * NULL: adaptive), batch_delay_ms (argument 2) and the session's settings. */
RunOptions run_options_from_call(FunctionCallInfo fcinfo);

/* The schema's runner still at work, other than this backend: its pid and
 * role name (as text), or NULL when there is none. */
char **active_runner(const char *schema);

/* ERROR 55006 when another runner of the schema is at work. */
void require_no_active_runner(const char *schema);

/*
 * Claims the schema's backfill for `pid`, replacing a runner that is no longer
 * alive; ERROR 55006 when a live one holds it. Call with the schema's
 * migration lock held.
 */
void claim_backfill_run(const char *schema, const char *migration, RunnerKind kind, int pid,
						const RunOptions &options);

/*
 * For the worker, once start_backfill committed: true (and the options it was
 * given) when the schema's run still names this process.
 */
bool load_worker_claim(const char *schema, RunOptions *options);

/* Runs steps until the backfill is done, cancelled, or the run was taken over. */
void run_backfill_loop(const char *schema, RunnerKind kind, RunOptions options,
					   const RunnerHooks &hooks);

/* Records the worker's failure (in a transaction of its own). */
void record_run_failure(const char *schema, const char *message);

} // namespace ec
