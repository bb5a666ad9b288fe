/*
 * plan.cpp — the migration plan's lookups and the DDL steps derived from it;
 * see plan.hpp.
 */
#include "plan/plan.hpp"

#include "plan/distributed_tables.hpp"

#include "pg/sql.hpp"

namespace ec {

namespace {

PlannedColumn *
new_planned_column(const char *name)
{
	PlannedColumn *column = (PlannedColumn *) palloc0(sizeof(PlannedColumn));

	column->name = pstrdup(name);
	column->physical = column->name;
	return column;
}

bool
is_table_kind(char relkind)
{
	return relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE;
}

} // namespace

/* A table's user columns are its old shape and, until operations change them,
 * its new shape too. */
PlannedTable *
plan_describe_table(Oid relid, const char *name)
{
	PlannedTable *table = (PlannedTable *) palloc0(sizeof(PlannedTable));
	Relation	rel = relation_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);

	table->relid = relid;
	table->physical_name = pstrdup(name);
	table->name = table->physical_name;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *attname = NameStr(att->attname);

		if (att->attisdropped || strncmp(attname, EC_PREFIX, strlen(EC_PREFIX)) == 0)
			continue;
		table->old_columns = lappend(table->old_columns, pstrdup(attname));
		table->columns = lappend(table->columns, new_planned_column(attname));
	}
	relation_close(rel, AccessShareLock);
	return table;
}

bool
plan_has_table(MigrationPlan *plan, const char *name)
{
	ListCell   *lc;

	foreach(lc, plan->tables)
	{
		PlannedTable *t = (PlannedTable *) lfirst(lc);

		if (t->name != NULL && strcmp(t->name, name) == 0)
			return true;
	}
	foreach(lc, plan->tables)
	{
		PlannedTable *t = (PlannedTable *) lfirst(lc);

		if (strcmp(t->physical_name, name) == 0)
			return false;		/* renamed away or dropped in the new version */
	}
	return OidIsValid(get_relname_relid(name, plan->schema_oid));
}

PlannedTable *
plan_table(MigrationPlan *plan, const char *name)
{
	ListCell   *lc;

	foreach(lc, plan->tables)
	{
		PlannedTable *t = (PlannedTable *) lfirst(lc);

		if (t->name != NULL && strcmp(t->name, name) == 0)
			return t;
	}

	Oid			relid = InvalidOid;
	bool		gone = false;

	foreach(lc, plan->tables)
		gone = gone || strcmp(((PlannedTable *) lfirst(lc))->physical_name, name) == 0;
	if (!gone)
		relid = get_relname_relid(name, plan->schema_oid);
	if (!OidIsValid(relid) || !is_table_kind(get_rel_relkind(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table \"%s\" does not exist in schema \"%s\"", name, plan->schema)));
	if (!pg_class_ownercheck(relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", name)));
	refuse_distributed_table(relid, plan->schema, name);

	PlannedTable *table = plan_describe_table(relid, name);

	table->first_operation = plan->operation;
	plan->tables = lappend(plan->tables, table);
	return table;
}

PlannedTable *
plan_table_of(MigrationPlan *plan, Oid relid)
{
	ListCell   *lc;

	foreach(lc, plan->tables)
	{
		PlannedTable *t = (PlannedTable *) lfirst(lc);

		if (t->relid == relid)
		{
			if (t->name == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_TABLE),
						 errmsg("table \"%s\" is dropped by this migration", t->physical_name)));
			return t;
		}
	}
	return plan_table(plan, get_rel_name(relid));
}

PlannedTable *
plan_created_table(MigrationPlan *plan, const char *name, const char *physical)
{
	Oid			relid = get_relname_relid(physical, plan->schema_oid);
	PlannedTable *table = plan_describe_table(relid, physical);

	table->name = pstrdup(name);
	table->created = true;
	table->first_operation = plan->operation;
	plan->tables = lappend(plan->tables, table);
	return table;
}

PlannedColumn *
plan_find_column(PlannedTable *table, const char *name)
{
	ListCell   *lc;

	foreach(lc, table->columns)
	{
		PlannedColumn *c = (PlannedColumn *) lfirst(lc);

		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

PlannedColumn *
plan_column(MigrationPlan *plan, PlannedTable *table, const char *name)
{
	PlannedColumn *column = plan_find_column(table, name);

	if (column == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist in table \"%s\"", name, table->name)));
	return column;
}

