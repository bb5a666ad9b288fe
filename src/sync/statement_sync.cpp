/*
 * statement_sync.cpp — synced columns computed inside UPDATE plans; see
 * statement_sync.hpp.
 */
#include "sync/statement_sync.hpp"

#include "boundary.hpp"
#include "plan/plan.hpp"
#include "sync/trigger_engine.hpp"
#include "sync/version_activity.hpp"

extern "C" PlannedStmt *ec_planner(Query *parse, const char *query_string, int cursor_options,
								   ParamListInfo bound_params);
extern "C" void ec_executor_start(QueryDesc *query, int eflags);
extern "C" void ec_executor_run_with_sync_context(QueryDesc *query, ScanDirection direction, uint64 count,
								bool execute_once);

namespace ec {

namespace {

planner_hook_type previous_planner = NULL;
ExecutorStart_hook_type previous_executor_start = NULL;
ExecutorRun_hook_type previous_executor_run = NULL;

AttrNumber
attnum_of(TupleDesc desc, const char *name)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	return InvalidAttrNumber;
}

/* The statement's writes can be computed in its plan only when our trigger
 * is the table's sole BEFORE UPDATE row trigger (others could change the row
 * after us) and no expression needs a subquery plan of its own. */
bool
plannable(const SyncSpec *spec, Relation rel)
{
	TriggerDesc *triggers = rel->trigdesc;
	ListCell   *lc;

	if (spec->marker == InvalidAttrNumber)
		return false;
	for (int i = 0; i < triggers->numtriggers; i++)
	{
		Trigger    *t = &triggers->triggers[i];

		if (TRIGGER_TYPE_MATCHES(t->tgtype, TRIGGER_TYPE_ROW, TRIGGER_TYPE_BEFORE, TRIGGER_TYPE_UPDATE) &&
			t->tgenabled != TRIGGER_DISABLED && strcmp(t->tgname, kSyncTriggerName) != 0)
			return false;
	}
	foreach(lc, list_concat_copy(spec->ups, spec->downs))
		if (((SyncRule *) lfirst(lc))->has_subquery)
			return false;
	return true;
}

struct UpdateRewrite {
	Query *query;
	Relation rel;
	List *values;		/* the statement's own assignments */
	List *target_list;	/* what it will assign */
	Bitmapset *assigned;
};

Var *
column(const UpdateRewrite &u, AttrNumber attnum)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(u.rel), attnum - 1);

	return makeVar(u.query->resultRelation, attnum, att->atttypid, att->atttypmod,
				   att->attcollation, 0);
}

/* expr over the row as the UPDATE leaves it: each column read is the value
 * `values` assigns it, or the column itself. */
Node *
after_update(const UpdateRewrite &u, Expr *expr, List *values)
{
	Node	   *result = (Node *) copyObjectImpl(expr);
	bool		has_sublinks = false;

	ChangeVarNodes(result, 1, u.query->resultRelation, 0);
	return ReplaceVarsFromTargetList(result, u.query->resultRelation, 0,
									 rt_fetch(u.query->resultRelation, u.query->rtable), values,
									 REPLACEVARS_CHANGE_VARNO, u.query->resultRelation,
									 &has_sublinks);
}

/* What the statement assigns to attnum, or the column's current value. */
Node *
current_value(const UpdateRewrite &u, AttrNumber attnum)
{
	TargetEntry *te = get_tle_by_resno(u.values, attnum);

	return te ? (Node *) copyObjectImpl(te->expr) : (Node *) column(u, attnum);
}

/* CASE WHEN test THEN then_value ELSE else_value END */
Node *
case_when(Node *test, Node *then_value, Node *else_value)
{
	CaseWhen   *when = makeNode(CaseWhen);
	CaseExpr   *result = makeNode(CaseExpr);

	when->expr = (Expr *) test;
	when->result = (Expr *) then_value;
	when->location = -1;
	result->casetype = exprType(else_value);
	result->casecollid = exprCollation(else_value);
	result->args = list_make1(when);
	result->defresult = (Expr *) else_value;
	result->location = -1;
	return (Node *) result;
}

