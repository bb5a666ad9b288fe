/*
 * backfill.cpp — the backfill engine and expand_contract.backfill(); see
 * backfill.hpp.
 */
#include "backfill.hpp"

#include "boundary.hpp"
#include "catalog.hpp"
#include "sql.hpp"

namespace ec {

namespace {

struct BackfillTable {
	const char *name;
	const char *table_sql;
	List *keys;                 /* quoted key columns */
	List *key_types;            /* their types as SQL */
	const char *marker;
	const char *high_water;     /* text[] literal of the last key in range, NULL: not begun */
	const char *cursor;         /* text[] literal of the last key done, NULL: none yet */
	int64 rows_total;
	int64 rows_done;
	int64 batches;
};

/* "k1, k2" with an optional qualifier, or "ARRAY[k1::text, ...]" */
const char *
key_list(const BackfillTable &t, const char *qualifier, const char *suffix)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, t.keys)
		appendStringInfo(&buf, "%s%s%s%s", foreach_current_index(lc) > 0 ? ", " : "",
						 qualifier, (const char *) lfirst(lc), suffix);
	return buf.data;
}

/* (k1, k2) <op> (($n::text[])[1]::T1, ($n::text[])[2]::T2) */
const char *
key_bound(const BackfillTable &t, const char *op, int param)
{
	StringInfoData values;
	ListCell   *lc;

	initStringInfo(&values);
	foreach(lc, t.key_types)
		appendStringInfo(&values, "%s($%d::pg_catalog.text[])[%d]::%s",
						 foreach_current_index(lc) > 0 ? ", " : "", param,
						 foreach_current_index(lc) + 1, (const char *) lfirst(lc));
	return psprintf("ROW(%s) %s ROW(%s)", key_list(t, "", ""), op, values.data);
}

const char *
batch_query(const BackfillTable &t, bool has_cursor)
{
	StringInfoData join;
	ListCell   *lc;

	initStringInfo(&join);
	foreach(lc, t.keys)
		appendStringInfo(&join, "target.%s = batch.%s AND ", (const char *) lfirst(lc),
						 (const char *) lfirst(lc));
	return psprintf(
		"WITH batch AS MATERIALIZED ("
		"  SELECT %s FROM %s WHERE %s%s%s ORDER BY %s LIMIT $3::pg_catalog.int4),"
		" touched AS ("
		"  UPDATE %s AS target SET %s = false FROM batch"
		"  WHERE %starget.%s IS NOT FALSE RETURNING 1)"
		" SELECT (SELECT pg_catalog.count(*) FROM batch),"
		"        (SELECT pg_catalog.count(*) FROM touched),"
		"        (SELECT ARRAY[%s]::pg_catalog.text FROM batch ORDER BY %s LIMIT 1)",
		key_list(t, "", ""), t.table_sql,
		has_cursor ? key_bound(t, ">", 1) : "", has_cursor ? " AND " : "", key_bound(t, "<=", 2),
		key_list(t, "", ""),
		t.table_sql, t.marker, join.data, t.marker,
		key_list(t, "", "::pg_catalog.text"), key_list(t, "", " DESC"));
}

void
save_progress(const char *schema, const char *migration, const BackfillTable &t, bool done)
{
	const char *args[] = {schema, migration, t.name, t.high_water, t.cursor,
						  psprintf(INT64_FORMAT, t.rows_total), psprintf(INT64_FORMAT, t.rows_done),
						  psprintf(INT64_FORMAT, t.batches), done ? "true" : "false"};

	catalog_exec("UPDATE expand_contract.backfill_progress SET high_water = $4::text[], "
				 "cursor = $5::text[], rows_total = $6::bigint, rows_done = $7::bigint, "
				 "batches = $8::bigint, done = $9::boolean "
				 "WHERE schema_name = $1 AND migration = $2 AND table_name = $3",
				 9, args);
}

int64
parse_int64(const char *text)
{
	return text ? strtoll(text, NULL, 10) : 0;
}

