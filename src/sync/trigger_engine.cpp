/*
 * trigger_engine.cpp — the native sync trigger; see trigger_engine.hpp.
 */
#include "sync/trigger_engine.hpp"

#include "boundary.hpp"
#include "catalog/catalog.hpp"
#include "plan/expression.hpp"
#include "pg/sql.hpp"
#include "sync/version_detect.hpp"

namespace ec {

namespace {

/*
 * The trigger's arguments, format 2 (extension 0.2 on): a format tag, the
 * version identity, the backfill marker, then four per rule. A rule is text
 * (stored_sync_expression), so a dump, a restore into another database or
 * pg_upgrade carries it: it names the table's columns and every other
 * object by name, and each backend binds it once (compile_state).
 */
constexpr const char *kRulesFormat = "expand_contract rules 2";

enum TriggerArg {
	kArgFormat,
	kArgIdentity,				/* migration, new, base, previous schema, marker */
	kArgFirstRule = kArgIdentity + 5
};

enum RuleArg {
	kRuleKind,					/* "up" or "down", ", fill once" added */
	kRuleTarget,				/* the column it computes */
	kRuleName,					/* that column's name in the version reading it */
	kRuleExpression,
	kRuleArgCount
};

constexpr const char *kFillOnceKind = ", fill once";

/*
 * Format 1 (extension 0.1): the identity and marker, then the up and down
 * rules as node trees, which hold OIDs and attribute numbers of the database
 * they were made in. It is read only while sync_trigger's EXECUTE is still
 * revoked from PUBLIC as 0.1 left it (nobody but start attached such a
 * trigger), until ALTER EXTENSION ... UPDATE rewrites it as format 2.
 */
enum V1Arg {
	kV1Identity,
	kV1Up = kV1Identity + 5,
	kV1Down,
	kV1ArgCount
};

struct SyncTarget {
	SyncRule rule;
	ExprState *expr;			/* fast path: evaluated against the row's slot */
	PlannedStmt *query;			/* with subqueries: SELECT of the expression, the
								 * row's columns as parameters $attnum */
};

/*
 * Compiled state is per role too: a subquery's plan carries the row-level
 * security quals of whoever planned it, and executor initialisation checks
 * EXECUTE on the functions an expression calls, for the current user. So a
 * backend that writes as several roles (SET ROLE behind a pooler, SECURITY
 * DEFINER code, a backfill as the owner with FORCE lifted) compiles once for
 * each.
 */
/* Hashed as bytes: no padding, which a copy of the struct need not keep
 * as the memset left it. */
struct SyncCacheKey {
	Oid trigger_oid;
	Oid user;
	uint32 noforce_rls;
};
static_assert(sizeof(SyncCacheKey) == 3 * sizeof(uint32), "SyncCacheKey has padding");

struct SyncState {
	SyncCacheKey key;
	Oid trigger_oid;
	Oid relid;
	bool valid;
	MemoryContext context;
	SyncSpec spec;
	VersionCache version_cache;
	SyncTarget *ups;
	int nups;
	SyncTarget *downs;
	int ndowns;
	List *read_tables;			/* tables read by subqueries in expressions */
	TupleDesc desc;
	ExprContext *econtext;
	TupleTableSlot *work_slot;
	Datum *values;
	bool *nulls;
	bool *replace;
};

struct SyncCacheEntry {
	SyncCacheKey key;			/* hash key */
	SyncState *state;
};

SyncCacheKey
cache_key(Oid trigger_oid)
{
	SyncCacheKey key;

	key.trigger_oid = trigger_oid;
	key.user = GetUserId();
	key.noforce_rls = InNoForceRLSOperation();
	return key;
}

HTAB *sync_cache = NULL;

enum class Pick {
	All,						/* every target */
	Inserted,					/* every target but fill-once ones, which the
								 * column's own default filled */
	InputsAssigned,				/* targets whose inputs (or themselves) the
								 * statement assigned */
	NotAssigned					/* targets the statement did not assign itself */
};

Node *columns_to_params(Node *node, int *sublevels_up);

/* PostgreSQL's tree mutators take an unprototyped C function pointer; going
 * through void (*)() is the cast C++ allows without a warning. */
using TreeMutator = Node *(*) ();

inline TreeMutator
as_tree_mutator(Node *(*mutator)(Node *, int *))
{
	return reinterpret_cast<TreeMutator>(reinterpret_cast<void (*)()>(mutator));
}

/* Turns references to the synced table's columns, at any subquery depth,
 * into parameters $attnum. */
Node *
columns_to_params(Node *node, int *sublevels_up)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var) && ((Var *) node)->varno == 1 &&
		((Var *) node)->varlevelsup == (Index) *sublevels_up)
	{
		Var		   *var = (Var *) node;
		Param	   *param = makeNode(Param);

		param->paramkind = PARAM_EXTERN;
		param->paramid = var->varattno;
		param->paramtype = var->vartype;
		param->paramtypmod = var->vartypmod;
		param->paramcollid = var->varcollid;
		param->location = var->location;
		return (Node *) param;
	}
	if (IsA(node, Query))
	{
		(*sublevels_up)++;
		Node	   *result = (Node *) query_tree_mutator((Query *) node,
														 as_tree_mutator(columns_to_params),
														 sublevels_up, 0);

		(*sublevels_up)--;
		return result;
	}
	return expression_tree_mutator(node, as_tree_mutator(columns_to_params), sublevels_up);
}

