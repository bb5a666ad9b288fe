/*
 * backfill.cpp — the backfill engine and expand_contract.backfill(); see
 * backfill.hpp.
 */
#include "backfill/backfill.hpp"

#include "boundary.hpp"
#include "catalog/catalog.hpp"
#include "pg/security.hpp"
#include "pg/sql.hpp"
#include "phase/phase_lock.hpp"
#include "phase/version_schema.hpp"

namespace ec {

namespace {

/* The part of a progress row; a database still at 0.1 has none. */
const char *
progress_part_column()
{
	return catalog_at_version_0_1() ? "0" : "part";
}

/* A part of fewer rows is not worth a worker of its own. */
constexpr int64 kMinRowsPerPart = 1000;

/* From this many rows on, a fresh estimate stands in for counting them. */
constexpr double kEstimateRowsFrom = 1000000;

/* The statements of one batch. By key: `end` finds the key the batch ends
 * at, `update` fills the unsynced rows up to it, `count` counts the keys of
 * the last, short batch. By position: `update` alone. */
struct BatchStatements {
	const char *end;
	const char *update;
	const char *count;
};

struct BackfillTable {
	const char *name;
	const char *table_sql;
	BatchStatements first;      /* a batch's statements without a cursor, */
	BatchStatements next;       /* and with one (by position: the same) */
	List *keys;                 /* quoted key columns; NIL: by physical position */
	List *key_names;            /* the same, as names */
	List *key_types;            /* their types as SQL */
	List *key_types_oid;        /* their type OIDs (as Oid in an OID list) */
	const char *marker;
	const char *high_water;     /* text[] literal of the last key in range, NULL: not begun */
	const char *cursor;         /* text[] literal of the last key done, NULL: none yet */
	int64 rows_total;
	bool rows_estimated;        /* rows_total is pg_class's estimate, not counted */
	int64 rows_done;
	int64 batches;
	int part;                   /* of the table's key range (parallel backfill) */
};

bool
by_position(const BackfillTable &t)
{
	return t.keys == NIL;
}

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

/*
 * OPERATOR(schema.op) for a btree strategy on a key column's type, from the
 * type's default btree operator family, whatever search_path says: keys of
 * extension types (citext) compare as their own index orders them, and
 * nobody's look-alike operator is picked instead.
 */
const char *
key_operator(Oid type, int16 strategy, const char **schema_out)
{
	Oid			opclass = GetDefaultOpClass(type, BTREE_AM_OID);

	if (!OidIsValid(opclass))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("key type %s has no default btree operator class", format_type_be(type))));

	Oid			input = get_opclass_input_type(opclass);
	Oid			op = get_opfamily_member(get_opclass_family(opclass), input, input, strategy);
	HeapTuple	tuple = SearchSysCache1(OPEROID, ObjectIdGetDatum(op));

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "expand_contract: no btree operator %d for type %u", strategy, type);

	Form_pg_operator form = (Form_pg_operator) GETSTRUCT(tuple);
	const char *schema = get_namespace_name(form->oprnamespace);
	const char *sql = psprintf("OPERATOR(%s.%s)", qi(schema), NameStr(form->oprname));

	ReleaseSysCache(tuple);
	if (schema_out != NULL)
		*schema_out = schema;
	return sql;
}

/*
 * `expr` (of key column i's type) as the operator class compares it: cast to
 * the class's input type when the column's type is another one (a domain,
 * varchar under text_ops), so that OPERATOR(schema.op) finds exactly the
 * class's operator and no look-alike declared for the column's own type.
 */
const char *
as_compared(const BackfillTable &t, int i, const char *expr)
{
	Oid			type = list_nth_oid(t.key_types_oid, i);
	Oid			input = get_opclass_input_type(GetDefaultOpClass(type, BTREE_AM_OID));

	if (input == type)
		return expr;
	return psprintf("(%s)::%s", expr,
					format_type_extended(input, -1, FORMAT_TYPE_FORCE_QUALIFY));
}

/* Key column i, as compared. */
const char *
key_column(const BackfillTable &t, int i)
{
	return as_compared(t, i, (const char *) list_nth(t.keys, i));
}

/* Key column i's bound value, as compared: ($n::text[])[i]::Ti. */
const char *
key_value(const BackfillTable &t, int i, int param)
{
	return as_compared(t, i, psprintf("($%d::pg_catalog.text[])[%d]::%s", param, i + 1,
									  (const char *) list_nth(t.key_types, i)));
}

/*
 * (k1, k2, ...) compared with a bound by btree strategy `strategy` (Greater
 * or LessEqual): a row comparison when one schema has all the operators, else
 * the same order spelled out column by column. The bound is parameter
 * `param`.
 */
