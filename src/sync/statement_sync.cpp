/*
 * statement_sync.cpp — synced columns computed inside write plans; see
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

/* Whether `trigger` fires in this session (trigger.c's rule). */
bool
fires(const Trigger *trigger)
{
	if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA)
		return trigger->tgenabled == TRIGGER_FIRES_ON_REPLICA || trigger->tgenabled == TRIGGER_FIRES_ALWAYS;
	return trigger->tgenabled == TRIGGER_FIRES_ON_ORIGIN || trigger->tgenabled == TRIGGER_FIRES_ALWAYS;
}

/* The statement's writes can be computed in its plan only when our trigger
 * fires and is the table's sole BEFORE row trigger for the statement's
 * `events` (TRIGGER_TYPE_INSERT, _UPDATE: others could change the row after
 * us), and no expression needs a subquery plan of its own. */
bool
plannable(const SyncSpec *spec, Relation rel, int16 events)
{
	TriggerDesc *triggers = rel->trigdesc;
	ListCell   *lc;

	if (spec->marker == InvalidAttrNumber)
		return false;
	for (int i = 0; i < triggers->numtriggers; i++)
	{
		Trigger    *t = &triggers->triggers[i];
		bool		ours = strcmp(t->tgname, kSyncTriggerName) == 0;

		if (ours && !fires(t))
			return false;
		if (!ours && TRIGGER_FOR_ROW(t->tgtype) && TRIGGER_FOR_BEFORE(t->tgtype) &&
			(t->tgtype & events) != 0 && t->tgenabled != TRIGGER_DISABLED)
			return false;
	}
	foreach(lc, list_concat_copy(spec->ups, spec->downs))
		if (((SyncRule *) lfirst(lc))->has_subquery)
			return false;
	return true;
}

/* Whether each rule in `rules` that will be computed reads, of `values`
 * (what the statement writes), only values that are the same each time
 * they are evaluated. A rule computed in the plan reads a copy of the
 * written expression: a volatile one (random(), a sequence's default)
 * would be drawn again and disagree with the row. */
bool
reads_stable_values(List *rules, List *values)
{
	ListCell   *lc;

	foreach(lc, rules)
	{
		const SyncRule *r = (const SyncRule *) lfirst(lc);
		int			x = -1;

		while ((x = bms_next_member(r->inputs, x)) >= 0)
		{
			AttrNumber	attnum = x + FirstLowInvalidHeapAttributeNumber;
			TargetEntry *te = attnum > 0 ? get_tle_by_resno(values, attnum) : NULL;

			if (attnum == 0)
				return false;	/* the whole row */
			if (te != NULL && contain_volatile_functions((Node *) te->expr))
				return false;
		}
	}
	return true;
}

/* The marker's value in the rows of a statement planned here: false, at a
 * location no parsed constant has. It is how ExecutorStart recognises an
 * INSERT planned here, whose plan lists every column anyway. */
constexpr int kPlannedMarkerLocation = -0x5ec;

Node *
planned_marker()
{
	Const	   *marker = (Const *) makeBoolConst(false, false);

	marker->location = kPlannedMarkerLocation;
	return (Node *) marker;
}

bool
is_planned_marker(Node *node)
{
	return node != NULL && IsA(node, Const) && ((Const *) node)->location == kPlannedMarkerLocation;
}

/* One target list of a statement being rewritten: an UPDATE's assignments
 * (also those of ON CONFLICT DO UPDATE and of a MERGE UPDATE action), or
 * the values an INSERT writes (also a MERGE INSERT action's). */
struct Rewrite {
	Query *query;
	Relation rel;
	List *values;		/* the statement's own */
	List *target_list;	/* what it will write */
	Bitmapset *assigned;
};

Var *
column(const Rewrite &u, AttrNumber attnum)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(u.rel), attnum - 1);

	return makeVar(u.query->resultRelation, attnum, att->atttypid, att->atttypmod,
				   att->attcollation, 0);
}

/* expr over the row as the UPDATE leaves it: each column read is the value
 * `values` assigns it, or the column itself. */