/* Plans "SELECT <expr>" once for this backend: subqueries need a plan, which
 * expression evaluation alone cannot run. */
PlannedStmt *
plan_expression_query(Expr *expr)
{
	int			sublevels_up = 0;
	Query	   *query = makeNode(Query);

	query->commandType = CMD_SELECT;
	query->querySource = QSRC_ORIGINAL;
	query->canSetTag = true;
	query->jointree = makeFromExpr(NIL, NULL);
	query->targetList = list_make1(makeTargetEntry((Expr *) columns_to_params((Node *) expr, &sublevels_up),
												   1, pstrdup("value"), false));
	query->hasSubLinks = true;
	AcquireRewriteLocks(query, true, false);
	return pg_plan_query(linitial_node(Query, QueryRewrite(query)), NULL, 0, NULL);
}

SyncTarget *
compile_targets(List *entries, int *count, List **rules, List **read_tables)
{
	SyncTarget *targets = (SyncTarget *) palloc0(sizeof(SyncTarget) * Max(list_length(entries), 1));
	ListCell   *lc;

	foreach(lc, entries)
	{
		TargetEntry *te = lfirst_node(TargetEntry, lc);
		SyncTarget *target = &targets[foreach_current_index(lc)];

		target->rule.target = te->resno;
		target->rule.name = te->resname;
		target->rule.fill_once = te->ressortgroupref == kFillOnceRule;
		target->rule.expr = te->expr;
		*rules = lappend(*rules, &target->rule);
		if (checkExprHasSubLink((Node *) te->expr))
		{
			target->query = plan_expression_query(te->expr);
			*read_tables = list_concat_unique_oid(*read_tables, target->query->relationOids);
			target->rule.has_subquery = true;
			target->rule.recompute_always = true;
			continue;
		}

		Expr	   *planned = expression_planner(te->expr);

		target->expr = ExecInitExpr(planned, NULL);
		pull_varattnos((Node *) planned, 1, &target->rule.inputs);
		/* Skipping a recomputation is only right when it gives the same
		 * result: immutable functions, no whole-row input. */
		target->rule.recompute_always = contain_mutable_functions((Node *) planned) ||
			bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, target->rule.inputs);
	}
	*count = list_length(entries);
	return targets;
}

/* Receives the one value of an expression query. */
struct ValueReceiver {
	DestReceiver pub;
	MemoryContext context;
	bool received;
	Datum value;
	bool isnull;
};

bool
receive_value(TupleTableSlot *slot, DestReceiver *self)
{
	ValueReceiver *receiver = (ValueReceiver *) self;
	Form_pg_attribute att = TupleDescAttr(slot->tts_tupleDescriptor, 0);

	if (!receiver->received)
	{
		MemoryContext caller = MemoryContextSwitchTo(receiver->context);

		receiver->value = slot_getattr(slot, 1, &receiver->isnull);
		if (!receiver->isnull)
			receiver->value = datumCopy(receiver->value, att->attbyval, att->attlen);
		MemoryContextSwitchTo(caller);
		receiver->received = true;
	}
	return true;
}

void receiver_startup(DestReceiver *self, int operation, TupleDesc typeinfo) {}
void receiver_shutdown(DestReceiver *self) {}
void receiver_destroy(DestReceiver *self) {}

/* Runs a target's expression query for the row in `slot`. */
Datum
evaluate_query(SyncState *state, const SyncTarget *target, TupleTableSlot *slot, bool *isnull)
{
	int			natts = state->desc->natts;
	ParamListInfo params = makeParamList(natts);
	ValueReceiver receiver;
	ListCell   *lc;

	slot_getallattrs(slot);
	for (int i = 0; i < natts; i++)
	{
		params->params[i].value = slot->tts_values[i];
		params->params[i].isnull = slot->tts_isnull[i];
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = TupleDescAttr(state->desc, i)->atttypid;
	}

	/* The plan outlives transactions; its tables must be locked in this one. */
	foreach(lc, target->query->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte->rtekind == RTE_RELATION)
			LockRelationOid(rte->relid, rte->rellockmode);
	}

	memset(&receiver, 0, sizeof(receiver));
	receiver.pub.receiveSlot = receive_value;
	receiver.pub.rStartup = receiver_startup;
	receiver.pub.rShutdown = receiver_shutdown;
	receiver.pub.rDestroy = receiver_destroy;
	receiver.pub.mydest = DestNone;
	receiver.context = CurrentMemoryContext;
	receiver.isnull = true;

	QueryDesc  *query = CreateQueryDesc(target->query, "expand_contract sync expression",
										GetActiveSnapshot(), InvalidSnapshot,
										&receiver.pub, params, NULL, 0);

	ExecutorStart(query, 0);
	ExecutorRun(query, ForwardScanDirection, 1, true);
	ExecutorFinish(query);
	ExecutorEnd(query);
	FreeQueryDesc(query);
	*isnull = receiver.isnull;
	return receiver.value;
}