void
plan_check_new_column_name(MigrationPlan *plan, PlannedTable *table, const char *name)
{
	if (plan_find_column(table, name) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_COLUMN),
				 errmsg("column \"%s\" already exists in table \"%s\"", name, table->name)));
	if (strncmp(name, EC_PREFIX, strlen(EC_PREFIX)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_RESERVED_NAME),
				 errmsg("column name \"%s\" uses the prefix \"%s\" reserved by expand_contract",
						name, EC_PREFIX)));
}

/*
 * prefix + name, shortened to fit a name: the name is cut (at a character
 * boundary) and a hash of the whole of it keeps cut names apart. `attempt` > 0
 * adds a counter for a name that is taken.
 */
static const char *
staged_name(const char *prefix, const char *name, int attempt)
{
	const char *counter = attempt > 0 ? psprintf("%d_", attempt) : "";
	const char *whole = psprintf("%s%s%s", prefix, counter, name);

	if (strlen(whole) < NAMEDATALEN)
		return whole;

	const char *hash = psprintf("_%08x", (uint32) hash_bytes((const unsigned char *) name, strlen(name)));
	int			room = NAMEDATALEN - 1 - (int) (strlen(prefix) + strlen(counter) + strlen(hash));
	int			kept = pg_mbcliplen(name, strlen(name), room);

	return psprintf("%s%s%.*s%s", prefix, counter, kept, name, hash);
}

const char *
plan_staged_relation_name(MigrationPlan *plan, const char *prefix, const char *name)
{
	for (int attempt = 0;; attempt++)
	{
		const char *candidate = staged_name(prefix, name, attempt);

		if (!OidIsValid(get_relname_relid(candidate, plan->schema_oid)))
			return candidate;
	}
}

const char *
plan_new_table_physical_name(MigrationPlan *plan, const char *name)
{
	return OidIsValid(get_relname_relid(name, plan->schema_oid))
		? plan_staged_relation_name(plan, EC_PREFIX "t_", name) : name;
}

const char *
plan_new_physical_column(MigrationPlan *plan, PlannedTable *table, const char *name)
{
	for (int attempt = 0;; attempt++)
	{
		const char *candidate = staged_name(EC_PREFIX "new_", name, attempt);

		if (get_attnum(table->relid, candidate) == InvalidAttrNumber)
			return candidate;
	}
}

const char *
plan_not_null_check_name(PlannedTable *table, const char *column)
{
	for (int attempt = 0;; attempt++)
	{
		const char *candidate = staged_name(EC_PREFIX "nn_", column, attempt);

		if (!OidIsValid(get_relation_constraint_oid(table->relid, candidate, true)))
			return candidate;
	}
}

const char *
plan_carried_constraint_name(PlannedTable *table, const char *constraint)
{
	for (int attempt = 0;; attempt++)
	{
		const char *candidate = staged_name(EC_PREFIX "c_", constraint, attempt);

		if (!OidIsValid(get_relation_constraint_oid(table->relid, candidate, true)))
			return candidate;
	}
}

void
plan_add_sync(PlannedTable *table, SyncDirection direction, const char *target,
			  const char *expression, const char *origin)
{
	SyncColumn *sync = (SyncColumn *) palloc0(sizeof(SyncColumn));

	sync->direction = direction;
	sync->target = target;
	sync->expression = expression;
	sync->origin = origin;
	table->syncs = lappend(table->syncs, sync);
}

void
plan_add_identity_sync(PlannedTable *table, SyncDirection direction, const char *target,
					   const PlannedColumn *column, const char *origin)
{
	plan_add_sync(table, direction, target, NULL, origin);
	((SyncColumn *) llast(table->syncs))->identity_of = column;
}

static PlannedTable *
planned_by_new_name(MigrationPlan *plan, const char *name)
{
	ListCell   *lc;

	foreach(lc, plan->tables)
	{
		PlannedTable *t = (PlannedTable *) lfirst(lc);

		if (t->name != NULL && strcmp(t->name, name) == 0)
			return t;
	}
	return NULL;
}