const char *
key_bound(const BackfillTable &t, int16 strategy, int param)
{
	int			nkeys = list_length(t.keys);
	const char *row_schema = NULL;
	bool		one_schema = true;
	StringInfoData lhs;
	StringInfoData rhs;

	initStringInfo(&lhs);
	initStringInfo(&rhs);
	for (int i = 0; i < nkeys; i++)
	{
		const char *schema;

		(void) key_operator(list_nth_oid(t.key_types_oid, i), strategy, &schema);
		one_schema = one_schema && (row_schema == NULL || strcmp(row_schema, schema) == 0);
		row_schema = schema;
		appendStringInfo(&lhs, "%s%s", i > 0 ? ", " : "", key_column(t, i));
		appendStringInfo(&rhs, "%s%s", i > 0 ? ", " : "", key_value(t, i, param));
	}
	if (one_schema)
		return psprintf("ROW(%s) %s ROW(%s)", lhs.data,
						key_operator(list_nth_oid(t.key_types_oid, 0), strategy, NULL), rhs.data);

	/* (k1 > v1) OR (k1 = v1 AND k2 > v2) ...; for <=, the last column's
	 * comparison is <= and the earlier ones' <. */
	int16		strict = strategy == BTGreaterStrategyNumber ? BTGreaterStrategyNumber
		: BTLessStrategyNumber;
	StringInfoData expanded;

	initStringInfo(&expanded);
	for (int i = 0; i < nkeys; i++)
	{
		appendStringInfoString(&expanded, i > 0 ? " OR (" : "((");
		for (int j = 0; j < i; j++)
			appendStringInfo(&expanded, "%s %s %s AND ", key_column(t, j),
							 key_operator(list_nth_oid(t.key_types_oid, j), BTEqualStrategyNumber, NULL),
							 key_value(t, j, param));
		appendStringInfo(&expanded, "%s %s %s)", key_column(t, i),
						 key_operator(list_nth_oid(t.key_types_oid, i),
									  i == nkeys - 1 ? strategy : strict, NULL),
						 key_value(t, i, param));
	}
	appendStringInfoChar(&expanded, ')');
	return expanded.data;
}

/*
 * A batch by key, in three statements ($1 cursor, $2 high water, $3 rows):
 * `end` finds the $3-th key after the cursor in the key index alone
 * (OFFSET, nothing kept), or the high water when fewer keys are left, with
 * whether the batch is full; `update` ($2: that end key) then sets the
 * marker of the unsynced rows of the range, which the plan computes their
 * columns for, and its count of rows is SPI's (no RETURNING to collect);
 * only the last, short batch runs `count`. Both bounds of every range go
 * through the same text[] form, so consecutive ranges meet exactly.
 */
BatchStatements
key_batch_statements(const BackfillTable &t, bool has_cursor)
{
	const char *after_cursor = has_cursor ? psprintf("%s AND ", key_bound(t, BTGreaterStrategyNumber, 1)) : "";
	const char *up_to_end = key_bound(t, BTLessEqualStrategyNumber, 2);
	BatchStatements statements;

	statements.end = psprintf(
		"(SELECT ARRAY[%s]::pg_catalog.text, true FROM %s WHERE %s%s ORDER BY %s"
		"  OFFSET $3::pg_catalog.int4 OPERATOR(pg_catalog.-) 1 LIMIT 1)"
		" UNION ALL SELECT $2::pg_catalog.text, false LIMIT 1",
		key_list(t, "", "::pg_catalog.text"), t.table_sql, after_cursor, up_to_end, key_list(t, "", ""));
	statements.update = psprintf("UPDATE %s SET %s = false WHERE %s%s AND %s IS NOT FALSE",
								 t.table_sql, t.marker, after_cursor, up_to_end, t.marker);
	statements.count = psprintf("SELECT pg_catalog.count(*) FROM %s WHERE %s%s",
								t.table_sql, after_cursor, up_to_end);
	return statements;
}

/*
 * Tables without a key are visited by page: $1 first block, $2 block after the
 * last. A TID range scan reads only those pages. Rows a writer moved since
 * start went through the sync trigger and no longer carry the marker, so
 * wherever they landed they need nothing.
 */
BatchStatements
page_batch_statements(const BackfillTable &t)
{
	BatchStatements statements = {NULL, NULL, NULL};

	statements.update = psprintf(
		"UPDATE %s SET %s = false"
		" WHERE ctid OPERATOR(pg_catalog.>=) pg_catalog.format('(%%s,0)', $1::pg_catalog.int8)::pg_catalog.tid"
		"   AND ctid OPERATOR(pg_catalog.<) pg_catalog.format('(%%s,0)', $2::pg_catalog.int8)::pg_catalog.tid"
		"   AND %s IS NOT FALSE",
		t.table_sql, t.marker, t.marker);
	return statements;
}

void
save_progress(const char *schema, const char *migration, const BackfillTable &t, bool done,
			  int64 visited, double seconds)
{
	const char *args[] = {schema, migration, t.name, t.high_water, t.cursor,
						  psprintf(INT64_FORMAT, t.rows_total), psprintf(INT64_FORMAT, t.rows_done),
						  psprintf(INT64_FORMAT, t.batches), done ? "true" : "false",
						  psprintf(INT64_FORMAT, visited), psprintf("%.6f", seconds),
						  psprintf("%d", t.part)};

	/* The rate is smoothed over recent batches so that one slow batch does
	 * not swing the ETA. */
	catalog_exec(psprintf("UPDATE expand_contract.backfill_progress SET high_water = $4::text[], "
				 "cursor = $5::text[], rows_total = $6::bigint, rows_done = $7::bigint, "
				 "batches = $8::bigint, done = $9::boolean, "
				 "started_at = COALESCE(started_at, pg_catalog.clock_timestamp()), "
				 "updated_at = pg_catalog.clock_timestamp(), "
				 "rows_per_second = CASE WHEN $11::float8 <= 0 THEN rows_per_second "
				 "  WHEN rows_per_second IS NULL THEN $10::float8 / $11::float8 "
				 "  ELSE 0.7 * rows_per_second + 0.3 * ($10::float8 / $11::float8) END "
				 "WHERE schema_name = $1 AND migration = $2 AND table_name = $3 "
				 "AND %s = $12::pg_catalog.int4", progress_part_column()),
				 12, args);
}

int64
parse_int64(const char *text)
{
	return text ? strtoll(text, NULL, 10) : 0;
}

/* {n} as a text[] literal */
const char *
one_number(int64 n)
{
	return psprintf("{" INT64_FORMAT "}", n);
}

