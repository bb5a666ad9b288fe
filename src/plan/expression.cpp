/*
 * expression.cpp — parsing and analysing up/down expressions; see expression.hpp.
 */
#include "plan/expression.hpp"

#include <cctype>

#include "pg/error_context.hpp"
#include "plan/plan.hpp"
#include "pg/sql.hpp"

namespace ec {

namespace {

/* Runs body() reading text and resolving names by the caller's rules; an
 * ERROR unwinds them. */
template <typename Body>
auto
resolved_with(const NameRules &names, Body &&body) -> decltype(body())
{
	int			nest_level = use_search_path(names.search_path);

	(void) set_config_option("standard_conforming_strings", names.standard_strings ? "on" : "off",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

	auto		result = body();

	restore_search_path(nest_level);
	return result;
}

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

static Node *
transform_raw_against_shape(Relation rel, const Shape &shape, const char *source, Node *raw,
							ParseExprKind kind, ParseState **pstate_out);

Node *
transform_against_shape(Relation rel, const Shape &shape, const char *source,
						ParseExprKind kind, ParseState **pstate_out)
{
	return transform_raw_against_shape(rel, shape, source, parse_expression(source), kind, pstate_out);
}

static Node *
transform_raw_against_shape(Relation rel, const Shape &shape, const char *source, Node *raw,
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

	Node	   *expr = transformExpr(pstate, raw, kind);

	*pstate_out = pstate;
	return expr;
}

/* expr assignment-coerced to a column of type/typmod, collations assigned;
 * ERROR 42804 when it cannot be assigned. */
Node *
coerce_to_column(ParseState *pstate, Node *expr, Oid type, int32 typmod, const char *what)
{
	Oid			source_type = exprType(expr);
	Node	   *coerced = coerce_to_target_type(pstate, expr, source_type, type, typmod,
												COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);

	if (coerced == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s of type %s cannot be assigned to a column of type %s",
						what, format_type_be(source_type), format_type_be(type)),
				 errhint("Add an explicit cast to the expression.")));
	assign_expr_collations(pstate, coerced);
	return coerced;
}

/* An expression over rel's columns, column names bare. */
const char *
deparse_on(Relation rel, Node *expr)
{
	return deparse_exactly(expr, deparse_context_for(RelationGetRelationName(rel),
													  RelationGetRelid(rel)),
						   false);
}

const char *
type_sql(Oid type, int32 typmod)
{
	return format_type_extended(type, typmod, FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY);
}

/* A number option's value as the scanner read it (digits, sign, point). */
const char *
option_number(DefElem *option)
{
	if (option->arg != NULL && IsA(option->arg, Integer))
		return psprintf("%d", intVal(option->arg));
	if (option->arg != NULL && IsA(option->arg, Float))
		return castNode(Float, option->arg)->fval;
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("sequence option \"%s\" needs a number", option->defname)));
	pg_unreachable();
}

void
append_sequence_option(StringInfo buf, const NameRules &names, DefElem *option)
{
	static const struct {
		const char *name;
		const char *sql;
	}			kNumbers[] = {{"start", "START WITH"}, {"increment", "INCREMENT BY"},
							  {"minvalue", "MINVALUE"}, {"maxvalue", "MAXVALUE"},
							  {"cache", "CACHE"}};
	const char *name = option->defname;

	if (buf->len > 0)
		appendStringInfoChar(buf, ' ');
	if (strcmp(name, "as") == 0)
	{
		TypeName   *type_name = castNode(TypeName, option->arg);
		Oid			type = resolved_with(names, [&]() { return typenameTypeId(NULL, type_name); });

		appendStringInfo(buf, "AS %s", type_sql(type, -1));
		return;
	}
	if (strcmp(name, "cycle") == 0)
	{
		appendStringInfoString(buf, boolVal(option->arg) ? "CYCLE" : "NO CYCLE");
		return;
	}
	for (const auto &known : kNumbers)
	{
		if (strcmp(name, known.name) != 0)
			continue;
		if (option->arg == NULL)	/* NO MINVALUE, NO MAXVALUE */
			appendStringInfo(buf, "NO %s", known.sql);
		else
			appendStringInfo(buf, "%s %s", known.sql, option_number(option));
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("sequence option \"%s\" is not allowed for an identity column", name)));
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

