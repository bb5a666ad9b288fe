/*
 * replication.hpp — migrations that travel with the data through logical
 * replication.
 *
 * A logical subscriber receives rows, not DDL: the first row written after
 * start() carries columns it lacks, and its subscription stops. So the
 * migration catalog travels in the same publication as the data
 * (publish_catalog), and on the subscriber an ENABLE ALWAYS trigger on the
 * catalog (replicated_phase), which fires in the apply worker, applies each
 * phase of the publisher when its row arrives: in the same transaction, at
 * the same point of the change stream, before any row that follows it. The
 * subscriber plans its own steps from the document (nothing carries the
 * publisher's OIDs) and keeps its own catalog rows: the publisher's are
 * events, never stored (a FOR ALL TABLES publication carries every catalog
 * table; local_catalog_row drops what arrives of the others).
 */
#pragma once

#include "plan/plan.hpp"

namespace ec {

/*
 * start(): ERROR unless every publication of a table the plan changes can
 * carry the migration to its subscribers: 0A000 when it has a column list
 * (complete could not drop the column it names, and new columns would not
 * be sent), 55000 when it does not publish the catalog too.
 */
void require_replicable(const MigrationPlan *plan);

} // namespace ec