int64
first_number(const char *array_literal)
{
	List	   *elements = text_array_elements(array_literal);

	return elements == NIL ? 0 : parse_int64((const char *) linitial(elements));
}

/*
 * By position, the end of a range of pages: {page after the last, file node
 * of the table when its pass began}. A page number means something only in
 * that file: a rewrite (VACUUM FULL, CLUSTER) gives the table a new one and
 * may have moved rows anywhere.
 */
const char *
page_range_end(int64 end_page, const char *file_node)
{
	return file_node ? psprintf("{" INT64_FORMAT ",%s}", end_page, file_node) : one_number(end_page);
}

/* The file node of a page range's end, NULL when not recorded (before 0.2). */
const char *
page_range_file(const char *high_water)
{
	List	   *elements = text_array_elements(high_water);

	return list_length(elements) >= 2 ? (const char *) lsecond(elements) : NULL;
}

/*
 * relid's row count as the last VACUUM or ANALYZE left it in pg_class, while
 * it can stand in for counting (at most a fifth of the table changed since
 * the last ANALYZE), else -1.
 */
double
fresh_row_estimate(Oid relid)
{
	PgStat_StatTabEntry *activity = pgstat_fetch_stat_tabentry(relid);
	HeapTuple	class_tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	double		reltuples = -1;

	if (HeapTupleIsValid(class_tuple))
	{
		reltuples = ((Form_pg_class) GETSTRUCT(class_tuple))->reltuples;
		ReleaseSysCache(class_tuple);
	}
	if (reltuples <= 0 || activity == NULL || activity->changes_since_analyze > 0.2 * reltuples)
		return -1;
	return reltuples;
}

/*
 * Sets t's rows for its progress: counted, but from a million rows on the
 * fresh estimate (counting 10M rows held the first batch back by half a
 * second).
 */
void
count_table_rows(BackfillTable &t, Oid relid)
{
	double		estimate = fresh_row_estimate(relid);

	t.rows_estimated = estimate >= kEstimateRowsFrom;
	if (t.rows_estimated)
		ereport(DEBUG1,
				(errmsg_internal("expand_contract: %s has about %.0f rows, by its statistics",
								 t.table_sql, estimate)));
	t.rows_total = t.rows_estimated ? (int64) estimate
		: parse_int64(sql_value(psprintf("SELECT pg_catalog.count(*) FROM %s", t.table_sql)));
}

/* Fixes the range to visit: rows written later went through the sync trigger
 * and need no backfill. By key, the range ends at the largest key; by
 * position, at the table's last page. */
bool
begin_table(BackfillTable &t, Oid relid)
{
	if (by_position(t))
	{
		const char *args[] = {psprintf("%u", relid)};
		char	  **pages = (char **) linitial(sql_rows(
			"SELECT pg_catalog.pg_relation_size($1::pg_catalog.oid) / "
			"pg_catalog.current_setting('block_size')::pg_catalog.int8, "
			"pg_catalog.pg_relation_filenode($1::pg_catalog.oid)", 1, args));

		if (parse_int64(pages[0]) == 0)
			return false;
		t.high_water = page_range_end(parse_int64(pages[0]), pages[1]);
		t.cursor = one_number(0);
	}
	else
	{
		t.high_water = sql_value(psprintf("SELECT ARRAY[%s]::pg_catalog.text FROM %s ORDER BY %s LIMIT 1",
										  key_list(t, "", "::pg_catalog.text"), t.table_sql,
										  key_list(t, "", " DESC")));
		if (t.high_water == NULL)
			return false;
	}
	count_table_rows(t, relid);
	return true;
}

/*
 * Whether every other part of t's table is done, with the table's progress
 * rows locked (in part order, so that two parts finishing at once take turns)
 * until this transaction ends: then this part is the last to finish.
 */
bool
last_part_to_finish(const char *schema, const char *migration, const BackfillTable &t)
{
	if (catalog_at_version_0_1())
		return true;            /* no parts */

	const char *args[] = {schema, migration, t.name, psprintf("%d", t.part)};
	List	   *rows = catalog_rows(
		"SELECT pg_catalog.bool_and(done OR part OPERATOR(pg_catalog.=) $4::pg_catalog.int4) "
		"FROM (SELECT done, part FROM expand_contract.backfill_progress "
		"      WHERE schema_name = $1 AND migration = $2 AND table_name = $3 "
		"      ORDER BY part FOR UPDATE) parts",
		4, args);
	const char *others_done = rows == NIL ? NULL : ((char **) linitial(rows))[0];

	return others_done == NULL || strcmp(others_done, "t") == 0;
}

/* Whether t's table has another file than when its page pass began (or
 * that is not known). */
bool
rewritten_since_begun(const BackfillTable &t, Oid relid)
{
	const char *begun_in = page_range_file(t.high_water);
	const char *args[] = {psprintf("%u", relid)};
	const char *now_in = sql_value("SELECT pg_catalog.pg_relation_filenode($1::pg_catalog.oid)", 1, args);

	return begun_in == NULL || now_in == NULL || strcmp(begun_in, now_in) != 0;
}

/*
 * A page pass is complete only if no row still carries the marker: a table
 * rewrite between batches (VACUUM FULL, CLUSTER) can move rows behind the
 * cursor, also into the range of a part already done. So the last part of a
 * table to finish, if the table was rewritten since its pass began, checks
 * the whole table (the others are done when their range is), and when a row
 * is left, its pass starts over on the whole table; rows already filled
 * cost a read only. Without a rewrite, rows move only by writes, which
 * filled them.
 */