/* CASE WHEN marker IS NOT FALSE THEN when_unsynced ELSE otherwise END */
Node *
for_unsynced_rows(const UpdateRewrite &u, AttrNumber marker, Node *when_unsynced, Node *otherwise)
{
	BooleanTest *test = makeNode(BooleanTest);

	test->arg = (Expr *) column(u, marker);
	test->booltesttype = IS_NOT_FALSE;
	test->location = -1;
	return case_when((Node *) test, when_unsynced, otherwise);
}

/* `assigned IS NOT DISTINCT FROM` the column's value before the UPDATE, by
 * the type's equality; NULL when the type has none. */
Node *
same_as_before(const UpdateRewrite &u, Node *assigned, AttrNumber attnum)
{
	Var		   *before = column(u, attnum);
	TypeCacheEntry *type = lookup_type_cache(before->vartype, TYPECACHE_EQ_OPR);

	if (!OidIsValid(type->eq_opr))
		return NULL;

	DistinctExpr *distinct = makeNode(DistinctExpr);

	distinct->opno = type->eq_opr;
	distinct->opfuncid = get_opcode(type->eq_opr);
	distinct->opresulttype = BOOLOID;
	distinct->opretset = false;
	distinct->opcollid = InvalidOid;
	distinct->inputcollid = before->varcollid;
	distinct->args = list_make2(copyObjectImpl(assigned), before);
	distinct->location = -1;
	return (Node *) makeBoolExpr(NOT_EXPR, list_make1(distinct), -1);
}

/* Whether the statement writes every rule target back with the value it had
 * (an AND of same_as_before): a whole row saved as it was read. NULL when it
 * leaves a target out (then what it assigns is meant), assigns one a
 * volatile expression (which the test would evaluate again), or a target's
 * type has no equality. */
Node *
all_written_back(const UpdateRewrite &u, List *rules)
{
	List	   *tests = NIL;
	ListCell   *lc;

	foreach(lc, rules)
	{
		SyncRule   *r = (SyncRule *) lfirst(lc);

		if (!bms_is_member(r->target - FirstLowInvalidHeapAttributeNumber, u.assigned))
			return NULL;

		Node	   *assigned = (Node *) get_tle_by_resno(u.values, r->target)->expr;

		if (contain_volatile_functions(assigned))
			return NULL;

		Node	   *test = same_as_before(u, assigned, r->target);

		if (test == NULL)
			return NULL;
		tests = lappend(tests, test);
	}
	if (tests == NIL)
		return NULL;
	return list_length(tests) == 1 ? (Node *) linitial(tests) : (Node *) makeBoolExpr(AND_EXPR, tests, -1);
}

/* `values` with the entry for attnum now `value`. */
List *
replace_value(List *values, AttrNumber attnum, Node *value)
{
	ListCell   *lc;

	foreach(lc, values)
	{
		TargetEntry *te = (TargetEntry *) lfirst(lc);

		if (te->resno == attnum)
		{
			TargetEntry *copy = flatCopyTargetEntry(te);

			copy->expr = (Expr *) value;
			lfirst(lc) = copy;
		}
	}
	return values;
}

void
assign(UpdateRewrite &u, AttrNumber attnum, Node *value)
{
	TargetEntry *te = get_tle_by_resno(u.target_list, attnum);

	if (te != NULL)
		te->expr = (Expr *) value;
	else
		u.target_list = lappend(u.target_list,
								makeTargetEntry((Expr *) value, attnum,
												pstrdup(NameStr(TupleDescAttr(RelationGetDescr(u.rel),
																			  attnum - 1)->attname)),
												false));
}

/* `"up" rules of columns "a", "b"` for the rules in `rules`. */
void
append_rule_names(StringInfo buf, const char *direction, List *rules)
{
	ListCell   *lc;

	if (rules == NIL)
		return;
	appendStringInfo(buf, "%s\"%s\" %s ", buf->len > 0 ? " and " : "", direction,
					 list_length(rules) == 1 ? "rule of column" : "rules of columns");
	foreach(lc, rules)
		appendStringInfo(buf, "%s\"%s\"", foreach_current_index(lc) > 0 ? ", " : "",
						 ((const SyncRule *) lfirst(lc))->name);
}