Shape
relation_shape(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *names = NIL;

	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped)
			names = lappend(names, pstrdup(NameStr(TupleDescAttr(desc, i)->attname)));
	return Shape{names, names};
}

/*
 * Implicit casts shown: without them f(int_col), bound to f(bigint), would
 * read back as a call of any f(integer) created since.
 */
const char *
deparse_exactly(Node *expr, List *context, bool prefix_columns)
{
	return deparse_expression(expr, context, prefix_columns, true);
}

Expr *
analyse_sync_expression(const NameRules &names, Relation rel, const Shape &shape,
						const char *source, const char *target, const char *origin)
{
	Expr	   *result = NULL;

	with_error_prefix(origin, source, [&]() {
		result = resolved_with(names, [&]() {
			ParseState *pstate;
			Node	   *expr = transform_against_shape(rel, shape, source, EXPR_KIND_UPDATE_SOURCE, &pstate);
			AttrNumber	attnum = get_attnum(RelationGetRelid(rel), target);
			Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);

			return (Expr *) coerce_to_column(pstate, expr, att->atttypid, att->atttypmod,
											 "expression");
		});
	});
	return result;
}

const char *
stored_sync_expression(Relation rel, Expr *expr)
{
	int			pinned = pin_settings(kPinnedSearchPath);
	/* Without the assignment coercion to the column, which binding adds
	 * again: shown, it would read back as an explicit cast, which means
	 * something else (an explicit cast to varchar(8) truncates). */
	const char *text = deparse_on(rel, strip_implicit_coercions((Node *) expr));

	unpin_settings(pinned);
	return text;
}

Expr *
bind_stored_sync_expression(Relation rel, const char *stored, AttrNumber target, const char *origin)
{
	Expr	   *result = NULL;

	with_error_prefix(origin, stored, [&]() {
		result = resolved_with(pinned_names(), [&]() {
			ParseState *pstate = make_parsestate(NULL);

			pstate->p_sourcetext = stored;
			/* Unlike a user's expression, this one names the table's columns as
			 * they are, prefixed by the table's name inside subqueries. */
			ParseNamespaceItem *item = addRangeTableEntryForRelation(pstate, rel, AccessShareLock,
																	 NULL, false, true);

			addNSItemToQuery(pstate, item, false, true, true);

			Node	   *expr = transformExpr(pstate, parse_expression(stored), EXPR_KIND_UPDATE_SOURCE);
			Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), target - 1);

			return (Expr *) coerce_to_column(pstate, expr, att->atttypid, att->atttypmod,
											 "expression");
		});
	});
	return result;
}

const char *
check_on_physical_columns(const NameRules &names, Relation rel, const Shape &shape,
						  const char *source, const char *field)
{
	const char *result = NULL;

	with_error_prefix(field, source, [&]() {
		Node	   *check = resolved_with(names, [&]() {
			ParseState *pstate;
			Node	   *expr = transform_against_shape(rel, shape, source, EXPR_KIND_CHECK_CONSTRAINT,
													   &pstate);

			expr = coerce_to_boolean(pstate, expr, "CHECK");
			assign_expr_collations(pstate, expr);
			return expr;
		});

		result = deparse_on(rel, check);
	});
	return result;
}

const char *
generated_on_columns(const NameRules &names, Relation rel, const char *source, Oid type,
					 int32 typmod, const char *field)
{
	const char *result = NULL;
	Shape		shape = relation_shape(rel);

	with_error_prefix(field, source, [&]() {
		Node	   *expr = resolved_with(names, [&]() {
			ParseState *pstate;
			Node	   *parsed = transform_against_shape(rel, shape, source, EXPR_KIND_GENERATED_COLUMN,
														 &pstate);

			return coerce_to_column(pstate, parsed, type, typmod, "generated expression");
		});

		result = deparse_on(rel, expr);
	});
	return result;
}