/*
 * Builds the per-backend state from the trigger's arguments. It is built in a
 * child of the caller's (per-row) context and moved under CacheMemoryContext
 * only once complete, so an error half-way leaks nothing.
 */
/* A format 1 rule list (V1Arg) as the node trees it holds. */
List *
decode_v1_rules(const char *serialized)
{
	return strcmp(serialized, "<>") == 0 ? NIL : (List *) stringToNode(serialized);
}

/* Binds the format 2 rules of `trigger` into target entries, as
 * install_sync_trigger analysed them: resno the target, resname its name in
 * the version reading it, ressortgroupref the fill-once flag. */
void
bind_rules(const Trigger *trigger, Relation rel, const char *migration, List **ups, List **downs)
{
	for (int i = kArgFirstRule; i + kRuleArgCount <= trigger->tgnargs; i += kRuleArgCount)
	{
		char	  **rule = trigger->tgargs + i;
		bool		up = strncmp(rule[kRuleKind], "up", 2) == 0;
		AttrNumber	target = get_attnum(RelationGetRelid(rel), rule[kRuleTarget]);
		const char *origin = psprintf("\"%s\" rule of column \"%s\" of table \"%s\", migration \"%s\"",
									  up ? "up" : "down", rule[kRuleName],
									  RelationGetRelationName(rel), migration);

		if (target == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("%s: column \"%s\" does not exist", origin, rule[kRuleTarget]),
					 errhint("The table was changed behind the migration; roll it back.")));

		TargetEntry *te = makeTargetEntry(bind_stored_sync_expression(rel, rule[kRuleExpression],
																	  target, origin),
										  target, pstrdup(rule[kRuleName]), false);

		if (strstr(rule[kRuleKind], kFillOnceKind) != NULL)
			te->ressortgroupref = kFillOnceRule;
		if (up)
			*ups = lappend(*ups, te);
		else
			*downs = lappend(*downs, te);
	}
}

int trigger_format(const Trigger *trigger);

/*
 * Builds the per-backend state from the trigger's arguments. It is built in a
 * child of the caller's (per-row) context and moved under CacheMemoryContext
 * only once complete, so an error half-way leaks nothing.
 */

/* The columns the new version's writes compute (the downs' targets): only
 * the old version has them, so a statement assigning one is the old
 * version's, whatever the session's setting says. */
List *
old_only_columns(List *downs, TupleDesc desc)
{
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, downs)
		names = lappend(names, pstrdup(NameStr(TupleDescAttr(desc, ((SyncRule *) lfirst(lc))->target - 1)->attname)));
	return names;
}

SyncState *
compile_state(Trigger *trigger, Relation rel)
{
	int			format = trigger_format(trigger);

	if (format == 0)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("expand_contract.sync_trigger on \"%s\" has arguments it does not read",
						RelationGetRelationName(rel)),
				 errhint("The sync trigger is attached by expand_contract.start() only; one made by "
						 "version 0.1 is rewritten by ALTER EXTENSION expand_contract UPDATE.")));

	MemoryContext context = AllocSetContextCreate(CurrentMemoryContext, "expand_contract sync trigger",
												  ALLOCSET_SMALL_SIZES);
	MemoryContext caller = MemoryContextSwitchTo(context);
	SyncState  *state = (SyncState *) palloc0(sizeof(SyncState));
	char	  **identity = trigger->tgargs + (format == 2 ? (int) kArgIdentity : (int) kV1Identity);
	List	   *ups = NIL;
	List	   *downs = NIL;

	state->trigger_oid = trigger->tgoid;
	state->relid = RelationGetRelid(rel);
	/* Versions are views of the migrated table: of a partition's root. */
	state->spec.versioned_relid = rel->rd_rel->relispartition
		? llast_oid(get_partition_ancestors(state->relid)) : state->relid;
	state->context = context;
	state->spec.identity.migration = pstrdup(identity[0]);
	state->spec.identity.new_schema = pstrdup(identity[1]);
	state->spec.identity.base_schema = pstrdup(identity[2]);
	state->spec.identity.previous_schema = pstrdup(identity[3]);
	state->desc = CreateTupleDescCopy(RelationGetDescr(rel));
	state->spec.marker = InvalidAttrNumber;
	for (int i = 0; i < state->desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(state->desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), identity[4]) == 0)
			state->spec.marker = att->attnum;
	}
	if (format == 2)
		bind_rules(trigger, rel, state->spec.identity.migration, &ups, &downs);
	else
	{
		ups = decode_v1_rules(trigger->tgargs[kV1Up]);
		downs = decode_v1_rules(trigger->tgargs[kV1Down]);
	}
	state->ups = compile_targets(ups, &state->nups, &state->spec.ups, &state->read_tables);
	state->downs = compile_targets(downs, &state->ndowns, &state->spec.downs, &state->read_tables);
	state->spec.identity.old_only_columns = old_only_columns(state->spec.downs, state->desc);
	state->econtext = CreateStandaloneExprContext();
	state->work_slot = MakeSingleTupleTableSlot(state->desc, &TTSOpsHeapTuple);
	state->values = (Datum *) palloc0(sizeof(Datum) * state->desc->natts);
	state->nulls = (bool *) palloc0(sizeof(bool) * state->desc->natts);
	state->replace = (bool *) palloc0(sizeof(bool) * state->desc->natts);
	state->valid = true;

	MemoryContextSwitchTo(caller);
	MemoryContextSetParent(context, CacheMemoryContext);
	return state;
}