const char *
plan_referenced_table_sql(MigrationPlan *plan, const char *name)
{
	PlannedTable *t = planned_by_new_name(plan, name);

	return qname(plan->schema, t ? t->physical_name : name);
}

const char *
plan_referenced_columns_sql(MigrationPlan *plan, const char *table, List *columns)
{
	PlannedTable *t = planned_by_new_name(plan, table);
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, columns)
	{
		const char *name = (const char *) lfirst(lc);
		PlannedColumn *c = t ? plan_find_column(t, name) : NULL;

		appendStringInfo(&buf, "%s%s", foreach_current_index(lc) > 0 ? ", " : "",
						 qi(c ? c->physical : name));
	}
	return buf.data;
}

/* One value about column `column` of relid, from pg_attribute `a` (and its
 * default `d`, when the query needs it), or NULL. */
static const char *
attribute_value(Oid relid, const char *column, const char *value_sql, bool with_default)
{
	const char *args[] = {psprintf("%u", relid), column};

	return sql_value(psprintf("SELECT %s FROM pg_catalog.pg_attribute a %s"
							  "WHERE a.attrelid = $1::pg_catalog.oid AND a.attname = $2",
							  value_sql,
							  with_default ? "JOIN pg_catalog.pg_attrdef d "
							  "ON d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.attgenerated = '' " : ""),
					 2, args);
}

FormData_pg_attribute
column_attribute(Oid relid, const char *column)
{
	HeapTuple	tuple = SearchSysCacheAttName(relid, column);
	FormData_pg_attribute attribute;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "expand_contract: column \"%s\" of relation %u vanished", column, relid);
	memcpy(&attribute, GETSTRUCT(tuple), ATTRIBUTE_FIXED_PART_SIZE);
	ReleaseSysCache(tuple);
	return attribute;
}

const char *
column_default_sql(Oid relid, const char *column)
{
	return attribute_value(relid, column, "pg_catalog.pg_get_expr(d.adbin, d.adrelid)", true);
}

const char *
column_comment(Oid relid, const char *column)
{
	return attribute_value(relid, column, "pg_catalog.col_description(a.attrelid, a.attnum)", false);
}

List *
plan_storage_tables(const MigrationPlan *plan, const PlannedTable *table)
{
	if (get_rel_relkind(table->relid) != RELKIND_PARTITIONED_TABLE)
		return list_make1_oid(table->relid);

	List	   *leaves = NIL;
	ListCell   *lc;

	foreach(lc, find_all_inheritors(table->relid, AccessShareLock, NULL))
	{
		Oid			leaf = lfirst_oid(lc);

		if (get_rel_relkind(leaf) == RELKIND_PARTITIONED_TABLE)
			continue;
		if (get_rel_relkind(leaf) == RELKIND_FOREIGN_TABLE)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("partition \"%s\" of table \"%s\" is a foreign table, which the migration "
							"cannot change", get_rel_name(leaf), table->physical_name)));
		if (get_rel_namespace(leaf) != plan->schema_oid)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("partition \"%s\" of table \"%s\" is in schema \"%s\"", get_rel_name(leaf),
							table->physical_name, get_namespace_name(get_rel_namespace(leaf))),
					 errdetail("The backfill and index builds keep their state by partition, in the "
							   "migration's schema.")));
		leaves = lappend_oid(leaves, leaf);
	}
	return leaves;
}

bool
plan_has_sync_trigger(const PlannedTable *table)
{
	/* A table the new version drops keeps no trigger: complete() drops it. */
	return table->syncs != NIL && table->name != NULL;
}

bool
plan_has_backfill_marker(const PlannedTable *table)
{
	/* Every synced table has one: besides marking rows to backfill, it is
	 * what tells a statement-level sync from the trigger (statement_sync). */
	return plan_has_sync_trigger(table);
}

bool
plan_needs_backfill(const PlannedTable *table)
{
	ListCell   *lc;

	if (!plan_has_sync_trigger(table))
		return false;
	foreach(lc, table->syncs)
		if (((SyncColumn *) lfirst(lc))->direction == SyncDirection::Up)
			return true;
	return false;
}

/* Statements (char *) as steps of one kind. */
static List *
as_steps(List *statements, bool user_sql);

List *
plan_ddl_steps(List *statements)
{
	return as_steps(statements, false);
}