namespace {

/* As CREATE TABLE tells them (transformColumnDefinition): one unqualified
 * name, no array bounds, no modifiers. */
const char *
serial_keyword(const TypeName *name, Oid *integer_type)
{
	static const struct {
		const char *name;
		const char *keyword;
		Oid type;
	} kSerials[] = {
		{"smallserial", "smallserial", INT2OID}, {"serial2", "smallserial", INT2OID},
		{"serial", "serial", INT4OID}, {"serial4", "serial", INT4OID},
		{"bigserial", "bigserial", INT8OID}, {"serial8", "bigserial", INT8OID},
	};

	if (list_length(name->names) != 1 || name->arrayBounds != NIL || name->typmods != NIL ||
		name->pct_type || name->setof)
		return NULL;

	const char *given = strVal(linitial(name->names));

	for (const auto &serial : kSerials)
		if (strcmp(given, serial.name) == 0)
		{
			*integer_type = serial.type;
			return serial.keyword;
		}
	return NULL;
}

} // namespace

ColumnType
parse_type_field(const NameRules &names, const char *source, const char *field)
{
	ColumnType	result = {InvalidOid, -1, NULL, NULL};

	with_error_prefix(field, source, [&]() {
		result = resolved_with(names, [&]() {
			ColumnType	parsed = {InvalidOid, -1, NULL, NULL};
			/* The type-name grammar alone: anything after the name is a
			 * syntax error. */
			TypeName   *name = typeStringToTypeName(source);

			parsed.serial = serial_keyword(name, &parsed.type);
			if (parsed.serial == NULL)
				typenameTypeIdAndMod(NULL, name, &parsed.type, &parsed.typmod);
			return parsed;
		});
	});
	result.sql = type_sql(result.type, result.typmod);
	return result;
}

ColumnType
column_type(Oid relid, const char *column)
{
	FormData_pg_attribute attribute = column_attribute(relid, column);
	ColumnType	result;

	result.type = attribute.atttypid;
	result.typmod = attribute.atttypmod;
	result.sql = type_sql(result.type, result.typmod);
	return result;
}

const char *
default_on_type(const NameRules &names, const char *source, const ColumnType &type,
				const char *field, bool *is_volatile)
{
	const char *result = NULL;

	with_error_prefix(field, source, [&]() {
		Node	   *expr = resolved_with(names, [&]() {
			ParseState *pstate = make_parsestate(NULL);

			pstate->p_sourcetext = source;

			Node	   *parsed = transformExpr(pstate, parse_expression(source), EXPR_KIND_COLUMN_DEFAULT);

			return coerce_to_column(pstate, parsed, type.type, type.typmod, "default");
		});

		/* Without the assignment coercion to the column, which storing the
		 * default applies again: shown, it would be stored as an explicit
		 * cast, which means something else (it truncates a varchar). */
		result = deparse_exactly(strip_implicit_coercions(expr), NIL, false);
		if (is_volatile != NULL)
			*is_volatile = contain_volatile_functions(expr);
	});
	return result;
}

const char *
sequence_options_sql(const NameRules &names, const char *source, const char *field)
{
	const char *result = NULL;

	with_error_prefix(field, source, [&]() {
		/* Parsed, never run: the options of a CREATE SEQUENCE and nothing
		 * more, rebuilt one by one from their parsed values. */
		List	   *statements = raw_parser(psprintf("CREATE SEQUENCE ec_options %s", source),
											RAW_PARSE_DEFAULT);

		if (list_length(statements) != 1 ||
			!IsA(((RawStmt *) linitial(statements))->stmt, CreateSeqStmt))
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("must be a list of sequence options")));

		CreateSeqStmt *seq = (CreateSeqStmt *) ((RawStmt *) linitial(statements))->stmt;
		StringInfoData buf;
		ListCell   *lc;

		initStringInfo(&buf);
		foreach(lc, seq->options)
			append_sequence_option(&buf, names, lfirst_node(DefElem, lc));
		result = buf.data;
	});
	return result;
}