Node *
after_update(const Rewrite &u, Expr *expr, List *values)
{
	Node	   *result = (Node *) copyObjectImpl(expr);
	bool		has_sublinks = false;

	ChangeVarNodes(result, 1, u.query->resultRelation, 0);
	return ReplaceVarsFromTargetList(result, u.query->resultRelation, 0,
									 rt_fetch(u.query->resultRelation, u.query->rtable), values,
									 REPLACEVARS_CHANGE_VARNO, u.query->resultRelation,
									 &has_sublinks);
}

/* expr over the row an INSERT writes: each column read is the value the
 * statement gives it, or NULL. (A column with a default has it among the
 * values since the rewriter.) */
Node *
as_inserted(const Rewrite &u, Expr *expr)
{
	Node	   *result = (Node *) copyObjectImpl(expr);
	bool		has_sublinks = false;

	ChangeVarNodes(result, 1, u.query->resultRelation, 0);
	return ReplaceVarsFromTargetList(result, u.query->resultRelation, 0,
									 rt_fetch(u.query->resultRelation, u.query->rtable), u.values,
									 REPLACEVARS_SUBSTITUTE_NULL, 0, &has_sublinks);
}

/* What the statement assigns to attnum, or the column's current value. */
Node *
current_value(const Rewrite &u, AttrNumber attnum)
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
for_unsynced_rows(const Rewrite &u, AttrNumber marker, Node *when_unsynced, Node *otherwise)
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
same_as_before(const Rewrite &u, Node *assigned, AttrNumber attnum)
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
all_written_back(const Rewrite &u, List *rules)
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
assign(Rewrite &u, AttrNumber attnum, Node *value)
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

const char *
command_words(CmdType command)
{
	switch (command)
	{
		case CMD_UPDATE:
			return "UPDATE of";
		case CMD_INSERT:
			return "INSERT into";
		case CMD_MERGE:
			return "MERGE into";
		default:
			return "write to";
	}
}

/* What the error context of a planned write says of one table. */
const char *
rules_context(Relation rel, const SyncSpec *spec, bool new_version, CmdType command)
{
	StringInfoData rules;

	initStringInfo(&rules);
	append_rule_names(&rules, "up", spec->ups);
	if (new_version)
		append_rule_names(&rules, "down", spec->downs);
	return psprintf("%s table \"%s\" computing %s of migration \"%s\"", command_words(command),
					RelationGetRelationName(rel), rules.data, spec->identity.migration);
}

/* The tables whose writes the statement being planned computes rules of,
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

/* `assignments` with the synced columns and the marker added; NIL when a
 * rule would read a volatile assignment. */
List *
planned_update(Query *query, Relation rel, const SyncSpec *spec, bool new_version, List *assignments)
{
	Rewrite		u{query, rel, assignments, (List *) copyObjectImpl(assignments), NULL};
	ListCell   *lc;

	foreach(lc, u.values)
	{
		TargetEntry *te = (TargetEntry *) lfirst(lc);

		u.assigned = bms_add_member(u.assigned, te->resno - FirstLowInvalidHeapAttributeNumber);
	}

	if (!reads_stable_values(spec->ups, u.values))
		return NIL;
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
		if (!reads_stable_values(spec->downs, new_values))
			return NIL;
		foreach(lc, spec->downs)
		{
			SyncRule   *r = (SyncRule *) lfirst(lc);

			if (r->recompute_always || bms_overlap(r->inputs, u.assigned) ||
				bms_is_member(r->target - FirstLowInvalidHeapAttributeNumber, u.assigned))
				assign(u, r->target, after_update(u, r->expr, new_values));
		}
	}
	/* Also how ExecutorStart recognises an UPDATE planned here. */
	assign(u, spec->marker, planned_marker());
	return u.target_list;
}

int
compare_resno(const ListCell *a, const ListCell *b)
{
	return (int) lfirst_node(TargetEntry, a)->resno - (int) lfirst_node(TargetEntry, b)->resno;
}

/* `values` with the synced columns and the marker added, in column order
 * (as the planner expects an INSERT's); NIL when a rule would read a
 * volatile value. */
