#!/usr/bin/env bash
# json_schema: schema/migration.schema.json lists exactly the fields the
# extension accepts — each object of the schema against the field list
# (reject_unknown) of the code that reads it, and the operations against
# the dispatch table — and every migration file of the repository
# (examples/, test/fixtures/migrations/) is valid under it.
# Needs no server; exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

/usr/bin/python3 - <<'PY'
import json, re, sys, glob, yaml, jsonschema

schema = json.load(open("schema/migration.schema.json"))
defs = schema["$defs"]

def lists(path, name):
    """The string lists `static const char *const <name>[] = {...}` of a file, in order."""
    text = open(path).read()
    found = re.findall(r"static const char \*const %s\[\] = \{(.*?)\};" % name, text, re.S)
    return [set(re.findall(r'"([^"]*)"', body)) for body in found]

# schema object -> (file, list name, which occurrence)
code = {
    "#document": ("src/phase/lifecycle.cpp", "kFields", 0),
    "column": ("src/ops/column_spec.cpp", "kFields", 1),
    "index_parameters": ("src/ops/column_spec.cpp", "kFields", 0),
    "table_references": ("src/ops/column_spec.cpp", "kRef", 0),
    "column_references": ("src/ops/column_spec.cpp", "kRef", 1),
    "column_check": ("src/ops/column_spec.cpp", "kCheck", 0),
    "generated": ("src/ops/column_spec.cpp", "kGenerated", 0),
    "identity": ("src/ops/column_spec.cpp", "kIdentity", 0),
    "table_constraint": ("src/ops/op_create_table.cpp", "kFields", 0),
    "exclude": ("src/ops/op_create_table.cpp", "kFields", 1),
    "create_table": ("src/ops/op_create_table.cpp", "kFields", 2),
    "index_column": ("src/ops/op_create_index.cpp", "kFields", 0),
    "index_opclass": ("src/ops/op_create_index.cpp", "kOpclass", 0),
    "create_index": ("src/ops/op_create_index.cpp", "kFields", 1),
    "alter_column_unique": ("src/ops/op_alter_column.cpp", "kUnique", 0),
    "alter_column": ("src/ops/op_alter_column.cpp", "kFields", 0),
    "add_column": ("src/ops/op_add_column.cpp", "kFields", 0),
    "create_constraint": ("src/ops/op_create_constraint.cpp", "kFields", 0),
    "drop_column": ("src/ops/op_drop_column.cpp", "kFields", 0),
    "drop_constraint": ("src/ops/op_drop_constraint.cpp", "kFields", 0),
    "drop_multicolumn_constraint": ("src/ops/op_drop_constraint.cpp", "kFields", 1),
    "drop_index": ("src/ops/op_drop_index.cpp", "kFields", 0),
    "drop_table": ("src/ops/op_drop_table.cpp", "kFields", 0),
    "rename_column": ("src/ops/op_rename_column.cpp", "kFields", 0),
    "rename_constraint": ("src/ops/op_rename_constraint.cpp", "kFields", 0),
    "rename_table": ("src/ops/op_rename_table.cpp", "kFields", 0),
    "set_replica_identity": ("src/ops/op_set_replica_identity.cpp", "kFields", 0),
    "replica_identity": ("src/ops/op_set_replica_identity.cpp", "kIdentity", 0),
    "sql": ("src/ops/op_raw_sql.cpp", "kFields", 0),
}
failures = []
for name, (path, list_name, index) in code.items():
    accepted = lists(path, list_name)[index]
    described = set((schema if name == "#document" else defs[name])["properties"])
    if accepted != described:
        failures.append("%s: the code accepts %s, the schema describes %s"
                        % (name, sorted(accepted), sorted(described)))
undescribed = set(defs) - set(code) - {"operation"}
if undescribed:
    failures.append("schema objects no code list is checked against: %s" % sorted(undescribed))

dispatch = set(re.findall(r'\{"(\w+)", op_\w+\}', open("src/ops/operations.cpp").read()))
operations = {next(iter(o["properties"])) for o in defs["operation"]["oneOf"]}
if dispatch != operations:
    failures.append("operations: the code has %s, the schema %s" % (sorted(dispatch), sorted(operations)))

validator = jsonschema.Draft202012Validator(schema)
files = sorted(glob.glob("examples/*.json") + glob.glob("test/fixtures/migrations/*"))
for path in files:
    document = json.load(open(path)) if path.endswith(".json") else yaml.safe_load(open(path))
    for error in validator.iter_errors(document):
        failures.append("%s: %s at %s" % (path, error.message, "/".join(map(str, error.path))))

for f in failures:
    print("json_schema:", f)
if failures:
    sys.exit(1)
print("json_schema: %d objects match the code's field lists, %d operations, %d files valid"
      % (len(code), len(operations), len(files)))
PY
