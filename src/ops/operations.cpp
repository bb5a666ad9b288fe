/*
 * operations.cpp — the table of known operations.
 */
#include "ops/operations.hpp"

namespace ec {

namespace {

struct OperationEntry {
	const char *kind;
	ApplyOperation apply;
};

const OperationEntry kOperations[] = {
	{"add_column", op_add_column},
	{"alter_column", op_alter_column},
	{"create_constraint", op_create_constraint},
	{"create_index", op_create_index},
	{"create_table", op_create_table},
	{"drop_column", op_drop_column},
	{"drop_constraint", op_drop_constraint},
	{"drop_index", op_drop_index},
	{"drop_multicolumn_constraint", op_drop_multicolumn_constraint},
	{"drop_table", op_drop_table},
	{"rename_column", op_rename_column},
	{"rename_constraint", op_rename_constraint},
	{"rename_table", op_rename_table},
	{"set_replica_identity", op_set_replica_identity},
	{"sql", op_raw_sql},
};

} // namespace

ApplyOperation
find_operation(const char *kind)
{
	for (const OperationEntry &entry : kOperations)
		if (strcmp(entry.kind, kind) == 0)
			return entry.apply;
	return NULL;
}

const char *
operation_names()
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const OperationEntry &entry : kOperations)
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", entry.kind);
	return buf.data;
}

const char *
field_origin(MigrationPlan *plan, const char *field)
{
	return psprintf("%s, field \"%s\"", plan->where, field);
}

} // namespace ec
