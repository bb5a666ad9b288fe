/*
 * distributed_tables.cpp — see distributed_tables.hpp.
 */
#include "plan/distributed_tables.hpp"

#include "pg/sql.hpp"

namespace ec {

namespace {

/* Citus keeps its metadata of every table it manages in this catalog table;
 * without Citus it does not exist. */
bool
citus_metadata_present()
{
	return OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE));
}

/* What Citus calls the table ("distributed", "reference", ...). */
const char *
citus_table_kind(const char *partmethod, const char *repmodel)
{
	if (partmethod[0] != 'n')
		return "distributed";
	return repmodel != NULL && repmodel[0] == 't' ? "reference" : "local (added to Citus metadata)";
}

} // namespace

void
refuse_distributed_table(Oid relid, const char *schema, const char *name)
{
	if (!citus_metadata_present())
		return;

	const char *args[] = {psprintf("%u", relid)};
	List	   *rows = sql_rows("SELECT partmethod::pg_catalog.text, repmodel::pg_catalog.text "
								"FROM pg_catalog.pg_dist_partition "
								"WHERE logicalrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid::pg_catalog.regclass",
								1, args);

	if (rows == NIL)
		return;

	char	  **row = (char **) linitial(rows);

	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("table \"%s.%s\" is a Citus %s table, which expand_contract cannot migrate yet",
					schema, name, citus_table_kind(row[0], row[1])),
			 errdetail("Its rows live in shards on the workers, where the migration's columns, sync "
					   "triggers and backfill would have to be, and Citus refuses writes through the "
					   "version schema's views."),
			 errhint("Change it with Citus's own DDL propagation, or undistribute_table() it first.")));
}

} // namespace ec
