/*
 * statement_sync.hpp — synced columns computed inside write plans.
 *
 * A BEFORE row trigger costs PostgreSQL more than the trigger's own work:
 * tuple copies, per-row allocations that live until the statement ends, and
 * on UPDATE a row lock with its WAL record. For the INSERT, UPDATE,
 * INSERT ... ON CONFLICT and MERGE statements it plans, this module adds the
 * synced columns to the statement's target lists, as PostgreSQL computes
 * generated columns, and switches the sync trigger off for those events in
 * that statement's own copy of the trigger descriptor.
 *
 * The rules are the trigger's (trigger_engine.hpp), applied at plan time:
 *   old-version INSERT: every "up" column is computed from the row written
 *     (a fill-once column keeps its default);
 *   new-version INSERT: every "down" column is;
 *   old-version UPDATE: each "up" column is recomputed when the statement
 *     assigns one of its inputs (or always, if not immutable), else only for
 *     rows still marked as predating start;
 *   new-version UPDATE: unassigned "up" columns are filled for marked rows,
 *     then each "down" column is recomputed when its inputs are assigned;
 *   the marker is cleared on every row written.
 * ON CONFLICT DO UPDATE and MERGE UPDATE actions are UPDATEs, MERGE INSERT
 * actions INSERTs. A rule reads a copy of the value the statement writes,
 * so a rule that reads a volatile one (random(), a sequence default) leaves
 * the statement to the trigger, which reads the row once.
 * Whatever this does not cover keeps going through the trigger, with the same
 * results: COPY, rows an INSERT or MERGE routes into partitions, expressions
 * with subqueries, multiple-assignment and sublink values, tables with other
 * BEFORE row triggers for the same event, and statements planned before this
 * library was loaded in the backend.
 */
#pragma once

#include "pg.hpp"

namespace ec {

void install_statement_sync();

} // namespace ec
