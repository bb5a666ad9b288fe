/*
 * verify.hpp — checking that both versions agree on every synced row.
 *
 * A row is consistent when its new columns are what "up" computes from its
 * old ones, or its old columns what "down" computes from its new ones (the
 * last writer's direction; the two need not be inverses). Rows still marked
 * as predating start are pending, not inconsistent, and are skipped.
 */
#pragma once

#include "catalog/catalog.hpp"

namespace ec {

/* One row per differing column; emit is called with (table, key, column,
 * expected, actual). Returns how many rows were emitted. */
using EmitMismatch = void (*)(void *arg, const char *table, const char *key, const char *column,
							  const char *expected, const char *actual);
int64 verify_migration(const MigrationRecord &record, EmitMismatch emit, void *arg);

} // namespace ec