void
free_state(SyncState *state)
{
	ExecClearTuple(state->work_slot);
	MemoryContextDelete(state->context);
}

SyncState *
sync_state(Trigger *trigger, Relation rel)
{
	static SyncState *last = NULL;

	SyncCacheKey key = cache_key(trigger->tgoid);

	if (last != NULL && last->valid && memcmp(&last->key, &key, sizeof(key)) == 0)
		return last;

	if (sync_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(SyncCacheKey);
		ctl.entrysize = sizeof(SyncCacheEntry);
		ctl.hcxt = CacheMemoryContext;
		sync_cache = hash_create("expand_contract sync triggers", 16, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	bool		found;
	SyncCacheEntry *entry = (SyncCacheEntry *) hash_search(sync_cache, &key, HASH_ENTER, &found);

	if (!found)
		entry->state = NULL;
	if (entry->state == NULL || !entry->state->valid)
	{
		SyncState  *stale = entry->state;

		entry->state = NULL;
		if (stale != NULL)
		{
			if (stale == last)
				last = NULL;
			free_state(stale);
		}
		entry->state = compile_state(trigger, rel);
		entry->state->key = key;
	}
	last = entry->state;
	return last;
}

void
invalidate_relation(Oid relid)
{
	HASH_SEQ_STATUS status;
	SyncCacheEntry *entry;

	if (sync_cache == NULL)
		return;
	hash_seq_init(&status, sync_cache);
	while ((entry = (SyncCacheEntry *) hash_seq_search(&status)) != NULL)
		if (entry->state != NULL &&
			(relid == InvalidOid || entry->state->relid == relid ||
			 list_member_oid(entry->state->read_tables, relid)))
			entry->state->valid = false;
}

/* Whether `after` has the value `before` had in column attnum (the same
 * image, whatever its header or compression; both NULL counts). */
bool
unchanged(const SyncState *state, AttrNumber attnum, TupleTableSlot *after, TupleTableSlot *before)
{
	Form_pg_attribute att = TupleDescAttr(state->desc, attnum - 1);
	bool		after_null;
	bool		before_null;
	Datum		after_value = slot_getattr(after, attnum, &after_null);
	Datum		before_value = slot_getattr(before, attnum, &before_null);

	if (after_null || before_null)
		return after_null && before_null;
	return datum_image_eq(after_value, before_value, att->attbyval, att->attlen);
}

/* Whether an UPDATE wrote every target back with the value it had: a whole
 * row saved as it was read. */
bool
written_back_unchanged(const SyncState *state, const SyncTarget *targets, int ntargets,
					   const Bitmapset *assigned, TupleTableSlot *after, TupleTableSlot *before)
{
	for (int i = 0; i < ntargets; i++)
	{
		AttrNumber	target = targets[i].rule.target;

		if (!bms_is_member(target - FirstLowInvalidHeapAttributeNumber, assigned) ||
			!unchanged(state, target, after, before))
			return false;
	}
	return true;
}

/* Which rule is being evaluated, for the error context of its errors. */
struct RuleInProgress {
	const SyncState *state;
	const SyncTarget *target;
	const char *direction;
};

void
rule_error_context(void *arg)
{
	const RuleInProgress *rule = static_cast<const RuleInProgress *>(arg);

	if (rule->target == NULL)
		return;
	errcontext("\"%s\" rule of column \"%s\" of table \"%s\", migration \"%s\"",
			   rule->direction, rule->target->rule.name, get_rel_name(rule->state->relid),
			   rule->state->spec.identity.migration);
}

/* Evaluates the picked targets against `slot` into the replacement arrays.
 * An error in a rule says which rule it was (errcontext). */
int
evaluate(SyncState *state, const SyncTarget *targets, int ntargets, Pick pick,
		 const Bitmapset *assigned, TupleTableSlot *slot)
{
	int			computed = 0;
	RuleInProgress rule = {state, NULL, targets == state->ups ? "up" : "down"};
	ErrorContextCallback callback = {error_context_stack, rule_error_context, &rule};

	error_context_stack = &callback;
	state->econtext->ecxt_scantuple = slot;
	for (int i = 0; i < ntargets; i++)
	{
		const SyncTarget *t = &targets[i];
		bool		picked;

		switch (pick)
		{
			case Pick::All:
				picked = true;
				break;
			case Pick::Inserted:
				picked = !t->rule.fill_once;
				break;
			case Pick::InputsAssigned:
				/* A target the writer assigned itself is not its to set (a
				 * staged column written through the base table): computed
				 * all the same. */
				picked = !t->rule.fill_once &&
					(t->rule.recompute_always || bms_overlap(t->rule.inputs, assigned) ||
					 bms_is_member(t->rule.target - FirstLowInvalidHeapAttributeNumber, assigned));
				break;
			case Pick::NotAssigned:
				picked = !bms_is_member(t->rule.target - FirstLowInvalidHeapAttributeNumber, assigned);
				break;
		}
		if (!picked)
			continue;

		int			k = t->rule.target - 1;

		rule.target = t;
		state->values[k] = t->query
			? evaluate_query(state, t, slot, &state->nulls[k])
			: ExecEvalExprSwitchContext(t->expr, state->econtext, &state->nulls[k]);
		state->replace[k] = true;
		computed++;
	}
	error_context_stack = callback.previous;
	return computed;
}

HeapTuple
apply_replacements(SyncState *state, HeapTuple tuple)
{
	HeapTuple	result = heap_modify_tuple(tuple, state->desc, state->values, state->nulls,
										   state->replace);

	memset(state->replace, 0, sizeof(bool) * state->desc->natts);
	return result;
}

HeapTuple
sync_row(TriggerData *td)
{
	SyncState  *state = sync_state(td->tg_trigger, td->tg_relation);
	bool		inserting = TRIGGER_FIRED_BY_INSERT(td->tg_event);
	HeapTuple	tuple = inserting ? td->tg_trigtuple : td->tg_newtuple;
	TupleTableSlot *slot = inserting ? td->tg_trigslot : td->tg_newslot;
	const Bitmapset *assigned = inserting ? NULL : td->tg_updatedcols;
	Pick		changed = inserting ? Pick::Inserted : Pick::InputsAssigned;
	bool		unsynced = false;
	int			computed;

	AttrNumber	marker_attnum = state->spec.marker;

	if (!inserting && marker_attnum != InvalidAttrNumber)
	{
		bool		isnull;
		Datum		marker = slot_getattr(td->tg_trigslot, marker_attnum, &isnull);

		unsynced = isnull || DatumGetBool(marker);
	}

	ResetExprContext(state->econtext);
	if (writer_is_new_version(state->spec.identity, state->spec.versioned_relid, &state->version_cache))
	{
		/* New columns of a row that predates start were stale when read:
		 * written back all unchanged (an ORM saving the whole row), they are
		 * brought up to date like ones left out; otherwise what the writer
		 * assigned stands. */
		Pick		stale = unsynced && written_back_unchanged(state, state->ups, state->nups, assigned,
															   slot, td->tg_trigslot)
			? Pick::All : Pick::NotAssigned;

		if (unsynced && evaluate(state, state->ups, state->nups, stale, assigned, slot) > 0)
		{
			/* The row predates start: bring its new columns up to date from the
			 * old ones before "down" reads them. */
			tuple = apply_replacements(state, tuple);
			ExecStoreHeapTuple(tuple, state->work_slot, false);
			slot = state->work_slot;
		}
		computed = evaluate(state, state->downs, state->ndowns, changed, assigned, slot);
	}
	else
		computed = evaluate(state, state->ups, state->nups, unsynced ? Pick::All : changed,
							assigned, slot);

	if (marker_attnum != InvalidAttrNumber && (inserting || unsynced))
	{
		state->values[marker_attnum - 1] = BoolGetDatum(false);
		state->nulls[marker_attnum - 1] = false;
		state->replace[marker_attnum - 1] = true;
		computed++;
	}
	if (computed > 0)
		tuple = apply_replacements(state, tuple);
	ExecClearTuple(state->work_slot);
	return tuple;
}

} // namespace

/*
 * The OID of expand_contract.sync_trigger(), looked up once per backend (and
 * again after a pg_proc change, a GRANT included). A trigger counts as ours
 * only if it runs this function with arguments of a format we know. Format 2
 * is text bound like any expression, as the writer, so anyone may attach it
 * to a table of their own (a restore run by the database owner does).
 * Format 1 holds node trees handed to stringToNode, trusted only while
 * PUBLIC may not execute sync_trigger (0.1), when start alone attached it.
 */
namespace {

Oid			sync_function_oid = InvalidOid;
bool		v1_rules_trusted = false;

Oid
sync_function()
{
	if (!OidIsValid(sync_function_oid))
	{
		sync_function_oid = LookupFuncName(list_make2(makeString(pstrdup("expand_contract")),
													  makeString(pstrdup("sync_trigger"))),
										   0, NULL, true);
		v1_rules_trusted = OidIsValid(sync_function_oid) &&
			pg_proc_aclcheck(sync_function_oid, ACL_ID_PUBLIC, ACL_EXECUTE) != ACLCHECK_OK;
	}
	return sync_function_oid;
}

/* 2 or 1 for a trigger in a format we read, else 0. */
int
trigger_format(const Trigger *trigger)
{
	if (trigger->tgnargs >= kArgFirstRule && (trigger->tgnargs - kArgFirstRule) % kRuleArgCount == 0 &&
		strcmp(trigger->tgargs[kArgFormat], kRulesFormat) == 0)
		return 2;
	(void) sync_function();
	if (trigger->tgnargs == kV1ArgCount && v1_rules_trusted)
		return 1;
	return 0;
}

/* A rule's four arguments (RuleArg). */
List *
rule_arguments(Relation rel, TargetEntry *te, bool up)
{
	const char *kind = psprintf("%s%s", up ? "up" : "down",
								te->ressortgroupref == kFillOnceRule ? kFillOnceKind : "");

	return list_make4((void *) kind, get_attname(RelationGetRelid(rel), te->resno, false),
					  te->resname, (void *) stored_sync_expression(rel, te->expr));
}

/*
 * The format 2 arguments of a sync trigger on rel. Each rule must bind back
 * to the tree it was made from, or it would mean something else after a
 * restore: checked here, at start, not on the first write there.
 */
List *
trigger_arguments(Relation rel, const VersionIdentity &identity, const char *marker, List *ups,
				  List *downs)
{
	List	   *args = list_make4((void *) kRulesFormat, (void *) identity.migration,
								  (void *) identity.new_schema, (void *) identity.base_schema);
	ListCell   *lc;

	args = lappend(lappend(args, (void *) identity.previous_schema), (void *) marker);
	foreach(lc, list_concat_copy(ups, downs))
	{
		TargetEntry *te = lfirst_node(TargetEntry, lc);
		bool		up = foreach_current_index(lc) < list_length(ups);
		List	   *rule = rule_arguments(rel, te, up);
		const char *stored = (const char *) llast(rule);

		if (!equal(bind_stored_sync_expression(rel, stored, te->resno, te->resname), te->expr))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the \"%s\" rule of column \"%s\" cannot be stored so that it means "
							"the same after a dump and restore", up ? "up" : "down", te->resname),
					 errdetail("Stored as: %s", stored),
					 errhint("Qualify the names it uses, or cast its values explicitly.")));
		args = list_concat(args, rule);
	}
	return args;
}