/* Fixes the key range at the table's largest key: later rows were written
 * through the sync trigger and need no backfill. */
bool
begin_table(BackfillTable &t)
{
	t.high_water = sql_value(psprintf("SELECT ARRAY[%s]::pg_catalog.text FROM %s ORDER BY %s LIMIT 1",
									  key_list(t, "", "::pg_catalog.text"), t.table_sql,
									  key_list(t, "", " DESC")));
	if (t.high_water == NULL)
		return false;
	t.rows_total = parse_int64(sql_value(psprintf("SELECT pg_catalog.count(*) FROM %s", t.table_sql)));
	return true;
}

} // namespace

List *
backfill_key_columns(Oid relid)
{
	const char *args[] = {psprintf("%u", relid)};
	const char *keys = sql_value(
		"SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord)::pg_catalog.text "
		"FROM pg_catalog.pg_index i "
		"CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY k(attnum, ord) "
		"JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
		"WHERE i.indrelid = $1::pg_catalog.oid AND i.indisunique AND i.indisvalid "
		"  AND i.indpred IS NULL AND i.indexprs IS NULL AND k.ord <= i.indnkeyatts "
		"GROUP BY i.indexrelid, i.indisprimary "
		"HAVING pg_catalog.bool_and(a.attnotnull) "
		"ORDER BY i.indisprimary DESC, pg_catalog.count(*), i.indexrelid LIMIT 1",
		1, args);

	return text_array_elements(keys);
}

const char *
backfill_row_estimate(Oid relid)
{
	const char *args[] = {psprintf("%u", relid)};
	List	   *rows = sql_rows("SELECT c.reltuples::pg_catalog.int8, "
								"pg_catalog.pg_relation_size(c.oid) < 64 * 1024 * 1024 "
								"FROM pg_catalog.pg_class c WHERE c.oid = $1::pg_catalog.oid",
								1, args);
	char	  **row = (char **) linitial(rows);

	if (parse_int64(row[0]) >= 0)
		return row[0];
	if (strcmp(row[1], "t") == 0)
		return sql_value(psprintf("SELECT pg_catalog.count(*) FROM %s",
								  qname(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid))));
	return NULL;
}