List *
planned_insert(Query *query, Relation rel, const SyncSpec *spec, bool new_version, List *values)
{
	List	   *rules = new_version ? spec->downs : spec->ups;
	Rewrite		u{query, rel, values, (List *) copyObjectImpl(values), NULL};
	ListCell   *lc;

	if (!reads_stable_values(rules, values))
		return NIL;
	foreach(lc, rules)
	{
		SyncRule   *r = (SyncRule *) lfirst(lc);

		/* A fill-once column keeps the default it was given. */
		if (!r->fill_once)
			assign(u, r->target, as_inserted(u, r->expr));
	}
	assign(u, spec->marker, planned_marker());
	list_sort(u.target_list, compare_resno);
	return u.target_list;
}

/* The statement's target lists with the synced columns computed in them,
 * all or none: the trigger is switched off for a whole statement. MERGE
 * actions get theirs when all of them can. */
bool
rewrite_statement(Query *query, Relation rel, const SyncSpec *spec)
{
	bool		new_version = planned_write_is_new_version(spec->identity, query->rtable,
														   RelationGetRelid(rel));
	List	   *planned = NIL;
	ListCell   *lc;
	ListCell   *cc;

	switch (query->commandType)
	{
		case CMD_UPDATE:
			planned = planned_update(query, rel, spec, new_version, query->targetList);
			if (planned == NIL)
				return false;
			query->targetList = planned;
			break;
		case CMD_INSERT:
			{
				OnConflictExpr *on_conflict = query->onConflict;
				List	   *set = NIL;

				planned = planned_insert(query, rel, spec, new_version, query->targetList);
				if (planned == NIL)
					return false;
				if (on_conflict != NULL && on_conflict->action == ONCONFLICT_UPDATE &&
					(set = planned_update(query, rel, spec, new_version, on_conflict->onConflictSet)) == NIL)
					return false;
				query->targetList = planned;
				if (set != NIL)
					on_conflict->onConflictSet = set;
				break;
			}
		case CMD_MERGE:
			foreach(lc, query->mergeActionList)
			{
				MergeAction *action = lfirst_node(MergeAction, lc);
				List	   *list = action->targetList;

				if (action->commandType == CMD_INSERT)
					list = planned_insert(query, rel, spec, new_version, list);
				else if (action->commandType == CMD_UPDATE)
					list = planned_update(query, rel, spec, new_version, list);
				if (list == NIL && action->targetList != NIL)
					return false;
				planned = lappend(planned, list);
			}
			forboth(lc, query->mergeActionList, cc, planned)
				lfirst_node(MergeAction, lc)->targetList = (List *) lfirst(cc);
			break;
		default:
			return false;
	}
	planning_contexts = lappend(planning_contexts,
								(void *) rules_context(rel, spec, new_version, query->commandType));
	return true;
}

/* The BEFORE row trigger events a write statement fires. */
int16
events_of(const Query *query)
{
	ListCell   *lc;
	int16		events = 0;

	switch (query->commandType)
	{
		case CMD_UPDATE:
			return TRIGGER_TYPE_UPDATE;
		case CMD_INSERT:
			return TRIGGER_TYPE_INSERT |
				(query->onConflict && query->onConflict->action == ONCONFLICT_UPDATE ? TRIGGER_TYPE_UPDATE : 0);
		case CMD_MERGE:
			foreach(lc, query->mergeActionList)
			{
				CmdType		command = lfirst_node(MergeAction, lc)->commandType;

				events |= command == CMD_INSERT ? TRIGGER_TYPE_INSERT
					: command == CMD_UPDATE ? TRIGGER_TYPE_UPDATE : 0;
			}
			return events;
		default:
			return 0;
	}
}

/* A target list whose values the rules can read: no multiple-assignment
 * or sublink entries (those keep the trigger path). */
bool
plain_values(List *target_list)
{
	ListCell   *lc;

	foreach(lc, target_list)
		if (((TargetEntry *) lfirst(lc))->resjunk)
			return false;
	return !checkExprHasSubLink((Node *) target_list);
}

bool
plain_statement(const Query *query)
{
	ListCell   *lc;

	if (!plain_values(query->targetList))
		return false;
	if (query->onConflict && !plain_values(query->onConflict->onConflictSet))
		return false;
	foreach(lc, query->mergeActionList)
		if (!plain_values(lfirst_node(MergeAction, lc)->targetList))
			return false;
	return true;
}