/* The arguments as 0.1 wrote them (V1Arg): while a database is still at
 * 0.1, a new library writes what the old one reads, so going back to the
 * old binaries before ALTER EXTENSION ... UPDATE stays possible. */
List *
v1_trigger_arguments(const VersionIdentity &identity, const char *marker, List *ups, List *downs)
{
	List	   *args = list_make4((void *) identity.migration, (void *) identity.new_schema,
								  (void *) identity.base_schema, (void *) identity.previous_schema);

	args = lappend(args, (void *) marker);
	args = lappend(args, ups == NIL ? (void *) "<>" : nodeToString(ups));
	return lappend(args, downs == NIL ? (void *) "<>" : nodeToString(downs));
}


} // namespace

Trigger *
find_sync_trigger(TriggerDesc *triggers)
{
	for (int i = 0; triggers != NULL && i < triggers->numtriggers; i++)
	{
		Trigger    *trigger = &triggers->triggers[i];

		if (strcmp(trigger->tgname, kSyncTriggerName) == 0 && trigger->tgfoid == sync_function() &&
			trigger_format(trigger) != 0)
			return trigger;
	}
	return NULL;
}

const SyncSpec *
sync_spec(Relation rel)
{
	Trigger    *trigger = find_sync_trigger(rel->trigdesc);

	return trigger ? &sync_state(trigger, rel)->spec : NULL;
}

