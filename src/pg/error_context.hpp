/*
 * error_context.hpp — prefixing errors with where in the migration they arose.
 *
 * An ERROR raised while applying operation 3 — by our checks, the parser, or
 * the DDL it runs — reaches the user as "operation 3 (alter_column): <message>"
 * with its original SQLSTATE. For errors in user-written SQL (up/down), the
 * cursor position is moved onto that SQL, shown as the QUERY line.
 */
#pragma once

#include "pg.hpp"

namespace ec {

void with_error_prefix_impl(const char *prefix, const char *sql_text,
							void (*body)(void *), void *arg);

template <typename Body>
inline void
with_error_prefix(const char *prefix, const char *sql_text, Body &&body)
{
	with_error_prefix_impl(prefix, sql_text,
						   [](void *arg) { (*static_cast<Body *>(arg))(); },
						   static_cast<void *>(&body));
}

} // namespace ec