/* Rewrites the writes of a statement, its data-modifying WITH included. */
void
sync_statement(Query *query)
{
	ListCell   *lc;

	foreach(lc, query->cteList)
	{
		CommonTableExpr *cte = (CommonTableExpr *) lfirst(lc);

		if (IsA(cte->ctequery, Query))
			sync_statement((Query *) cte->ctequery);
	}

	int16		events = events_of(query);

	if (events == 0 || query->resultRelation == 0)
		return;

	RangeTblEntry *rte = rt_fetch(query->resultRelation, query->rtable);

	/* A partitioned table's rules are its own trigger's, in its attribute
	 * numbers, which the planner maps to each partition's for an UPDATE.
	 * Rows an INSERT or MERGE routes to a partition meet that partition's
	 * trigger only once the statement runs: those keep the trigger. */
	if (rte->rtekind != RTE_RELATION ||
		!(rte->relkind == RELKIND_RELATION ||
		  (rte->relkind == RELKIND_PARTITIONED_TABLE && query->commandType == CMD_UPDATE)))
		return;
	if (!plain_statement(query))
		return;

	Relation	rel = table_open(rte->relid, NoLock);	/* locked since parse analysis */
	const SyncSpec *spec = rel->trigdesc ? sync_spec(rel) : NULL;

	if (spec != NULL && plannable(spec, rel, events))
		rewrite_statement(query, rel, spec);
	table_close(rel, NoLock);
}

void
collect_write_plans(Plan *plan, List **writes)
{
	/* A DELETE fires no BEFORE INSERT or UPDATE trigger. */
	if (plan != NULL && IsA(plan, ModifyTable) && ((ModifyTable *) plan)->operation != CMD_DELETE)
		*writes = lappend(*writes, plan);
}

/* Whether the rows `plan` hands an INSERT carry the marker as a statement
 * planned here writes it. A node that does not project (the Sort of
 * INSERT ... SELECT ... ORDER BY) passes on its input's columns. */
bool
inserts_planned_marker(Plan *plan, AttrNumber marker)
{
	TargetEntry *te = plan ? get_tle_by_resno(plan->targetlist, marker) : NULL;

	while (te != NULL && IsA(te->expr, Var) && ((Var *) te->expr)->varno == OUTER_VAR &&
		   plan->lefttree != NULL)
	{
		plan = plan->lefttree;
		te = get_tle_by_resno(plan->targetlist, ((Var *) te->expr)->varattno);
	}
	return te != NULL && is_planned_marker((Node *) te->expr);
}

/* The trigger events whose rows the plan of `write` computes itself for
 * its result relation `index`: 0 unless the statement was planned here. */
int16
planned_events(ModifyTable *write, int index, AttrNumber marker)
{
	ListCell   *lc;
	int16		events = 0;

	switch (write->operation)
	{
		case CMD_UPDATE:
			return list_member_int((List *) list_nth(write->updateColnosLists, index), marker)
				? TRIGGER_TYPE_UPDATE : 0;
		case CMD_INSERT:
			if (!inserts_planned_marker(outerPlan(write), marker))
				return 0;
			if (write->onConflictAction != ONCONFLICT_UPDATE)
				return TRIGGER_TYPE_INSERT;
			return list_member_int(write->onConflictCols, marker)
				? TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE : 0;
		case CMD_MERGE:
			foreach(lc, (List *) list_nth(write->mergeActionLists, index))
			{
				MergeAction *action = lfirst_node(MergeAction, lc);
				TargetEntry *te;

				if (action->commandType == CMD_INSERT)
				{
					te = get_tle_by_resno(action->targetList, marker);
					if (te == NULL || !is_planned_marker((Node *) te->expr))
						return 0;
					events |= TRIGGER_TYPE_INSERT;
				}
				else if (action->commandType == CMD_UPDATE)
				{
					if (!list_member_int(action->updateColnos, marker))
						return 0;
					events |= TRIGGER_TYPE_UPDATE;
				}
			}
			return events;
		default:
			return 0;
	}
}

/* Turns `trigger` off for `events` in a statement's own copy of the
 * trigger descriptor, keeping the descriptor's summary flags true. */