const SyncSpec *
compiled_sync_spec(Relation rel)
{
	Trigger    *trigger = find_sync_trigger(rel->trigdesc);

	if (trigger == NULL || sync_cache == NULL)
		return NULL;

	SyncCacheKey key = cache_key(trigger->tgoid);
	SyncCacheEntry *entry = (SyncCacheEntry *) hash_search(sync_cache, &key, HASH_FIND, NULL);

	return entry && entry->state && entry->state->valid ? &entry->state->spec : NULL;
}

} // namespace ec

/* A table's definition changed: its compiled expressions may be stale. */
extern "C" void
ec_sync_relcache_callback(Datum arg, Oid relid)
{
	ec::pg_entry([relid] { ec::invalidate_relation(relid); });
}

/* A function was replaced: any compiled expression may call it (and
 * sync_trigger itself may have a new OID). */
extern "C" void
ec_sync_function_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	ec::pg_entry([] {
		ec::sync_function_oid = InvalidOid;
		ec::invalidate_relation(InvalidOid);
	});
}

namespace ec {

void
register_sync_invalidation()
{
	CacheRegisterRelcacheCallback(ec_sync_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(PROCOID, ec_sync_function_callback, (Datum) 0);
}

/* The name a synced column has in the version that reads it: a staged
 * column's name in the new version, an old column's own name. */
static const char *
logical_target_name(const PlannedTable *table, const char *physical)
{
	ListCell   *lc;

	foreach(lc, table->columns)
	{
		const PlannedColumn *c = (const PlannedColumn *) lfirst(lc);

		if (c->added && strcmp(c->physical, physical) == 0)
			return c->name;
	}
	return physical;
}

/* PL/pgSQL (and any row trigger) sees NEW and OLD as the table's whole
 * row, staged columns and marker included; positional uses (INSERT INTO
 * audit VALUES (NEW.*)) break from start on. Nothing can hide them, so say
 * so, naming the triggers. */
static void
warn_about_user_row_triggers(PlannedTable *table)
{
	Relation	rel = relation_open(table->relid, AccessShareLock);
	TriggerDesc *triggers = rel->trigdesc;
	StringInfoData names;

	initStringInfo(&names);
	for (int i = 0; triggers != NULL && i < triggers->numtriggers; i++)
	{
		const Trigger *t = &triggers->triggers[i];

		if (!t->tgisinternal && TRIGGER_FOR_ROW(t->tgtype) && strcmp(t->tgname, kSyncTriggerName) != 0)
			appendStringInfo(&names, "%s%s", names.len > 0 ? ", " : "", quote_identifier(t->tgname));
	}
	relation_close(rel, AccessShareLock);
	if (names.len > 0)
		ereport(WARNING,
				(errmsg("row triggers of table \"%s\" see its staged columns during the migration: %s",
						table->physical_name, names.data),
				 errdetail("NEW and OLD are the table's whole row, with the migration's _ec_ columns; "
						   "code that uses them by position (INSERT ... VALUES (NEW.*)) fails until "
						   "complete, and after it renamed columns keep their positions."),
				 errhint("Name the columns such triggers use.")));
}

/*
 * A partitioned table is synced by one trigger on it, which PostgreSQL
 * clones onto every partition, present and future, at any depth; each clone
 * binds the rules by name on its own partition. Inheritance children are
 * not reached by a trigger on their parent, and a partition alone is part of
 * a table whose shape changes as a whole.
 */
static void
require_syncable_rows(MigrationPlan *plan, PlannedTable *table)
{
	if (get_rel_relispartition(table->relid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table \"%s\" is a partition of \"%s\"", table->physical_name,
						get_rel_name(get_partition_parent(table->relid, false))),
				 errhint("Migrate the partitioned table.")));
	if (get_rel_relkind(table->relid) == RELKIND_RELATION && has_subclass(table->relid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table \"%s\" has inheritance children, whose columns cannot be kept in sync",
						table->physical_name),
				 errhint("Declarative partitioning is supported; inheritance is not.")));
	(void) plan_storage_tables(plan, table);
}