/* What the error context of a planned UPDATE says of one table. */
const char *
rules_context(Relation rel, const SyncSpec *spec, bool new_version)
{
	StringInfoData rules;

	initStringInfo(&rules);
	append_rule_names(&rules, "up", spec->ups);
	if (new_version)
		append_rule_names(&rules, "down", spec->downs);
	return psprintf("UPDATE of table \"%s\" computing %s of migration \"%s\"",
					RelationGetRelationName(rel), rules.data, spec->identity.migration);
}

/* The tables whose UPDATE the statement being planned computes rules of,
 * as rules_context says it: the planner folds constants, so a rule can
 * fail while the statement is planned. */
List	   *planning_contexts = NIL;

void
planning_rules_context(void *arg)
{
	ListCell   *lc;

	foreach(lc, static_cast<List *>(arg))
		errcontext("%s", (const char *) lfirst(lc));
}

void
rewrite_update(Query *query, Relation rel, const SyncSpec *spec)
{
	UpdateRewrite u{query, rel, query->targetList, (List *) copyObjectImpl(query->targetList), NULL};
	ListCell   *lc;

	foreach(lc, u.values)
	{
		TargetEntry *te = (TargetEntry *) lfirst(lc);

		u.assigned = bms_add_member(u.assigned, te->resno - FirstLowInvalidHeapAttributeNumber);
	}

	bool		new_version = planned_write_is_new_version(spec->identity, query->rtable,
															   RelationGetRelid(rel));

	planning_contexts = lappend(planning_contexts, (void *) rules_context(rel, spec, new_version));
	if (!new_version)
	{
		foreach(lc, spec->ups)
		{
			SyncRule   *r = (SyncRule *) lfirst(lc);
			Node	   *computed = after_update(u, r->expr, u.values);
			/* A staged column the old version assigned is not its to set. */
			bool		recompute = !r->fill_once &&
				(r->recompute_always || bms_overlap(r->inputs, u.assigned) ||
				 bms_is_member(r->target - FirstLowInvalidHeapAttributeNumber, u.assigned));

			assign(u, r->target, recompute ? computed
				   : for_unsynced_rows(u, spec->marker, computed, current_value(u, r->target)));
		}
	}
	else
	{
		List	   *new_values = list_copy(u.values);
		Node	   *written_back = all_written_back(u, spec->ups);

		foreach(lc, spec->ups)
		{
			SyncRule   *r = (SyncRule *) lfirst(lc);
			Node	   *computed = after_update(u, r->expr, u.values);

			if (bms_is_member(r->target - FirstLowInvalidHeapAttributeNumber, u.assigned))
			{
				/* A row that predates start showed stale new columns; written
				 * back all, all unchanged (an ORM saving the whole row), they
				 * are brought up to date; otherwise what it wrote stands. */
				if (written_back == NULL)
					continue;

				TargetEntry *te = get_tle_by_resno(u.values, r->target);
				Node	   *value = for_unsynced_rows(u, spec->marker,
													  case_when((Node *) copyObjectImpl(written_back),
																computed, (Node *) te->expr),
													  (Node *) copyObjectImpl(te->expr));

				assign(u, r->target, value);
				new_values = replace_value(new_values, r->target, value);
				continue;
			}

			Node	   *value = for_unsynced_rows(u, spec->marker, computed, (Node *) column(u, r->target));

			assign(u, r->target, value);
			new_values = lappend(new_values, makeTargetEntry((Expr *) value, r->target, NULL, false));
		}
		foreach(lc, spec->downs)
		{
			SyncRule   *r = (SyncRule *) lfirst(lc);

			if (r->recompute_always || bms_overlap(r->inputs, u.assigned) ||
				bms_is_member(r->target - FirstLowInvalidHeapAttributeNumber, u.assigned))
				assign(u, r->target, after_update(u, r->expr, new_values));
		}
	}
	/* Also how ExecutorStart recognises a statement planned here. */
	assign(u, spec->marker, makeBoolConst(false, false));
	query->targetList = u.target_list;
}