void
switch_off(TriggerDesc *triggers, Trigger *trigger, int16 events)
{
	trigger->tgtype &= ~events;
	triggers->trig_insert_before_row = false;
	triggers->trig_update_before_row = false;
	for (int i = 0; i < triggers->numtriggers; i++)
	{
		int16		type = triggers->triggers[i].tgtype;

		if (TRIGGER_TYPE_MATCHES(type, TRIGGER_TYPE_ROW, TRIGGER_TYPE_BEFORE, TRIGGER_TYPE_INSERT))
			triggers->trig_insert_before_row = true;
		if (TRIGGER_TYPE_MATCHES(type, TRIGGER_TYPE_ROW, TRIGGER_TYPE_BEFORE, TRIGGER_TYPE_UPDATE))
			triggers->trig_update_before_row = true;
	}
}

/* For writes whose plan computes the synced columns (it writes the marker
 * as planned here, on a table plannable() accepts), the trigger has nothing
 * left to do: turn it off for those events in this statement. */
void
switch_off_planned_triggers(QueryDesc *query)
{
	PlannedStmt *stmt = query->plannedstmt;
	EState	   *estate = query->estate;
	List	   *writes = NIL;
	ListCell   *lc;
	ListCell   *rc;

	if (estate == NULL || estate->es_result_relations == NULL)
		return;
	collect_write_plans(stmt->planTree, &writes);
	foreach(lc, stmt->subplans)
		collect_write_plans((Plan *) lfirst(lc), &writes);

	foreach(lc, writes)
	{
		ModifyTable *write = (ModifyTable *) lfirst(lc);

		foreach(rc, write->resultRelations)
		{
			ResultRelInfo *rri = estate->es_result_relations[lfirst_int(rc) - 1];
			Trigger    *trigger = rri ? find_sync_trigger(rri->ri_TrigDesc) : NULL;

			const SyncSpec *spec = trigger ? sync_spec(rri->ri_RelationDesc) : NULL;

			if (spec == NULL || spec->marker == InvalidAttrNumber)
				continue;

			/* The backfill assigns the marker itself; on a table this module
			 * does not plan for, its rows still need the trigger. */
			int16		events = planned_events(write, foreach_current_index(rc), spec->marker);

			if (events == 0 || !plannable(spec, rri->ri_RelationDesc, events))
				continue;

			/* The trigger, which notes writes for complete()'s old-client
			 * gate, will not run: note this statement's here. */
			note_version_write(spec->identity,
							   planned_write_is_new_version(spec->identity, stmt->rtable, spec->versioned_relid));
			switch_off(rri->ri_TrigDesc, trigger, events);
		}
	}
}

PlannedStmt *
plan_with_sync(Query *parse, const char *query_string, int cursor_options, ParamListInfo bound_params)
{
	List	   *outer_contexts = planning_contexts;	/* planning nests (SQL functions) */
	ErrorContextCallback callback = {error_context_stack, planning_rules_context, NULL};

	planning_contexts = NIL;
	sync_statement(parse);
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
 * The error context of a statement whose plans compute synced columns:
 * which table, migration and rules (the executor cannot tell which
 * expression of a target list failed). Worked out only when an error is
 * reported, from what the statement's start left: the sync trigger switched
 * off for INSERT or UPDATE in its copy of the trigger descriptor, and the
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
		bool		switched_off = trigger &&
			(!TRIGGER_FOR_UPDATE(trigger->tgtype) || !TRIGGER_FOR_INSERT(trigger->tgtype));
		const SyncSpec *spec = switched_off ? compiled_sync_spec(rri->ri_RelationDesc) : NULL;

		if (spec == NULL)
			continue;

		bool		new_version = planned_write_is_new_version(spec->identity, query->plannedstmt->rtable,
															   spec->versioned_relid);

		errcontext("%s", rules_context(rri->ri_RelationDesc, spec, new_version, query->operation));
	}
}

void
run_with_sync_context(QueryDesc *query, ScanDirection direction, uint64 count, bool execute_once)
{
	ErrorContextCallback callback = {error_context_stack, planned_rules_context, query};
	bool		may_write = query->operation != CMD_SELECT || query->plannedstmt->hasModifyingCTE;

	if (may_write)
		error_context_stack = &callback;
	if (previous_executor_run)
		previous_executor_run(query, direction, count, execute_once);
	else
		standard_ExecutorRun(query, direction, count, execute_once);
	if (may_write)
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