bool
page_pass_complete(const char *schema, const char *migration, BackfillTable &t, Oid relid)
{
	if (!last_part_to_finish(schema, migration, t) || !rewritten_since_begun(t, relid))
		return true;
	ereport(DEBUG1,
			(errmsg_internal("expand_contract: %s was rewritten since its pass began: looking for rows left",
							 t.table_sql)));
	if (sql_value(psprintf("SELECT 1 FROM %s WHERE %s IS NOT FALSE LIMIT 1",
						   t.table_sql, t.marker)) == NULL)
		return true;

	BackfillTable restart = t;

	if (!begin_table(restart, relid))
		return true;
	t.high_water = restart.high_water;
	t.cursor = restart.cursor;
	t.rows_total = restart.rows_total;
	t.rows_done = 0;
	return false;
}

struct BatchResult {
	int64 visited;              /* by position: estimated from the pages visited */
	int64 filled;
	const char *last_key;
	bool lock_timed_out;
	bool writers_waited;
};

struct BatchCall {
	const BatchStatements *statements;
	const char *const *args;   /* by key: cursor, high water, rows; by position: pages */
	int64 visited;             /* by key */
	int64 filled;
	const char *last_key;      /* by key */
	bool writers_waited;
};

/*
 * Whether another transaction waits for one of the row locks this
 * (sub)transaction holds: writers that touched a row of the batch wait on
 * its transaction id until it commits.
 */
bool
writers_waiting()
{
	TransactionId xid = GetCurrentTransactionIdIfAny();
	LOCKTAG		tag;

	if (!TransactionIdIsValid(xid))
		return false;
	SET_LOCKTAG_TRANSACTION(tag, xid);
	return LockHasWaiters(&tag, ExclusiveLock, false);
}

void
run_batch_statements(void *arg)
{
	BatchCall  *call = static_cast<BatchCall *>(arg);
	const BatchStatements *statements = call->statements;

	if (statements->end == NULL)
		call->filled = (int64) sql_rows_changed(statements->update, 2, call->args);
	else
	{
		char	  **end = (char **) linitial(sql_rows(statements->end, 3, call->args));
		const char *range[] = {call->args[0], end[0]};
		const char *to_high_water[] = {call->args[0], call->args[1]};

		call->last_key = end[0];
		call->filled = (int64) sql_rows_changed(statements->update, 2, range);
		call->visited = end[1][0] == 't' ? parse_int64(call->args[2])
			: parse_int64(sql_value(statements->count, 2, to_high_water));
	}
	call->writers_waited = writers_waiting();
}

/*
 * One batch statement. With a positive lock_timeout_ms it runs in a
 * subtransaction waiting at most that long for a lock: a batch that would
 * wait longer gives up, leaves nothing behind, and says so.
 */
BatchResult
run_batch(const BackfillTable &t, int batch_size, double rows_per_page, int lock_timeout_ms)
{
	BatchResult result = {0, 0, NULL, false, false};
	BatchCall	call;
	int64		first_page = 0;
	int64		end_page = 0;

	if (by_position(t))
	{
		int64		pages = Max((int64) 1, (int64) (batch_size / Max(rows_per_page, 1.0)));

		first_page = first_number(t.cursor);
		end_page = Min(first_page + pages, first_number(t.high_water));

		const char **args = (const char **) palloc(sizeof(char *) * 2);

		args[0] = psprintf(INT64_FORMAT, first_page);
		args[1] = psprintf(INT64_FORMAT, end_page);
		call = {&t.first, args, 0, 0, NULL, false};
	}
	else
	{
		const char **args = (const char **) palloc(sizeof(char *) * 3);

		args[0] = t.cursor;
		args[1] = t.high_water;
		args[2] = psprintf("%d", batch_size);
		call = {t.cursor ? &t.next : &t.first, args, 0, 0, NULL, false};
	}

	if (lock_timeout_ms > 0)
	{
		int			nest_level = NewGUCNestLevel();

		(void) set_config_option("lock_timeout", psprintf("%d", lock_timeout_ms),
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
		/* A batch that waited too long, or was picked to break a deadlock
		 * with a writer, is undone and tried again later. */
		static const int retryable[] = {ERRCODE_LOCK_NOT_AVAILABLE, ERRCODE_T_R_DEADLOCK_DETECTED, 0};

		result.lock_timed_out = !run_in_subtransaction(run_batch_statements, &call, retryable);
		AtEOXact_GUC(false, nest_level);
		if (result.lock_timed_out)
			return result;
	}
	else
		run_batch_statements(&call);

	/* Rows a batch moved are counted where they land too, so by position the
	 * count of rows visited is the pages' share of the table. */
	result.visited = by_position(t) ? (int64) ((end_page - first_page) * rows_per_page) : call.visited;
	result.filled = call.filled;
	result.writers_waited = call.writers_waited;
	result.last_key = by_position(t) ? one_number(end_page) : call.last_key;
	return result;
}

/*
 * Refuses a table whose rows the owner cannot all see (a table is never
 * marked done over rows a policy hid), and makes deferred constraint checks
 * immediate: a security-restricted operation may not leave them pending.
 */
void
prepare_table(Oid relid, Oid owner)
{
	require_table_of_owner(relid, owner);
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot backfill table \"%s\": row-level security hides rows from role \"%s\"",
						get_rel_name(relid), GetUserNameFromId(owner, false)),
				 errdetail("The backfill runs as the migration's owner and must fill every row."),
				 errhint("Let the table's owner run the migration, or give the owner BYPASSRLS.")));

	Relation	rel = table_open(relid, AccessShareLock);
	bool		deferrable = false;

	for (int i = 0; rel->trigdesc != NULL && i < rel->trigdesc->numtriggers; i++)
		deferrable = deferrable || rel->trigdesc->triggers[i].tgdeferrable;
	table_close(rel, AccessShareLock);
	if (deferrable)
		sql_exec("SET CONSTRAINTS ALL IMMEDIATE");
}

