/*
 * restore_guard.cpp — who may load rows into the migration catalog.
 *
 * The catalog tables are dumped with the database (pg_extension_config_dump),
 * so a restore loads them with COPY. A superuser's restore may load anything.
 * The database owner may load them too (INSERT is granted to
 * pg_database_owner), but a row decides whose rights later phases run with
 * (its owner) and which schemas they create and drop, so a row is refused
 * unless the role loading it has the privileges of that owner and of the
 * owners of the schemas it names. Otherwise the owner of a database could
 * write a migration a superuser would later complete as itself.
 */
#include "boundary.hpp"
#include "pg/security.hpp"
#include "pg/sql.hpp"

namespace ec {

namespace {

/* A column of the new row, as text; NULL when SQL NULL. */
const char *
column_text(TriggerData *td, const char *column)
{
	int			attnum = SPI_fnumber(td->tg_relation->rd_att, column);

	if (attnum <= 0)
		elog(ERROR, "expand_contract: catalog table \"%s\" has no column \"%s\"",
			 RelationGetRelationName(td->tg_relation), column);
	return SPI_getvalue(td->tg_trigtuple, td->tg_relation->rd_att, attnum);
}

void
refuse_row(const char *schema, const char *migration, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to load migration \"%s\" of schema \"%s\" into the catalog",
					migration, schema),
			 errdetail("%s", detail),
			 errhint("Restore it as a superuser, or as a member of that role.")));
}

void
require_role(const char *schema, const char *migration, const char *role)
{
	Oid			role_oid = get_role_oid(role, true);

	if (!OidIsValid(role_oid) || !acts_for(role_oid))
		refuse_row(schema, migration,
				   psprintf("Its phases run with the rights of role \"%s\", which role \"%s\" does not have.",
							role, GetUserNameFromId(GetUserId(), false)));
}

/* A schema the row names: if it exists, the loading role must act for its
 * owner (one created later is created by whoever runs the phase). */
void
require_schema_rights(const char *schema, const char *migration, const char *named)
{
	Oid			schema_oid = named ? get_namespace_oid(named, true) : InvalidOid;

	if (OidIsValid(schema_oid) && !acts_for(schema_owner(schema_oid)))
		refuse_row(schema, migration,
				   psprintf("It names schema \"%s\", owned by role \"%s\", whose rights role \"%s\" does not have.",
							named, GetUserNameFromId(schema_owner(schema_oid), false),
							GetUserNameFromId(GetUserId(), false)));
}

void
check_migration_row(TriggerData *td)
{
	const char *schema = column_text(td, "schema_name");
	const char *name = column_text(td, "name");

	require_role(schema, name, column_text(td, "owner"));
	require_schema_rights(schema, name, schema);
	require_schema_rights(schema, name, column_text(td, "version_schema"));
	require_schema_rights(schema, name, column_text(td, "previous_version_schema"));
}

/* A row of backfill_progress or index_builds belongs to a migration loaded
 * before it (the foreign key), and needs its owner's rights. */
void
check_dependent_row(TriggerData *td)
{
	const char *args[2] = {column_text(td, "schema_name"), column_text(td, "migration")};
	List	   *rows = catalog_rows("SELECT owner FROM expand_contract.migrations "
									"WHERE schema_name OPERATOR(pg_catalog.=) $1 "
									"AND name OPERATOR(pg_catalog.=) $2", 2, args);

	if (rows != NIL)
		require_role(args[0], args[1], ((char **) linitial(rows))[0]);
}

} // namespace

} // namespace ec

EC_FUNCTION(ec_catalog_row_guard)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("catalog_row_guard() must be called as a trigger")));

	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("catalog_row_guard() must run BEFORE INSERT FOR EACH ROW")));

	/* The phases write as the catalog's owner, a superuser. */
	if (!superuser())
	{
		SPI_connect();
		if (strcmp(RelationGetRelationName(td->tg_relation), "migrations") == 0)
			ec::check_migration_row(td);
		else
			ec::check_dependent_row(td);
		SPI_finish();
	}
	return PointerGetDatum(td->tg_trigtuple);
}