void
install_sync_trigger(MigrationPlan *plan, PlannedTable *table)
{
	if (!plan_has_sync_trigger(table))
		return;
	warn_about_user_row_triggers(table);

	require_syncable_rows(plan, table);

	const char *table_sql = qname(plan->schema, table->physical_name);
	bool		has_up = plan_has_backfill_marker(table);
	ListCell   *lc;

	if (has_up)
		sql_execf("ALTER TABLE %s ADD COLUMN %s boolean DEFAULT true", table_sql, qi(kBackfillMarker));

	Relation	rel = relation_open(table->relid, AccessShareLock);
	Shape		old_version = plan_up_shape(table);
	Shape		new_version = new_shape(table->columns);
	List	   *ups = NIL;
	List	   *downs = NIL;

	foreach(lc, table->syncs)
	{
		SyncColumn *sync = (SyncColumn *) lfirst(lc);
		bool		up = sync->direction == SyncDirection::Up;
		const char *source = sync->expression ? sync->expression
			: quote_identifier(sync->identity_of->name);
		Expr	   *expr = analyse_sync_expression(plan->names, rel, up ? old_version : new_version,
												   source, sync->target, sync->origin);
		/* Named as the version that reads the target calls it. */
		TargetEntry *te = makeTargetEntry(expr, get_attnum(table->relid, sync->target),
										  pstrdup(logical_target_name(table, sync->target)), false);

		if (sync->fill_once)
			te->ressortgroupref = kFillOnceRule;

		if (up)
			ups = lappend(ups, te);
		else
			downs = lappend(downs, te);
	}

	VersionIdentity identity = {plan->name, plan->version_schema, plan->schema,
		plan->previous_version_schema ? plan->previous_version_schema : ""};
	StringInfoData args;

	initStringInfo(&args);
	const char *marker = has_up ? kBackfillMarker : "";
	List	   *trigger_args = catalog_at_version_0_1() ? v1_trigger_arguments(identity, marker, ups, downs)
		: trigger_arguments(rel, identity, marker, ups, downs);

	foreach(lc, trigger_args)
		appendStringInfo(&args, "%s%s", foreach_current_index(lc) > 0 ? ", " : "",
						 ql((const char *) lfirst(lc)));
	relation_close(rel, AccessShareLock);

	/* Attached as the catalog owner, who owns the function it runs. */
	catalog_exec(psprintf("CREATE TRIGGER %s BEFORE INSERT OR UPDATE ON %s FOR EACH ROW "
						  "EXECUTE FUNCTION expand_contract.sync_trigger(%s)",
						  qi(kSyncTriggerName), table_sql, args.data));

	/* The trigger depends on every column it reads or writes, so none of them
	 * can be dropped or retyped under it. */
	ObjectAddress trigger;

	ObjectAddressSet(trigger, TriggerRelationId, get_trigger_oid(table->relid, kSyncTriggerName, false));
	foreach(lc, list_concat(ups, downs))
	{
		TargetEntry *te = lfirst_node(TargetEntry, lc);
		ObjectAddress target;

		ObjectAddressSubSet(target, RelationRelationId, table->relid, te->resno);
		recordDependencyOn(&trigger, &target, DEPENDENCY_NORMAL);
		recordDependencyOnSingleRelExpr(&trigger, (Node *) te->expr, table->relid,
										DEPENDENCY_NORMAL, DEPENDENCY_NORMAL, false);
	}
	CommandCounterIncrement();
}