/* By position: the rows per page of what is left of t's range (of a part
 * of it, with its own share of rows), or of the whole table once the rows
 * counted are used up. */
double
rows_per_page_left(const BackfillTable &t)
{
	int64		pages_left = first_number(t.high_water) - first_number(t.cursor);
	int64		rows_left = t.rows_total - t.rows_done;

	if (pages_left > 0 && rows_left > 0)
		return (double) rows_left / (double) pages_left;
	return (double) Max(t.rows_total, (int64) 1) / (double) Max(first_number(t.high_water), (int64) 1);
}

bool
range_finished(const BackfillTable &t, const BatchResult &batch, int batch_size)
{
	if (by_position(t))
		return first_number(t.cursor) >= first_number(t.high_water);
	return batch.visited < batch_size;
}


/* A progress row (table_name, key_columns, marker_column, high_water, cursor,
 * rows_total, rows_done, batches, part) as the batches see it. */
BackfillTable
loaded_table(const char *schema, Oid relid, char **row)
{
	BackfillTable t;
	ListCell   *kc;

	memset(&t, 0, sizeof(t));
	t.name = row[0];
	t.table_sql = qname(schema, row[0]);
	t.marker = qi(row[2]);
	t.high_water = row[3];
	t.cursor = row[4];
	t.rows_total = parse_int64(row[5]);
	t.rows_done = parse_int64(row[6]);
	t.batches = parse_int64(row[7]);
	t.part = (int) parse_int64(row[8]);
	t.key_names = text_array_elements(row[1]);
	foreach(kc, t.key_names)
	{
		t.keys = lappend(t.keys, (void *) qi((const char *) lfirst(kc)));
		ColumnType	type = column_type(relid, (const char *) lfirst(kc));

		t.key_types = lappend(t.key_types, (void *) type.sql);
		t.key_types_oid = lappend_oid(t.key_types_oid, type.type);
	}
	return t;
}

/* The rows of t's range still to visit: (cursor, high_water]. */
const char *
range_condition(const BackfillTable &t)
{
	return t.cursor ? psprintf("%s AND %s", key_bound(t, BTGreaterStrategyNumber, 1),
							   key_bound(t, BTLessEqualStrategyNumber, 2))
		: key_bound(t, BTLessEqualStrategyNumber, 2);
}

/*
 * The leading key column's histogram bounds (equal shares of its rows lie
 * between consecutive bounds) that fall in t's range, as text, or NIL when
 * ANALYZE's statistics cannot stand in for counting: there are none, the
 * column has most common values (the histogram leaves their rows out), or
 * more than a fifth of the table changed since (rows added after it would
 * all fall into the last part).
 */
List *
histogram_bounds_in_range(const BackfillTable &t, Oid relid)
{
	AttrNumber	attnum = get_attnum(relid, (const char *) linitial(t.key_names));

	if (fresh_row_estimate(relid) < 0)
		return NIL;

	HeapTuple	stats = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(relid),
										Int16GetDatum(attnum), BoolGetDatum(false));

	if (!HeapTupleIsValid(stats))
		return NIL;

	AttStatsSlot slot;
	List	   *bounds = NIL;

	if (!get_attstatsslot(&slot, stats, STATISTIC_KIND_MCV, InvalidOid, 0) &&
		get_attstatsslot(&slot, stats, STATISTIC_KIND_HISTOGRAM, InvalidOid, ATTSTATSSLOT_VALUES))
	{
		TypeCacheEntry *type = lookup_type_cache(slot.valuetype, TYPECACHE_CMP_PROC_FINFO);
		Oid			input;
		Oid			ioparam;
		Oid			output;
		bool		varlena;

		getTypeInputInfo(slot.valuetype, &input, &ioparam);
		getTypeOutputInfo(slot.valuetype, &output, &varlena);
		if (OidIsValid(type->cmp_proc_finfo.fn_oid))
		{
			auto leading = [&](const char *key) {
				return OidInputFunctionCall(input, (char *) linitial(text_array_elements(key)),
											ioparam, -1);
			};
			auto compare = [&](Datum a, Datum b) {
				return DatumGetInt32(FunctionCall2Coll(&type->cmp_proc_finfo, slot.stacoll, a, b));
			};
			Datum		high = leading(t.high_water);
			bool		has_low = t.cursor != NULL;
			Datum		low = has_low ? leading(t.cursor) : (Datum) 0;

			for (int i = 0; i < slot.nvalues; i++)
				if ((!has_low || compare(slot.values[i], low) > 0) && compare(slot.values[i], high) <= 0)
					bounds = lappend(bounds, OidOutputFunctionCall(output, slot.values[i]));
		}
		free_attstatsslot(&slot);
	}
	else
		free_attstatsslot(&slot);
	ReleaseSysCache(stats);
	return bounds;
}

/*
 * The key that splits t's range after `previous` (NULL: the cursor) where
 * the leading key column reaches `bound`: the first key there, one index
 * probe. NULL when the range has no key there.
 */
