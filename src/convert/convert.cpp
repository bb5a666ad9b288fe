/*
 * convert.cpp — expand_contract.convert(sql): DDL as a migration document.
 *
 * The server's own raw parser reads the statements; each one it knows
 * (CREATE TABLE, ALTER TABLE's column, default, NOT NULL, constraint and
 * replica identity subcommands, RENAME, CREATE/DROP INDEX, DROP TABLE,
 * COMMENT ON COLUMN) becomes pgroll operations, with "up"/"down" left as
 * TODO placeholders where pgroll leaves them; any other statement, or one
 * with a part that has no operation, becomes an sql operation, with a
 * WARNING. Names come from the parse tree; types, defaults and expressions
 * are the statement's own text, cut out with the server's scanner (a raw
 * parse tree has no deparser), so they read as the author wrote them.
 */
#include "boundary.hpp"
#include "pg.hpp"

namespace ec {

namespace {

constexpr const char *kTodo = "TODO: Implement SQL data migration";

/* A JSON object under construction (palloc'd: nothing to destroy). */
class JsonObjectText {
public:
	JsonObjectText() { initStringInfo(&buf_); appendStringInfoChar(&buf_, '{'); }

	JsonObjectText &raw(const char *key, const char *json)
	{
		if (json == NULL)
			return *this;
		appendStringInfoString(&buf_, first_ ? "" : ", ");
		escape_json(&buf_, key);
		appendStringInfo(&buf_, ": %s", json);
		first_ = false;
		return *this;
	}
	JsonObjectText &str(const char *key, const char *value)
	{
		return value == NULL ? *this : raw(key, json_string(value));
	}
	JsonObjectText &boolean(const char *key, bool value) { return raw(key, value ? "true" : "false"); }
	const char *done()
	{
		appendStringInfoChar(&buf_, '}');
		return buf_.data;
	}

