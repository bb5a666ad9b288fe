/*
 * boundary.hpp — where C++ meets PostgreSQL's error handling.
 *
 * PostgreSQL reports errors with ereport(ERROR), which longjmps; C++ reports
 * them with exceptions. Neither may cross into the other's territory:
 *  - an exception escaping into PostgreSQL terminates the backend, so every
 *    entry point PostgreSQL calls runs its body through pg_entry(), which
 *    catches everything and re-raises it as an ERROR *after* the catch block;
 *  - a longjmp skips destructors, so code between entry points keeps no object
 *    with a non-trivial destructor alive across a call that can ereport. This
 *    extension's code holds its state in palloc'd memory and PostgreSQL lists,
 *    which the longjmp leaves behind safely, and uses C++ for types, namespaces
 *    and small inline helpers only.
 *
 * Entry points are declared with EC_FUNCTION (SQL-callable functions and
 * triggers) or wrap their body in ec::pg_entry (callbacks, _PG_init).
 */
#pragma once

#include "pg.hpp"

namespace ec {

/* Reports a caught C++ exception as a PostgreSQL ERROR; never returns. */
[[noreturn]] void report_cxx_exception(const char *what);

/*
 * Runs body() and turns any C++ exception into an ERROR. The message is copied
 * into a plain buffer inside the catch block; ereport is called only once the
 * exception object is destroyed.
 */
template <typename Body>
inline auto pg_entry(Body &&body) -> decltype(body())
{
	char message[256];
	message[0] = '\0';
	bool failed = false;

	try
	{
		return body();
	}
	catch (const std::exception &e)
	{
		strlcpy(message, e.what(), sizeof(message));
		failed = true;
	}
	catch (...)
	{
		strlcpy(message, "unknown C++ exception", sizeof(message));
		failed = true;
	}
	Assert(failed);
	(void) failed;
	report_cxx_exception(message);
}

/*
 * Runs fn(arg) in a subtransaction. If it fails with one of the
 * `retryable` SQLSTATEs (a 0-terminated array) the subtransaction is rolled
 * back and false is returned; any other error is re-thrown after the
 * rollback. fn runs inside pg_entry, so no C++ exception crosses PG_TRY.
 */
bool run_in_subtransaction(void (*fn)(void *), void *arg, const int *retryable);

/* Sleeps `milliseconds` without ignoring a cancel request or the
 * postmaster's death (a pending cancel is raised as an ERROR). */
void sleep_ms(int milliseconds);

} // namespace ec

/*
 * Declares a SQL-callable function (or trigger) `name` whose body runs inside
 * the boundary:
 *
 *     EC_FUNCTION(ec_start) { ... return PointerGetDatum(x); }
 */
#define EC_FUNCTION(name)                                                     \
	static Datum name##_body(PG_FUNCTION_ARGS);                               \
	extern "C" {                                                              \
	PG_FUNCTION_INFO_V1(name);                                                \
	Datum name(PG_FUNCTION_ARGS)                                              \
	{                                                                         \
		return ec::pg_entry([fcinfo]() { return name##_body(fcinfo); });      \
	}                                                                         \
	}                                                                         \
	static Datum name##_body(PG_FUNCTION_ARGS)