static List *
as_steps(List *statements, bool user_sql)
{
	List	   *steps = NIL;
	ListCell   *lc;

	foreach(lc, statements)
	{
		PlannedStep *step = (PlannedStep *) palloc(sizeof(PlannedStep));

		step->user_sql = user_sql;
		step->statement = (const char *) lfirst(lc);
		steps = lappend(steps, step);
	}
	return steps;
}

/* Renames physical columns to their final names. Goes through temporary
 * names when one column's final name is another's current one (a swap). */
static List *
rename_steps(const char *table_sql, PlannedTable *table)
{
	List	   *steps = NIL;
	List	   *renamed = NIL;
	bool		collides = false;
	ListCell   *lc;
	ListCell   *other;

	foreach(lc, table->columns)
	{
		PlannedColumn *c = (PlannedColumn *) lfirst(lc);

		if (strcmp(c->physical, c->name) == 0)
			continue;
		renamed = lappend(renamed, c);
		foreach(other, table->columns)
			collides = collides || strcmp(((PlannedColumn *) lfirst(other))->physical, c->name) == 0;
	}
	foreach(lc, renamed)
	{
		PlannedColumn *c = (PlannedColumn *) lfirst(lc);
		const char *to = collides ? psprintf(EC_PREFIX "rename_%d", foreach_current_index(lc)) : c->name;

		steps = lappend(steps, psprintf("ALTER TABLE %s RENAME COLUMN %s TO %s",
										table_sql, qi(c->physical), qi(to)));
	}
	if (collides)
	{
		foreach(lc, renamed)
		{
			PlannedColumn *c = (PlannedColumn *) lfirst(lc);

			steps = lappend(steps, psprintf("ALTER TABLE %s RENAME COLUMN %s TO %s", table_sql,
											qi(psprintf(EC_PREFIX "rename_%d", foreach_current_index(lc))),
											qi(c->name)));
		}
	}
	return steps;
}

Shape
plan_up_shape(const PlannedTable *table)
{
	Shape		shape = old_shape(table->old_columns);
	ListCell   *lc;

	shape.names = list_copy(shape.names);
	shape.physical = list_copy(shape.physical);
	foreach(lc, table->columns)
	{
		const PlannedColumn *c = (const PlannedColumn *) lfirst(lc);
		const char *old_physical = c->replaces ? c->replaces : c->added ? NULL : c->physical;
		bool		taken = false;
		ListCell   *nc;

		if (old_physical == NULL || strcmp(c->name, old_physical) == 0)
			continue;
		/* An old column of that name wins: the old version's own names first. */
		foreach(nc, shape.names)
			taken = taken || strcmp((const char *) lfirst(nc), c->name) == 0;
		if (!taken)
		{
			shape.names = lappend(shape.names, (void *) c->name);
			shape.physical = lappend(shape.physical, (void *) old_physical);
		}
	}
	return shape;
}

void
plan_refuse_column_dependents(MigrationPlan *plan, const PlannedTable *table, const char *column,
							  const char *what)
{
	AttrNumber	attnum = get_attnum(table->relid, column);

	if (get_rel_relkind(table->relid) == RELKIND_PARTITIONED_TABLE)
	{
		Relation	rel = relation_open(table->relid, AccessShareLock);
		bool		in_expression;
		bool		in_key = has_partition_attrs(rel, bms_make_singleton(attnum - FirstLowInvalidHeapAttributeNumber),
												 &in_expression);

		relation_close(rel, AccessShareLock);
		if (in_key)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot %s column \"%s\" of table \"%s\": it is in the partition key",
							what, column, table->name),
					 errdetail("complete() would drop the old column, which PostgreSQL refuses for a "
							   "partition key column.")));
	}

	const char *args[] = {psprintf("%u", table->relid), psprintf("%d", (int) attnum),
						  plan->previous_version_schema ? plan->previous_version_schema : ""};
	/* Normal dependencies stop DROP COLUMN, but not the table's own
	 * constraints (they go with the column, or are carried to its copy);
	 * the previous version's views go before the columns at complete. */
	const char *dependents = sql_value(
		"SELECT pg_catalog.string_agg(DISTINCT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid), ', ') "
		"FROM pg_catalog.pg_depend d "
		"WHERE d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = $1::pg_catalog.oid "
		"  AND d.refobjsubid = $2::integer AND d.deptype = 'n' "
		"  AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint c "
		"                  WHERE d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass AND c.oid = d.objid "
		"                    AND c.conrelid = $1::pg_catalog.oid) "
		"  AND NOT EXISTS (SELECT FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class v ON v.oid = r.ev_class "
		"                  JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace "
		"                  WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND r.oid = d.objid "
		"                    AND n.nspname = $3)",
		3, args);

	if (dependents != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot %s column \"%s\" of table \"%s\": %s depend on it", what, column,
						table->name, dependents),
				 errdetail("complete() drops the old column, and these would stop it."),
				 errhint("Drop or change them first (or in an earlier migration's sql operation).")));
}

