/*
 * security.cpp — rights and pinned settings; see security.hpp.
 */
#include "pg/security.hpp"

#include "pg/sql.hpp"

namespace ec {

namespace {

void
set_local(const char *name, const char *value)
{
	(void) set_config_option(name, value, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
							 false);
}

} // namespace

int
pin_settings(const char *search_path)
{
	int			nest_level = NewGUCNestLevel();

	set_local("search_path", search_path);
	/* Literals in what we deparse and replay mean one thing only. */
	set_local("standard_conforming_strings", "on");
	return nest_level;
}

/* Discards every setting made inside, a plain SET included (with isCommit
 * true a SET would outlive the level, as it outlives a function's SET
 * clause): what the migration's code sets never reaches our own SQL. */
void
unpin_settings(int nest_level)
{
	AtEOXact_GUC(false, nest_level);
}

const char *
effective_search_path()
{
	/* Explicit entries only: pg_catalog searched implicitly stays implicit
	 * (and so is searched first, and is no place to create objects in). */
	List	   *schemas = fetch_search_path(false);
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, schemas)
	{
		Oid			nsp = lfirst_oid(lc);

		if (isAnyTempNamespace(nsp))
			continue;
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", qi(get_namespace_name(nsp)));
	}
	appendStringInfo(&buf, "%spg_temp", buf.len > 0 ? ", " : "");
	return buf.data;
}

RunAs
begin_run_as(Oid role, const char *search_path, bool see_all_rows)
{
	RunAs		scope;

	GetUserIdAndSecContext(&scope.saved_user, &scope.saved_context);
	scope.nest_level = pin_settings(search_path);
	SetUserIdAndSecContext(role, scope.saved_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION |
						   (see_all_rows ? SECURITY_NOFORCE_RLS : 0));
	return scope;
}

void
end_run_as(const RunAs &scope)
{
	SetUserIdAndSecContext(scope.saved_user, scope.saved_context);
	unpin_settings(scope.nest_level);
}

bool
acts_for(Oid role)
{
	return has_privs_of_role(GetUserId(), role);
}

Oid
schema_owner(Oid schema_oid)
{
	HeapTuple	tuple = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(schema_oid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "expand_contract: schema %u vanished", schema_oid);
	owner = ((Form_pg_namespace) GETSTRUCT(tuple))->nspowner;
	ReleaseSysCache(tuple);
	return owner;
}

Oid
relation_owner(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "expand_contract: relation %u vanished", relid);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

void
require_schema_owner_rights(Oid schema_oid, const char *schema)
{
	Oid			owner = schema_owner(schema_oid);

	if (!acts_for(owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to migrate schema \"%s\"", schema),
				 errdetail("Starting a migration needs membership in role \"%s\", the owner of the schema.",
						   GetUserNameFromId(owner, false))));
}

void
require_table_of_owner(Oid relid, Oid owner)
{
	if (!pg_class_ownercheck(relid, owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("table \"%s\" is not owned by role \"%s\", the migration's owner",
						get_rel_name(relid), GetUserNameFromId(owner, false)),
				 errdetail("The table may have been dropped and created again by another role.")));
}

Oid
role_oid(const char *name, const char *needed_for)
{
	Oid			role = get_role_oid(name, true);

	if (!OidIsValid(role))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\" does not exist", name),
				 errdetail("It owns %s.", needed_for)));
	return role;
}

} // namespace ec