int64
run_backfill_batches(const char *schema, const char *migration, int batch_size,
					 int64 max_batches, ReportBatch report, void *arg)
{
	const char *args[] = {schema, migration};
	List	   *rows = catalog_rows("SELECT table_name, key_columns, marker_column, high_water, "
									"cursor, rows_total, rows_done, batches "
									"FROM expand_contract.backfill_progress "
									"WHERE schema_name = $1 AND migration = $2 AND NOT done "
									"ORDER BY table_name", 2, args);
	Oid			nsp = get_namespace_oid(schema, false);
	int64		batches_run = 0;
	int64		rows_visited = 0;
	ListCell   *lc;

	/* Batches write as the old version: the trigger computes "up" columns. */
	int			nest_level = NewGUCNestLevel();

	(void) set_config_option("expand_contract.version", schema, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	foreach(lc, rows)
	{
		char	  **row = (char **) lfirst(lc);
		BackfillTable t;
		ListCell   *kc;

		if (max_batches >= 0 && batches_run >= max_batches)
			break;

		Oid			relid = get_relname_relid(row[0], nsp);

		memset(&t, 0, sizeof(t));
		t.name = row[0];
		t.table_sql = qname(schema, row[0]);
		t.marker = qi(row[2]);
		t.high_water = row[3];
		t.cursor = row[4];
		t.rows_total = parse_int64(row[5]);
		t.rows_done = parse_int64(row[6]);
		t.batches = parse_int64(row[7]);
		foreach(kc, text_array_elements(row[1]))
		{
			t.keys = lappend(t.keys, (void *) qi((const char *) lfirst(kc)));
			t.key_types = lappend(t.key_types, (void *) column_type_sql(relid, (const char *) lfirst(kc)));
		}

		if (t.high_water == NULL && !begin_table(t))
		{
			save_progress(schema, migration, t, true);
			continue;
		}

		const char *first_batch = batch_query(t, false);
		const char *next_batch = batch_query(t, true);
		bool		done = false;

		while (!done && (max_batches < 0 || batches_run < max_batches))
		{
			CHECK_FOR_INTERRUPTS();

			TimestampTz started = GetCurrentTimestamp();
			const char *batch_args[] = {t.cursor, t.high_water, psprintf("%d", batch_size)};
			char	  **result = (char **) linitial(sql_rows(t.cursor ? next_batch : first_batch,
															 3, batch_args));
			int64		visited = parse_int64(result[0]);

			done = visited < batch_size;
			if (visited > 0)
			{
				t.cursor = result[2];
				t.rows_done += visited;
				t.batches++;
				batches_run++;
				rows_visited += visited;
			}
			save_progress(schema, migration, t, done);
			if (visited > 0 && report != NULL)
			{
				BatchReport r;

				r.table = t.name;
				r.batch = t.batches;
				r.rows = visited;
				r.rows_backfilled = parse_int64(result[1]);
				r.rows_done = t.rows_done;
				r.rows_left = done ? 0 : Max(t.rows_total - t.rows_done, 0);
				r.elapsed_ms = (double) (GetCurrentTimestamp() - started) / 1000.0;
				report(arg, r);
			}
		}
	}
	AtEOXact_GUC(true, nest_level);
	return rows_visited;
}

static int batch_target_ms = 100;

void
define_backfill_settings()
{
	DefineCustomIntVariable("expand_contract.batch_target_ms",
							"Duration run_backfill aims for per batch when batch_size is NULL.",
							NULL, &batch_target_ms, 100, 1, 600000, PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
}

namespace {

/* What run_backfill reports as it goes. */
struct RunProgress {
	TimestampTz started;
	TimestampTz last_notice;
	int64 rows;
	int64 rows_left;
	int64 batches;
	double last_batch_ms;
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
	namestrcpy(&progress->table, report.table);
}

void
notice_progress(RunProgress *progress, bool final)
{
	TimestampTz now = GetCurrentTimestamp();
	double		seconds = (double) (now - progress->started) / 1000000.0;
	double		rate = seconds > 0 ? progress->rows / seconds : 0;

	if (!final && now - progress->last_notice < 5 * USECS_PER_SEC)
		return;
	progress->last_notice = now;
	if (final)
		ereport(NOTICE,
				(errmsg("backfill finished: " INT64_FORMAT " rows in " INT64_FORMAT " batches, %.1f s, %.0f rows/s",
						progress->rows, progress->batches, seconds, rate)));
	else
		ereport(NOTICE,
				(errmsg("backfill of %s: " INT64_FORMAT " rows done, " INT64_FORMAT " left in this table, "
						"%.0f rows/s, about %.0f s to go",
						NameStr(progress->table), progress->rows, progress->rows_left,
						rate, rate > 0 ? progress->rows_left / rate : 0.0)));
}

/* Sleeps without ignoring cancel requests. */
void
pause_between_batches(int milliseconds)
{
	if (milliseconds <= 0)
		return;
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, milliseconds,
					 PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* The next batch size aiming at batch_target_ms: never more than doubling or
 * halving at once. */
int
adapt_batch_size(int size, double elapsed_ms)
{
	double		ideal = elapsed_ms > 0 ? size * (batch_target_ms / elapsed_ms) : size * 2.0;
	double		bounded = Max(size / 2.0, Min(size * 2.0, ideal));

	return (int) Max(10.0, Min(100000.0, bounded));
}

} // namespace

} // namespace ec

EC_FUNCTION(ec_run_backfill)
{
	CallContext *call = fcinfo->context && IsA(fcinfo->context, CallContext)
		? (CallContext *) fcinfo->context : NULL;

	if (call == NULL || call->atomic)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("run_backfill must be invoked with CALL outside a transaction block"),
				 errhint("It commits after every batch; inside a transaction use expand_contract.backfill().")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schema must not be NULL")));

	const char *schema = ec::require_schema(NameStr(*PG_GETARG_NAME(0)));
	bool		adaptive = PG_ARGISNULL(1);
	int			batch_size = adaptive ? 1000 : PG_GETARG_INT32(1);
	int			delay_ms = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2);

	if (batch_size < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be at least 1, not %d", batch_size)));
	if (delay_ms < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_delay_ms must not be negative")));

	ec::RunProgress progress;

	memset(&progress, 0, sizeof(progress));
	progress.started = progress.last_notice = GetCurrentTimestamp();

	SPI_connect_ext(SPI_OPT_NONATOMIC);

	/* Each batch is its own transaction; its memory goes with it. */
	MemoryContext procedure_context = CurrentMemoryContext;
	MemoryContext batch_context = AllocSetContextCreate(procedure_context, "run_backfill batch",
														ALLOCSET_DEFAULT_SIZES);

	for (bool first = true;; first = false)
	{
		MemoryContextSwitchTo(batch_context);
		ec::lock_schema_migrations(schema);

		ec::MigrationRecord record;

		if (!ec::find_active_migration(schema, &record))
		{
			if (first)
				(void) ec::require_active_migration(schema, "backfill");
			ereport(NOTICE,
					(errmsg("backfill stopped: the migration on schema \"%s\" was completed or rolled back",
							schema)));
			break;
		}

		int64		visited = ec::run_backfill_batches(schema, record.name, batch_size, 1,
													   ec::track_batch, &progress);

		MemoryContextSwitchTo(procedure_context);
		MemoryContextReset(batch_context);
		SPI_commit();
		if (visited == 0)
			break;
		if (adaptive)
			batch_size = ec::adapt_batch_size(batch_size, progress.last_batch_ms);
		ec::notice_progress(&progress, false);
		ec::pause_between_batches(delay_ms);
	}
	MemoryContextSwitchTo(procedure_context);
	ec::notice_progress(&progress, true);
	SPI_finish();
	PG_RETURN_VOID();
}

namespace {

struct ResultSink {
	ReturnSetInfo *rsinfo;
};

void
emit_batch_row(void *arg, const ec::BatchReport &r)
{
	ResultSink *sink = static_cast<ResultSink *>(arg);
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	NameData   *table = (NameData *) palloc(sizeof(NameData));

	namestrcpy(table, r.table);
	values[0] = NameGetDatum(table);
	values[1] = Int64GetDatum(r.batch);
	values[2] = Int64GetDatum(r.rows);
	values[3] = Int64GetDatum(r.rows_done);
	values[4] = Int64GetDatum(r.rows_left);
	values[5] = Float8GetDatum(r.elapsed_ms);
	tuplestore_putvalues(sink->rsinfo->setResult, sink->rsinfo->setDesc, values, nulls);
}

} // namespace

EC_FUNCTION(ec_backfill)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schema and batch_size must not be NULL")));

	const char *schema = ec::require_schema(NameStr(*PG_GETARG_NAME(0)));
	int32		batch_size = PG_GETARG_INT32(1);
	int64		max_batches = PG_ARGISNULL(2) ? -1 : PG_GETARG_INT32(2);

	if (batch_size < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be at least 1, not %d", batch_size)));
	if (!PG_ARGISNULL(2) && max_batches < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_batches must not be negative")));

	InitMaterializedSRF(fcinfo, 0);

	ResultSink	sink = {(ReturnSetInfo *) fcinfo->resultinfo};

	SPI_connect();
	ec::lock_schema_migrations(schema);

	ec::MigrationRecord record = ec::require_active_migration(schema, "backfill");

	(void) ec::run_backfill_batches(schema, record.name, batch_size, max_batches,
									emit_batch_row, &sink);
	SPI_finish();
	return (Datum) 0;
}