const char *
storage_parameters_sql(const char *source, const char *field)
{
	const char *result = NULL;

	with_error_prefix(field, source, [&]() {
		/* Parsed, never run: the WITH (...) list of a CREATE TABLE and
		 * nothing more, rebuilt one by one with quoted names and values. */
		List	   *statements = raw_parser(psprintf("CREATE TABLE ec_options () WITH (%s)", source),
											RAW_PARSE_DEFAULT);
		CreateStmt *create = list_length(statements) == 1 &&
			IsA(((RawStmt *) linitial(statements))->stmt, CreateStmt)
			? (CreateStmt *) ((RawStmt *) linitial(statements))->stmt : NULL;

		if (create == NULL || create->tableElts != NIL || create->inhRelations != NIL ||
			create->partspec != NULL || create->partbound != NULL || create->ofTypename != NULL ||
			create->constraints != NIL || create->oncommit != ONCOMMIT_NOOP ||
			create->tablespacename != NULL || create->accessMethod != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("must be a list of storage parameters (name = value, ...)")));

		StringInfoData buf;
		ListCell   *lc;

		initStringInfo(&buf);
		foreach(lc, create->options)
		{
			DefElem    *option = lfirst_node(DefElem, lc);

			appendStringInfo(&buf, "%s%s%s%s", buf.len > 0 ? ", " : "",
							 option->defnamespace ? quote_identifier(option->defnamespace) : "",
							 option->defnamespace ? "." : "", quote_identifier(option->defname));
			if (option->arg != NULL)
				appendStringInfo(&buf, " = %s", quote_literal_cstr(defGetString(option)));
		}
		result = buf.data;
	});
	return result;
}

const char *
qualified_collation_name(Oid collation)
{
	HeapTuple	tuple = SearchSysCache1(COLLOID, ObjectIdGetDatum(collation));
	Form_pg_collation form = (Form_pg_collation) GETSTRUCT(tuple);
	const char *sql = quote_qualified_identifier(get_namespace_name(form->collnamespace),
												 NameStr(form->collname));

	ReleaseSysCache(tuple);
	return sql;
}

const char *
qualified_opclass_name(Oid opclass)
{
	HeapTuple	tuple = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclass));
	Form_pg_opclass form = (Form_pg_opclass) GETSTRUCT(tuple);
	const char *sql = quote_qualified_identifier(get_namespace_name(form->opcnamespace),
												 NameStr(form->opcname));

	ReleaseSysCache(tuple);
	return sql;
}

const char *
collation_sql(const NameRules &names, const char *source, const char *field)
{
	Oid			collation = InvalidOid;

	with_error_prefix(field, source, [&]() {
		/* One name, as written ("C" is not "c"), as pgroll quotes it. */
		collation = resolved_with(names, [&]() {
			return get_collation_oid(list_make1(makeString(pstrdup(source))), false);
		});
	});

	return qualified_collation_name(collation);
}

const char *
opclass_sql(const NameRules &names, const char *source, Oid am, const char *field)
{
	Oid			opclass = InvalidOid;

	with_error_prefix(field, source, [&]() {
		opclass = resolved_with(names, [&]() {
			return get_opclass_oid(am, stringToQualifiedNameList(source), false);
		});
	});

	return qualified_opclass_name(opclass);
}