/* The arguments of a trigger, as pg_trigger.tgargs stores them: each
 * followed by a NUL. */
static bytea *
tgargs_value(List *args)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, "\0\0\0\0", VARHDRSZ);
	foreach(lc, args)
		appendBinaryStringInfo(&buf, (const char *) lfirst(lc), strlen((const char *) lfirst(lc)) + 1);
	SET_VARSIZE(buf.data, buf.len);
	return (bytea *) buf.data;
}

/* Rewrites one format 1 trigger's arguments as format 2, in place: the
 * trigger keeps its OID and dependencies, and writers need not wait (a lock
 * that only keeps other DDL out, like CREATE INDEX CONCURRENTLY's). */
static void
rewrite_v1_trigger(Relation pg_trigger, Oid trigger_oid, Oid relid)
{
	Relation	rel = table_open(relid, ShareUpdateExclusiveLock);
	Trigger    *trigger = NULL;

	for (int i = 0; rel->trigdesc != NULL && i < rel->trigdesc->numtriggers; i++)
		if (rel->trigdesc->triggers[i].tgoid == trigger_oid)
			trigger = &rel->trigdesc->triggers[i];
	if (trigger == NULL || trigger_format(trigger) != 1)
		elog(ERROR, "expand_contract: trigger %u on \"%s\" is not a sync trigger of version 0.1",
			 trigger_oid, RelationGetRelationName(rel));

	char	  **identity = trigger->tgargs + kV1Identity;
	VersionIdentity version = {identity[0], identity[1], identity[2], identity[3]};
	List	   *args = trigger_arguments(rel, version, identity[4],
										 decode_v1_rules(trigger->tgargs[kV1Up]),
										 decode_v1_rules(trigger->tgargs[kV1Down]));
	ScanKeyData key;

	ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(trigger_oid));

	SysScanDesc scan = systable_beginscan(pg_trigger, TriggerOidIndexId, true, NULL, 1, &key);
	HeapTuple	tuple = systable_getnext(scan);
	Datum		values[Natts_pg_trigger] = {0};
	bool		nulls[Natts_pg_trigger] = {false};
	bool		replace[Natts_pg_trigger] = {false};

	values[Anum_pg_trigger_tgnargs - 1] = Int16GetDatum(list_length(args));
	replace[Anum_pg_trigger_tgnargs - 1] = true;
	values[Anum_pg_trigger_tgargs - 1] = PointerGetDatum(tgargs_value(args));
	replace[Anum_pg_trigger_tgargs - 1] = true;

	HeapTuple	rewritten = heap_modify_tuple(tuple, RelationGetDescr(pg_trigger), values, nulls, replace);

	CatalogTupleUpdate(pg_trigger, &tuple->t_self, rewritten);
	systable_endscan(scan);
	CacheInvalidateRelcache(rel);
	table_close(rel, NoLock);
}

/* ALTER EXTENSION ... UPDATE from 0.1: every sync trigger 0.1 attached gets
 * its rules as format 2. Returns how many were rewritten. */
static int
rewrite_v1_triggers()
{
	Oid			function = sync_function();
	Relation	pg_trigger = table_open(TriggerRelationId, RowExclusiveLock);
	SysScanDesc scan = systable_beginscan(pg_trigger, InvalidOid, false, NULL, 0, NULL);
	List	   *triggers = NIL;
	List	   *relids = NIL;
	HeapTuple	tuple;
	ListCell   *lt;
	ListCell   *lr;

	while ((tuple = systable_getnext(scan)) != NULL)
	{
		Form_pg_trigger t = (Form_pg_trigger) GETSTRUCT(tuple);

		if (t->tgfoid == function && t->tgnargs == kV1ArgCount)
		{
			triggers = lappend_oid(triggers, t->oid);
			relids = lappend_oid(relids, t->tgrelid);
		}
	}
	systable_endscan(scan);
	forboth(lt, triggers, lr, relids)
		rewrite_v1_trigger(pg_trigger, lfirst_oid(lt), lfirst_oid(lr));
	table_close(pg_trigger, RowExclusiveLock);
	return list_length(triggers);
}

} // namespace ec

EC_FUNCTION(ec_rewrite_sync_triggers_v1)
{
	int			pinned = ec::pin_settings(ec::kPinnedSearchPath);
	int			rewritten = ec::rewrite_v1_triggers();

	ec::unpin_settings(pinned);
	PG_RETURN_INT32(rewritten);
}

EC_FUNCTION(ec_sync_trigger)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("expand_contract.sync_trigger() must be called as a trigger")));

	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("expand_contract.sync_trigger() must run BEFORE INSERT OR UPDATE FOR EACH ROW")));
	return PointerGetDatum(ec::sync_row(td));
}
