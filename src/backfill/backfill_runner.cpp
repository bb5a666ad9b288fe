/*
 * backfill_runner.cpp — the committed-batch loop and CALL run_backfill; see
 * backfill_runner.hpp.
 */
#include "backfill/backfill_runner.hpp"

#include "backfill/backfill.hpp"
#include "backfill/wal_segments.hpp"
#include "phase/phase_lock.hpp"
#include "phase/version_schema.hpp"
#include "boundary.hpp"
#include "catalog/catalog.hpp"
#include "pg/security.hpp"
#include "pg/sql.hpp"

namespace ec {

namespace {

int batch_target_ms = 100;
int lock_timeout_ms = 1000;
int max_replication_lag_kb = -1;
int max_rows_per_second = 0;
/* On by default: without a limit a backfill writes WAL as fast as one core
 * can, and writers' commit flushes wait behind it (writers' p99 rose to
 * 10x-50x their own in some rounds of bench/writers_wal_limits.sh, to about
 * 2x with a limit). 32MB/s (about 100k rows/s of a narrow table) still
 * backfills 3x as fast as pgroll-style batches usually run. */
constexpr int default_max_wal_kb_per_second = 32 * 1024;
int max_wal_kb_per_second = default_max_wal_kb_per_second;
double max_wal_sync_ms = 0;
int vacuum_every_rows = 0;

/* The longest pause between batches: longer ones would let a runner hold a
 * schema's backfill hostage. */
constexpr int max_batch_delay_ms = 10000;
/* How often a paused or throttled runner looks again. */
constexpr int idle_poll_ms = 500;
/* What batches aim at while something holds the backfill back (see
 * BatchAim), and how long no writer must have waited for a batch before
 * they grow to batch_target_ms again. */
constexpr int short_target_ms = 5;
constexpr int64 writers_gone_ms = 60000;
/* Backoff after a batch gave up on a row lock: doubling up to this. */
constexpr int lock_backoff_first_ms = 100;
constexpr int lock_backoff_max_ms = 10000;

const char *
int_text(int64 value)
{
	return psprintf(INT64_FORMAT, value);
}

const struct config_enum_entry backfill_order_options[] = {
	{"auto", (int) BackfillOrder::Auto, false},
	{"key", (int) BackfillOrder::Key, false},
	{"page", (int) BackfillOrder::Page, false},
	{NULL, 0, false}};

} // namespace

void
define_backfill_settings()
{
	DefineCustomEnumVariable("expand_contract.backfill_order",
							 "How a backfill visits a table with a key: auto, key or page.",
							 "By key every batch is exactly batch_size rows; by page (TID ranges) "
							 "the backfill costs about what one UPDATE costs. auto (the default): by "
							 "page from 8 MB on. Fixed for a table when its backfill begins.",
							 &backfill_order, (int) BackfillOrder::Auto, backfill_order_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("expand_contract.batch_target_ms",
							"Duration run_backfill aims for per batch when batch_size is NULL.",
							NULL, &batch_target_ms, 100, 1, 600000, PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("expand_contract.lock_timeout",
							"Longest a backfill batch waits for a lock before it retries later.",
							NULL, &lock_timeout_ms, 1000, 1, INT_MAX, PGC_USERSET,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("expand_contract.max_replication_lag",
							"Backfill pauses while a standby or replication slot lags more than this (-1: never).",
							NULL, &max_replication_lag_kb, -1, -1, INT_MAX, PGC_USERSET,
							GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("expand_contract.backfill_max_rows_per_second",
							"Most rows per second a backfill visits (0: no limit).",
							"The runner pauses after a batch for as long as the limit asks; the "
							"workers of a parallel backfill share it.",
							&max_rows_per_second, 0, 0, INT_MAX, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("expand_contract.backfill_max_wal_per_second",
							"Most WAL per second a backfill writes (0: no limit).",
							"Writers' commits wait for the WAL flush, and a backfill's WAL queues "
							"ahead of theirs: this bounds what it adds to their latency. The "
							"workers of a parallel backfill share it.",
							&max_wal_kb_per_second, default_max_wal_kb_per_second, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomRealVariable("expand_contract.backfill_max_wal_sync_ms",
							 "Backfill slows while WAL syncs take longer than this on average, in ms (0: off).",
							 "Every committing writer waits for a WAL sync; from pg_stat_wal (which needs "
							 "track_wal_io_timing), once a second, the backfill halves its rows per second "
							 "while the average sync took longer and speeds up again while it took less "
							 "than half as long.",
							 &max_wal_sync_ms, 0, 0, 10000, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("expand_contract.backfill_vacuum_every",
							"A backfill worker vacuums its table after this many rows (0: never).",
							"The row versions earlier batches left dead are then reused by later "
							"ones, so the table grows by about this many rows' worth, not doubles.",
							&vacuum_every_rows, 0, 0, INT_MAX, PGC_USERSET, 0, NULL, NULL, NULL);
}

RunOptions
run_options_from_call(FunctionCallInfo fcinfo)
{
	RunOptions	options;

	options.adaptive = PG_ARGISNULL(1);
	options.batch_size = options.adaptive ? 1000 : PG_GETARG_INT32(1);
	options.delay_ms = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2);
	options.target_ms = batch_target_ms;
	options.lock_timeout_ms = lock_timeout_ms;
	options.max_lag_kb = max_replication_lag_kb;
	options.max_rows_per_second = max_rows_per_second;
	options.max_wal_kb_per_second = max_wal_kb_per_second;
	options.max_wal_sync_ms = max_wal_sync_ms;
	options.vacuum_every_rows = vacuum_every_rows;
	options.worker = 0;
	options.workers = 1;

	if (options.batch_size < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be at least 1, not %d", options.batch_size)));
	if (options.delay_ms < 0 || options.delay_ms > max_batch_delay_ms)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_delay_ms must be between 0 and %d, not %d", max_batch_delay_ms,
						options.delay_ms),
				 errdetail("A runner holds the schema's backfill for as long as it runs.")));
	return options;
}

char **
active_runner(const char *schema)
{
	const char *args[] = {schema};
	List	   *rows = catalog_rows("SELECT pid, role_name FROM expand_contract.backfill_runners "
									"WHERE schema_name = $1 AND alive "
									"AND state NOT IN ('done', 'failed', 'cancelled') "
									"AND pid <> pg_catalog.pg_backend_pid()",
									1, args);

	return rows == NIL ? NULL : (char **) linitial(rows);
}

void
require_no_active_runner(const char *schema)
{
	char	  **holder = active_runner(schema);

	if (holder != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("a backfill of schema \"%s\" is already running (pid %s)",
						schema, holder[0]),
				 errhint("Wait for it, or stop it with expand_contract.cancel_backfill().")));
}

void
claim_backfill_run(const char *schema, const char *migration, RunnerKind kind, int pid,
				   const RunOptions &options)
{
	/* A database still at 0.1 has one run per schema, without rate limits
	 * or workers: the same claim without 0.2's columns. */
	bool		v1 = catalog_at_version_0_1();

	/* The other workers of one start_backfill are claimed after the first. */
	if (options.worker == 0)
		require_no_active_runner(schema);
	if (options.worker == 0 && !v1)
	{
		const char *stale_args[] = {schema, int_text(options.workers)};

		catalog_exec("DELETE FROM expand_contract.backfill_runs "
					 "WHERE schema_name = $1 AND worker >= $2::integer", 2, stale_args);
	}

	const char *args[] = {
		schema, migration, kind == RunnerKind::Call ? "call" : "worker", int_text(pid),
		kind == RunnerKind::Call ? "running" : "starting",
		options.adaptive ? NULL : int_text(options.batch_size), int_text(options.delay_ms),
		int_text(options.target_ms), int_text(options.lock_timeout_ms), int_text(options.max_lag_kb),
		GetUserNameFromId(GetUserId(), false), int_text(options.max_rows_per_second),
		int_text(options.max_wal_kb_per_second), int_text(options.worker), int_text(options.workers),
		int_text(options.vacuum_every_rows), psprintf("%g", options.max_wal_sync_ms)};

	/* The runner's backend start tells it from a later backend with its pid;
	 * a worker that has not reported yet fills it in itself. */
	catalog_exec(psprintf(
		"INSERT INTO expand_contract.backfill_runs AS r (schema_name, migration, runner, pid, "
		"  backend_start, role_name, state, batch_size, batch_delay_ms, batch_target_ms, "
		"  lock_timeout_ms, max_replication_lag_kb%s) "
		"VALUES ($1, $2, $3, $4::integer, "
		"  (SELECT backend_start FROM pg_catalog.pg_stat_activity WHERE pid = $4::integer), "
		"  $11, $5, $6::integer, $7::integer, $8::integer, $9::integer, $10::integer%s) "
		"ON CONFLICT (%s) DO UPDATE SET migration = EXCLUDED.migration, "
		"  runner = EXCLUDED.runner, pid = EXCLUDED.pid, backend_start = EXCLUDED.backend_start, "
		"  role_name = EXCLUDED.role_name, request = 'run', state = EXCLUDED.state, "
		"  current_table = NULL, error = NULL, writer_waits = 0, batch_size = EXCLUDED.batch_size, "
		"  batch_delay_ms = EXCLUDED.batch_delay_ms, batch_target_ms = EXCLUDED.batch_target_ms, "
		"  lock_timeout_ms = EXCLUDED.lock_timeout_ms, "
		"  max_replication_lag_kb = EXCLUDED.max_replication_lag_kb, %s"
		"  started_at = pg_catalog.clock_timestamp(), updated_at = pg_catalog.clock_timestamp()",
		v1 ? "" : ", max_rows_per_second, max_wal_kb_per_second, worker, workers, vacuum_every_rows, "
		"max_wal_sync_ms",
		v1 ? "" : ", $12::integer, $13::integer, $14::integer, $15::integer, $16::integer, $17::real",
		v1 ? "schema_name" : "schema_name, worker",
		v1 ? "" : "max_rows_per_second = EXCLUDED.max_rows_per_second, "
		"  max_wal_kb_per_second = EXCLUDED.max_wal_kb_per_second, throttled_ms = 0, "
		"  workers = EXCLUDED.workers, vacuum_every_rows = EXCLUDED.vacuum_every_rows, "
		"  max_wal_sync_ms = EXCLUDED.max_wal_sync_ms, "),
		v1 ? 11 : 17, args);
}

bool
load_worker_claim(const char *schema, RunOptions *options)
{
	const char *args[] = {schema, int_text(MyProcPid)};

	/* start_backfill holds the schema's lock until it commits the claim. */
	lock_schema_migrations(schema);

	/* A database still at 0.1 has no rate limits and one worker. */
	List	   *rows = catalog_rows(psprintf("UPDATE expand_contract.backfill_runs SET state = 'running', "
											 "  backend_start = (SELECT backend_start FROM pg_catalog.pg_stat_activity "
											 "                   WHERE pid = pg_catalog.pg_backend_pid()), "
											 "  updated_at = pg_catalog.clock_timestamp() "
											 "WHERE schema_name = $1 AND pid = $2::integer AND runner = 'worker' "
											 "RETURNING batch_size, batch_delay_ms, batch_target_ms, "
											 "  lock_timeout_ms, max_replication_lag_kb, %s",
											 catalog_at_version_0_1() ? "0, 0, 0, 1, 0, 0"
											 : "max_rows_per_second, max_wal_kb_per_second, worker, workers, "
											   "vacuum_every_rows, max_wal_sync_ms"),
									2, args);

	if (rows == NIL)
		return false;

	char	  **row = (char **) linitial(rows);

	options->adaptive = row[0] == NULL;
	options->batch_size = row[0] ? atoi(row[0]) : 1000;
	options->delay_ms = atoi(row[1]);
	options->target_ms = atoi(row[2]);
	options->lock_timeout_ms = atoi(row[3]);
	options->max_lag_kb = atoi(row[4]);
	options->max_rows_per_second = atoi(row[5]);
	options->max_wal_kb_per_second = atoi(row[6]);
	options->worker = atoi(row[7]);
	options->workers = atoi(row[8]);
	options->vacuum_every_rows = atoi(row[9]);
	options->max_wal_sync_ms = strtod(row[10], NULL);
	return true;
}

void
record_run_failure(const char *schema, const char *message)
{
	const char *args[] = {schema, int_text(MyProcPid), message};

	catalog_exec("UPDATE expand_contract.backfill_runs SET state = 'failed', error = $3, "
				 "  updated_at = pg_catalog.clock_timestamp() "
				 "WHERE schema_name = $1 AND pid = $2::integer",
				 3, args);
}

namespace {

/* What the loop reports as it goes. */
struct RunProgress {
	TimestampTz started;
	TimestampTz last_notice;
	TimestampTz last_batch_end;
	int64 rows;
	int64 rows_left;
	int64 batches;
	double last_batch_ms;
	bool last_batch_contended;
	NameData table;
};

void
track_batch(void *arg, const BatchReport &report)
{
	RunProgress *progress = static_cast<RunProgress *>(arg);

	progress->rows += report.rows;
	progress->rows_left = report.rows_left;
	progress->batches++;
	progress->last_batch_ms = report.elapsed_ms;
	progress->last_batch_contended = report.writers_waited;
	namestrcpy(&progress->table, report.table);
}

double
run_rate(const RunProgress &progress)
{
	double		seconds = (double) (GetCurrentTimestamp() - progress.started) / USECS_PER_SEC;

	return seconds > 0 ? progress.rows / seconds : 0;
}

void
notice_progress(RunProgress *progress)
{
	TimestampTz now = GetCurrentTimestamp();
	double		rate = run_rate(*progress);

	if (now - progress->last_notice < 5 * USECS_PER_SEC)
		return;
	progress->last_notice = now;
	ereport(NOTICE,
			(errmsg("backfill of %s: " INT64_FORMAT " rows done, " INT64_FORMAT " left in this table, "
					"%.0f rows/s, about %.0f s to go",
					NameStr(progress->table), progress->rows, progress->rows_left,
					rate, rate > 0 ? progress->rows_left / rate : 0.0)));
}

/*
 * Adaptive batches aim at target_ms only while nothing holds the backfill
 * back; otherwise at short_target_ms:
 *  - once a writer was caught waiting for a batch, until none has for
 *    writers_gone_ms. A writer that touches a row of a batch waits until the
 *    batch commits, and writers at random rows find a batch's rows with a
 *    chance that grows with its rows times its duration, so 5 ms batches
 *    are hit hundreds of times less often than 100 ms ones, and a writer
 *    that is hit waits 5 ms at most. (A quiet period of seconds was not
 *    enough: batches grew back within a second or two and the next writer
 *    waited for a full one, every few seconds.)
 *  - while a rate limit paused the runner after its last batch: the pause
 *    is longer than the extra commits of short batches, so they cost no
 *    rows/s, and the backfill's WAL and row locks come in 5 ms bursts
 *    spread over each second rather than at full speed for 100 ms.
 * Outside of both the aim grows back by a tenth per batch, as it does from
 * the start.
 */
struct BatchAim {
	double ms;
	TimestampTz last_contention;
};

/* The size of the next batch: the last one's, scaled to the aim, never more
 * than doubling or halving at once. */
int
next_batch_size(BatchAim *aim, const RunOptions &options, const RunProgress &progress, bool rate_limited)
{
	TimestampTz now = GetCurrentTimestamp();
	int			size = options.batch_size;
	double		elapsed_ms = progress.last_batch_ms;
	double		short_ms = Min((double) short_target_ms, (double) options.target_ms);

	if (progress.last_batch_contended)
	{
		aim->last_contention = now;
		aim->ms = short_ms;
	}
	else if (now - aim->last_contention >= writers_gone_ms * 1000)
		aim->ms = Min(aim->ms * 1.1, (double) options.target_ms);

	double		aim_ms = rate_limited ? Min(aim->ms, short_ms) : aim->ms;
	double		ideal = elapsed_ms > 0 ? size * (aim_ms / elapsed_ms) : size * 2.0;
	double		bounded = Max(size / 2.0, Min(size * 2.0, ideal));

	return (int) Max(10.0, Min(1000000.0, bounded));
}

/* The largest lag, in kB, of any standby or replication slot (NULL: none).
 * Read as the catalog's owner: pg_stat_replication hides positions from
 * roles without pg_read_all_stats. */
int64
replication_lag_kb()
{
	List	   *rows = catalog_rows(
		"SELECT (pg_catalog.max(lag) / 1024)::pg_catalog.int8 FROM ("
		"  SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), replay_lsn)"
		"    FROM pg_catalog.pg_stat_replication"
		"  UNION ALL"
		"  SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(),"
		"                                    COALESCE(confirmed_flush_lsn, restart_lsn))"
		"    FROM pg_catalog.pg_replication_slots) AS l(lag)");
	const char *lag = ((char **) linitial(rows))[0];

	return lag ? strtoll(lag, NULL, 10) : -1;
}

enum class Step { Batch, Finished, Gone, Cancelled, Paused, Throttled, LockTimeout };

struct LoopState {
	const char *schema;
	RunnerKind kind;
	RunOptions options;
	bool first;
	char state[32];             /* last state written to the run row */
	NameData table;             /* last current_table written */
	RunProgress progress;
	int64 unrecorded_throttle_ms; /* paused for the rate limits since the last write */
};

void
write_state(LoopState *loop, const char *state, const char *error = NULL)
{
	const char *table = NameStr(loop->progress.table)[0] ? NameStr(loop->progress.table) : NULL;

	if (strcmp(loop->state, state) == 0 && error == NULL &&
		strcmp(NameStr(loop->table), table ? table : "") == 0)
		return;

	const char *args[] = {loop->schema, int_text(MyProcPid), state, table, error};

	catalog_exec("UPDATE expand_contract.backfill_runs SET state = $3, current_table = $4, "
				 "  error = $5, updated_at = pg_catalog.clock_timestamp() "
				 "WHERE schema_name = $1 AND pid = $2::integer",
				 5, args);
	strlcpy(loop->state, state, sizeof(loop->state));
	namestrcpy(&loop->table, table ? table : "");
}

/* A writer waited for the last batch, so the runner shrinks its batches. */
void
count_yield(const LoopState &loop)
{
	const char *args[] = {loop.schema, int_text(MyProcPid)};

	catalog_exec("UPDATE expand_contract.backfill_runs SET writer_waits = writer_waits + 1 "
				 "WHERE schema_name = $1 AND pid = $2::integer",
				 2, args);
}

/* The pauses the rate limits asked for, added up in the run row. */
void
record_throttle(LoopState *loop)
{
	if (loop->unrecorded_throttle_ms == 0 || catalog_at_version_0_1())
		return;

	const char *args[] = {loop->schema, int_text(MyProcPid), int_text(loop->unrecorded_throttle_ms)};

	catalog_exec("UPDATE expand_contract.backfill_runs SET throttled_ms = throttled_ms + $3::bigint "
				 "WHERE schema_name = $1 AND pid = $2::integer",
				 3, args);
	loop->unrecorded_throttle_ms = 0;
}

/*
 * The adaptive limit of backfill_max_wal_sync_ms. Writers' commits wait for
 * WAL syncs, and a backfill's WAL makes them longer: once a second the
 * runner reads the cluster's WAL sync count and time (pg_stat_wal, every
 * backend's, this one's included) and, while the average sync of the last
 * second took longer than the setting, halves its rows per second; while it
 * took less than half of it, raises them by a quarter, up to twice what it
 * last achieved. Multiplicative decrease, gentler increase: it backs off
 * within a second or two and comes back over several.
 */
struct WalSyncWatch {
	TimestampTz at;             /* 0: not read yet */
	PgStat_Counter syncs;
	PgStat_Counter sync_us;
	int64 rows;                 /* the runner's rows when read */
	double rows_per_second;     /* the limit it sets; 0: none yet */
	bool warned;
};

constexpr int64 wal_sync_window_us = 1000000;

/* Reads pg_stat_wal when a window has passed; the window's average sync
 * time in ms and rows per second, or false. */
bool
wal_sync_window(WalSyncWatch *watch, int64 rows, double *average_ms, double *rate)
{
	TimestampTz now = GetCurrentTimestamp();

	if (watch->at != 0 && now - watch->at < wal_sync_window_us)
		return false;
	pgstat_report_wal(true);
	pgstat_clear_snapshot();

	PgStat_WalStats *stats = pgstat_fetch_stat_wal();
	bool		known = watch->at != 0 && stats->wal_sync > watch->syncs;

	if (known)
	{
		*average_ms = (double) (stats->wal_sync_time - watch->sync_us) / 1000.0 /
			(double) (stats->wal_sync - watch->syncs);
		*rate = (double) (rows - watch->rows) * 1e6 / (double) Max(now - watch->at, (int64) 1);
	}
	watch->at = now;
	watch->syncs = stats->wal_sync;
	watch->sync_us = stats->wal_sync_time;
	watch->rows = rows;
	return known;
}

void
adapt_to_wal_syncs(WalSyncWatch *watch, const RunOptions &options, const RunProgress &progress, bool notices)
{
	double		average_ms;
	double		rate;

	if (options.max_wal_sync_ms <= 0)
		return;
	if (!track_wal_io_timing)
	{
		if (!watch->warned)
			ereport(WARNING,
					(errmsg("expand_contract.backfill_max_wal_sync_ms needs track_wal_io_timing = on; "
							"the backfill does not adapt to WAL syncs"),
					 errhint("A superuser can set track_wal_io_timing in postgresql.conf.")));
		watch->warned = true;
		return;
	}
	if (!wal_sync_window(watch, progress.rows, &average_ms, &rate))
		return;
	if (average_ms > options.max_wal_sync_ms)
	{
		double		from = watch->rows_per_second > 0 ? Min(watch->rows_per_second, Max(rate, 1.0)) : rate;

		watch->rows_per_second = Max(100.0, from / 2);
		if (notices)
			ereport(NOTICE,
					(errmsg("backfill slows to %.0f rows/s: WAL syncs took %.2f ms on average, "
							"more than backfill_max_wal_sync_ms", watch->rows_per_second, average_ms)));
	}
	else if (watch->rows_per_second > 0 && average_ms < options.max_wal_sync_ms / 2)
		watch->rows_per_second = Min(watch->rows_per_second * 1.25, Max(2 * rate, 100.0));
}

/*
 * How long to pause after a step that visited `rows` and wrote `wal_bytes`
 * in `step_ms`, so that the backfill stays within its rows-per-second and
 * WAL-per-second limits and the adaptive one: the step should have taken as
 * long as the slowest of them allows. Never more than max_batch_delay_ms at
 * once.
 */
int
rate_limit_pause_ms(const RunOptions &options, const WalSyncWatch &watch, int64 rows, uint64 wal_bytes,
					double step_ms)
{
	double		wanted_ms = 0;
	/* The limits are the run's: each of its workers keeps to its share. */
	double		share = 1.0 / Max(options.workers, 1);

	if (options.max_rows_per_second > 0)
		wanted_ms = Max(wanted_ms, rows * 1000.0 / (options.max_rows_per_second * share));
	if (watch.rows_per_second > 0)
		wanted_ms = Max(wanted_ms, rows * 1000.0 / watch.rows_per_second);
	if (options.max_wal_kb_per_second > 0)
		wanted_ms = Max(wanted_ms, (wal_bytes / 1024.0) * 1000.0 / (options.max_wal_kb_per_second * share));
	return (int) Min((double) max_batch_delay_ms, Max(0.0, wanted_ms - step_ms));
}

/* The request pause/resume/cancel_backfill left for this runner; NULL when
 * the run no longer names it. */
const char *
read_request(const LoopState &loop)
{
	const char *args[] = {loop.schema, int_text(MyProcPid)};
	List	   *rows = catalog_rows("SELECT request FROM expand_contract.backfill_runs "
									"WHERE schema_name = $1 AND pid = $2::integer",
									2, args);

	return rows == NIL ? NULL : ((char **) linitial(rows))[0];
}

Step
run_pinned_step(LoopState *loop)
{
	MigrationRecord record;

	/* Shared: the workers of a parallel backfill step side by side. */
	lock_schema_migrations(loop->schema, true);
	if (!find_active_migration(loop->schema, &record, false))
	{
		if (loop->first && loop->kind == RunnerKind::Call)
			(void) require_active_migration(loop->schema, "backfill");
		/* Completed (complete() finished the backfill) or rolled back (the
		 * run row went with the migration). */
		write_state(loop, "done");
		return Step::Gone;
	}
	if (loop->first && loop->kind == RunnerKind::Call)
	{
		require_owner_rights(record, "backfill");
		claim_backfill_run(loop->schema, record.name, RunnerKind::Call, MyProcPid, loop->options);
		choose_backfill_order(record);
		strlcpy(loop->state, "running", sizeof(loop->state));
	}
	loop->first = false;

	const char *request = read_request(*loop);

	if (request == NULL)
		return Step::Gone;
	record_throttle(loop);
	if (strcmp(request, "cancel") == 0)
	{
		write_state(loop, "cancelled");
		return Step::Cancelled;
	}
	if (strcmp(request, "pause") == 0)
	{
		write_state(loop, "paused");
		return Step::Paused;
	}
	if (loop->options.max_lag_kb >= 0)
	{
		int64		lag = replication_lag_kb();

		if (lag > loop->options.max_lag_kb)
		{
			write_state(loop, "throttled",
						psprintf("replication lag " INT64_FORMAT " kB is above %d kB", lag,
								 loop->options.max_lag_kb));
			return Step::Throttled;
		}
	}

	BackfillPass pass = run_backfill_batches(record, loop->options.batch_size, 1,
											 track_batch, &loop->progress,
											 loop->options.lock_timeout_ms,
											 loop->progress.last_batch_end,
											 {loop->options.worker, loop->options.workers});

	if (pass.lock_timed_out)
	{
		write_state(loop, "waiting_for_lock");
		return Step::LockTimeout;
	}
	if (pass.batches == 0)
	{
		write_state(loop, "done");
		return Step::Finished;
	}
	if (loop->progress.last_batch_contended)
		count_yield(*loop);
	write_state(loop, "running");
	return Step::Batch;
}

/* One step under the pinned search_path: a CALL has no SET clause (it
 * commits), and the caller's path must not choose what our SQL means. */
Step
run_step(LoopState *loop)
{
	/* The batch and its progress row commit together; one lost in a crash
	 * is redone, so the commit need not wait for the WAL flush. (Set outside
	 * the pinned level, which ends before the commit.) */
	(void) set_config_option("synchronous_commit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
	/* The pages a batch dirties reach the kernel as this backend evicts
	 * them, and by default stay in its page cache until it writes back each
	 * file's pages at once, 30 s (dirty_expire_centisecs) after the file was
	 * first dirtied: hundreds of MB in one go, which writers' WAL syncs
	 * queue behind for 100-200 ms. Asking for writeback every 256 kB, as
	 * the checkpointer does, spreads it. A session that chose its own
	 * backend_flush_after keeps it. */
	if (backend_flush_after == 0)
		(void) set_config_option("backend_flush_after", "256kB", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);

	int			pinned = pin_settings(kPinnedSearchPath);
	Step		step = run_pinned_step(loop);

	unpin_settings(pinned);
	return step;
}

/*
 * After a worker of a parallel run is done (its state committed), in a
 * transaction of its own: the last of the workers to be done opens the new
 * version, its snapshot taken after every worker's last batch committed, so
 * no worker's transaction is one it must wait for. Two done at once may
 * both try; the opening is done once.
 */
void
open_after_parallel_run(LoopState &loop, const RunnerHooks &hooks)
{
	hooks.begin();

	int			pinned = pin_settings(kPinnedSearchPath);
	const char *args[] = {loop.schema, int_text(MyProcPid)};
	MigrationRecord record;

	/* Older snapshots are waited for before the schema's lock is taken: a
	 * long transaction that predates the backfill's end must not hold a
	 * complete() or rollback() up behind this worker. */
	if (find_active_migration(loop.schema, &record, false) && record.open_steps != NIL)
		(void) backfill_seen_by_every_snapshot(record, phase_lock_deadline());
	lock_schema_migrations(loop.schema, true);
	if (find_active_migration(loop.schema, &record, false) &&
		catalog_rows("SELECT 1 FROM expand_contract.backfill_runners "
					 "WHERE schema_name = $1 AND pid <> $2::integer AND alive "
					 "AND state NOT IN ('done', 'failed', 'cancelled')", 2, args) == NIL)
		try_open_new_version_if_backfilled(record, 0);
	unpin_settings(pinned);
	hooks.commit();
}

const char *
activity_text(const LoopState &loop)
{
	return psprintf("expand_contract backfill of schema %s: %s, table %s, " INT64_FORMAT
					" rows done, " INT64_FORMAT " left, %.0f rows/s",
					loop.schema, loop.state, NameStr(loop.progress.table)[0] ? NameStr(loop.progress.table) : "-",
					loop.progress.rows, loop.progress.rows_left, run_rate(loop.progress));
}

} // namespace

void
run_backfill_loop(const char *schema, RunnerKind kind, RunOptions options, const RunnerHooks &hooks)
{
	LoopState	loop;

	memset(&loop, 0, sizeof(loop));
	loop.schema = schema;
	loop.kind = kind;
	loop.options = options;
	loop.first = true;
	strlcpy(loop.state, kind == RunnerKind::Call ? "" : "running", sizeof(loop.state));
	loop.progress.started = loop.progress.last_notice = GetCurrentTimestamp();

	MemoryContext loop_context = CurrentMemoryContext;
	MemoryContext step_context = AllocSetContextCreate(loop_context, "backfill step",
													   ALLOCSET_DEFAULT_SIZES);
	int			lock_retries = 0;
	int64		rows_at_last_vacuum = 0;
	BatchAim	aim = {(double) Min(short_target_ms, options.target_ms), 0};
	WalSyncWatch wal_syncs = {0, 0, 0, 0, 0, false};

	for (;;)
	{
		TimestampTz step_start = GetCurrentTimestamp();
		int64		rows_before = loop.progress.rows;
		uint64		wal_before = pgWalUsage.wal_bytes;

		hooks.begin();
		MemoryContextSwitchTo(step_context);
		/* Before the batch writes into them; its time counts against the
		 * step, so a rate limit's pause pays for it. */
		make_wal_segments_ahead();
		adapt_to_wal_syncs(&wal_syncs, loop.options, loop.progress, hooks.notices);

		Step		step = run_step(&loop);

		MemoryContextSwitchTo(loop_context);
		hooks.commit();

		/* This backend's own WAL, the batch's commit record included. */
		int			pause = rate_limit_pause_ms(loop.options, wal_syncs, loop.progress.rows - rows_before,
												pgWalUsage.wal_bytes - wal_before,
												(double) (GetCurrentTimestamp() - step_start) / 1000.0);

		/* A commit may leave TopMemoryContext current: report from the
		 * step's context, which is reset next. */
		MemoryContextSwitchTo(step_context);
		if (step == Step::Batch)
			loop.progress.last_batch_end = GetCurrentTimestamp();
		hooks.activity(activity_text(loop));
		MemoryContextSwitchTo(loop_context);
		MemoryContextReset(step_context);

		switch (step)
		{
			case Step::Batch:
				lock_retries = 0;
				if (loop.options.adaptive)
					loop.options.batch_size = next_batch_size(&aim, loop.options, loop.progress, pause > 0);
				if (hooks.notices)
					notice_progress(&loop.progress);
				if (pause > loop.options.delay_ms)
					loop.unrecorded_throttle_ms += pause - loop.options.delay_ms;
				/* Between steps, outside any transaction, as VACUUM must be. */
				if (hooks.vacuum != NULL && loop.options.vacuum_every_rows > 0 &&
					loop.progress.rows - rows_at_last_vacuum >= loop.options.vacuum_every_rows)
				{
					hooks.vacuum(schema, NameStr(loop.progress.table));
					rows_at_last_vacuum = loop.progress.rows;
				}
				sleep_ms(Max(pause, loop.options.delay_ms));
				continue;
			case Step::Paused:
			case Step::Throttled:
				sleep_ms(idle_poll_ms);
				continue;
			case Step::LockTimeout:
				{
					int			backoff = lock_backoff_first_ms << Min(lock_retries, 7);

					lock_retries++;
					if (hooks.notices)
						ereport(NOTICE,
								(errmsg("backfill batch waited %d ms for a lock; retry %d in %d ms",
										loop.options.lock_timeout_ms, lock_retries,
										Min(backoff, lock_backoff_max_ms))));
					sleep_ms(Min(backoff, lock_backoff_max_ms));
					continue;
				}
			case Step::Gone:
				if (hooks.notices)
					ereport(NOTICE,
							(errmsg("backfill stopped: the migration on schema \"%s\" was completed "
									"or rolled back, or another backfill took over", schema)));
				break;
			case Step::Cancelled:
				if (hooks.notices)
					ereport(NOTICE, (errmsg("backfill cancelled; its progress is kept")));
				break;
			case Step::Finished:
				if (loop.options.workers > 1)
					open_after_parallel_run(loop, hooks);
				break;
		}
		break;
	}
	if (hooks.notices)
		ereport(NOTICE,
				(errmsg("backfill finished: " INT64_FORMAT " rows in " INT64_FORMAT " batches, %.1f s, %.0f rows/s",
						loop.progress.rows, loop.progress.batches,
						(double) (GetCurrentTimestamp() - loop.progress.started) / USECS_PER_SEC,
						run_rate(loop.progress))));
	MemoryContextDelete(step_context);
}

} // namespace ec

namespace {

void
call_begin()
{
	/* SPI_commit already began the next transaction. */
}

void
call_commit()
{
	SPI_commit();
}

void
call_activity(const char *)
{
}

} // namespace

EC_FUNCTION(ec_run_backfill)
{
	CallContext *call = fcinfo->context && IsA(fcinfo->context, CallContext)
		? (CallContext *) fcinfo->context : NULL;

	if (call == NULL || call->atomic)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("run_backfill must be invoked with CALL outside a transaction block"),
				 errhint("It commits after every batch; inside a transaction use expand_contract.backfill().")));
	const char *schema = ec::require_schema_argument(fcinfo, 0);
	ec::RunOptions options = ec::run_options_from_call(fcinfo);
	ec::RunnerHooks hooks = {call_begin, call_commit, call_activity, NULL, true};

	SPI_connect_ext(SPI_OPT_NONATOMIC);
	ec::run_backfill_loop(schema, ec::RunnerKind::Call, options, hooks);
	SPI_finish();
	PG_RETURN_VOID();
}
