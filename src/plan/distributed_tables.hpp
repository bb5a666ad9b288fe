/*
 * distributed_tables.hpp — tables sharded by Citus, which a migration cannot
 * change yet.
 *
 * A Citus distributed or reference table is a coordinator's table whose rows
 * live in shards on the workers: the sync triggers and staged columns would
 * have to be created on every shard, the backfill run per shard, and the
 * version setting carried to the workers; writes through a version view
 * are refused by Citus. Until that is built, start refuses such a table
 * before it changes anything (0A000).
 */
#pragma once

#include "pg.hpp"

namespace ec {

/* ERROR 0A000 when Citus (its pg_dist_partition metadata) manages the table. */
void refuse_distributed_table(Oid relid, const char *schema, const char *name);

} // namespace ec
