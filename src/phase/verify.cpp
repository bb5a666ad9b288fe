/*
 * verify.cpp — expand_contract.verify(); see verify.hpp.
 */
#include "phase/verify.hpp"

#include "backfill/backfill.hpp"
#include "plan/expression.hpp"
#include "boundary.hpp"
#include "pg/security.hpp"
#include "pg/sql.hpp"
#include "sync/trigger_engine.hpp"

namespace ec {

namespace {

/* The rules a stored value can be checked against: a fill-once rule (a
 * volatile default) gave each row a value of its own. */
List *
checkable(List *rules)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, rules)
		if (!((SyncRule *) lfirst(lc))->fill_once)
			result = lappend(result, lfirst(lc));
	return result;
}

/* "(e1 IS NOT DISTINCT FROM c1 AND ...)" for rules, or NULL for none. */
const char *
rules_hold(List *rules, List *context, TupleDesc desc)
{
	StringInfoData buf;
	ListCell   *lc;

	if (rules == NIL)
		return NULL;
	initStringInfo(&buf);
	foreach(lc, rules)
	{
		SyncRule   *r = (SyncRule *) lfirst(lc);

		appendStringInfo(&buf, "%s(%s) IS NOT DISTINCT FROM ec_row.%s", foreach_current_index(lc) ? " AND " : "(",
						 deparse_exactly((Node *) r->expr, context, true),
						 qi(NameStr(TupleDescAttr(desc, r->target - 1)->attname)));
	}
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/* ('column', expected::text, actual::text) for each rule. */
void
append_values(StringInfo buf, List *rules, List *context, TupleDesc desc)
{
	ListCell   *lc;

	foreach(lc, rules)
	{
		SyncRule   *r = (SyncRule *) lfirst(lc);
		const char *column = NameStr(TupleDescAttr(desc, r->target - 1)->attname);

		appendStringInfo(buf, "%s(%s, (%s)::pg_catalog.text, ec_row.%s::pg_catalog.text)",
						 buf->len > 0 ? ", " : "", ql(r->name),
						 deparse_exactly((Node *) r->expr, context, true), qi(column));
	}
}

const char *
verify_query(const char *schema, Relation rel, const SyncSpec *spec)
{
	TupleDesc	desc = RelationGetDescr(rel);
	/* Everything is qualified by aliases of our own, so no table or column
	 * name of the user's can collide with them. */
	List	   *context = deparse_context_for("ec_row", RelationGetRelid(rel));
	List	   *up_rules = checkable(spec->ups);
	const char *ups = rules_hold(up_rules, context, desc);
	const char *downs = rules_hold(spec->downs, context, desc);
	List	   *keys = backfill_key_columns(RelationGetRelid(rel));
	StringInfoData key;
	StringInfoData values;
	ListCell   *lc;

	initStringInfo(&key);
	foreach(lc, keys)
		appendStringInfo(&key, "%sec_row.%s", foreach_current_index(lc) ? ", " : "", qi((const char *) lfirst(lc)));
	initStringInfo(&values);
	append_values(&values, up_rules, context, desc);
	append_values(&values, spec->downs, context, desc);

	return psprintf(
		"SELECT %s::pg_catalog.text, ec_synced.name, ec_synced.expected, ec_synced.actual "
		"FROM %s AS ec_row CROSS JOIN LATERAL (VALUES %s) AS ec_synced(name, expected, actual) "
		"WHERE ec_row.%s IS FALSE AND NOT (%s%s%s) "
		"AND ec_synced.expected IS DISTINCT FROM ec_synced.actual "
		"ORDER BY 1, 2",
		keys == NIL ? "ec_row.ctid" : list_length(keys) == 1 ? key.data : psprintf("ROW(%s)", key.data),
		qname(schema, RelationGetRelationName(rel)), values.data,
		qi(NameStr(TupleDescAttr(desc, spec->marker - 1)->attname)),
		ups ? ups : "", ups && downs ? " OR " : "", downs ? downs : "");
}

} // namespace

/*
 * Runs as the owner, seeing every row (as the backfill does): the up/down
 * expressions are the owner's code, never run with a caller's rights. A
 * table whose rows a policy would still hide from the owner is refused
 * rather than reported consistent.
 */
int64
verify_migration(const MigrationRecord &record, EmitMismatch emit, void *arg)
{
	Oid			nsp = get_namespace_oid(record.schema, false);
	RunAs		scope = begin_run_as(record.owner, kPinnedSearchPath, true);
	int64		mismatches = 0;
	ListCell   *lc;

	foreach(lc, record.touched_tables)
	{
		const char *table = (const char *) lfirst(lc);
		Oid			relid = get_relname_relid(table, nsp);

		if (!OidIsValid(relid))
			continue;

		require_table_of_owner(relid, record.owner);
		if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("cannot verify table \"%s\": row-level security hides some of its rows "
							"from role \"%s\", the migration's owner",
							table, GetUserNameFromId(record.owner, false))));

		Relation	rel = table_open(relid, AccessShareLock);
		const SyncSpec *spec = rel->trigdesc ? sync_spec(rel) : NULL;
		/* Without "up" columns the old version's columns are the only truth. */
		const char *query = spec && spec->marker != InvalidAttrNumber && checkable(spec->ups) != NIL
			? verify_query(record.schema, rel, spec) : NULL;

		table_close(rel, AccessShareLock);
		if (query == NULL)
			continue;

		ListCell   *rc;

		foreach(rc, sql_rows(query))
		{
			char	  **row = (char **) lfirst(rc);

			if (emit != NULL)
				emit(arg, table, row[0], row[1], row[2], row[3]);
			mismatches++;
		}
	}
	end_run_as(scope);
	return mismatches;
}

} // namespace ec

namespace {

void
emit_mismatch_row(void *arg, const char *table, const char *key, const char *column,
				  const char *expected, const char *actual)
{
	ReturnSetInfo *rsinfo = static_cast<ReturnSetInfo *>(arg);
	Datum		values[5];
	bool		nulls[5] = {false, key == NULL, false, expected == NULL, actual == NULL};
	NameData   *table_name = (NameData *) palloc(sizeof(NameData));
	NameData   *column_name = (NameData *) palloc(sizeof(NameData));

	namestrcpy(table_name, table);
	namestrcpy(column_name, column);
	values[0] = NameGetDatum(table_name);
	values[1] = key ? CStringGetTextDatum(key) : (Datum) 0;
	values[2] = NameGetDatum(column_name);
	values[3] = expected ? CStringGetTextDatum(expected) : (Datum) 0;
	values[4] = actual ? CStringGetTextDatum(actual) : (Datum) 0;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

} // namespace

EC_FUNCTION(ec_verify)
{
	const char *schema = ec::require_schema_argument(fcinfo, 0);

	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();

	ec::MigrationRecord record = ec::require_active_migration(schema, "verify", false);

	ec::require_owner_rights(record, "verify");

	(void) ec::verify_migration(record, emit_mismatch_row, fcinfo->resultinfo);
	SPI_finish();
	return (Datum) 0;
}
