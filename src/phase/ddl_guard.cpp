/*
 * ddl_guard.cpp — DDL behind the extension's back.
 *
 * While a migration is open, its plan (staged columns, sync rules by column
 * number, the steps complete and rollback replay) describes its tables as
 * start left them. A column added, dropped, retyped or renamed, or a table
 * dropped or renamed, outside the extension would make those steps fail or
 * the rules compute the wrong columns; dropping the extension would leave
 * the triggers behind. An event trigger (ddl_command_start) refuses them
 * (55000) unless the extension itself runs them (a phase), naming the
 * migration. Everything else (constraints, indexes, triggers, owners: what
 * pg_restore replays) goes through. expand_contract.guard_ddl = off lets a
 * superuser through on purpose.
 */
#include "phase/ddl_guard.hpp"

#include "boundary.hpp"
#include "pg/sql.hpp"
#include "sync/version_activity.hpp"

namespace ec {

namespace {

bool guard_ddl = true;

/* The open migration whose tables include relid, or NULL. */
const char *
migration_of_table(Oid relid)
{
	const char *args[] = {get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid)};

	if (args[0] == NULL || args[1] == NULL)
		return NULL;
	/* catalog_rows runs under the pinned search_path, whoever issues the
	 * DDL; the statement's own names were resolved as PostgreSQL resolves
	 * them. */
	List	   *rows = catalog_rows("SELECT name FROM expand_contract.migrations WHERE phase = 'active' "
									"AND schema_name = $1 AND $2 = ANY (touched_tables)", 2, args);

	return rows ? ((char **) linitial(rows))[0] : NULL;
}

void
refuse(Oid relid, const char *what)
{
	const char *migration = migration_of_table(relid);

	if (migration != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s table \"%s\": migration \"%s\" of its schema is open", what,
						get_rel_name(relid), migration),
				 errdetail("The migration's plan describes the table as its start left it."),
				 errhint("Change it with a migration, or complete or roll back \"%s\" first.", migration)));
}

Oid
relation_of(RangeVar *rv)
{
	return rv ? RangeVarGetRelid(rv, NoLock, true) : InvalidOid;
}

/* Whether an ALTER TABLE changes the columns the plan describes. */
bool
changes_columns(AlterTableStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		switch (lfirst_node(AlterTableCmd, lc)->subtype)
		{
			case AT_AddColumn:
			case AT_DropColumn:
			case AT_AlterColumnType:
			case AT_SetNotNull:
			case AT_DropNotNull:
			case AT_ColumnDefault:
			case AT_AddIdentity:
			case AT_DropIdentity:
			case AT_DropExpression:
				return true;
			default:
				break;
		}
	}
	return false;
}

void
check_statement(Node *parsetree)
{
	if (IsA(parsetree, AlterTableStmt))
	{
		AlterTableStmt *stmt = (AlterTableStmt *) parsetree;
		Oid			relid = relation_of(stmt->relation);

		if (OidIsValid(relid) && changes_columns(stmt))
			refuse(relid, "alter the columns of");
	}
	else if (IsA(parsetree, RenameStmt))
	{
		RenameStmt *stmt = (RenameStmt *) parsetree;
		Oid			relid = relation_of(stmt->relation);

		if (OidIsValid(relid) && (stmt->renameType == OBJECT_TABLE || stmt->renameType == OBJECT_COLUMN))
			refuse(relid, stmt->renameType == OBJECT_COLUMN ? "rename a column of" : "rename");
	}
	else if (IsA(parsetree, DropStmt))
	{
		DropStmt   *stmt = (DropStmt *) parsetree;
		ListCell   *lc;

		if (stmt->removeType == OBJECT_TABLE)
			foreach(lc, stmt->objects)
			{
				Oid			relid = relation_of(makeRangeVarFromNameList((List *) lfirst(lc)));

				if (OidIsValid(relid))
					refuse(relid, "drop");
			}
		else if (stmt->removeType == OBJECT_EXTENSION)
			foreach(lc, stmt->objects)
				if (strcmp(strVal(lfirst(lc)), "expand_contract") == 0)
				{
					List	   *rows = catalog_rows(
						"SELECT pg_catalog.string_agg(pg_catalog.format('%s.%s', schema_name, name), ', ') "
						"FROM expand_contract.migrations WHERE phase = 'active'");
					const char *open = ((char **) linitial(rows))[0];

					if (open != NULL)
						ereport(ERROR,
								(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
								 errmsg("cannot drop extension expand_contract: migrations are open: %s", open),
								 errhint("Complete or roll them back first; their triggers and staged "
										 "columns would be left behind.")));
				}
	}
}