const char *
first_key_at(const BackfillTable &t, const char *previous, const char *bound)
{
	const char *after = previous ? previous : t.cursor;
	const char *args[] = {after, t.high_water, bound};
	const char *bound_value = as_compared(t, 0, psprintf("$3::pg_catalog.text::%s",
														 (const char *) linitial(t.key_types)));

	return sql_value(psprintf("SELECT ARRAY[%s]::pg_catalog.text FROM %s WHERE %s%s%s AND %s %s %s "
							  "ORDER BY %s LIMIT 1",
							  key_list(t, "", "::pg_catalog.text"), t.table_sql,
							  after ? key_bound(t, BTGreaterStrategyNumber, 1) : "",
							  after ? " AND " : "", key_bound(t, BTLessEqualStrategyNumber, 2),
							  key_column(t, 0),
							  key_operator(list_nth_oid(t.key_types_oid, 0), BTGreaterEqualStrategyNumber, NULL),
							  bound_value, key_list(t, "", "")),
					 3, args);
}

/*
 * The parts-1 split keys from the statistics: the bounds at every
 * (bounds / parts)th place, each moved to the first key at it. Reads a
 * handful of index pages where counting reads the whole range. NIL when the
 * statistics do not do (too few bounds in the range for `parts`, or two
 * splits on one key).
 */
List *
splits_by_statistics(const BackfillTable &t, Oid relid, int parts)
{
	List	   *bounds = histogram_bounds_in_range(t, relid);
	int			nbounds = list_length(bounds);
	List	   *splits = NIL;
	const char *previous = NULL;

	if (nbounds < Max(10, 2 * parts))
		return NIL;
	for (int k = 1; k < parts; k++)
	{
		const char *split = first_key_at(t, previous, (const char *) list_nth(bounds, k * nbounds / parts));

		if (split == NULL)
			return NIL;
		splits = lappend(splits, (void *) split);
		previous = split;
	}
	return splits;
}

/* The rows of t's range still to visit, counted. */
int64
rows_in_range(const BackfillTable &t)
{
	const char *bounds[] = {t.cursor, t.high_water};

	return parse_int64(sql_value(psprintf("SELECT pg_catalog.count(*) FROM %s WHERE %s",
										  t.table_sql, range_condition(t)), 2, bounds));
}

/* The parts-1 split keys by counting: the key at every (left / parts)th row,
 * read from the key index. */
List *
splits_by_counting(const BackfillTable &t, int64 left, int parts)
{
	List	   *splits = NIL;

	for (int k = 1; k < parts; k++)
	{
		const char *args[] = {t.cursor, t.high_water, psprintf(INT64_FORMAT, k * left / parts - 1)};

		splits = lappend(splits, (void *) sql_value(
			psprintf("SELECT ARRAY[%s]::pg_catalog.text FROM %s WHERE %s ORDER BY %s "
					 "OFFSET $3::pg_catalog.int8 LIMIT 1",
					 key_list(t, "", "::pg_catalog.text"), t.table_sql, range_condition(t),
					 key_list(t, "", "")), 3, args));
	}
	return splits;
}

/*
 * Part k of t's table: the range (low, high] by key, [low, high) by
 * position, with its share of the rows left. Part 0 is the row that was; its
 * done rows stay counted.
 */
void
save_part(const char *schema, const char *migration, const BackfillTable &t, int k, const char *low,
		  const char *high, const char *share)
{
	const char *args[] = {schema, migration, t.name, psprintf("%d", k), low, high, share};

	catalog_exec("INSERT INTO expand_contract.backfill_progress AS p (schema_name, migration, "
				 "  table_name, part, key_columns, marker_column, high_water, cursor, rows_total) "
				 "SELECT schema_name, migration, table_name, $4::pg_catalog.int4, key_columns, "
				 "  marker_column, $6::pg_catalog.text[], $5::pg_catalog.text[], $7::pg_catalog.int8 "
				 "FROM expand_contract.backfill_progress "
				 "WHERE schema_name = $1 AND migration = $2 AND table_name = $3 AND part = 0 "
				 "ON CONFLICT (schema_name, migration, table_name, part) DO UPDATE "
				 "SET high_water = EXCLUDED.high_water, cursor = EXCLUDED.cursor, "
				 "  rows_total = p.rows_done + EXCLUDED.rows_total", 7, args);
}

/*
 * Splits what is left of t's range into `parts` ranges of about as many
 * rows: part 0 keeps the row and its cursor and ends at the first split key,
 * part k begins after the kth. The split keys come from ANALYZE's
 * statistics when they are fresh, else from counting. `counted`: t's range
 * is the whole table, its rows counted (or estimated) just now. Returns false (and splits
 * nothing) when too few rows are left for parts to be worth it.
 */
bool
split_table(const char *schema, const char *migration, BackfillTable &t, Oid relid, int parts,
			bool counted)
{
	int64		left = counted ? t.rows_total : rows_in_range(t);

	if (left < (int64) parts * kMinRowsPerPart)
		return false;

	List	   *splits = splits_by_statistics(t, relid, parts);

	ereport(DEBUG1,
			(errmsg_internal("expand_contract: splitting %s into %d parts by %s", t.table_sql, parts,
							 splits != NIL ? "its statistics" : "counting its keys")));
	if (splits == NIL)
		splits = splits_by_counting(t, counted && !t.rows_estimated ? left : rows_in_range(t), parts);

	const char *share = psprintf(INT64_FORMAT, left / parts);

	for (int k = 0; k < parts; k++)
		save_part(schema, migration, t, k, k == 0 ? t.cursor : (const char *) list_nth(splits, k - 1),
				  k == parts - 1 ? t.high_water : (const char *) list_nth(splits, k), share);
	return true;
}

/* A page split looks up at most this many pages in the free space map. */
constexpr int64 kPageSplitSamples = 65536;

/*
 * Where pages [first, first + pages) split into `parts` ranges of about as
 * many rows: the first page of part k (1 <= k < parts) in points[k]. A page
 * weighs what the free space map says it holds, so that after a VACUUM that
 * left the live rows in one half of the table each worker still gets its
 * share of them (split by pages alone, one worker did nearly all the work).
 * A page the map knows nothing of counts as full: a table never vacuumed
 * splits into ranges of as many pages. Every range keeps at least one page.
 */
