/*
 * sql.cpp — SPI helpers for the phase functions; see sql.hpp.
 */
#include "pg/sql.hpp"

#include "pg/security.hpp"

#include <cstdarg>

namespace ec {

const char *
qi(const char *identifier)
{
	return quote_identifier(identifier);
}

const char *
qname(const char *schema, const char *name)
{
	return quote_qualified_identifier(schema, name);
}

const char *
ql(const char *literal)
{
	return quote_literal_cstr(literal);
}

static void
execute(const char *statement)
{
	int			rc = SPI_execute(statement, false, 0);

	if (rc == SPI_ERROR_TRANSACTION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("transaction control statements cannot run inside a migration phase")));
	if (rc < 0)
		elog(ERROR, "expand_contract: SPI_execute failed (%s) for: %s",
			 SPI_result_code_string(rc), statement);
}

void
sql_exec(const char *statement)
{
	if (list_length(raw_parser(statement, RAW_PARSE_DEFAULT)) != 1)
		elog(ERROR, "expand_contract: a generated statement must be exactly one: %s", statement);
	execute(statement);
}

void
sql_exec_as_written(const char *sql)
{
	execute(sql);
}

void
sql_execf(const char *format, ...)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, format);
		needed = appendStringInfoVA(&buf, format, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	sql_exec(buf.data);
}

/*
 * Runs a query with a snapshot taken now, not the transaction's: the phase
 * functions serialise on an advisory lock, and under REPEATABLE READ the
 * transaction snapshot predates it and would hide what the previous holder
 * committed (an open migration, a changed pg_class row).
 */
static void
execute_with_text_args(const char *query, int nargs, const char *const *args,
					   bool statement_snapshot = false)
{
	Oid		   *types = (Oid *) palloc(sizeof(Oid) * Max(nargs, 1));
	Datum	   *values = (Datum *) palloc(sizeof(Datum) * Max(nargs, 1));
	char	   *nulls = (char *) palloc(Max(nargs, 1) + 1);

	for (int i = 0; i < nargs; i++)
	{
		types[i] = TEXTOID;
		values[i] = args[i] ? CStringGetTextDatum(args[i]) : (Datum) 0;
		nulls[i] = args[i] ? ' ' : 'n';
	}
	nulls[nargs] = '\0';

	SPIPlanPtr	plan = SPI_prepare(query, nargs, types);

	if (plan == NULL)
		elog(ERROR, "expand_contract: SPI_prepare failed (%s) for: %s",
			 SPI_result_code_string(SPI_result), query);

	int			rc = SPI_execute_snapshot(plan, values, nulls,
										  statement_snapshot ? InvalidSnapshot : GetLatestSnapshot(),
										  InvalidSnapshot, statement_snapshot, true, 0);

	if (rc < 0)
		elog(ERROR, "expand_contract: SPI_execute_snapshot failed (%s) for: %s",
			 SPI_result_code_string(rc), query);
	SPI_freeplan(plan);
}

static List *
collect_rows(void)
{
	List	   *rows = NIL;
	int			ncolumns = SPI_tuptable ? SPI_tuptable->tupdesc->natts : 0;

	for (uint64 r = 0; SPI_tuptable && r < SPI_processed; r++)
	{
		char	  **row = (char **) palloc0(sizeof(char *) * Max(ncolumns, 1));

		for (int c = 0; c < ncolumns; c++)
			row[c] = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, c + 1);
		rows = lappend(rows, row);
	}
	return rows;
}

List *
sql_rows(const char *query, int nargs, const char *const *args)
{
	execute_with_text_args(query, nargs, args);
	return collect_rows();
}

uint64
sql_rows_changed(const char *statement, int nargs, const char *const *args)
{
	execute_with_text_args(statement, nargs, args);
	return SPI_processed;
}

const char *
sql_value(const char *query, int nargs, const char *const *args)
{
	List	   *rows = sql_rows(query, nargs, args);

	return rows == NIL ? NULL : ((char **) linitial(rows))[0];
}

/* The catalog tables belong to whoever created the extension. */
static Oid
catalog_owner(void)
{
	Oid			nsp = get_namespace_oid("expand_contract", false);
	Oid			relid = get_relname_relid("migrations", nsp);
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "expand_contract: catalog table expand_contract.migrations is missing");
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * Switches to the catalog owner for one statement. An ERROR inside is safe:
 * transaction (and subtransaction) abort restores the previous user id.
 */
static List *
as_catalog_owner(const char *query, int nargs, const char *const *args,
				 bool statement_snapshot = false)
{
	Oid			saved_user;
	int			saved_context;
	List	   *rows;

	GetUserIdAndSecContext(&saved_user, &saved_context);
	/* Its own pinned settings: whatever the code of a migration running
	 * around it set cannot choose what the catalog owner's SQL means. */
	int			pinned = pin_settings(kPinnedSearchPath);

	SetUserIdAndSecContext(catalog_owner(), saved_context | SECURITY_LOCAL_USERID_CHANGE);
	execute_with_text_args(query, nargs, args, statement_snapshot);
	rows = collect_rows();
	SetUserIdAndSecContext(saved_user, saved_context);
	unpin_settings(pinned);
	return rows;
}

void
catalog_exec(const char *query, int nargs, const char *const *args)
{
	(void) as_catalog_owner(query, nargs, args);
}

List *
catalog_rows(const char *query, int nargs, const char *const *args)
{
	return as_catalog_owner(query, nargs, args);
}

List *
catalog_rows_as_seen(const char *query, int nargs, const char *const *args)
{
	return as_catalog_owner(query, nargs, args, true);
}

int
use_search_path(const char *search_path)
{
	int			nest_level = NewGUCNestLevel();

	(void) set_config_option("search_path", search_path, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nest_level;
}

void
restore_search_path(int nest_level)
{
	/* false: a SET made inside (by user SQL) is discarded too. */
	AtEOXact_GUC(false, nest_level);
}

const char *
text_array_literal(List *strings)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	foreach(lc, strings)
	{
		const char *s = (const char *) lfirst(lc);

		if (foreach_current_index(lc) > 0)
			appendStringInfoChar(&buf, ',');
		appendStringInfoChar(&buf, '"');
		for (const char *p = s; *p; p++)
		{
			if (*p == '"' || *p == '\\')
				appendStringInfoChar(&buf, '\\');
			appendStringInfoChar(&buf, *p);
		}
		appendStringInfoChar(&buf, '"');
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

List *
text_array_elements(const char *array_literal)
{
	List	   *result = NIL;

	if (array_literal == NULL)
		return NIL;

	/* array_in caches in fn_extra, so it needs a real FmgrInfo. */
	ArrayType  *array = DatumGetArrayTypeP(OidFunctionCall3(F_ARRAY_IN,
															CStringGetDatum(array_literal),
															ObjectIdGetDatum(TEXTOID),
															Int32GetDatum(-1)));
	Datum	   *elements;
	bool	   *nulls;
	int			count;

	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elements, &nulls, &count);
	for (int i = 0; i < count; i++)
		result = lappend(result, nulls[i] ? NULL : TextDatumGetCString(elements[i]));
	return result;
}

} // namespace ec