/* Rewrites the UPDATEs of a statement, its data-modifying WITH included. */
void
sync_updates(Query *query)
{
	ListCell   *lc;

	foreach(lc, query->cteList)
	{
		CommonTableExpr *cte = (CommonTableExpr *) lfirst(lc);

		if (IsA(cte->ctequery, Query))
			sync_updates((Query *) cte->ctequery);
	}
	if (query->commandType != CMD_UPDATE || query->resultRelation == 0)
		return;

	RangeTblEntry *rte = rt_fetch(query->resultRelation, query->rtable);

	/* A partitioned table's rules are its own trigger's, in its attribute
	 * numbers, which the planner maps to each partition's. */
	if (rte->rtekind != RTE_RELATION ||
		(rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_PARTITIONED_TABLE))
		return;

	/* Multiple-assignment and sublink assignments keep the trigger path. */
	foreach(lc, query->targetList)
		if (((TargetEntry *) lfirst(lc))->resjunk)
			return;
	if (checkExprHasSubLink((Node *) query->targetList))
		return;

	Relation	rel = table_open(rte->relid, NoLock);	/* locked since parse analysis */
	const SyncSpec *spec = rel->trigdesc ? sync_spec(rel) : NULL;

	if (spec != NULL && plannable(spec, rel))
		rewrite_update(query, rel, spec);
	table_close(rel, NoLock);
}

void
collect_update_plans(Plan *plan, List **updates)
{
	if (plan != NULL && IsA(plan, ModifyTable) && ((ModifyTable *) plan)->operation == CMD_UPDATE)
		*updates = lappend(*updates, plan);
}

/* For UPDATEs whose plan computes the synced columns (it assigns the marker
 * on a table plannable() accepts), the trigger has nothing left to do: turn
 * it off for UPDATE in this statement's copy of the trigger descriptor. */
void
switch_off_planned_triggers(QueryDesc *query)
{
	PlannedStmt *stmt = query->plannedstmt;
	EState	   *estate = query->estate;
	List	   *updates = NIL;
	ListCell   *lc;
	ListCell   *rc;
	ListCell   *cc;

	if (estate == NULL || estate->es_result_relations == NULL)
		return;
	collect_update_plans(stmt->planTree, &updates);
	foreach(lc, stmt->subplans)
		collect_update_plans((Plan *) lfirst(lc), &updates);

	foreach(lc, updates)
	{
		ModifyTable *update = (ModifyTable *) lfirst(lc);

		forboth(rc, update->resultRelations, cc, update->updateColnosLists)
		{
			ResultRelInfo *rri = estate->es_result_relations[lfirst_int(rc) - 1];
			Trigger    *trigger = rri ? find_sync_trigger(rri->ri_TrigDesc) : NULL;

			if (trigger == NULL ||
				!list_member_int((List *) lfirst(cc),
								 attnum_of(RelationGetDescr(rri->ri_RelationDesc), kBackfillMarker)))
				continue;

			/* The backfill assigns the marker itself; on a table this module
			 * does not plan for, its rows still need the trigger. */
			const SyncSpec *spec = sync_spec(rri->ri_RelationDesc);

			if (spec == NULL || !plannable(spec, rri->ri_RelationDesc))
				continue;

			/* The trigger, which notes writes for complete()'s old-client
			 * gate, will not run: note this statement's here. */
			note_version_write(spec->identity,
							   planned_write_is_new_version(spec->identity, stmt->rtable, spec->versioned_relid));

			TriggerDesc *triggers = rri->ri_TrigDesc;

			trigger->tgtype &= ~TRIGGER_TYPE_UPDATE;
			triggers->trig_update_before_row = false;
			for (int i = 0; i < triggers->numtriggers; i++)
				if (TRIGGER_TYPE_MATCHES(triggers->triggers[i].tgtype, TRIGGER_TYPE_ROW,
										 TRIGGER_TYPE_BEFORE, TRIGGER_TYPE_UPDATE))
					triggers->trig_update_before_row = true;
		}
	}
}