int64 *
page_split_points(Oid relid, int64 first, int64 pages, int parts)
{
	int64		stride = Max((int64) 1, (pages + kPageSplitSamples - 1) / kPageSplitSamples);
	int64		samples = (pages + stride - 1) / stride;
	int64	   *held = (int64 *) palloc(sizeof(int64) * samples);
	int64	   *points = (int64 *) palloc(sizeof(int64) * parts);
	int64		total = 0;
	Relation	rel = relation_open(relid, AccessShareLock);

	for (int64 i = 0; i < samples; i++)
	{
		held[i] = BLCKSZ - (int64) GetRecordedFreeSpace(rel, (BlockNumber) (first + i * stride));
		total += held[i];
	}
	relation_close(rel, AccessShareLock);

	int64		sum = 0;
	int64		i = 0;

	points[0] = first;

	/* (Every page weighs something: the map records at most a page's free
	 * space less its header, so total > 0.) */
	for (int k = 1; k < parts; k++)
	{
		/* Past the page where the rows before reach k parts' share. */
		while (i < samples && sum * parts < total * k)
			sum += held[i++];
		points[k] = Min(Max(first + i * stride, points[k - 1] + 1), first + pages - (parts - k));
	}
	pfree(held);
	return points;
}

/*
 * By position: what is left of t's pages, [cursor, high water), in `parts`
 * ranges of about as many rows (page_split_points). Returns false (and
 * splits nothing) when too few rows or pages are left for parts to be worth
 * it.
 */
bool
split_pages(const char *schema, const char *migration, const BackfillTable &t, Oid relid, int parts)
{
	int64		first = first_number(t.cursor);
	int64		end = first_number(t.high_water);
	int64		pages = end - first;
	int64		left = t.rows_total - t.rows_done;

	if (left < (int64) parts * kMinRowsPerPart || pages < parts)
		return false;
	ereport(DEBUG1,
			(errmsg_internal("expand_contract: splitting %s into %d parts by its pages", t.table_sql, parts)));

	int64	   *points = page_split_points(relid, first, pages, parts);
	const char *share = psprintf(INT64_FORMAT, left / parts);
	const char *file = page_range_file(t.high_water);

	for (int k = 0; k < parts; k++)
		save_part(schema, migration, t, k, one_number(points[k]),
				  page_range_end(k == parts - 1 ? end : points[k + 1], file), share);
	return true;
}

} // namespace

void
split_backfill(const MigrationRecord &record, int parts)
{
	if (catalog_at_version_0_1())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a backfill with more than one worker needs extension version 0.2"),
				 errhint("ALTER EXTENSION expand_contract UPDATE")));

	const char *args[] = {record.schema, record.name};
	/* Tables not split yet (a split table keeps its parts: any number of
	 * workers shares them). */
	List	   *rows = catalog_rows(
		"SELECT table_name, key_columns, marker_column, high_water, cursor, rows_total, rows_done, "
		"  batches, part FROM expand_contract.backfill_progress p "
		"WHERE schema_name = $1 AND migration = $2 AND NOT done AND part = 0 "
		"  AND NOT EXISTS (SELECT FROM expand_contract.backfill_progress o "
		"    WHERE o.schema_name = p.schema_name AND o.migration = p.migration "
		"      AND o.table_name = p.table_name AND o.part <> 0) "
		"ORDER BY table_name", 2, args);
	Oid			nsp = get_namespace_oid(record.schema, false);
	RunAs		owner = begin_run_as(record.owner, kPinnedSearchPath, true);
	ListCell   *lc;

	foreach(lc, rows)
	{
		char	  **row = (char **) lfirst(lc);
		Oid			relid = get_relname_relid(row[0], nsp);
		BackfillTable t;

		prepare_table(relid, record.owner);
		t = loaded_table(record.schema, relid, row);
		bool		counted = t.high_water == NULL;

		if (counted)
		{
			if (!begin_table(t, relid))
				continue;
			save_progress(record.schema, record.name, t, false, 0, 0);
		}
		if (by_position(t))
			(void) split_pages(record.schema, record.name, t, relid, parts);
		else
			(void) split_table(record.schema, record.name, t, relid, parts, counted);
	}
	end_run_as(owner);
}

int backfill_order = (int) BackfillOrder::Auto;

namespace {

/* Whether relid is to be visited by page rather than by its key. */
bool
goes_by_page(Oid relid)
{
	if (backfill_order != (int) BackfillOrder::Auto)
		return backfill_order == (int) BackfillOrder::Page;

	Relation	rel = try_relation_open(relid, AccessShareLock);
	bool		large = false;

	if (rel != NULL)
	{
		large = RELKIND_HAS_STORAGE(rel->rd_rel->relkind) &&
			RelationGetNumberOfBlocks(rel) >= kPageOrderFromPages;
		relation_close(rel, AccessShareLock);
	}
	return large;
}

} // namespace

