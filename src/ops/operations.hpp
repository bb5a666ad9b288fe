/*
 * operations.hpp — the migration operations, one file each (op_*.cpp), in
 * pgroll's vocabulary and field names.
 *
 * An operation reads its JSON object, checks it against the plan (tables and
 * columns as the new version sees them so far), runs the DDL the expand phase
 * needs, and records in the plan what the sync trigger, the version views,
 * complete() and rollback() must do. Errors raised inside are prefixed with
 * "operation N (kind): " by the caller.
 */
#pragma once

#include "plan/document.hpp"
#include "plan/plan.hpp"

namespace ec {

using ApplyOperation = void (*)(MigrationPlan *plan, const JsonObject &op);

/* The operation called `kind`, or NULL. */
ApplyOperation find_operation(const char *kind);
/* "add_column, alter_column, ..." for hints. */
const char *operation_names();

void op_add_column(MigrationPlan *plan, const JsonObject &op);
void op_alter_column(MigrationPlan *plan, const JsonObject &op);
void op_create_constraint(MigrationPlan *plan, const JsonObject &op);
void op_create_index(MigrationPlan *plan, const JsonObject &op);
void op_create_table(MigrationPlan *plan, const JsonObject &op);
void op_drop_column(MigrationPlan *plan, const JsonObject &op);
void op_drop_constraint(MigrationPlan *plan, const JsonObject &op);
void op_drop_multicolumn_constraint(MigrationPlan *plan, const JsonObject &op);
void op_drop_index(MigrationPlan *plan, const JsonObject &op);
void op_drop_table(MigrationPlan *plan, const JsonObject &op);
void op_raw_sql(MigrationPlan *plan, const JsonObject &op);
void op_rename_column(MigrationPlan *plan, const JsonObject &op);
void op_rename_constraint(MigrationPlan *plan, const JsonObject &op);
void op_rename_table(MigrationPlan *plan, const JsonObject &op);
void op_set_replica_identity(MigrationPlan *plan, const JsonObject &op);

/* "operation N (kind), field \"f\"": where an expression came from. */
const char *field_origin(MigrationPlan *plan, const char *field);

} // namespace ec
