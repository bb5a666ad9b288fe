/*
 * carry_constraints.cpp — constraints of copied columns, re-created on the
 * copies; see plan_carry_constraints in plan.hpp.
 *
 * A copy replaces its column at complete(), and the old column's constraints
 * go with it. So that the new shape keeps them, each one is added to the
 * copies NOT VALID at start under a staged name (the old one still holds the
 * old version's writes), validated by complete() before the old column goes,
 * and renamed to its own name after. Checks are the same expression with
 * the copies' columns in it; foreign keys the same reference from the
 * copies. Indexes (and the unique and primary key constraints they back)
 * are built again on the copies, online, under a staged name that complete
 * renames or turns into the constraint. Exclusion constraints, and other
 * tables' foreign keys to a copied column, are refused.
 */
#include "plan/plan.hpp"

#include "pg/error_context.hpp"
#include "pg/sql.hpp"
#include "phase/index_builds.hpp"

namespace ec {

namespace {

/* The copy replacing physical column `attnum` of the table, or NULL. */
const PlannedColumn *
copy_of(const PlannedTable *table, AttrNumber attnum)
{
	ListCell   *lc;

	foreach(lc, table->columns)
	{
		const PlannedColumn *c = (const PlannedColumn *) lfirst(lc);

		if (c->replaces != NULL && get_attnum(table->relid, c->replaces) == attnum)
			return c;
	}
	return NULL;
}

bool
is_dropped(const PlannedTable *table, const char *constraint)
{
	ListCell   *lc;

	foreach(lc, table->dropped_constraints)
		if (strcmp((const char *) lfirst(lc), constraint) == 0)
			return true;
	return false;
}

/* The first copied column among attnums, or NULL. */
const PlannedColumn *
uses_a_copy(const PlannedTable *table, const int16 *attnums, int n)
{
	for (int i = 0; i < n; i++)
		if (copy_of(table, attnums[i]) != NULL)
			return copy_of(table, attnums[i]);
	return NULL;
}

const PlannedColumn *
expression_uses_a_copy(const PlannedTable *table, Node *expr)
{
	Bitmapset  *attnos = NULL;
	int			member = -1;

	if (expr == NULL)
		return NULL;
	pull_varattnos(expr, 1, &attnos);
	while ((member = bms_next_member(attnos, member)) >= 0)
	{
		const PlannedColumn *copy = copy_of(table, (AttrNumber) (member + FirstLowInvalidHeapAttributeNumber));

		if (copy != NULL)
			return copy;
	}
	return NULL;
}

/* Node tree of a pg_index or pg_constraint expression column, or NULL. */
Node *
stored_expression(int cache, HeapTuple tuple, AttrNumber column)
{
	bool		isnull;
	Datum		value = SysCacheGetAttr(cache, tuple, column, &isnull);

	return isnull ? NULL : (Node *) stringToNode(TextDatumGetCString(value));
}

/* An expression of the table (a check, an index expression or predicate)
 * with the copies' columns mapped in, deparsed on the table. */
const char *
carried_expression_sql(const PlannedTable *table, Node *expr)
{
	Relation	rel = table_open(table->relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	AttrMap    *map = make_attrmap(desc->natts);
	bool		whole_row = false;

	for (int i = 0; i < desc->natts; i++)
	{
		const PlannedColumn *copy = copy_of(table, (AttrNumber) (i + 1));

		map->attnums[i] = copy ? get_attnum(table->relid, copy->physical) : (AttrNumber) (i + 1);
	}

	const char *sql = deparse_exactly(map_variable_attnos(expr, 1, 0, map, InvalidOid, &whole_row),
									  deparse_context_for(RelationGetRelationName(rel), table->relid),
									  false);

	table_close(rel, AccessShareLock);
	return sql;
}

/* The column or expression `k` of an index, on the copies, with its
 * collation, operator class and ordering when not the defaults. */
const char *
index_element_sql(const PlannedTable *table, Form_pg_index form, int k, List **expressions,
				  oidvector *collations, oidvector *opclasses, int2vector *options)
{
	AttrNumber	attnum = form->indkey.values[k];
	StringInfoData buf;
	Oid			type;
	Oid			default_collation;

	initStringInfo(&buf);
	if (attnum != 0)
	{
		const PlannedColumn *copy = copy_of(table, attnum);
		const char *name = copy ? copy->physical : get_attname(table->relid, attnum, false);

		appendStringInfoString(&buf, quote_identifier(name));
		type = get_atttype(table->relid, attnum);
	}
	else
	{
		Node	   *expr = (Node *) linitial(*expressions);

		*expressions = list_delete_first(*expressions);
		appendStringInfo(&buf, "(%s)", carried_expression_sql(table, expr));
		type = exprType(expr);
	}
	if (k >= form->indnkeyatts)
		return buf.data;
	default_collation = get_typcollation(type);
	if (OidIsValid(collations->values[k]) && collations->values[k] != default_collation)
		appendStringInfo(&buf, " COLLATE %s", qualified_collation_name(collations->values[k]));

	HeapTuple	opc = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclasses->values[k]));
	Form_pg_opclass opclass = (Form_pg_opclass) GETSTRUCT(opc);

