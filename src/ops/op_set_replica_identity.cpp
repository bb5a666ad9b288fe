/*
 * op_set_replica_identity.cpp — set_replica_identity (deprecated in pgroll,
 * still in its examples): what logical replication sends to identify a row is
 * not part of either version's shape, so it changes at start, and rollback()
 * puts back the identity the table had.
 */
#include "ops/operations.hpp"
#include "pg/sql.hpp"

namespace ec {

namespace {

/* "REPLICA IDENTITY ..." as the table has it now. */
const char *
current_replica_identity(Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	char		identity = rel->rd_rel->relreplident;
	Oid			index = identity == REPLICA_IDENTITY_INDEX ? RelationGetReplicaIndex(rel) : InvalidOid;

	relation_close(rel, AccessShareLock);
	switch (identity)
	{
		case REPLICA_IDENTITY_NOTHING:
			return "NOTHING";
		case REPLICA_IDENTITY_FULL:
			return "FULL";
		case REPLICA_IDENTITY_INDEX:
			if (OidIsValid(index))
				return psprintf("USING INDEX %s", qi(get_rel_name(index)));
			break;
	}
	return "DEFAULT";
}

} // namespace

void
op_set_replica_identity(MigrationPlan *plan, const JsonObject &op)
{
	static const char *const kFields[] = {"table", "identity", NULL};
	static const char *const kIdentity[] = {"type", "index", NULL};

	op.reject_unknown(kFields);

	PlannedTable *table = plan_table(plan, op.required_identifier("table"));
	JsonObject	identity = op.required_object("identity");

	identity.reject_unknown(kIdentity);

	const char *type = identity.required_string("type");
	/* pgroll's schema requires "index" always: "" when the type needs none. */
	const char *index = identity.optional_string("index");

	if (index != NULL && index[0] == '\0')
		index = NULL;
	else if (index != NULL)
		index = identity.optional_identifier("index");
	const char *clause = NULL;

	if (pg_strcasecmp(type, "nothing") == 0 || pg_strcasecmp(type, "default") == 0 ||
		pg_strcasecmp(type, "full") == 0)
		clause = pg_strcasecmp(type, "nothing") == 0 ? "NOTHING"
			: pg_strcasecmp(type, "full") == 0 ? "FULL" : "DEFAULT";
	else if (pg_strcasecmp(type, "index") == 0)
	{
		if (index == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"identity.index\" is required for a replica identity of type index")));
		clause = psprintf("USING INDEX %s", qi(index));
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"identity.type\" must be nothing, default, full or index, not \"%s\"", type)));

	const char *table_sql = qname(plan->schema, table->physical_name);

	/* PostgreSQL checks the index (unique, not partial, NOT NULL columns). */
	plan_add_rollback_ddl(plan, psprintf("ALTER TABLE IF EXISTS %s REPLICA IDENTITY %s", table_sql,
										 current_replica_identity(table->relid)));
	sql_execf("ALTER TABLE %s REPLICA IDENTITY %s", table_sql, clause);
}

} // namespace ec
