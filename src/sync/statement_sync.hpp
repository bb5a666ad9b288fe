/*
 * statement_sync.hpp — synced columns computed inside UPDATE plans.
 *
 * A BEFORE UPDATE row trigger costs PostgreSQL more than the trigger's own
 * work: a row lock with its WAL record, tuple copies, and per-row allocations
 * that live until the statement ends. For the UPDATE statements it plans,
 * this module adds the synced columns to the statement's target list, as
 * PostgreSQL computes generated columns, and switches the sync trigger off
 * for UPDATE in that statement's own copy of the trigger descriptor.
 *
 * The rules are the trigger's (trigger_engine.hpp), applied at plan time:
 *   old-version write: each "up" column is recomputed when the statement
 *     assigns one of its inputs (or always, if not immutable), else only for
 *     rows still marked as predating start;
 *   new-version write: unassigned "up" columns are filled for marked rows,
 *     then each "down" column is recomputed when its inputs are assigned;
 *   the marker is cleared on every row written.
 * Whatever this does not cover keeps going through the trigger, with the same
 * results: INSERT and COPY, ON CONFLICT and MERGE, expressions with
 * subqueries, tables with other BEFORE UPDATE row triggers, and statements
 * planned before this library was loaded in the backend.
 */
#pragma once

#include "pg.hpp"

namespace ec {

void install_statement_sync();

} // namespace ec