	bool		default_opclass = opclass->opcdefault &&
		GetDefaultOpClass(type, opclass->opcmethod) == opclasses->values[k];

	ReleaseSysCache(opc);
	if (!default_opclass)
		appendStringInfo(&buf, " %s", qualified_opclass_name(opclasses->values[k]));

	int16		option = options->values[k];
	bool		desc = (option & INDOPTION_DESC) != 0;
	bool		nulls_first = (option & INDOPTION_NULLS_FIRST) != 0;

	if (desc)
		appendStringInfoString(&buf, " DESC");
	if (nulls_first != desc)
		appendStringInfoString(&buf, nulls_first ? " NULLS FIRST" : " NULLS LAST");
	return buf.data;
}

/*
 * Re-creates an index of copied columns on the copies, online: a build
 * (index_builds.hpp) under a staged name, which complete renames to the
 * index's own name, or turns into the constraint the index backed, once the
 * old columns (and the old index with them) are gone.
 */
void
carry_index(MigrationPlan *plan, PlannedTable *table, Oid index, Oid constraint)
{
	HeapTuple	tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
	Form_pg_index form = (Form_pg_index) GETSTRUCT(tuple);
	bool		isnull;
	oidvector  *collations = (oidvector *) DatumGetPointer(
		SysCacheGetAttr(INDEXRELID, tuple, Anum_pg_index_indcollation, &isnull));
	oidvector  *opclasses = (oidvector *) DatumGetPointer(
		SysCacheGetAttr(INDEXRELID, tuple, Anum_pg_index_indclass, &isnull));
	int2vector *options = (int2vector *) DatumGetPointer(
		SysCacheGetAttr(INDEXRELID, tuple, Anum_pg_index_indoption, &isnull));
	Node	   *exprs = stored_expression(INDEXRELID, tuple, Anum_pg_index_indexprs);
	Node	   *pred = stored_expression(INDEXRELID, tuple, Anum_pg_index_indpred);
	List	   *expressions = exprs ? (List *) exprs : NIL;
	const char *name = get_rel_name(index);
	const char *table_sql = qname(plan->schema, table->physical_name);
	StringInfoData keys;
	StringInfoData include;

	initStringInfo(&keys);
	initStringInfo(&include);
	for (int k = 0; k < form->indnatts; k++)
	{
		StringInfo	list = k < form->indnkeyatts ? &keys : &include;

		appendStringInfo(list, "%s%s", list->len > 0 ? ", " : "",
						 index_element_sql(table, form, k, &expressions, collations, opclasses, options));
	}

	bool		unique = form->indisunique;
	bool		nulls_not_distinct = form->indnullsnotdistinct;

	ReleaseSysCache(tuple);

	HeapTuple	rel_tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(index));
	Form_pg_class index_class = (Form_pg_class) GETSTRUCT(rel_tuple);
	Datum		reloptions = SysCacheGetAttr(RELOID, rel_tuple, Anum_pg_class_reloptions, &isnull);
	const char *with = NULL;
	const char *am = get_am_name(index_class->relam);
	Oid			tablespace = index_class->reltablespace;