void
plan_add_first_rollback_ddl(MigrationPlan *plan, const char *ddl)
{
	plan->first_rollback_ddl = lappend(plan->first_rollback_ddl, (void *) ddl);
}

void
plan_add_rollback_ddl(MigrationPlan *plan, const char *ddl)
{
	RollbackSql *r = (RollbackSql *) palloc(sizeof(RollbackSql));

	r->operation = plan->operation;
	r->sql = ddl;
	plan->rollback_ddl = lappend(plan->rollback_ddl, r);
}

List *
plan_complete_steps(MigrationPlan *plan)
{
	List	   *validate = NIL;		/* prove what the new shape requires first */
	List	   *unsync = NIL;		/* triggers and markers go before columns they use */
	List	   *drops = NIL;
	List	   *renames = NIL;
	List	   *finish = NIL;		/* NOT NULL, defaults, comments by final name */
	List	   *table_drops = NIL;	/* dropped before renames free their names */
	List	   *table_renames = NIL;
	List	   *renamed_tables = NIL;
	bool		table_names_collide = false;
	ListCell   *lc;
	ListCell   *cc;

	foreach(lc, plan->tables)
	{
		PlannedTable *t = (PlannedTable *) lfirst(lc);
		const char *tq = qname(plan->schema, t->physical_name);

		if (t->name == NULL)
		{
			table_drops = lappend(table_drops, psprintf("DROP TABLE %s", tq));
			continue;
		}
		foreach(cc, t->checks_to_validate)
			validate = lappend(validate, psprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s",
												  tq, qi((const char *) lfirst(cc))));
		if (plan_has_sync_trigger(t))
			unsync = lappend(unsync, psprintf("DROP TRIGGER %s ON %s", qi(kSyncTriggerName), tq));
		if (plan_has_backfill_marker(t))
			unsync = lappend(unsync, psprintf("ALTER TABLE %s DROP COLUMN %s", tq, qi(kBackfillMarker)));
		foreach(cc, t->dropped_columns)
			drops = lappend(drops, psprintf("ALTER TABLE %s DROP COLUMN %s",
											tq, qi((const char *) lfirst(cc))));
		foreach(cc, t->columns)
		{
			PlannedColumn *c = (PlannedColumn *) lfirst(cc);

			if (c->replaces != NULL)
				drops = lappend(drops, psprintf("ALTER TABLE %s DROP COLUMN %s", tq, qi(c->replaces)));
			if (c->not_null_check != NULL)
			{
				validate = lappend(validate, psprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s",
													  tq, qi(c->not_null_check)));
				/* SET NOT NULL skips its table scan thanks to the validated check. */
				finish = lappend(finish, psprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL",
												  tq, qi(c->name)));
				finish = lappend(finish, psprintf("ALTER TABLE %s DROP CONSTRAINT %s",
												  tq, qi(c->not_null_check)));
			}
			if (c->default_changed)
				finish = lappend(finish, c->new_default
								 ? psprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s",
											tq, qi(c->name), c->new_default)
								 : psprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT",
											tq, qi(c->name)));
			if (c->comment_changed)
				finish = lappend(finish, psprintf("COMMENT ON COLUMN %s.%s IS %s", tq, qi(c->name),
												  c->new_comment ? ql(c->new_comment) : "NULL"));
		}
		foreach(cc, t->carried_constraints)
		{
			const char *const *names = (const char *const *) lfirst(cc);

			finish = lappend(finish, psprintf("ALTER TABLE %s RENAME CONSTRAINT %s TO %s",
											  tq, qi(names[0]), qi(names[1])));
		}
		renames = list_concat(renames, rename_steps(tq, t));
		if (strcmp(t->name, t->physical_name) != 0)
			renamed_tables = lappend(renamed_tables, t);
	}

	/* A table may take the name another one gives up (a swap): then every
	 * renamed table goes through a temporary name first. */
	foreach(lc, renamed_tables)
	{
		PlannedTable *t = (PlannedTable *) lfirst(lc);

		foreach(cc, plan->tables)
		{
			PlannedTable *other = (PlannedTable *) lfirst(cc);

			table_names_collide = table_names_collide ||
				(other != t && other->name != NULL && strcmp(other->physical_name, t->name) == 0);
		}
	}
	foreach(lc, renamed_tables)
	{
		PlannedTable *t = (PlannedTable *) lfirst(lc);
		const char *to = table_names_collide
			? psprintf(EC_PREFIX "rename_table_%d", foreach_current_index(lc)) : t->name;

		table_renames = lappend(table_renames, psprintf("ALTER TABLE %s RENAME TO %s",
														qname(plan->schema, t->physical_name), qi(to)));
	}
	if (table_names_collide)
	{
		foreach(lc, renamed_tables)
			table_renames = lappend(table_renames, psprintf(
				"ALTER TABLE %s RENAME TO %s",
				qname(plan->schema, psprintf(EC_PREFIX "rename_table_%d", foreach_current_index(lc))),
				qi(((PlannedTable *) lfirst(lc))->name)));
	}
	finish = list_concat(finish, list_copy(plan->complete_ddl));
	unsync = list_concat(unsync, list_copy(plan->complete_prepare_ddl));

	List	   *ddl = list_concat(list_concat(list_concat(validate, unsync), list_concat(drops, renames)),
									  list_concat(finish, list_concat(table_drops, table_renames)));

	ddl = list_concat(ddl, list_copy(plan->complete_last_ddl));

	return list_concat(as_steps(ddl, false), as_steps(plan->on_complete_sql, true));
}

