/*
 * security.hpp — whose rights the extension acts with, and under which
 * settings what it runs later is resolved.
 *
 * A migration belongs to the role that started it, its owner. Whoever runs a
 * later phase (complete, rollback, a backfill, the worker), the migration's
 * own code — its sql operations, the up/down expressions a backfill batch
 * evaluates, the defaults and checks its DDL carries — runs as that owner, as
 * a security-restricted operation, the way PostgreSQL runs index expressions
 * during VACUUM: SetUserIdAndSecContext inside a GUC nest level whose
 * search_path and standard_conforming_strings are pinned, so nothing the
 * runner's session set can change what the code means. An ERROR inside
 * unwinds both with the (sub)transaction.
 */
#pragma once

#include "pg.hpp"

namespace ec {

/* What everything the extension generates is deparsed for and runs under:
 * only pg_catalog is searched (pg_temp last, so it captures nothing). */
constexpr const char *kPinnedSearchPath = "pg_catalog, pg_temp";

/* A new GUC nest level with search_path = `search_path` and
 * standard_conforming_strings = on; undone by unpin_settings (or an ERROR). */
int pin_settings(const char *search_path);
void unpin_settings(int nest_level);

/* The effective search_path of the session right now, as a list of quoted,
 * explicit schema names ("$user" resolved, the temporary schema left out,
 * pg_temp last): the caller's own rules, kept for later. */
const char *effective_search_path();

struct RunAs {
	Oid saved_user;
	int saved_context;
	int nest_level;
};

/*
 * Becomes `role` for a security-restricted operation with settings pinned
 * to `search_path`. With see_all_rows, FORCE ROW LEVEL SECURITY does not bind
 * a table owner (as for PostgreSQL's own RI checks).
 */
RunAs begin_run_as(Oid role, const char *search_path, bool see_all_rows = false);
void end_run_as(const RunAs &scope);

/* Whether the current user has the privileges of `role` (superusers have
 * every role's). */
bool acts_for(Oid role);

/* The owners of a schema and of a relation (ERROR if gone). */
Oid schema_owner(Oid schema_oid);
Oid relation_owner(Oid relid);

/* ERROR 42501 unless the current user may change schema `schema_oid`: a
 * migration reshapes what every client of the schema sees, so starting one
 * takes membership in the schema owner's role. */
void require_schema_owner_rights(Oid schema_oid, const char *schema);

/* ERROR 42501 unless `owner` owns the table `relid` (found by a name the
 * catalog kept): a table dropped and made again under that name by somebody
 * else is not the migration's to write with the owner's rights. */
void require_table_of_owner(Oid relid, Oid owner);

/* The role `name`, or ERROR 42704 naming what needed it. */
Oid role_oid(const char *name, const char *needed_for);

} // namespace ec
