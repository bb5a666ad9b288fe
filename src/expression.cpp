/*
 * expression.cpp — parsing and analysing up/down expressions; see expression.hpp.
 */
#include "expression.hpp"

#include <cctype>

#include "error_context.hpp"
#include "plan.hpp"

namespace ec {

namespace {

struct ShapeResolver {
	const Shape *shape;
	Relation rel;
	ParseState *root;			/* the expression's own level */
};

/*
 * Resolves a column name the parser could not find elsewhere (a subquery's own
 * FROM items win) to the physical column behind it in this shape.
 */
Node *
resolve_shape_column(ParseState *pstate, ColumnRef *cref, Node *found)
{
	ShapeResolver *resolver = static_cast<ShapeResolver *>(pstate->p_ref_hook_state);

	if (found != NULL || list_length(cref->fields) != 1 || !IsA(linitial(cref->fields), String))
		return NULL;

	const char *name = strVal(linitial(cref->fields));
	const char *physical = NULL;
	ListCell   *ln;
	ListCell   *lp;

	forboth(ln, resolver->shape->names, lp, resolver->shape->physical)
	{
		if (strcmp((const char *) lfirst(ln), name) == 0)
			physical = (const char *) lfirst(lp);
	}
	if (physical == NULL)
		return NULL;

	TupleDesc	desc = RelationGetDescr(resolver->rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), physical) != 0)
			continue;

		Index		levelsup = 0;

		for (ParseState *p = pstate; p != resolver->root; p = p->parentParseState)
			levelsup++;

		Var		   *var = makeVar(1, att->attnum, att->atttypid, att->atttypmod,
								  att->attcollation, levelsup);

		var->location = cref->location;
		return (Node *) var;
	}
	return NULL;
}

bool
starts_with_keyword(const char *text, const char *keyword)
{
	size_t		n = strlen(keyword);

	while (isspace((unsigned char) *text))
		text++;
	return pg_strncasecmp(text, keyword, n) == 0 && !isalnum((unsigned char) text[n]) &&
		text[n] != '_';
}

/*
 * An expression, or (as pgroll allows) a whole SELECT returning one value,
 * which becomes a scalar subquery.
 */
Node *
parse_expression(const char *source)
{
	if (starts_with_keyword(source, "select") || starts_with_keyword(source, "with") ||
		starts_with_keyword(source, "values"))
	{
		List	   *statements = raw_parser(source, RAW_PARSE_DEFAULT);

		if (list_length(statements) != 1 ||
			!IsA(((RawStmt *) linitial(statements))->stmt, SelectStmt))
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("a query used as an expression must be a single SELECT")));

		SubLink    *sublink = makeNode(SubLink);

		sublink->subLinkType = EXPR_SUBLINK;
		sublink->subselect = ((RawStmt *) linitial(statements))->stmt;
		sublink->location = -1;
		return (Node *) sublink;
	}

	List	   *statements = raw_parser(source, RAW_PARSE_PLPGSQL_EXPR);
	SelectStmt *select = (SelectStmt *) ((RawStmt *) linitial(statements))->stmt;

	if (list_length(select->targetList) != 1 || select->fromClause != NIL ||
		select->whereClause != NULL || select->groupClause != NIL ||
		select->havingClause != NULL || select->windowClause != NIL ||
		select->sortClause != NIL || select->limitCount != NULL ||
		select->limitOffset != NULL || select->lockingClause != NIL ||
		select->distinctClause != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("must be a single SQL expression")));
	return ((ResTarget *) linitial(select->targetList))->val;
}

Node *
transform_against_shape(Relation rel, const Shape &shape, const char *source,
						ParseExprKind kind, ParseState **pstate_out)
{
	ParseState *pstate = make_parsestate(NULL);
	ShapeResolver *resolver = (ShapeResolver *) palloc(sizeof(ShapeResolver));

	pstate->p_sourcetext = source;
	/* The table is in the range table (so Vars point at it) but not in the
	 * namespace: names resolve through the shape only. */
	(void) addRangeTableEntryForRelation(pstate, rel, AccessShareLock, NULL, false, false);
	resolver->shape = &shape;
	resolver->rel = rel;
	resolver->root = pstate;
	pstate->p_post_columnref_hook = resolve_shape_column;
	pstate->p_ref_hook_state = resolver;

	Node	   *expr = transformExpr(pstate, parse_expression(source), kind);

	*pstate_out = pstate;
	return expr;
}

} // namespace

Shape
old_shape(List *old_columns)
{
	return Shape{old_columns, old_columns};
}

Shape
new_shape(List *planned_columns)
{
	Shape		shape{NIL, NIL};
	ListCell   *lc;

	foreach(lc, planned_columns)
	{
		PlannedColumn *column = (PlannedColumn *) lfirst(lc);

		shape.names = lappend(shape.names, (void *) column->name);
		shape.physical = lappend(shape.physical, (void *) column->physical);
	}
	return shape;
}

Expr *
analyse_sync_expression(Relation rel, const Shape &shape, const char *source,
						const char *target, const char *origin)
{
	Expr	   *result = NULL;

	with_error_prefix(origin, source, [&]() {
		ParseState *pstate;
		Node	   *expr = transform_against_shape(rel, shape, source, EXPR_KIND_UPDATE_SOURCE, &pstate);
		AttrNumber	attnum = get_attnum(RelationGetRelid(rel), target);
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
		Oid			source_type = exprType(expr);
		Node	   *coerced = coerce_to_target_type(pstate, expr, source_type,
													att->atttypid, att->atttypmod,
													COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);

		if (coerced == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("expression of type %s cannot be assigned to a column of type %s",
							format_type_be(source_type), format_type_be(att->atttypid)),
					 errhint("Add an explicit cast to the expression.")));
		assign_expr_collations(pstate, coerced);
		result = (Expr *) coerced;
	});
	return result;
}

const char *
check_on_physical_columns(Relation rel, const Shape &shape, const char *source, const char *field)
{
	const char *result = NULL;

	with_error_prefix(field, source, [&]() {
		ParseState *pstate;
		Node	   *expr = transform_against_shape(rel, shape, source, EXPR_KIND_CHECK_CONSTRAINT, &pstate);

		expr = coerce_to_boolean(pstate, expr, "CHECK");
		assign_expr_collations(pstate, expr);
		result = deparse_expression(expr,
									deparse_context_for(RelationGetRelationName(rel),
														RelationGetRelid(rel)),
									false, false);
	});
	return result;
}

void
check_default_expression(const char *source, const char *type_sql, const char *field)
{
	with_error_prefix(field, source, [&]() {
		Oid			type;
		int32		typmod;
		ParseState *pstate = make_parsestate(NULL);

		parseTypeString(type_sql, &type, &typmod, false);
		pstate->p_sourcetext = source;

		Node	   *expr = transformExpr(pstate, parse_expression(source), EXPR_KIND_COLUMN_DEFAULT);
		Oid			source_type = exprType(expr);

		if (coerce_to_target_type(pstate, expr, source_type, type, typmod, COERCION_ASSIGNMENT,
								  COERCE_IMPLICIT_CAST, -1) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("default of type %s cannot be assigned to a column of type %s",
							format_type_be(source_type), format_type_be(type)),
					 errhint("Give a \"default\" that fits the column's type.")));
	});
}

} // namespace ec