/* The views of the open migrations' version schemas (new and previous)
 * over table relid. */
List *
version_views_of(Oid relid)
{
	const char *args[] = {psprintf("%u", relid)};

	return catalog_rows("SELECT DISTINCT n.nspname, v.relname "
					"FROM pg_catalog.pg_depend d "
					"JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid "
					"JOIN pg_catalog.pg_class v ON v.oid = r.ev_class AND v.relkind = 'v' "
					"JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace "
					"JOIN expand_contract.migrations m ON m.phase = 'active' "
					"  AND n.nspname IN (m.version_schema, m.previous_version_schema) "
					"WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass "
					"  AND d.refobjid = $1::pg_catalog.oid ORDER BY 1, 2", 1, args);
}

void
grant_on_view(void *arg)
{
	ExecuteGrantStmt(static_cast<GrantStmt *>(arg));
}

/* A GRANT or REVOKE on a table of an open migration reaches its version
 * views (the privileges, and column privileges for the columns the view has
 * by the same name). Whoever may not do it on a view gets a WARNING. */
void
mirror_grant(GrantStmt *stmt)
{
	static const int any_error[] = {0};
	ListCell   *lc;

	if (stmt->targtype != ACL_TARGET_OBJECT || stmt->objtype != OBJECT_TABLE)
		return;
	foreach(lc, stmt->objects)
	{
		Oid			relid = relation_of((RangeVar *) lfirst(lc));
		ListCell   *vc;

		if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_RELATION || migration_of_table(relid) == NULL)
			continue;
		foreach(vc, version_views_of(relid))
		{
			char	  **view = (char **) lfirst(vc);
			GrantStmt  *copy = (GrantStmt *) copyObjectImpl(stmt);
			Oid			view_oid;

			copy->objects = list_make1(makeRangeVar(pstrdup(view[0]), pstrdup(view[1]), -1));
			view_oid = RangeVarGetRelid((RangeVar *) linitial(copy->objects), NoLock, true);

			ListCell   *pc;

			/* Column privileges only for columns the view has. */
			foreach(pc, copy->privileges)
			{
				AccessPriv *priv = (AccessPriv *) lfirst(pc);
				ListCell   *cc;

				foreach(cc, priv->cols)
					if (!OidIsValid(view_oid) || get_attnum(view_oid, strVal(lfirst(cc))) == InvalidAttrNumber)
						priv->cols = foreach_delete_current(priv->cols, cc);
			}
			if (!run_in_subtransaction(grant_on_view, copy, any_error))
				ereport(WARNING,
						(errmsg("the %s on table \"%s\" did not reach the version view %s",
								stmt->is_grant ? "GRANT" : "REVOKE", get_rel_name(relid),
								quote_qualified_identifier(view[0], view[1])),
						 errhint("Repeat it on the view as its owner.")));
		}
	}
}

} // namespace

void
define_ddl_guard_settings()
{
	DefineCustomBoolVariable("expand_contract.guard_ddl",
							 "Refuses DDL that changes the tables of an open migration outside it.",
							 NULL, &guard_ddl, true, PGC_SUSET, 0, NULL, NULL, NULL);
}

} // namespace ec

EC_FUNCTION(ec_mirror_grants)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mirror_grants must be called as an event trigger")));
	if (ec::phase_in_this_transaction())
		PG_RETURN_VOID();

	EventTriggerData *data = (EventTriggerData *) fcinfo->context;

	if (!IsA(data->parsetree, GrantStmt))
		PG_RETURN_VOID();

	SPI_connect();
	ec::mirror_grant((GrantStmt *) data->parsetree);
	SPI_finish();
	PG_RETURN_VOID();
}

EC_FUNCTION(ec_guard_ddl)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("guard_ddl must be called as an event trigger")));
	if (!ec::guard_ddl || ec::phase_in_this_transaction())
		PG_RETURN_VOID();

	EventTriggerData *data = (EventTriggerData *) fcinfo->context;

	SPI_connect();
	ec::check_statement(data->parsetree);
	SPI_finish();
	PG_RETURN_VOID();
}