void
choose_backfill_order(const MigrationRecord &record)
{
	if (catalog_at_version_0_1() || backfill_order == (int) BackfillOrder::Key)
		return;

	const char *args[] = {record.schema, record.name};
	List	   *rows = catalog_rows(
		"SELECT table_name FROM expand_contract.backfill_progress "
		"WHERE schema_name = $1 AND migration = $2 AND NOT done AND high_water IS NULL "
		"  AND part = 0 AND key_columns OPERATOR(pg_catalog.<>) '{}'::pg_catalog.name[] "
		"ORDER BY table_name", 2, args);
	Oid			nsp = get_namespace_oid(record.schema, false);
	ListCell   *lc;

	foreach(lc, rows)
	{
		const char *table = ((char **) lfirst(lc))[0];
		Oid			relid = get_relname_relid(table, nsp);

		if (!OidIsValid(relid) || !goes_by_page(relid))
			continue;
		ereport(DEBUG1,
				(errmsg_internal("expand_contract: backfilling %s by page", qname(record.schema, table))));

		const char *table_args[] = {record.schema, record.name, table};

		/* Repeats the conditions: a runner of another session may have
		 * begun the table since it was read. */
		catalog_exec("UPDATE expand_contract.backfill_progress SET key_columns = '{}' "
					 "WHERE schema_name = $1 AND migration = $2 AND table_name = $3 AND part = 0 "
					 "  AND NOT done AND high_water IS NULL",
					 3, table_args);
	}
}

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

BackfillPass
run_backfill_batches(const MigrationRecord &record, int batch_size, int64 max_batches,
					 ReportBatch report, void *arg, int lock_timeout_ms, TimestampTz interval_start,
					 WorkerShare share)
{
	const char *schema = record.schema;
	const char *migration = record.name;
	const char *args[] = {schema, migration, psprintf("%d", share.of), psprintf("%d", share.worker)};
	const char *part = progress_part_column();
	List	   *rows = catalog_rows(psprintf("SELECT table_name, key_columns, marker_column, high_water, "
											 "cursor, rows_total, rows_done, batches, %s "
											 "FROM expand_contract.backfill_progress "
											 "WHERE schema_name = $1 AND migration = $2 AND NOT done "
											 "AND %s OPERATOR(pg_catalog.%%) $3::pg_catalog.int4 "
											 "OPERATOR(pg_catalog.=) $4::pg_catalog.int4 "
											 "ORDER BY table_name%s", part, part,
											 catalog_at_version_0_1() ? "" : ", part"),
									4, args);
	Oid			nsp = get_namespace_oid(schema, false);
	BackfillPass pass = {0, 0, false};
	ListCell   *lc;

	/*
	 * Batches run the owner's "up" expressions: as the owner, seeing every
	 * row, whoever runs the backfill. They write the base table, so they
	 * write as the old version (a session's expand_contract.version does not
	 * reach code run with another role's rights) and the trigger computes
	 * the "up" columns.
	 */
	RunAs		owner = begin_run_as(record.owner, kPinnedSearchPath, true);
	/* A batch is short and planned afresh each time: compiling it costs more
	 * than it saves. */
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	foreach(lc, rows)
	{
		char	  **row = (char **) lfirst(lc);
		BackfillTable t;

		if (pass.lock_timed_out || (max_batches >= 0 && pass.batches >= max_batches))
			break;

		Oid			relid = get_relname_relid(row[0], nsp);

		prepare_table(relid, record.owner);
		t = loaded_table(schema, relid, row);

		if (t.high_water == NULL && !begin_table(t, relid))
		{
			save_progress(schema, migration, t, true, 0, 0);
			continue;
		}

		t.first = by_position(t) ? page_batch_statements(t) : key_batch_statements(t, false);
		t.next = by_position(t) ? t.first : key_batch_statements(t, true);

		double		rows_per_page = by_position(t) ? rows_per_page_left(t) : 0;
		bool		done = false;

		while (!done && (max_batches < 0 || pass.batches < max_batches))
		{
			CHECK_FOR_INTERRUPTS();

			TimestampTz started = GetCurrentTimestamp();
			BatchResult batch = run_batch(t, batch_size, rows_per_page, lock_timeout_ms);

			if (batch.lock_timed_out)
			{
				pass.lock_timed_out = true;
				break;
			}
			if (batch.visited > 0 || by_position(t))
			{
				t.cursor = batch.last_key;
				t.rows_done = Min(t.rows_done + batch.visited, Max(t.rows_total, t.rows_done));
				t.batches++;
				pass.batches++;
				pass.rows_visited += batch.visited;
			}
			done = range_finished(t, batch, batch_size);
			if (done && by_position(t))
			{
				done = page_pass_complete(schema, migration, t, relid);
				if (done)
					t.rows_done = t.rows_total;
			}

			TimestampTz finished = GetCurrentTimestamp();
			TimestampTz since = interval_start != 0 ? interval_start : started;

			save_progress(schema, migration, t, done, batch.visited,
						  (double) (finished - since) / USECS_PER_SEC);
			interval_start = 0;
			if (report != NULL && (batch.visited > 0 || by_position(t)))
			{
				BatchReport r;

				r.table = t.name;
				r.batch = t.batches;
				r.rows = batch.visited;
				r.rows_backfilled = batch.filled;
				r.rows_done = t.rows_done;
				r.rows_left = done ? 0 : Max(t.rows_total - t.rows_done, (int64) 0);
				r.elapsed_ms = (double) (finished - started) / 1000.0;
				r.writers_waited = batch.writers_waited;
				report(arg, r);
			}
		}
	}
	end_run_as(owner);
	/* Workers of a parallel run would each wait for the others' snapshots:
	 * the runner opens the version once its workers are done. */
	if (share.of == 1)
		try_open_new_version_if_backfilled(record, phase_lock_deadline());
	return pass;
}

} // namespace ec

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
	ec::MigrationRecord record = ec::lock_active_migration(schema, "backfill");

	ec::require_owner_rights(record, "backfill");
	ec::choose_backfill_order(record);
	(void) ec::run_backfill_batches(record, batch_size, max_batches, emit_batch_row, &sink);
	SPI_finish();
	return (Datum) 0;
}