/* What undoes a table's changes: all of them at the position of the operation
 * that first touched it. */
static List *
table_undo_steps(MigrationPlan *plan, PlannedTable *t)
{
	const char *tq = qname(plan->schema, t->physical_name);
	List	   *steps = NIL;
	ListCell   *cc;

	if (t->created)
		return list_make1(psprintf("DROP TABLE %s", tq));
	if (plan_has_sync_trigger(t))
		steps = lappend(steps, psprintf("DROP TRIGGER %s ON %s", qi(kSyncTriggerName), tq));
	if (plan_has_backfill_marker(t))
		steps = lappend(steps, psprintf("ALTER TABLE %s DROP COLUMN %s", tq, qi(kBackfillMarker)));
	foreach(cc, t->columns)
	{
		PlannedColumn *c = (PlannedColumn *) lfirst(cc);

		if (c->added)
			steps = lappend(steps, psprintf("ALTER TABLE %s DROP COLUMN %s", tq, qi(c->physical)));
	}
	return steps;
}

/* Undoes operations newest first: an sql "down" runs after what later
 * operations did to the tables it made, and before what earlier ones did. */
List *
plan_rollback_steps(MigrationPlan *plan)
{
	List	   *steps = as_steps(list_copy(plan->first_rollback_ddl), false);

	for (int op = plan->operation; op >= 1; op--)
	{
		ListCell   *lc;

		foreach(lc, plan->rollback_sql)
		{
			RollbackSql *r = (RollbackSql *) lfirst(lc);

			if (r->operation == op)
				steps = list_concat(steps, as_steps(list_make1((void *) r->sql), true));
		}
		foreach(lc, plan->tables)
		{
			PlannedTable *t = (PlannedTable *) lfirst(lc);

			if (t->first_operation == op)
				steps = list_concat(steps, as_steps(table_undo_steps(plan, t), false));
		}
	}
	for (int op = plan->operation; op >= 1; op--)
	{
		ListCell   *lc;

		foreach(lc, plan->rollback_ddl)
		{
			RollbackSql *r = (RollbackSql *) lfirst(lc);

			if (r->operation == op)
				steps = list_concat(steps, as_steps(list_make1((void *) r->sql), false));
		}
	}
	return steps;
}

} // namespace ec