const char *
exclusion_sql(const NameRules &names, Relation rel, Oid am, const char *elements,
			  const char *predicate, const char *field)
{
	StringInfoData buf;

	initStringInfo(&buf);
	with_error_prefix(field, elements, [&]() {
		/* Parsed, never run: the element list of one EXCLUDE constraint and
		 * nothing more; each element is rebuilt from its analysed form. */
		List	   *statements = raw_parser(psprintf("CREATE TABLE ec_x (EXCLUDE (%s))", elements),
											RAW_PARSE_DEFAULT);
		CreateStmt *create = list_length(statements) == 1 &&
			IsA(((RawStmt *) linitial(statements))->stmt, CreateStmt)
			? (CreateStmt *) ((RawStmt *) linitial(statements))->stmt : NULL;
		Constraint *exclude = create && list_length(create->tableElts) == 1 &&
			IsA(linitial(create->tableElts), Constraint)
			? (Constraint *) linitial(create->tableElts) : NULL;

		if (exclude == NULL || exclude->contype != CONSTR_EXCLUSION || exclude->where_clause != NULL ||
			exclude->including != NIL || exclude->options != NIL || exclude->indexspace != NULL ||
			create->options != NIL || create->inhRelations != NIL || create->partspec != NULL ||
			create->tablespacename != NULL || create->accessMethod != NULL || create->constraints != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("must be a list of exclusion elements (element WITH operator, ...)")));

		Shape		shape = relation_shape(rel);
		ListCell   *lc;

		foreach(lc, exclude->exclusions)
		{
			List	   *pair = (List *) lfirst(lc);
			IndexElem  *elem = (IndexElem *) linitial(pair);
			List	   *opname = (List *) lsecond(pair);
			Oid			type;

			appendStringInfoString(&buf, foreach_current_index(lc) > 0 ? ", " : "");
			if (elem->name != NULL)
			{
				AttrNumber	attnum = get_attnum(RelationGetRelid(rel), elem->name);

				if (attnum == InvalidAttrNumber)
					ereport(ERROR,
							(errcode(ERRCODE_UNDEFINED_COLUMN),
							 errmsg("column \"%s\" does not exist", elem->name)));
				type = get_atttype(RelationGetRelid(rel), attnum);
				appendStringInfoString(&buf, quote_identifier(elem->name));
			}
			else
			{
				Node	   *expr = resolved_with(names, [&]() {
					ParseState *pstate;
					Node	   *e = transform_raw_against_shape(rel, shape, elements, elem->expr,
																EXPR_KIND_INDEX_EXPRESSION, &pstate);

					assign_expr_collations(pstate, e);
					return e;
				});

				type = exprType(expr);
				appendStringInfo(&buf, "(%s)", deparse_on(rel, expr));
			}
			if (elem->collation != NIL)
			{
				Oid			collation = resolved_with(names, [&]() { return get_collation_oid(elem->collation, false); });

				appendStringInfo(&buf, " COLLATE %s", qualified_collation_name(collation));
			}
			if (elem->opclass != NIL)
			{
				Oid			opclass = resolved_with(names, [&]() { return get_opclass_oid(am, elem->opclass, false); });

				appendStringInfo(&buf, " %s", qualified_opclass_name(opclass));
			}
			if (elem->ordering == SORTBY_DESC)
				appendStringInfoString(&buf, " DESC");
			if (elem->nulls_ordering != SORTBY_NULLS_DEFAULT)
				appendStringInfoString(&buf, elem->nulls_ordering == SORTBY_NULLS_FIRST ? " NULLS FIRST"
									   : " NULLS LAST");

			Oid			op = resolved_with(names, [&]() { return OpernameGetOprid(opname, type, type); });

			if (!OidIsValid(op))
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_FUNCTION),
						 errmsg("operator %s does not exist for type %s", NameListToString(opname),
								format_type_be(type))));

			HeapTuple	tuple = SearchSysCache1(OPEROID, ObjectIdGetDatum(op));
			Form_pg_operator form = (Form_pg_operator) GETSTRUCT(tuple);

			appendStringInfo(&buf, " WITH OPERATOR(%s.%s)", quote_identifier(get_namespace_name(form->oprnamespace)),
							 NameStr(form->oprname));
			ReleaseSysCache(tuple);
		}
	});

	const char *where = predicate && predicate[0] != '\0'
		? check_on_physical_columns(names, rel, relation_shape(rel), predicate,
									psprintf("%s (predicate)", field))
		: NULL;

	return psprintf("(%s)%s%s%s", buf.data, where ? " WHERE (" : "", where ? where : "", where ? ")" : "");
}

} // namespace ec