	if (!isnull)
	{
		/* "name=value" items, rebuilt quoted. */
		ArrayType  *array = DatumGetArrayTypeP(reloptions);
		Datum	   *items;
		int			n;
		StringInfoData list;

		deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &items, NULL, &n);
		initStringInfo(&list);
		for (int i = 0; i < n; i++)
			appendStringInfo(&list, "%s%s", i > 0 ? ", " : "", TextDatumGetCString(items[i]));
		with = storage_parameters_sql(list.data, "index storage parameters");
	}
	ReleaseSysCache(rel_tuple);

	const char *staged = plan_staged_relation_name(plan, EC_PREFIX "i_", name);

	plan_index_build_staged(plan, table, staged,
							IndexDefinition{unique, psprintf("USING %s (%s)%s%s%s%s%s%s%s%s", am, keys.data,
									 include.len > 0 ? " INCLUDE (" : "", include.data,
									 include.len > 0 ? ")" : "",
									 nulls_not_distinct ? " NULLS NOT DISTINCT" : "",
									 with ? psprintf(" WITH (%s)", with) : "",
									 OidIsValid(tablespace) ? psprintf(" TABLESPACE %s",
																	   qi(get_tablespace_name(tablespace))) : "",
									 pred ? " WHERE " : "",
									 pred ? carried_expression_sql(table, pred) : ""),
											OidIsValid(constraint), name});
	if (!OidIsValid(constraint))
	{
		plan->complete_ddl = lappend(plan->complete_ddl,
									 psprintf("ALTER INDEX %s RENAME TO %s", qname(plan->schema, staged), qi(name)));
		return;
	}

	HeapTuple	con_tuple = SearchSysCache1(CONSTROID, ObjectIdGetDatum(constraint));
	Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(con_tuple);
	const char *kind = con->contype == CONSTRAINT_PRIMARY ? "PRIMARY KEY" : "UNIQUE";
	const char *deferrable = !con->condeferrable ? ""
		: con->condeferred ? " DEFERRABLE INITIALLY DEFERRED" : " DEFERRABLE";
	const char *conname = pstrdup(NameStr(con->conname));
	char		contype = con->contype;

	ReleaseSysCache(con_tuple);
	if (contype != CONSTRAINT_PRIMARY && contype != CONSTRAINT_UNIQUE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("constraint \"%s\" of table \"%s\" cannot be carried over to copied columns yet",
						conname, table->name)));
	/* Named first, so that ADD CONSTRAINT need not rename it (and say so). */
	plan->complete_ddl = lappend(plan->complete_ddl,
								 psprintf("ALTER INDEX %s RENAME TO %s", qname(plan->schema, staged), qi(conname)));
	plan->complete_ddl = lappend(plan->complete_ddl,
								 psprintf("ALTER TABLE %s ADD CONSTRAINT %s %s USING INDEX %s%s", table_sql,
										  qi(conname), kind, qi(conname), deferrable));
}

/* Indexes that use a copied column (and no dropped constraint owns), carried
 * over to the copies. */
void
carry_indexes(MigrationPlan *plan, PlannedTable *table)
{
	Relation	rel = table_open(table->relid, AccessShareLock);
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;

	table_close(rel, AccessShareLock);
	foreach(lc, indexes)
	{
		Oid			index = lfirst_oid(lc);
		HeapTuple	tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));

		if (!HeapTupleIsValid(tuple))
			continue;

		Form_pg_index form = (Form_pg_index) GETSTRUCT(tuple);
		const PlannedColumn *uses = uses_a_copy(table, form->indkey.values, form->indnatts);

		uses = uses ? uses : expression_uses_a_copy(table, stored_expression(INDEXRELID, tuple, Anum_pg_index_indexprs));
		uses = uses ? uses : expression_uses_a_copy(table, stored_expression(INDEXRELID, tuple, Anum_pg_index_indpred));
		ReleaseSysCache(tuple);

		Oid			constraint = get_index_constraint(index);

		if (uses && !(OidIsValid(constraint) && is_dropped(table, get_constraint_name(constraint))))
			with_error_prefix(uses->copied_by, NULL, [&]() { carry_index(plan, table, index, constraint); });
	}
}

/* A constraint's array of column numbers (conkey or confkey). */
const int16 *
constraint_attnums(HeapTuple tuple, AttrNumber column, int *n)
{
	bool		isnull;
	Datum		keys = SysCacheGetAttr(CONSTROID, tuple, column, &isnull);
	ArrayType  *array = isnull ? NULL : DatumGetArrayTypeP(keys);

	*n = array ? ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array)) : 0;
	return array ? (const int16 *) ARR_DATA_PTR(array) : NULL;
}

/* Foreign keys (of other tables, or the table's own) to a copied column. */
void
refuse_references_to_copies(MigrationPlan *plan, const PlannedTable *table)
{
	const char *args[] = {psprintf("%u", table->relid)};
	List	   *rows = sql_rows("SELECT oid FROM pg_catalog.pg_constraint "
								"WHERE confrelid = $1::pg_catalog.oid AND contype = 'f'", 1, args);
	ListCell   *lc;

	foreach(lc, rows)
	{
		Oid			oid = (Oid) strtoul(((char **) lfirst(lc))[0], NULL, 10);
		HeapTuple	tuple = SearchSysCache1(CONSTROID, ObjectIdGetDatum(oid));

		if (!HeapTupleIsValid(tuple))
			continue;

		Form_pg_constraint form = (Form_pg_constraint) GETSTRUCT(tuple);
		const char *name = pstrdup(NameStr(form->conname));
		Oid			referrer = form->conrelid;
		int			n;
		const int16 *attnums = constraint_attnums(tuple, Anum_pg_constraint_confkey, &n);
		const PlannedColumn *uses = uses_a_copy(table, attnums, n);

		ReleaseSysCache(tuple);
		if (uses != NULL && !(referrer == table->relid && is_dropped(table, name)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s: foreign key \"%s\" of table \"%s\" references column \"%s\" of \"%s\", "
							"which this operation copies", uses->copied_by, name, get_rel_name(referrer),
							uses->replaces, table->name),
					 errdetail("The copy would need a unique index built online, which is not supported yet.")));
	}
}