PlannedStmt *
plan_with_sync(Query *parse, const char *query_string, int cursor_options, ParamListInfo bound_params)
{
	List	   *outer_contexts = planning_contexts;	/* planning nests (SQL functions) */
	ErrorContextCallback callback = {error_context_stack, planning_rules_context, NULL};

	planning_contexts = NIL;
	sync_updates(parse);
	callback.arg = planning_contexts;
	if (planning_contexts != NIL)
		error_context_stack = &callback;

	PlannedStmt *planned = previous_planner
		? previous_planner(parse, query_string, cursor_options, bound_params)
		: standard_planner(parse, query_string, cursor_options, bound_params);

	if (callback.arg != NIL)
		error_context_stack = callback.previous;
	planning_contexts = outer_contexts;
	return planned;
}

void
start_with_sync(QueryDesc *query, int eflags)
{
	if (previous_executor_start)
		previous_executor_start(query, eflags);
	else
		standard_ExecutorStart(query, eflags);
	switch_off_planned_triggers(query);
}

/*
 * The error context of a statement whose UPDATE plans compute synced
 * columns: which table, migration and rules (the executor cannot tell
 * which expression of a target list failed). Worked out only when an error
 * is reported, from what the statement's start left: the sync trigger
 * switched off for UPDATE in its copy of the trigger descriptor, and the
 * rules already compiled in this backend.
 */
void
planned_rules_context(void *arg)
{
	QueryDesc  *query = static_cast<QueryDesc *>(arg);
	EState	   *estate = query->estate;

	for (Index i = 0; estate != NULL && estate->es_result_relations != NULL &&
		 i < estate->es_range_table_size; i++)
	{
		ResultRelInfo *rri = estate->es_result_relations[i];
		Trigger    *trigger = rri ? find_sync_trigger(rri->ri_TrigDesc) : NULL;
		const SyncSpec *spec = trigger && !TRIGGER_FOR_UPDATE(trigger->tgtype)
			? compiled_sync_spec(rri->ri_RelationDesc) : NULL;

		if (spec == NULL)
			continue;

		bool		new_version = planned_write_is_new_version(spec->identity, query->plannedstmt->rtable,
															   spec->versioned_relid);

		errcontext("%s", rules_context(rri->ri_RelationDesc, spec, new_version));
	}
}

void
run_with_sync_context(QueryDesc *query, ScanDirection direction, uint64 count, bool execute_once)
{
	ErrorContextCallback callback = {error_context_stack, planned_rules_context, query};
	bool		may_update = query->operation == CMD_UPDATE || query->plannedstmt->hasModifyingCTE;

	if (may_update)
		error_context_stack = &callback;
	if (previous_executor_run)
		previous_executor_run(query, direction, count, execute_once);
	else
		standard_ExecutorRun(query, direction, count, execute_once);
	if (may_update)
		error_context_stack = callback.previous;
}

} // namespace

void
install_statement_sync()
{
	previous_planner = planner_hook;
	planner_hook = ec_planner;
	previous_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = ec_executor_start;
	previous_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = ec_executor_run_with_sync_context;
}

} // namespace ec

extern "C" PlannedStmt *
ec_planner(Query *parse, const char *query_string, int cursor_options, ParamListInfo bound_params)
{
	return ec::pg_entry([&] { return ec::plan_with_sync(parse, query_string, cursor_options, bound_params); });
}

extern "C" void
ec_executor_start(QueryDesc *query, int eflags)
{
	ec::pg_entry([&] { ec::start_with_sync(query, eflags); });
}

extern "C" void
ec_executor_run_with_sync_context(QueryDesc *query, ScanDirection direction, uint64 count, bool execute_once)
{
	ec::pg_entry([&] { ec::run_with_sync_context(query, direction, count, execute_once); });
}