	static const char *json_string(const char *value)
	{
		StringInfoData s;

		initStringInfo(&s);
		escape_json(&s, value);
		return s.data;
	}

private:
	StringInfoData buf_;
	bool first_ = true;
};

const char *
json_array(List *items)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	foreach(lc, items)
		appendStringInfo(&buf, "%s%s", foreach_current_index(lc) > 0 ? ", " : "", (const char *) lfirst(lc));
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

const char *
string_array(List *names)
{
	List	   *items = NIL;
	ListCell   *lc;

	foreach(lc, names)
		items = lappend(items, (void *) JsonObjectText::json_string(strVal(lfirst(lc))));
	return json_array(items);
}

const char *
operation(const char *kind, const char *body)
{
	return JsonObjectText().raw(kind, body).done();
}

/* Thrown (as an ERROR we catch) when a statement has a part that no
 * operation expresses: the statement is kept as an sql operation. */
constexpr int kNotConvertible = MAKE_SQLSTATE('E', 'C', '0', '0', '2');

[[noreturn]] void
not_convertible(const char *why)
{
	ereport(ERROR, (errcode(kNotConvertible), errmsg("%s", why)));
	pg_unreachable();
}

/* The statement's text being converted, for cutting out its parts. */
struct Source {
	const char *sql;
};

/* Whether the token at `token` is one of the keywords `stops` (a quoted
 * name, a string or a number is not). */
bool
is_stop_keyword(const char *token, const char *const *stops)
{
	int			len = 0;

	if (!(isalpha((unsigned char) token[0]) || token[0] == '_'))
		return false;
	while (isalnum((unsigned char) token[len]) || token[len] == '_' || token[len] == '$')
		len++;

	char	   *word = downcase_identifier(token, len, false, false);

	for (int i = 0; stops != NULL && stops[i] != NULL; i++)
		if (strcmp(word, stops[i]) == 0)
			return true;
	return false;
}

/*
 * The text from `start` to where the expression (or type name) there ends:
 * the first token at nesting depth 0 that cannot continue it — ',' ';' an
 * unbalanced ')' — or, after its first token, a keyword of `stops` (the
 * start of the next clause). Read with the server's scanner, so strings,
 * quoted names and comments are skipped as they should be.
 */
const char *
text_from(const Source &src, int start, const char *const *stops = NULL)
{
	if (start < 0)
		not_convertible("a part of the statement has no position");

	const char *text = src.sql + start;
	core_yy_extra_type extra;
	core_YYSTYPE lval;
	YYLTYPE		loc;
	core_yyscan_t scanner = scanner_init(text, &extra, &ScanKeywords, ScanKeywordTokens);
	int			depth = 0;
	int			end = (int) strlen(text);
	bool		first = true;

	for (;;)
	{
		int			token = core_yylex(&lval, &loc, scanner);

		if (token == 0)
			break;
		if (token == '(' || token == '[')
			depth++;
		else if (token == ')' || token == ']')
		{
			if (depth == 0)
			{
				end = loc;
				break;
			}
			depth--;
		}
		else if (depth == 0 && (token == ',' || token == ';'))
		{
			end = loc;
			break;
		}
		else if (depth == 0 && !first && is_stop_keyword(text + loc, stops))
		{
			end = loc;
			break;
		}
		first = false;
	}
	scanner_finish(scanner);
	while (end > 0 && isspace((unsigned char) text[end - 1]))
		end--;
	return pnstrdup(text, end);
}

/* What may follow a column's type or default in a column definition. */
const char *const kColumnClauses[] = {"not", "null", "default", "constraint", "check", "unique",
									  "primary", "references", "collate", "generated", "using",
									  "deferrable", "initially", NULL};

const char *
type_text(const Source &src, const TypeName *type)
{
	return text_from(src, type->location, kColumnClauses);
}

const char *
expression_text(const Source &src, Node *expr, const char *const *stops = NULL)
{
	return text_from(src, exprLocation(expr), stops);
}

const char *
referential_action(char action)
{
	switch (action)
	{
		case FKCONSTR_ACTION_CASCADE: return "CASCADE";
		case FKCONSTR_ACTION_SETNULL: return "SET NULL";
		case FKCONSTR_ACTION_SETDEFAULT: return "SET DEFAULT";
		case FKCONSTR_ACTION_RESTRICT: return "RESTRICT";
		default: return "NO ACTION";
	}
}

/* pgroll names every check and foreign key; PostgreSQL's own default names. */
const char *
constraint_name(const Constraint *c, const char *table, const char *column, const char *suffix)
{
	return c->conname ? c->conname : psprintf("%s_%s_%s", table, column, suffix);
}

/* A column definition as pgroll's column object. */
const char *
column_json(const Source &src, const ColumnDef *def, const char *table)
{
	JsonObjectText column;
	bool		nullable = true;
	ListCell   *lc;

	if (def->typeName == NULL)
		not_convertible("a column without a type");
	column.str("name", def->colname).str("type", type_text(src, def->typeName));
	if (def->collClause != NULL)
		not_convertible("a column COLLATE clause");
	foreach(lc, def->constraints)
	{
		Constraint *c = lfirst_node(Constraint, lc);

		switch (c->contype)
		{
			case CONSTR_NOTNULL:
				nullable = false;
				break;
			case CONSTR_NULL:
				break;
			case CONSTR_DEFAULT:
				column.str("default", expression_text(src, c->raw_expr, kColumnClauses));
				break;
			case CONSTR_PRIMARY:
				column.boolean("pk", true);
				nullable = false;
				break;
			case CONSTR_UNIQUE:
				column.boolean("unique", true);
				break;
			case CONSTR_CHECK:
				column.raw("check", JsonObjectText().str("name", constraint_name(c, table, def->colname, "check"))
						   .str("constraint", expression_text(src, c->raw_expr)).done());
				break;
			case CONSTR_FOREIGN:
				if (list_length(c->pk_attrs) != 1)
					not_convertible("a foreign key that does not name the one column it references");
				column.raw("references", JsonObjectText()
						   .str("name", constraint_name(c, table, def->colname, "fkey"))
						   .str("table", c->pktable->relname)
						   .str("column", strVal(linitial(c->pk_attrs)))
						   .str("on_delete", referential_action(c->fk_del_action)).done());
				break;
			case CONSTR_GENERATED:
				column.raw("generated", JsonObjectText().str("expression", expression_text(src, c->raw_expr)).done());
				break;
			case CONSTR_IDENTITY:
				column.raw("generated", JsonObjectText().raw("identity", JsonObjectText()
						   .str("user_specified_values",
								c->generated_when == ATTRIBUTE_IDENTITY_ALWAYS ? "ALWAYS" : "BY DEFAULT")
						   .done()).done());
				nullable = false;
				break;
			default:
				not_convertible("a column constraint with no pgroll field");
		}
	}
	column.boolean("nullable", nullable);
	return column.done();
}

/* Whether pgroll needs "up" for a column added to a table with rows: NOT
 * NULL (or a primary key) and no default to fill them. */
bool
needs_up(const ColumnDef *def)
{
	bool		not_null = false;
	ListCell   *lc;

	foreach(lc, def->constraints)
	{
		ConstrType type = lfirst_node(Constraint, lc)->contype;

		if (type == CONSTR_DEFAULT || type == CONSTR_IDENTITY || type == CONSTR_GENERATED)
			return false;
		not_null = not_null || type == CONSTR_NOTNULL || type == CONSTR_PRIMARY;
	}
	return not_null;
}

/* A table constraint as create_table's (or create_constraint's) fields. */
JsonObjectText &
constraint_fields(JsonObjectText &out, const Source &src, const Constraint *c, const char *table)
{
	switch (c->contype)
	{
		case CONSTR_CHECK:
			return out.str("name", c->conname ? c->conname : psprintf("%s_check", table))
				.str("type", "check").str("check", expression_text(src, c->raw_expr));
		case CONSTR_UNIQUE:
			return out.str("name", c->conname ? c->conname : psprintf("%s_key", table))
				.str("type", "unique").raw("columns", string_array(c->keys));
		case CONSTR_PRIMARY:
			return out.str("name", c->conname ? c->conname : psprintf("%s_pkey", table))
				.str("type", "primary_key").raw("columns", string_array(c->keys));
		case CONSTR_FOREIGN:
			if (c->pk_attrs == NIL)
				not_convertible("a foreign key that does not name the columns it references");
			return out.str("name", c->conname ? c->conname : psprintf("%s_fkey", table))
				.str("type", "foreign_key").raw("columns", string_array(c->fk_attrs))
				.raw("references", JsonObjectText().str("table", c->pktable->relname)
					 .raw("columns", string_array(c->pk_attrs))
					 .str("on_delete", referential_action(c->fk_del_action)).done());
		default:
			not_convertible("a table constraint with no pgroll operation");
	}
}

const char *
convert_create_table(const Source &src, const CreateStmt *stmt)
{
	const char *table = stmt->relation->relname;
	List	   *columns = NIL;
	List	   *constraints = NIL;
	ListCell   *lc;

	if (stmt->inhRelations != NIL || stmt->partspec != NULL || stmt->partbound != NULL ||
		stmt->ofTypename != NULL || stmt->relation->relpersistence != RELPERSISTENCE_PERMANENT)
		not_convertible("CREATE TABLE with inheritance, partitioning, OF or a persistence");
	foreach(lc, stmt->tableElts)
	{
		Node	   *element = (Node *) lfirst(lc);

		if (IsA(element, ColumnDef))
			columns = lappend(columns, (void *) column_json(src, (ColumnDef *) element, table));
		else if (IsA(element, Constraint))
		{
			JsonObjectText c;

			constraints = lappend(constraints, (void *) constraint_fields(c, src, (Constraint *) element,
																		   table).done());
		}
		else
			not_convertible("a CREATE TABLE element with no pgroll field (LIKE)");
	}

	JsonObjectText body;

	body.str("name", table).raw("columns", json_array(columns));
	if (constraints != NIL)
		body.raw("constraints", json_array(constraints));
	return operation("create_table", body.done());
}

/* "up"/"down" of create_constraint: a TODO for each column. */
const char *
todo_per_column(List *names)
{
	JsonObjectText map;
	ListCell   *lc;

	foreach(lc, names)
		map.str(strVal(lfirst(lc)), kTodo);
	return map.done();
}

const char *
convert_alter_command(const Source &src, const char *table, const AlterTableCmd *cmd)
{
	JsonObjectText op;

	switch (cmd->subtype)
	{
		case AT_AddColumn:
		{
			const ColumnDef *def = castNode(ColumnDef, cmd->def);

			op.str("table", table).raw("column", column_json(src, def, table));
			if (needs_up(def))
				op.str("up", kTodo);
			return operation("add_column", op.done());
		}
		case AT_DropColumn:
			return operation("drop_column", op.str("table", table).str("column", cmd->name)
							 .str("down", kTodo).done());
		case AT_AlterColumnType:
		{
			const ColumnDef *def = castNode(ColumnDef, cmd->def);

			op.str("table", table).str("column", cmd->name).str("type", type_text(src, def->typeName));
			op.str("up", def->raw_default ? expression_text(src, def->raw_default) : kTodo);
			return operation("alter_column", op.str("down", kTodo).done());
		}
		case AT_SetNotNull:
			return operation("alter_column", op.str("table", table).str("column", cmd->name)
							 .boolean("nullable", false).str("up", kTodo).str("down", kTodo).done());
		case AT_DropNotNull:
			return operation("alter_column", op.str("table", table).str("column", cmd->name)
							 .boolean("nullable", true).str("up", kTodo).str("down", kTodo).done());
		case AT_ColumnDefault:
			op.str("table", table).str("column", cmd->name);
			if (cmd->def != NULL)
				op.str("default", expression_text(src, cmd->def));
			else
				op.raw("default", "null");
			return operation("alter_column", op.done());
		case AT_AddConstraint:
		{
			const Constraint *c = castNode(Constraint, cmd->def);
			List	   *columns = c->contype == CONSTR_FOREIGN ? c->fk_attrs : c->keys;

			if (c->contype == CONSTR_CHECK)
				not_convertible("ADD CHECK, whose columns pgroll's create_constraint needs named");
			op.str("table", table);
			constraint_fields(op, src, c, table);
			return operation("create_constraint", op.raw("up", todo_per_column(columns))
							 .raw("down", todo_per_column(columns)).done());
		}
		case AT_DropConstraint:
			return operation("drop_multicolumn_constraint", op.str("table", table).str("name", cmd->name)
							 .raw("up", "{}").raw("down", "{}").done());
		case AT_ReplicaIdentity:
		{
			const ReplicaIdentityStmt *r = castNode(ReplicaIdentityStmt, cmd->def);
			const char *type = r->identity_type == REPLICA_IDENTITY_FULL ? "full"
				: r->identity_type == REPLICA_IDENTITY_NOTHING ? "nothing"
				: r->identity_type == REPLICA_IDENTITY_INDEX ? "index" : "default";
			JsonObjectText identity;

			identity.str("type", type).str("index", r->name);
			return operation("set_replica_identity", op.str("table", table).raw("identity", identity.done()).done());
		}
		default:
			not_convertible("an ALTER TABLE subcommand with no pgroll operation");
	}
}

List *
convert_alter_table(const Source &src, const AlterTableStmt *stmt)
{
	List	   *operations = NIL;
	ListCell   *lc;

	if (stmt->objtype != OBJECT_TABLE)
		not_convertible("ALTER of something other than a table");
	foreach(lc, stmt->cmds)
		operations = lappend(operations,
							 (void *) convert_alter_command(src, stmt->relation->relname,
															lfirst_node(AlterTableCmd, lc)));
	return operations;
}

const char *
convert_rename(const RenameStmt *stmt)
{
	JsonObjectText op;

	switch (stmt->renameType)
	{
		case OBJECT_TABLE:
			return operation("rename_table", op.str("from", stmt->relation->relname).str("to", stmt->newname).done());
		case OBJECT_COLUMN:
			if (stmt->relationType != OBJECT_TABLE)
				break;
			return operation("rename_column", op.str("table", stmt->relation->relname)
							 .str("from", stmt->subname).str("to", stmt->newname).done());
		case OBJECT_TABCONSTRAINT:
			return operation("rename_constraint", op.str("table", stmt->relation->relname)
							 .str("from", stmt->subname).str("to", stmt->newname).done());
		default:
			break;
	}
	not_convertible("a RENAME with no pgroll operation");
}

const char *
convert_create_index(const Source &src, const IndexStmt *stmt)
{
	List	   *columns = NIL;
	ListCell   *lc;

	if (stmt->idxname == NULL)
		not_convertible("CREATE INDEX without a name");
	if (stmt->indexIncludingParams != NIL || stmt->options != NIL || stmt->tableSpace != NULL ||
		stmt->nulls_not_distinct)
		not_convertible("CREATE INDEX with INCLUDE, WITH, TABLESPACE or NULLS NOT DISTINCT");
	foreach(lc, stmt->indexParams)
	{
		IndexElem  *elem = lfirst_node(IndexElem, lc);
		JsonObjectText column;

		if (elem->name == NULL || elem->collation != NIL || elem->opclass != NIL)
			not_convertible("an index on an expression, or with a collation or operator class");
		column.str("column", elem->name);
		if (elem->ordering == SORTBY_DESC)
			column.str("sort", "DESC");
		if (elem->nulls_ordering != SORTBY_NULLS_DEFAULT)
			column.str("nulls", elem->nulls_ordering == SORTBY_NULLS_FIRST ? "FIRST" : "LAST");
		columns = lappend(columns, (void *) column.done());
	}

	JsonObjectText op;

	op.str("name", stmt->idxname).str("table", stmt->relation->relname).raw("columns", json_array(columns));
	if (stmt->unique)
		op.boolean("unique", true);
	if (stmt->accessMethod != NULL && strcmp(stmt->accessMethod, DEFAULT_INDEX_TYPE) != 0)
		op.str("method", stmt->accessMethod);
	if (stmt->whereClause != NULL)
		op.str("predicate", expression_text(src, stmt->whereClause));
	return operation("create_index", op.done());
}

List *
convert_drop(const DropStmt *stmt)
{
	List	   *operations = NIL;
	ListCell   *lc;
	const char *kind = stmt->removeType == OBJECT_TABLE ? "drop_table"
		: stmt->removeType == OBJECT_INDEX ? "drop_index" : NULL;

	if (kind == NULL || stmt->behavior == DROP_CASCADE)
		not_convertible("a DROP with no pgroll operation (or CASCADE)");
	foreach(lc, stmt->objects)
		operations = lappend(operations,
							 (void *) operation(kind, JsonObjectText().str("name", strVal(llast((List *) lfirst(lc)))).done()));
	return operations;
}

const char *
convert_comment(const CommentStmt *stmt)
{
	if (stmt->objtype != OBJECT_COLUMN)
		not_convertible("a COMMENT on something other than a column");

	List	   *names = (List *) stmt->object;

	if (list_length(names) < 2)
		not_convertible("a COMMENT on a column without its table");

	JsonObjectText op;

	op.str("table", strVal(list_nth(names, list_length(names) - 2))).str("column", strVal(llast(names)));
	if (stmt->comment != NULL)
		op.str("comment", stmt->comment);
	else
		op.raw("comment", "null");
	return operation("alter_column", op.done());
}

/* The operations of one statement, or NIL when it has none (ERROR
 * kNotConvertible for a part that has none). */
List *
convert_statement(const Source &src, Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_CreateStmt:
			return list_make1((void *) convert_create_table(src, (CreateStmt *) stmt));
		case T_AlterTableStmt:
			return convert_alter_table(src, (AlterTableStmt *) stmt);
		case T_RenameStmt:
			return list_make1((void *) convert_rename((RenameStmt *) stmt));
		case T_IndexStmt:
			return list_make1((void *) convert_create_index(src, (IndexStmt *) stmt));
		case T_DropStmt:
			return convert_drop((DropStmt *) stmt);
		case T_CommentStmt:
			return list_make1((void *) convert_comment((CommentStmt *) stmt));
		default:
			not_convertible("a statement with no pgroll operation");
	}
}

/* The statement as written, for an sql operation. */
const char *
statement_text(const char *sql, const RawStmt *raw)
{
	const char *start = sql + raw->stmt_location;
	int			len = raw->stmt_len > 0 ? raw->stmt_len : (int) strlen(start);

	while (len > 0 && isspace((unsigned char) *start))
		start++, len--;
	while (len > 0 && isspace((unsigned char) start[len - 1]))
		len--;
	return pnstrdup(start, len);
}

/* convert_statement, or the statement as an sql operation with a WARNING
 * saying why. Only our own "not convertible" error is caught. */
List *
convert_or_keep(const char *sql, RawStmt *raw, int number)
{
	MemoryContext context = CurrentMemoryContext;
	List	   *volatile result = NIL;
	char	   *volatile why = NULL;
	Source		src = {sql};

	PG_TRY();
	{
		result = convert_statement(src, raw->stmt);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(context);

		ErrorData  *edata = CopyErrorData();

		if (edata->sqlerrcode != kNotConvertible)
			PG_RE_THROW();
		FlushErrorState();
		why = edata->message;
	}
	PG_END_TRY();
	if (why == NULL)
		return result;

	const char *text = statement_text(sql, raw);

	ereport(WARNING,
			(errmsg("statement %d is kept as an sql operation: %s", number, why),
			 errdetail("%s", text)));
	return list_make1((void *) operation("sql", JsonObjectText().str("up", text).done()));
}

} // namespace

} // namespace ec

/* convert(sql text) RETURNS jsonb */
EC_FUNCTION(ec_convert)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();

	const char *sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	List	   *statements = raw_parser(sql, RAW_PARSE_DEFAULT);
	List	   *operations = NIL;
	ListCell   *lc;

	foreach(lc, statements)
		operations = list_concat(operations, ec::convert_or_keep(sql, lfirst_node(RawStmt, lc),
																 foreach_current_index(lc) + 1));

	const char *document = ec::JsonObjectText().raw("operations", ec::json_array(operations)).done();

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(document)));
}