/* The check's expression with the copies in place of their columns. */
const char *
carried_check_sql(const PlannedTable *table, HeapTuple tuple)
{
	return carried_expression_sql(table, stored_expression(CONSTROID, tuple, Anum_pg_constraint_conbin));
}

/* The foreign key's definition with the copies in place of its columns: its
 * own text (pg_get_constraintdef) after the column list. */
const char *
carried_foreign_key_sql(const PlannedTable *table, Oid constraint, const int16 *attnums, int n)
{
	StringInfoData old_columns;
	StringInfoData new_columns;

	initStringInfo(&old_columns);
	initStringInfo(&new_columns);
	for (int i = 0; i < n; i++)
	{
		const PlannedColumn *copy = copy_of(table, attnums[i]);
		const char *old_name = get_attname(table->relid, attnums[i], false);

		appendStringInfo(&old_columns, "%s%s", i > 0 ? ", " : "", quote_identifier(old_name));
		appendStringInfo(&new_columns, "%s%s", i > 0 ? ", " : "",
						 quote_identifier(copy ? copy->physical : old_name));
	}

	const char *definition = TextDatumGetCString(
		DirectFunctionCall1(pg_get_constraintdef, ObjectIdGetDatum(constraint)));
	const char *prefix = psprintf("FOREIGN KEY (%s) ", old_columns.data);

	if (strncmp(definition, prefix, strlen(prefix)) != 0 || strstr(definition, " SET NULL (") ||
		strstr(definition, " SET DEFAULT ("))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s: foreign key \"%s\" of table \"%s\" cannot be carried over to the copied columns",
						uses_a_copy(table, attnums, n)->copied_by, get_constraint_name(constraint),
						table->name)));
	return psprintf("FOREIGN KEY (%s) %s", new_columns.data, definition + strlen(prefix));
}

void
carry_table_constraints(MigrationPlan *plan, PlannedTable *table)
{
	const char *table_sql = qname(plan->schema, table->physical_name);
	const char *args[] = {psprintf("%u", table->relid)};
	List	   *constraints = sql_rows("SELECT oid FROM pg_catalog.pg_constraint "
									   "WHERE conrelid = $1::pg_catalog.oid ORDER BY conname", 1, args);
	ListCell   *lc;

	carry_indexes(plan, table);
	refuse_references_to_copies(plan, table);
	foreach(lc, constraints)
	{
		Oid			oid = (Oid) strtoul(((char **) lfirst(lc))[0], NULL, 10);
		HeapTuple	tuple = SearchSysCache1(CONSTROID, ObjectIdGetDatum(oid));
		Form_pg_constraint form = (Form_pg_constraint) GETSTRUCT(tuple);
		const char *name = pstrdup(NameStr(form->conname));
		int			n;
		const int16 *attnums = constraint_attnums(tuple, Anum_pg_constraint_conkey, &n);
		const char *definition = NULL;

		/* The extension's own (NOT NULL stand-ins of copies) and the index
		 * kinds (refused above unless dropped) are not carried. */
		if (strncmp(name, EC_PREFIX, strlen(EC_PREFIX)) != 0 && !is_dropped(table, name) &&
			uses_a_copy(table, attnums, n))
		{
			if (form->contype == CONSTRAINT_CHECK)
				definition = psprintf("CHECK (%s)%s", carried_check_sql(table, tuple),
									  form->connoinherit ? " NO INHERIT" : "");
			else if (form->contype == CONSTRAINT_FOREIGN)
				definition = carried_foreign_key_sql(table, oid, attnums, n);
		}
		ReleaseSysCache(tuple);
		if (definition == NULL)
			continue;

		const char *staged = plan_carried_constraint_name(table, name);
		const char **names = (const char **) palloc(2 * sizeof(char *));

		sql_execf("ALTER TABLE %s ADD CONSTRAINT %s %s NOT VALID", table_sql, qi(staged), definition);
		names[0] = staged;
		names[1] = name;
		table->carried_constraints = lappend(table->carried_constraints, names);
		table->checks_to_validate = lappend(table->checks_to_validate, (void *) staged);
	}
}

} // namespace

void
plan_carry_constraints(MigrationPlan *plan)
{
	ListCell   *lc;

	foreach(lc, plan->tables)
	{
		PlannedTable *table = (PlannedTable *) lfirst(lc);
		bool		copies = false;
		ListCell   *cc;

		foreach(cc, table->columns)
			copies = copies || ((PlannedColumn *) lfirst(cc))->replaces != NULL;
		if (!table->created && table->name != NULL && copies)
			carry_table_constraints(plan, table);
	}
}

} // namespace ec
